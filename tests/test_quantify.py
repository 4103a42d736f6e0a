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
