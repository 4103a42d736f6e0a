"""Organ doses, cross-dose, limits (onescan.dosimetry._organ_doses, SPEC §2.4–§2.5): hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from onescan.contract._organs import organs
from onescan.dosimetry._dose import DOSE_COLUMNS, DoseSettings, compute_dose, make_dose_settings
from onescan.contract._errors import InputError
from onescan.dosimetry._physics import lambda_phys_per_h, s_value_pairs

LP = lambda_phys_per_h("I-131")
TIMES = (1.0, 24.0, 72.0)
GY_PER_MCI = 3600 / 1000 * 37  # h · mGy/(MBq s) → Gy/mCi
# region → (a, λ_eff 1/h) of f = a·exp(−λ t); TIAC = a/λ
KINETICS = {"liver": (0.20, 0.015), "spleen": (0.02, 0.03), "kidneys": (0.01, 0.05), "whole_body": (0.9, 0.012)}


def cohort():
    patients = pd.DataFrame([dict(patient_id="P1", liver_mass_g=1500.0, spleen_mass_g=180.0, weight_kg=80.0),
                             dict(patient_id="P2", liver_mass_g=2000.0, spleen_mass_g=120.0, weight_kg=60.0)])
    rows = [dict(patient_id=p, time_h=t, region=r, fraction_injected=a * (1 + 0.1 * k) * math.exp(-lam * t))
            for k, p in enumerate(("P1", "P2")) for r, (a, lam) in KINETICS.items() for t in TIMES]
    return patients, pd.DataFrame(rows)


def tiac(region, k):
    a, lam = KINETICS[region]
    return a * (1 + 0.1 * k) / lam


def user_file(tmp_path, rows):
    path = tmp_path / "olinda.csv"
    base = dict(nuclide="I-131", source_text="test values")
    pd.DataFrame([dict(base, **r) for r in rows]).to_csv(path, index=False)
    return path


def split_s(s_np, s_p, m_ref, m):
    r = m_ref / m
    return s_np * r + s_p * r ** (2 / 3)


def test_spleen_dose_from_a_user_s_value_file_by_hand(tmp_path):
    path = user_file(tmp_path, [dict(source="spleen", target="spleen", reference_mass_g=150.0,
                                     s_np_mgy_per_mbq_s=2.0e-4, s_p_mgy_per_mbq_s=3.0e-5)])
    p, s = cohort()
    got = compute_dose(p, s, DoseSettings(s_values=path, extra_organs=("spleen",)))
    for k, m in enumerate((180.0, 120.0)):
        d = tiac("spleen", k) * split_s(2.0e-4, 3.0e-5, 150.0, m) * GY_PER_MCI
        assert got.loc[k, "spleen_tiac_h"] == pytest.approx(tiac("spleen", k), rel=1e-3)
        assert got.loc[k, "spleen_dose_gy_per_mci"] == pytest.approx(d, rel=1e-3)
        assert got.loc[k, "spleen_dose_gy"] == pytest.approx(d * got.loc[k, "prescribed_activity_capped_mci"],
                                                             rel=1e-12)
    # the liver keeps the shipped row: the user file replaces only the pairs it lists
    base = compute_dose(p, s)
    pd.testing.assert_series_equal(got["liver_dose_gy_per_mci"], base["liver_dose_gy_per_mci"])


def test_cross_dose_is_summed_into_the_target(tmp_path):
    s_cross = 4.0e-6  # liver → spleen, photons only, used at reference mass
    path = user_file(tmp_path, [dict(source="spleen", target="spleen", reference_mass_g=150.0,
                                     s_np_mgy_per_mbq_s=2.0e-4, s_p_mgy_per_mbq_s=0.0),
                                dict(source="liver", target="spleen", reference_mass_g=150.0,
                                     s_np_mgy_per_mbq_s=0.0, s_p_mgy_per_mbq_s=s_cross)])
    p, s = cohort()
    got = compute_dose(p, s, DoseSettings(s_values=path, extra_organs=("spleen",), mass_scaling="linear"))
    for k, m in enumerate((180.0, 120.0)):
        self_d = tiac("spleen", k) * 2.0e-4 * 150.0 / m
        cross_d = tiac("liver", k) * s_cross
        assert got.loc[k, "spleen_dose_gy_per_mci"] == pytest.approx((self_d + cross_d) * GY_PER_MCI, rel=1e-3)
        assert cross_d / self_d > 0.01  # the cross term matters at this tolerance


def test_limits_choose_the_smallest_activity_and_name_the_organ():
    p, s = cohort()
    free = compute_dose(p, s, DoseSettings(extra_organs=("spleen",), max_activity_mci=1e9))
    spleen_gy = free["spleen_dose_gy"].to_numpy()
    # a spleen limit just below the dose it receives at the liver's prescription in P2 only
    limit = float(spleen_gy[1] * 0.9)
    assert spleen_gy[0] < limit
    got = compute_dose(p, s, DoseSettings(limits={"spleen": limit}, max_activity_mci=1e9))
    assert got["limiting_organ"].tolist() == ["liver", "spleen"]
    assert got.loc[1, "spleen_dose_gy"] == pytest.approx(limit, rel=1e-12)
    assert got.loc[1, "prescribed_activity_mci"] == pytest.approx(limit / got.loc[1, "spleen_dose_gy_per_mci"],
                                                                  rel=1e-12)
    assert got.loc[0, "prescribed_activity_mci"] == free.loc[0, "prescribed_activity_mci"]
    # a limit on the target organ replaces target_gy
    twenty = compute_dose(p, s, DoseSettings(limits={"liver": 20.0}))
    np.testing.assert_allclose(twenty["prescribed_activity_mci"], free["prescribed_activity_mci"] * 20 / 24,
                               rtol=1e-12)
    np.testing.assert_allclose(twenty["prescribed_activity_capped_gbq"],
                               twenty["prescribed_activity_capped_mci"] * 37 / 1000, rtol=1e-12)


def test_default_columns_and_values_survive_the_extended_layout():
    p, s = cohort()
    base = compute_dose(p, s)
    assert list(base.columns) == list(DOSE_COLUMNS)
    ext = compute_dose(p, s, DoseSettings(extra_organs="all", uncertainty=True))
    for c in DOSE_COLUMNS[:-1]:
        pd.testing.assert_series_equal(ext[c], base[c])
    # "all": every registry organ whose region has scans (here spleen, kidneys, total body)
    imaged = set(s["region"])
    dosed = {o.key for o in organs().values() if o.region in imaged} - {"liver"}
    assert {c[: -len("_tiac_h")] for c in ext.columns if c.endswith("_tiac_h")} - {"liver"} == dosed


def test_masses_reference_and_weight():
    p, s = cohort()
    got = compute_dose(p, s, DoseSettings(extra_organs=("kidneys", "total_body")))
    kid = organs()["kidneys"]
    assert all("kidneys_reference_mass" in f.split(";") for f in got["flags"])
    row = s_value_pairs()[("kidneys", "kidneys")]
    expect = tiac("kidneys", 0) * row.s_np * GY_PER_MCI  # at the reference mass: S = S_ref
    assert kid.reference_mass_g == row.reference_mass_g
    assert got.loc[0, "kidneys_dose_gy_per_mci"] == pytest.approx(expect, rel=1e-3)
    tb = s_value_pairs()[("total_body", "total_body")]
    for k, w in enumerate((80.0, 60.0)):
        assert got.loc[k, "total_body_dose_gy_per_mci"] == pytest.approx(
            tiac("whole_body", k) * tb.s_np * tb.reference_mass_g / (w * 1000) * GY_PER_MCI, rel=1e-3)
    assert not any("total_body_reference_mass" in f for f in got["flags"])


def test_shipped_rows_are_sourced_and_say_when_photons_are_missing():
    for (src, tgt), row in s_value_pairs().items():
        assert src == tgt and "ICRP Publication 107" in row.source_text
        assert src in organs() and row.reference_mass_g == organs()[src].reference_mass_g
        if row.s_p == 0:
            assert "electrons only" in row.source_text and "photon" in row.source_text


def test_bad_organ_options_are_input_errors(tmp_path):
    with pytest.raises(InputError) as ei:
        make_dose_settings(extra_organs=("pancreas",), limits={"spleen": -1.0}, mass_uncertainty=2.0)
    assert {pr.file for pr in ei.value.problems} == {"--organs", "--limit", "--mass-uncertainty"}
    lu = user_file(tmp_path, [dict(nuclide="Lu-177", source="spleen", target="spleen", reference_mass_g=150.0,
                                   s_np_mgy_per_mbq_s=1e-4, s_p_mgy_per_mbq_s=0.0)])
    with pytest.raises(InputError, match="no S-value row for nuclide I-131"):
        make_dose_settings(s_values=lu)
