"""Tests for onescan.features._features: the one-scan model matrix and its no-leakage guarantee."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _h5_cohort import make_cohort, make_tables

from onescan.contract._cohort import Cohort, load_cohort
from onescan.contract._errors import InputError
from onescan.features._features import build_features, first_scan_features, get_target, schedule_scans
from onescan.models._pipeline import PipelineSettings, make_pipeline


@pytest.fixture(scope="module")
def tables():
    return make_tables(24, seed=3)


def _later_mask(scans: pd.DataFrame) -> np.ndarray:
    t_first = scans.groupby("patient_id")["time_h"].transform("min")
    return (scans["time_h"] > t_first).to_numpy()


def test_later_scans_cannot_change_features_or_predictions(tables):
    p, s = tables
    full = load_cohort(patients=p, scans=s)
    X_full = build_features(full)

    # 1. drop every later scan
    first_only = full.scans.loc[~_later_mask(full.scans)].reset_index(drop=True)
    X_drop = build_features(Cohort(full.patients, first_only, full.sources))
    pd.testing.assert_frame_equal(X_full, X_drop)

    # 2. alter every later scan wildly (counts, backgrounds, thickness, an extra region)
    altered = full.scans.copy()
    later = _later_mask(altered)
    rng = np.random.default_rng(1)
    altered.loc[later, "counts_anterior"] *= rng.uniform(0.01, 50, later.sum())
    altered.loc[later, "counts_posterior"] *= rng.uniform(0.01, 50, later.sum())
    altered.loc[later, "background_anterior"] = 3.0
    altered.loc[later, "thickness_cm"] = 25.0
    altered.loc[later & (altered["region"] == "whole_body").to_numpy(), "region"] = "whole_body"
    extra = altered.loc[later & (altered["region"] == "liver").to_numpy()].assign(region="kidneys")
    altered = pd.concat([altered, extra], ignore_index=True)
    X_alt = build_features(Cohort(full.patients, altered, full.sources))
    pd.testing.assert_frame_equal(X_full, X_alt)

    # 3. hence every prediction of a fitted one-scan pipeline is unchanged
    y = get_target(full)
    pipe = make_pipeline(PipelineSettings(selector="none")).fit(X_full, y)
    np.testing.assert_array_equal(pipe.predict(X_full), pipe.predict(X_drop))
    np.testing.assert_array_equal(pipe.predict(X_full), pipe.predict(X_alt))


def test_uptake_equals_quantified_first_scan():
    scans = pd.DataFrame({
        "patient_id": ["a"] * 4 + ["b"] * 2,
        "time_h": [1.0, 1.0, 24.0, 24.0, 2.0, 2.0],
        "region": ["whole_body", "liver"] * 3,
        "counts_anterior": np.nan, "counts_posterior": np.nan,
        "background_anterior": 0.0, "background_posterior": 0.0,
        "acquisition_s": 1.0, "thickness_cm": np.nan,
        "fraction_injected": [0.99, 0.12, 0.8, 0.09, 0.98, 0.2],
    })
    f = first_scan_features(scans)
    assert list(f.columns) == ["uptake_first_liver", "uptake_first_whole_body", "first_scan_time_h"]
    assert f.loc["a", "uptake_first_liver"] == pytest.approx(0.12)
    assert f.loc["b", "uptake_first_liver"] == pytest.approx(0.2)
    assert f.loc["a", "first_scan_time_h"] == 1.0
    assert f.loc["b", "first_scan_time_h"] == 2.0


def test_region_missing_at_first_scan_is_nan():
    scans = pd.DataFrame({
        "patient_id": ["a", "a", "a", "b", "b"],
        "time_h": [1.0, 1.0, 1.0, 1.5, 1.5],
        "region": ["whole_body", "liver", "spleen", "whole_body", "liver"],
        "counts_anterior": [1000.0, 100, 20, 1000, 150], "counts_posterior": [1000.0, 100, 20, 1000, 150],
        "background_anterior": 0.0, "background_posterior": 0.0, "acquisition_s": 1.0,
        "thickness_cm": np.nan, "fraction_injected": np.nan,
    })
    f = first_scan_features(scans)
    assert np.isnan(f.loc["b", "uptake_first_spleen"])
    lam = np.log(2) / (8.0207 * 24)
    assert f.loc["a", "uptake_first_liver"] == pytest.approx(0.1 * np.exp(-lam * 1.0), rel=1e-4)


def test_first_plus_24h_schedule_picks_scan_nearest_24h():
    scans = pd.DataFrame({
        "patient_id": ["a"] * 4, "time_h": [0.5, 18.0, 27.0, 90.0], "region": ["liver"] * 4,
    })
    chosen = schedule_scans(scans, "first+24h")
    assert sorted(chosen["time_h"]) == [0.5, 27.0]
    assert list(schedule_scans(scans, "first")["time_h"]) == [0.5]
    with pytest.raises(InputError):
        schedule_scans(scans, "first+96h")


def test_first_plus_24h_features_declare_second_scan(tables):
    c = load_cohort(*tables)
    X = build_features(c, schedule="first+24h")
    assert {"uptake_24h_liver", "scan_24h_time_h"} <= set(X.columns)
    assert X["scan_24h_time_h"].between(20, 28).all()
    X1 = build_features(c)
    assert not any(col.startswith("uptake_24h") for col in X1.columns)


def test_patients_columns_encoding(tables):
    p, s = tables
    c = load_cohort(patients=p.assign(prescribed_activity_mci=700.0), scans=s)
    X = build_features(c, exclude=["height_cm"])
    assert X.index.name == "patient_id"
    assert list(X.index) == list(p["patient_id"])
    assert "patient_id" not in X.columns and "prescribed_activity_mci" not in X.columns
    assert "height_cm" not in X.columns
    assert set(X["sex_male"].unique()) <= {0.0, 1.0}
    assert (X["sex_male"] == (p["sex"] == "M").astype(float).to_numpy()).all()
    assert {"site_A", "site_B", "site_C"} <= set(X.columns)
    assert X["mostly_missing"].isna().any()          # numeric kept with NaN
    assert all(dt == np.float64 for dt in X.dtypes)


def test_exclude_unknown_column_is_input_error(tables):
    c = load_cohort(*tables)
    with pytest.raises(InputError) as e:
        build_features(c, exclude=["no_such_column", "also_missing"])
    assert len(e.value.problems) == 2


def test_get_target_uses_column_when_present(tables):
    p, s = tables
    c = load_cohort(patients=p.assign(prescribed_activity_mci=np.arange(len(p)) + 500.0), scans=s)
    y = get_target(c)
    assert y.name == "prescribed_activity_mci"
    assert list(y) == list(np.arange(len(p)) + 500.0)


def test_get_target_from_dosimetry_when_absent(tables):
    from onescan.dosimetry._dose import DoseSettings, compute_dose

    c = load_cohort(*tables)
    y = get_target(c, DoseSettings(max_activity_mci=800))
    ref = compute_dose(c.patients, c.scans, DoseSettings(max_activity_mci=800))
    np.testing.assert_allclose(y.to_numpy(), ref["prescribed_activity_capped_mci"].to_numpy())
    assert y.max() <= 800


def test_get_target_reports_bad_values(tables):
    p, s = tables
    c = make_cohort(10)
    c.patients["prescribed_activity_mci"] = 600.0
    c.patients.loc[[2, 5], "prescribed_activity_mci"] = [np.nan, -1.0]
    with pytest.raises(InputError) as e:
        get_target(c)
    assert [pr.row for pr in e.value.problems] == [4, 7]


def test_first_plus_24h_features_ignore_the_last_scan(tables):
    p, s = tables
    c = load_cohort(patients=p, scans=s)
    t_last = c.scans.groupby("patient_id")["time_h"].transform("max")
    altered = c.scans.copy()
    last = (altered["time_h"] == t_last).to_numpy()
    altered.loc[last, ["counts_anterior", "counts_posterior"]] *= 9.0
    X1 = build_features(c, schedule="first+24h")
    X2 = build_features(Cohort(c.patients, altered, c.sources), schedule="first+24h")
    pd.testing.assert_frame_equal(X1, X2)
    X3 = build_features(Cohort(c.patients, c.scans.loc[~last], c.sources), schedule="first+24h")
    pd.testing.assert_frame_equal(X1, X3)
