"""Uncertainty propagation (onescan.dosimetry._uncertainty, SPEC §2.6) checked against Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from onescan.dosimetry._dose import DoseSettings, compute_dose
from onescan.dosimetry._physics import lambda_phys_per_h, load_s_values
from onescan.dosimetry._uncertainty import s_mass_sensitivity

LP = lambda_phys_per_h("I-131")
TIMES = (1.0, 24.0, 96.0)
ACQ = 300.0


def _noisy_cohort(n_rep, seed, liver_mass=1600.0, u_mass=0.05):
    """One patient scanned ``n_rep`` times: Poisson gross and background counts, noisy CT mass."""
    rng = np.random.default_rng(seed)
    a, lam = 0.25, math.log(2) / 60.0
    rate_wb = 40.0  # net counts/s of the whole body at t = 0 (GM, per view)
    rows = []
    for t in TIMES:
        for region, frac in (("whole_body", math.exp(-LP * t) if t == TIMES[0] else 0.8 * math.exp(-0.01 * t)),
                             ("liver", a * math.exp(-lam * t))):
            net = rate_wb * frac * ACQ
            bg = 0.3 * net if region == "liver" else 0.05 * net
            for view in ("anterior", "posterior"):
                rows.append((t, region, view, net, bg))
    ids = [f"R{i:04d}" for i in range(n_rep)]
    recs = []
    for t, region in dict.fromkeys((r[0], r[1]) for r in rows):
        rec = {"patient_id": ids, "time_h": t, "region": region, "acquisition_s": ACQ}
        for _, _, view, net, bg in (r for r in rows if r[0] == t and r[1] == region):
            recs_bg = rng.poisson(bg, n_rep).astype(float)
            rec[f"counts_{view}"] = rng.poisson(net + bg, n_rep).astype(float)
            rec[f"background_{view}"] = recs_bg
        recs.append(pd.DataFrame(rec))
    scans = pd.concat(recs, ignore_index=True)
    mass = liver_mass * (1 + u_mass * rng.standard_normal(n_rep))
    patients = pd.DataFrame({"patient_id": ids, "liver_mass_g": mass})
    return patients, scans


def test_reported_uncertainty_predicts_the_monte_carlo_spread():
    patients, scans = _noisy_cohort(1500, seed=3)
    out = compute_dose(patients, scans, DoseSettings(uncertainty=True, mass_uncertainty=0.05))
    for value, u in (("liver_tiac_h", "liver_tiac_u_rel"),
                     ("liver_dose_gy_per_mci", "liver_dose_gy_per_mci_u_rel"),
                     ("prescribed_activity_mci", "prescribed_activity_u_rel")):
        x = out[value].to_numpy()
        observed = x.std(ddof=1) / x.mean()
        predicted = float(np.sqrt(np.mean(out[u].to_numpy() ** 2)))
        assert 0.02 < observed < 0.3, value  # a spread worth checking
        assert predicted / observed == pytest.approx(1.0, abs=0.25), (value, predicted, observed)


def test_counting_alone_and_mass_alone():
    patients, scans = _noisy_cohort(1500, seed=5, u_mass=0.0)
    out = compute_dose(patients, scans, DoseSettings(uncertainty=True, mass_uncertainty=0.0))
    x = out["liver_tiac_h"].to_numpy()
    ratio = np.sqrt(np.mean(out["liver_tiac_u_rel"] ** 2)) / (x.std(ddof=1) / x.mean())
    assert ratio == pytest.approx(1.0, abs=0.25)
    np.testing.assert_allclose(out["liver_dose_gy_per_mci_u_rel"], out["liver_tiac_u_rel"], rtol=1e-9)
    # mass term: exactly the S-value's sensitivity times u_m on top of the TIAC
    with_mass = compute_dose(patients, scans, DoseSettings(uncertainty=True, mass_uncertainty=0.1))
    sens = s_mass_sensitivity(patients["liver_mass_g"], "split", load_s_values())
    np.testing.assert_allclose(with_mass["liver_dose_gy_per_mci_u_rel"] ** 2,
                               out["liver_tiac_u_rel"] ** 2 + (0.1 * sens) ** 2, rtol=1e-9)


def test_mass_sensitivity_by_hand():
    tab = load_s_values()
    r = tab.reference_mass_g / 1200.0
    s_np, s_p = tab.s_np * r, tab.s_p * r ** (2 / 3)
    assert s_mass_sensitivity([1200.0], "split", tab)[0] == pytest.approx(-(s_np + 2 / 3 * s_p) / (s_np + s_p))
    assert s_mass_sensitivity([1200.0], "linear", tab)[0] == -1.0
    assert s_mass_sensitivity([1200.0], "none", tab)[0] == 0.0
    # finite difference of the S-value itself
    from onescan.dosimetry._physics import s_value_mgy_per_mbq_s

    h = 1e-6
    fd = (math.log(s_value_mgy_per_mbq_s(1200.0 * (1 + h), "split", tab))
          - math.log(s_value_mgy_per_mbq_s(1200.0 * (1 - h), "split", tab))) / (2 * h)
    assert s_mass_sensitivity([1200.0], "split", tab)[0] == pytest.approx(fd, rel=1e-6)


def test_fraction_rows_carry_no_counting_uncertainty_and_misfit_is_flagged():
    t = (1.0, 24.0, 48.0, 96.0)
    f = (0.20, 0.10, 0.16, 0.04)  # far from any mono-exponential
    scans = pd.DataFrame([dict(patient_id="P", time_h=ti, region="liver", fraction_injected=fi,
                               counts_anterior=4e4, counts_posterior=4e4) for ti, fi in zip(t, f)]
                         + [dict(patient_id="P", time_h=1.0, region="whole_body", counts_anterior=1e5,
                                 counts_posterior=1e5)])
    patients = pd.DataFrame([dict(patient_id="P", liver_mass_g=1800.0)])
    out = compute_dose(patients, scans, DoseSettings(uncertainty=True, mass_uncertainty=0.0))
    assert "liver_misfit_beyond_counting" in out.loc[0, "flags"].split(";")
    assert out.loc[0, "liver_tiac_u_rel"] > 0.05
