"""Tests of conjugate-view quantification (onescan.dosimetry._quantify, SPEC §2.1)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onescan.dosimetry._physics import lambda_phys_per_h
from onescan.dosimetry._quantify import geometric_mean_counts_per_s, quantify

LP = lambda_phys_per_h("I-131")


def _row(pid, t, region, ca, cp, **kw):
    return dict(patient_id=pid, time_h=t, region=region, counts_anterior=ca, counts_posterior=cp, **kw)


def test_geometric_mean_background_acquisition_attenuation_by_hand():
    scans = pd.DataFrame([
        _row("a", 1.0, "liver", 5000.0, 3000.0, background_anterior=1000.0, background_posterior=200.0,
             acquisition_s=20.0, thickness_cm=22.0),
        _row("a", 1.0, "whole_body", 100.0, 50.0, background_anterior=150.0, background_posterior=0.0,
             acquisition_s=10.0, thickness_cm=np.nan),
    ])
    gm = geometric_mean_counts_per_s(scans, mu_per_cm=0.11)
    n_ant, n_post = (5000 - 1000) / 20, (3000 - 200) / 20
    assert gm[0] == pytest.approx(math.sqrt(n_ant * n_post) / math.sqrt(math.exp(-0.11 * 22.0)), rel=1e-13)
    assert gm[1] == 0.0  # counts below background → net 0, never negative


def test_fraction_normalised_to_first_whole_body_and_decayed():
    t1 = 2.0
    scans = pd.DataFrame([
        _row("p", t1, "whole_body", 4.0e6, 1.0e6),       # GM 2e6
        _row("p", t1, "liver", 4.0e5, 1.0e5),            # GM 2e5
        _row("p", 48.0, "whole_body", 1.0e6, 1.0e6),     # later (voided) wb: not the reference
        _row("p", 48.0, "liver", 1.0e5, 1.0e5),          # GM 1e5
    ])
    q = quantify(scans, lambda_phys_per_h=LP)
    assert list(q.columns) == ["patient_id", "time_h", "region", "fraction", "gm_counts_per_s"]
    e = math.exp(-LP * t1)
    np.testing.assert_allclose(q["fraction"], [e, 0.1 * e, 0.5 * e, 0.05 * e], rtol=1e-13)


def test_fraction_injected_used_instead_of_counts_and_mixed_patients():
    scans = pd.DataFrame([
        _row("x", 1.0, "liver", np.nan, np.nan, fraction_injected=0.21),
        _row("x", 24.0, "liver", np.nan, np.nan, fraction_injected=0.17),
        _row("y", 1.0, "whole_body", 100.0, 100.0, fraction_injected=np.nan),
        _row("y", 1.0, "liver", 20.0, 20.0, fraction_injected=np.nan),
        _row("y", 24.0, "liver", 7.0, 7.0, fraction_injected=0.33),
    ])
    q = quantify(scans)
    assert q["fraction"].tolist()[:2] == [0.21, 0.17]
    assert q["fraction"].iloc[3] == pytest.approx(0.2 * math.exp(-LP * 1.0), rel=1e-13)
    assert q["fraction"].iloc[4] == 0.33
    assert np.isnan(q["gm_counts_per_s"].iloc[0])


def test_no_whole_body_gives_nan_not_error():
    scans = pd.DataFrame([_row("z", 1.0, "liver", 10.0, 10.0), _row("z", 5.0, "liver", 8.0, 8.0)])
    assert quantify(scans)["fraction"].isna().all()


def test_defaults_when_optional_columns_absent_and_row_order_kept():
    scans = pd.DataFrame([
        _row("b", 30.0, "liver", 9.0, 4.0),
        _row("b", 3.0, "whole_body", 100.0, 100.0),
        _row("a", 3.0, "whole_body", 50.0, 50.0),
        _row("a", 3.0, "liver", 5.0, 5.0),
    ], index=[10, 11, 12, 13])
    q = quantify(scans)
    assert q.index.tolist() == [10, 11, 12, 13] and q["patient_id"].tolist() == ["b", "b", "a", "a"]
    e = math.exp(-LP * 3.0)
    np.testing.assert_allclose(q["fraction"], [0.06 * e, e, e, 0.1 * e], rtol=1e-13)


def _patient_scans(times, g, wb_first_gm, acq, ratio):
    """Counts for decay-corrected liver fractions g(t) (whole body first at times[0])."""
    rows = []
    for t, gi, ac in zip(times, g, acq):
        decay = math.exp(-LP * t)
        wb = wb_first_gm * decay / math.exp(-LP * times[0]) if t == times[0] else np.nan
        if t == times[0]:
            rows.append(_row("p", t, "whole_body", wb * ratio * ac, wb / ratio * ac, acquisition_s=ac))
        gm = gi * decay * wb_first_gm / math.exp(-LP * times[0])
        rows.append(_row("p", t, "liver", gm * ratio * ac, gm / ratio * ac, acquisition_s=ac))
    return pd.DataFrame(rows)


@settings(max_examples=40, deadline=None)
@given(times=st.lists(st.floats(0.0, 200.0), min_size=2, max_size=5, unique=True),
       g=st.lists(st.floats(0.01, 1.0), min_size=5, max_size=5),
       wb=st.floats(1e2, 1e7), ratio=st.floats(0.3, 3.0),
       acq=st.lists(st.floats(1.0, 1200.0), min_size=5, max_size=5))
def test_decay_correction_round_trip(times, g, wb, ratio, acq):
    """f(t)·exp(λ_phys t) gives back the decay-corrected fraction the counts were built from."""
    times = sorted(times)
    scans = _patient_scans(times, g, wb, acq, ratio)
    q = quantify(scans, lambda_phys_per_h=LP)
    liver = q[q["region"] == "liver"]
    back = liver["fraction"].to_numpy() * np.exp(LP * liver["time_h"].to_numpy())
    np.testing.assert_allclose(back, g[: len(times)], rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(k=st.lists(st.floats(0.01, 100.0), min_size=4, max_size=4), thick=st.floats(5.0, 40.0))
def test_fraction_invariant_to_acquisition_scaling(k, thick):
    """Scaling counts, backgrounds and acquisition_s of a row by the same factor changes nothing."""
    base = pd.DataFrame([
        _row("p", 1.0, "whole_body", 9e5, 8e5, background_anterior=1e3, background_posterior=2e3,
             acquisition_s=600.0, thickness_cm=thick),
        _row("p", 1.0, "liver", 1.2e5, 0.9e5, background_anterior=5e2, background_posterior=4e2,
             acquisition_s=600.0, thickness_cm=thick * 0.8),
        _row("p", 24.0, "liver", 9.0e4, 7.0e4, background_anterior=5e2, background_posterior=4e2,
             acquisition_s=600.0, thickness_cm=thick * 0.8),
        _row("p", 72.0, "liver", 5.0e4, 4.0e4, background_anterior=5e2, background_posterior=4e2,
             acquisition_s=600.0, thickness_cm=thick * 0.8),
    ])
    scaled = base.copy()
    cols = ["counts_anterior", "counts_posterior", "background_anterior", "background_posterior", "acquisition_s"]
    scaled[cols] = scaled[cols].mul(np.asarray(k), axis=0)
    np.testing.assert_allclose(quantify(scaled)["fraction"], quantify(base)["fraction"], rtol=1e-12)


# ----------------------------------------------------------------- source self-attenuation (MIRD 16)


def _extended_source_rates(activity, depth_cm, source_cm, body_cm, mu):
    """Conjugate count rates of a uniform slab source, integrated numerically (sensitivity 1)."""
    from scipy.integrate import quad

    dens = activity / source_cm
    ant = quad(lambda x: dens * math.exp(-mu * x), depth_cm, depth_cm + source_cm, epsabs=0, epsrel=1e-13)[0]
    post = quad(lambda x: dens * math.exp(-mu * (body_cm - x)), depth_cm, depth_cm + source_cm,
                epsabs=0, epsrel=1e-13)[0]
    return ant, post


def _extended_cohort(mu, with_source_thickness=True):
    body, liver_depth, liver_s = 24.0, 5.0, 14.0
    a0, a_liver, t1 = 1000.0, 230.0, 1.5
    wb = _extended_source_rates(a0 * math.exp(-LP * t1), 0.0, body, body, mu)
    lv = _extended_source_rates(a_liver, liver_depth, liver_s, body, mu)
    rows = [_row("p", t1, "whole_body", wb[0] * 1e4, wb[1] * 1e4, thickness_cm=body,
                 source_thickness_cm=body),
            _row("p", t1, "liver", lv[0] * 1e4, lv[1] * 1e4, thickness_cm=body, source_thickness_cm=liver_s)]
    scans = pd.DataFrame(rows)
    if not with_source_thickness:
        scans = scans.drop(columns="source_thickness_cm")
    return scans, a_liver / a0


def test_self_attenuation_recovers_the_fraction_of_an_extended_source():
    mu = 0.110
    scans, truth = _extended_cohort(mu)
    got = quantify(scans, mu_per_cm=mu, lambda_phys_per_h=LP)["fraction"].to_numpy()
    assert got[1] == pytest.approx(truth, rel=1e-3)
    assert got[0] == pytest.approx(math.exp(-LP * 1.5), rel=1e-12)
    # without the correction the 14 cm liver against the 24 cm body is off by far more than 0.1 %
    plain, _ = _extended_cohort(mu, with_source_thickness=False)
    off = quantify(plain, mu_per_cm=mu, lambda_phys_per_h=LP)["fraction"].to_numpy()[1]
    assert abs(off / truth - 1) > 0.05


def test_self_attenuation_factor_by_hand_and_limits():
    from onescan.dosimetry._quantify import self_attenuation_factor

    x = 0.11 * 20.0 / 2
    np.testing.assert_allclose(self_attenuation_factor([20.0, 0.0, np.nan], 0.11), [x / math.sinh(x), 1.0, 1.0],
                               rtol=1e-14)
    assert self_attenuation_factor(1e-6, 0.11) == pytest.approx(1.0, abs=1e-12)


def test_rows_without_source_thickness_are_bit_identical():
    scans, _ = _extended_cohort(0.110)
    absent = scans.drop(columns="source_thickness_cm")
    nan_col = scans.assign(source_thickness_cm=np.nan)
    a = quantify(absent, lambda_phys_per_h=LP)
    b = quantify(nan_col, lambda_phys_per_h=LP)
    np.testing.assert_array_equal(a["fraction"].to_numpy(), b["fraction"].to_numpy())
    np.testing.assert_array_equal(a["gm_counts_per_s"].to_numpy(), b["gm_counts_per_s"].to_numpy())
    # a row with it changes only that row
    one = scans.assign(source_thickness_cm=[np.nan, 14.0])
    g_abs = geometric_mean_counts_per_s(absent)
    g_one = geometric_mean_counts_per_s(one)
    assert g_one[0] == g_abs[0] and g_one[1] < g_abs[1]


def test_counting_uncertainty_by_hand():
    from onescan.dosimetry._quantify import counting_u_rel

    scans = pd.DataFrame([_row("a", 1.0, "liver", 5000.0, 3000.0, background_anterior=1000.0,
                               background_posterior=200.0),
                          _row("a", 1.0, "liver", 100.0, 50.0, background_anterior=150.0),
                          _row("a", 1.0, "liver", np.nan, 50.0)])
    u = counting_u_rel(scans)
    assert u[0] == pytest.approx(0.5 * math.sqrt(6000 / 4000 ** 2 + 3200 / 2800 ** 2), rel=1e-13)
    assert np.isinf(u[1]) and np.isnan(u[2])
