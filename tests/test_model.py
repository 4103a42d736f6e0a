"""Tests of onescan.studies._clinic, onescan.persistence and onescan.models._conformal: intervals, safe model files, prediction."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Lasso, LinearRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from onescan.models._conformal import CrossConformalPlus, max_level_for
from onescan.contract._errors import InputError
from onescan.persistence._skops import card_path_for, file_types, load_model, save_model
from onescan.persistence._trusted import TRUSTED_TYPES
from onescan.studies._clinic import OUTPUT_COLUMNS, OnescanModel, fit_model, train
from onescan.studies._clinic_card import unit_from_column


# --------------------------------------------------------------------------- fixtures


def _linear_data(n=74, p=6, seed=0, nan=True):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"lab{i}_u_per_l" for i in range(p)])
    if nan:
        X.iloc[3, 2] = np.nan
    y = 700 + 90 * X.iloc[:, 0].to_numpy() - 40 * X.iloc[:, 1].to_numpy() + rng.normal(size=n) * 50
    return X, y


@pytest.fixture(scope="module")
def cohorts():
    """A 60-patient training cohort and 8 new patients (full scans), from the simulator."""
    from onescan.contract._cohort import load_cohort
    from onescan.studies._simulate import simulate_cohort

    tr = simulate_cohort(60, 11)
    new = simulate_cohort(8, 12, id_prefix="NEW")
    keep = ["patient_id", "prescribed_activity_mci", "liver_mass_g", "weight_kg", "ast_u_per_l_pre", "sex",
            "dosimetric_activity_mci"]
    pats = tr.patients[keep]
    cohort = load_cohort(pats, tr.scans, need_dosimetry=False)
    return cohort, new


@pytest.fixture(scope="module")
def scan_model(cohorts):
    """A model that uses every feature, scan uptakes included (no selector)."""
    from onescan.models._pipeline import PipelineSettings

    cohort, _ = cohorts
    return train(cohort, pipeline_settings=PipelineSettings(selector="none", alpha=1.0), cv_repeats=1,
                 interval_folds=5, seed=0)


def _first_only(scans):
    t0 = scans.groupby("patient_id")["time_h"].transform("min")
    return scans[scans["time_h"] == t0].reset_index(drop=True)


# --------------------------------------------------------------------------- conformal


@parametrize_with_checks([CrossConformalPlus(n_folds=3)])
def test_sklearn_conventions(estimator, check):
    check(estimator)


@pytest.mark.parametrize("method", ["plus", "base", "minmax"])
@pytest.mark.parametrize("level", [0.8, 0.9, 0.95])
@pytest.mark.parametrize("n_folds", [5, 10])
def test_cv_plus_equals_mapie(level, n_folds, method):
    from mapie.regression import CrossConformalRegressor

    from onescan.models._pipeline import MissingShareFilter

    X, y = _linear_data()
    rng = np.random.default_rng(5)
    Xt = pd.DataFrame(rng.normal(size=(25, X.shape[1])), columns=X.columns)
    from sklearn.impute import SimpleImputer

    pipe = Pipeline([("filter", MissingShareFilter()), ("impute", SimpleImputer(strategy="median")),
                     ("model", Lasso(alpha=0.3))])
    ours = CrossConformalPlus(pipe, n_folds=n_folds, random_state=3, method=method).fit(X, y)
    yp, lo, hi = ours.predict_interval(Xt, level=level)
    ref = CrossConformalRegressor(pipe, confidence_level=level, method=method,
                                  cv=KFold(n_folds, shuffle=True, random_state=3)).fit_conformalize(X, y)
    rp, ri = ref.predict_interval(Xt, aggregate_point_predictions=None)
    np.testing.assert_array_equal(yp, rp)
    np.testing.assert_array_equal(lo, ri[:, 0, 0])
    np.testing.assert_array_equal(hi, ri[:, 1, 0])
    np.testing.assert_array_equal(np.sort(ours.conformity_scores_), np.sort(ref.conformity_scores))


def test_cv_plus_nested_levels_and_limits():
    X, y = _linear_data(n=40, nan=False)
    c = CrossConformalPlus(LinearRegression(), n_folds=5, random_state=0).fit(X, y)
    _, lo8, hi8 = c.predict_interval(X, level=0.8)
    _, lo95, hi95 = c.predict_interval(X, level=0.95)
    assert np.all(lo95 <= lo8) and np.all(hi95 >= hi8)
    assert max_level_for(40) == pytest.approx(40 / 41)
    yb, lob, hib = c.predict_interval(X, level=0.9, method="base")
    _, lom, him = c.predict_interval(X, level=0.9, method="minmax")
    np.testing.assert_allclose(hib - yb, yb - lob)  # symmetric around the point
    assert np.all(lom <= lob + 1e-9) and np.all(him >= hib - 1e-9)
    with pytest.raises(ValueError, match="method"):
        c.predict_interval(X, method="naive")
    with pytest.raises(ValueError, match="needs more than 40"):
        c.predict_interval(X, level=0.99)
    with pytest.raises(ValueError, match="n_folds"):
        CrossConformalPlus(n_folds=1).fit(X, y)


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize("name, unit", [
    ("liver_mass_g", "g"), ("ast_u_per_l_pre", "U/L"), ("neutrophils_1e9_per_l_post", "10⁹/L"),
    ("bsa_m2", "m²"), ("bmi_kg_m2", "kg/m²"), ("uptake_first_liver", "fraction"), ("sex_male", "0/1"),
    ("first_scan_time_h", "h"), ("hemoglobin_g_per_dl_pre", "g/dL"), ("respiratory_rate_per_min_pre", "/min"),
    ("egfr_ml_per_min_1_73m2_pre", "mL/min/1.73 m²"), ("temperature_c_post", "°C"), ("ecog_ps", ""),
    ("patient", ""),
])
def test_unit_from_column(name, unit):
    assert unit_from_column(name) == unit


# --------------------------------------------------------------------------- files


def _small_model(seed=0):
    from onescan.models._pipeline import PipelineSettings, make_pipeline

    X, y = _linear_data(seed=seed)
    X.index = pd.Index([f"P{i:03d}" for i in range(len(X))], name="patient_id")
    pipe = make_pipeline(PipelineSettings(selector="fast", k_features=2, selector_cv=3))
    return fit_model(X, y, pipeline=pipe, interval_folds=5, seed=seed), X


def test_round_trip_identical_predictions(tmp_path):
    model, X = _small_model()
    mpath, cpath = save_model(model, tmp_path / "m.skops")
    assert cpath == card_path_for(mpath) == tmp_path / "m.card.json"
    card = json.loads(cpath.read_text())
    assert card["model_sha256"] == hashlib.sha256(mpath.read_bytes()).hexdigest()
    assert set(card["types_in_file"]) <= set(TRUSTED_TYPES)
    loaded = load_model(mpath)
    assert isinstance(loaded, OnescanModel) and loaded.card == card
    a = model.conformal_.predict_interval(X, level=0.9)
    b = loaded.conformal_.predict_interval(X, level=0.9)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    pd.testing.assert_frame_equal(model._predict_features(X, 0.9), loaded._predict_features(X, 0.9))


def test_tampered_file_refused(tmp_path):
    model, _ = _small_model()
    mpath, _ = save_model(model, tmp_path / "m.skops")
    data = bytearray(mpath.read_bytes())
    data[len(data) // 2] ^= 0x01
    mpath.write_bytes(bytes(data))
    with pytest.raises(InputError, match="SHA-256 does not match"):
        load_model(mpath)


def test_missing_card_refused(tmp_path):
    model, _ = _small_model()
    mpath, cpath = save_model(model, tmp_path / "m.skops")
    cpath.unlink()
    with pytest.raises(InputError, match="card .* is missing"):
        load_model(mpath)


class Foreign(RegressorMixin, BaseEstimator):
    """A type onescan never trusts."""

    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def _write_with_matching_card(model, path):
    """What an attacker would do: dump any object and write a card with its hash."""
    data = sio.dumps(model)
    path.write_bytes(data)
    card = dict(model.card_, model_file=path.name, model_sha256=hashlib.sha256(data).hexdigest())
    card_path_for(path).write_text(json.dumps(card))


@pytest.mark.parametrize("foreign", [Foreign(), DecisionTreeRegressor(max_depth=2)])
def test_foreign_type_refused(tmp_path, foreign):
    model, X = _small_model()
    X_, y = _linear_data()
    model.conformal_.estimators_[0] = foreign.fit(X_.fillna(0), y)
    with pytest.raises(TypeError, match="allow-list"):
        save_model(model, tmp_path / "refused.skops")
    assert not (tmp_path / "refused.skops").exists()
    path = tmp_path / "m.skops"
    _write_with_matching_card(model, path)
    with pytest.raises(InputError, match="outside onescan's allow-list"):
        load_model(path)


def test_not_a_model_refused(tmp_path):
    path = tmp_path / "m.skops"
    path.write_bytes(b"not a zip file")
    card_path_for(path).write_text(json.dumps({"format": "onescan-model-card",
                                               "model_sha256": hashlib.sha256(b"not a zip file").hexdigest()}))
    with pytest.raises(InputError, match="refusing to load"):
        load_model(path)
    # a legitimate skops file of an allowed type, but not an onescan model
    data = sio.dumps(Pipeline([("model", LinearRegression())]))
    path.write_bytes(data)
    card_path_for(path).write_text(json.dumps({"format": "onescan-model-card",
                                               "model_sha256": hashlib.sha256(data).hexdigest()}))
    with pytest.raises(InputError, match="not an onescan model"):
        load_model(path)


def test_file_types_reads_schema_only():
    data = sio.dumps(Pipeline([("model", LinearRegression())]))
    types = file_types(data)
    assert "sklearn.pipeline.Pipeline" in types
    assert "sklearn.linear_model._base.LinearRegression" in types
    with pytest.raises(ValueError):
        file_types(b"junk")


def test_save_requires_skops_suffix(tmp_path):
    model, _ = _small_model()
    with pytest.raises(InputError, match=r"\.skops"):
        save_model(model, tmp_path / "m.pkl")


# --------------------------------------------------------------------------- predict


def test_predict_columns_interval_and_cap(scan_model, cohorts):
    _, new = cohorts
    out = scan_model.predict(new.patients.drop(columns="prescribed_activity_mci"), _first_only(new.scans))
    assert tuple(out.columns) == OUTPUT_COLUMNS
    assert out["patient_id"].tolist() == new.patients["patient_id"].tolist()
    p = out["predicted_activity_mci"].to_numpy()
    assert np.all(out["interval_low_mci"] <= p) and np.all(p <= out["interval_high_mci"])
    assert np.all(out["interval_low_mci"] < out["interval_high_mci"])
    np.testing.assert_allclose(out["predicted_activity_gbq"], p * 0.037)
    np.testing.assert_allclose(out["predicted_activity_capped_mci"], np.clip(p, 0, 1030))
    np.testing.assert_allclose(out["liver_dose_gy_at_capped"], 24 * np.clip(p, 0, 1030) / p)
    assert (out["interval_level"] == 0.9).all()
    wide = scan_model.predict(new.patients, new.scans, level=0.95)
    assert np.all(wide["interval_high_mci"] - wide["interval_low_mci"]
                  >= out["interval_high_mci"] - out["interval_low_mci"] - 1e-9)


def test_predictions_ignore_later_scans(scan_model, cohorts):
    _, new = cohorts
    assert scan_model.scan_features_, "this test needs a model that reads the first scan"
    pats = new.patients.drop(columns="prescribed_activity_mci")
    a = scan_model.predict(pats, new.scans)
    b = scan_model.predict(pats, _first_only(new.scans))
    # later scans for only some patients
    some = new.scans[(new.scans["patient_id"] != "NEW0001") | (new.scans["time_h"] < 5)]
    c = scan_model.predict(pats, some)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_missing_used_feature_refused_unused_ignored(scan_model, cohorts):
    _, new = cohorts
    pats = new.patients.drop(columns=["prescribed_activity_mci"])
    assert "liver_mass_g" in scan_model.used_features_
    with pytest.raises(InputError) as err:
        scan_model.predict(pats.drop(columns="liver_mass_g"), new.scans)
    assert any(p.column == "liver_mass_g" for p in err.value.problems)
    # columns the model never used (here: every other lab) are not needed
    unused = [c for c in pats.columns if c.startswith("alt_")]
    out = scan_model.predict(pats.drop(columns=unused), new.scans)
    assert len(out) == len(pats)


def test_no_first_scan_refused(scan_model, cohorts):
    _, new = cohorts
    pats = new.patients.drop(columns="prescribed_activity_mci")
    later = new.scans[new.scans["time_h"] > 10]
    with pytest.raises(InputError) as err:
        scan_model.predict(pats, later)
    assert len(err.value.problems) == len(pats)
    assert all("no first scan" in p.message for p in err.value.problems)
    one_missing = new.scans[new.scans["patient_id"] != "NEW0003"]
    with pytest.raises(InputError) as err:
        scan_model.predict(pats, one_missing)
    assert [p.patient_id for p in err.value.problems] == ["NEW0003"]
    with pytest.raises(InputError, match="reads the first scan"):
        scan_model.predict(pats)


def test_warnings_name_out_of_range_and_imputed(scan_model, cohorts):
    _, new = cohorts
    pats = new.patients.drop(columns="prescribed_activity_mci").copy()
    pats.loc[0, "liver_mass_g"] = 10 * scan_model.feature_info_["liver_mass_g"]["max"]
    pats.loc[1, "ast_u_per_l_pre"] = np.nan
    out = scan_model.predict(pats, new.scans)
    assert "liver_mass_g" in out.loc[0, "warnings"] and "above the training range" in out.loc[0, "warnings"]
    assert "ast_u_per_l_pre missing: imputed" in out.loc[1, "warnings"]


def test_bad_level_refused(scan_model, cohorts):
    _, new = cohorts
    with pytest.raises(InputError, match="--level"):
        scan_model.predict(new.patients, new.scans, level=0.999)


def test_train_card(scan_model, cohorts, tmp_path):
    card = scan_model.card_
    for key in ("versions", "settings", "seed", "inputs", "n_patients", "features", "selected_features",
                "coefficients", "intercept", "cross_validation", "schedule", "intervals"):
        assert key in card, key
    assert card["n_patients"] == 60 and card["schedule"] == "first"
    assert {"onescan", "scikit-learn", "skops", "mapie"} <= set(card["versions"])
    feats = {f["name"]: f for f in card["features"]}
    assert feats["liver_mass_g"]["unit"] == "g"
    assert feats["liver_mass_g"]["min"] <= feats["liver_mass_g"]["max"]
    assert "r2" in card["cross_validation"]["metrics"]
    mpath, cpath = save_model(scan_model, tmp_path / "model.skops")
    on_disk = json.loads(cpath.read_text())
    assert on_disk["model_sha256"] == hashlib.sha256(mpath.read_bytes()).hexdigest()
    json.dumps(on_disk, allow_nan=False)  # strict JSON: no NaN


def test_all_problems_reported_together(scan_model, cohorts):
    _, new = cohorts
    pats = new.patients.drop(columns=["prescribed_activity_mci", "liver_mass_g"])
    one_missing = new.scans[new.scans["patient_id"] != "NEW0002"]
    with pytest.raises(InputError) as err:
        scan_model.predict(pats, one_missing)
    problems = err.value.problems
    assert any(p.column == "liver_mass_g" for p in problems)
    assert any(p.patient_id == "NEW0002" for p in problems)


def test_predict_patients_only_when_no_scan_feature():
    model, X = _small_model()
    assert not model.scan_features_
    patients = X.reset_index()  # patient_id + the lab columns, no scans table
    out = model.predict(patients)
    pd.testing.assert_frame_equal(out, model._predict_features(X, 0.9))
    assert model.load_rules()["need_scans"] is False


@pytest.mark.parametrize("options", [
    dict(selector="mlxtend", k_features=2, selector_cv=3),
    dict(selector="fast", k_features=2, selector_cv=3, scaler="standard", model="ridge"),
    dict(selector="none", scaler="minmax", model="linear", imputer="mean"),
    dict(selector="fast", k_features=2, selector_cv=3, scaler="none", scoring="neg_mean_squared_error"),
])
def test_every_pipeline_option_is_on_the_allow_list(tmp_path, options):
    from onescan.models._pipeline import PipelineSettings, make_pipeline

    X, y = _linear_data(n=40)
    X.index = pd.Index([f"P{i:03d}" for i in range(len(X))], name="patient_id")
    model = fit_model(X, y, pipeline=make_pipeline(PipelineSettings(**options)), interval_folds=3)
    path, _ = save_model(model, tmp_path / "m.skops")
    loaded = load_model(path)
    pd.testing.assert_frame_equal(model._predict_features(X, 0.8), loaded._predict_features(X, 0.8))


# --------------------------------------------------------------------------- positive activities, safe activity


def test_default_intervals_positive_and_capped(scan_model, cohorts):
    from onescan.models._log_conformal import LogCrossConformal

    _, new = cohorts
    assert isinstance(scan_model.conformal_, LogCrossConformal) and scan_model.interval_method_ == "log"
    out = scan_model.predict(new.patients, new.scans)
    capped = out["predicted_activity_capped_mci"]
    assert (out["predicted_activity_mci"] > 0).all() and (out["interval_low_mci"] >= 0).all()
    assert (out["interval_high_mci"] <= 1030).all()
    assert (out["interval_low_mci"] <= capped).all() and (capped <= out["interval_high_mci"]).all()
    assert scan_model.card_["intervals"]["method"] == "log"
    assert scan_model.card_["intervals"]["floor_mci"] == pytest.approx(scan_model.conformal_.floor_)


def test_predict_safe_activity(scan_model, cohorts):
    from onescan.studies._clinic import SAFE_COLUMNS

    _, new = cohorts
    pats = new.patients.drop(columns="prescribed_activity_mci")
    out = scan_model.predict(pats, new.scans, max_overdose_risk=0.2)
    assert tuple(out.columns) == OUTPUT_COLUMNS[:-1] + SAFE_COLUMNS + ("warnings",)
    bound = scan_model.conformal_.lower_bound(scan_model.features(pats, new.scans), 0.2)
    np.testing.assert_allclose(out["safe_activity_mci"], np.minimum(1.1 * bound, 1030))
    np.testing.assert_allclose(out["safe_activity_gbq"], out["safe_activity_mci"] * 0.037)
    np.testing.assert_allclose(out["safe_fraction_of_predicted"],
                               out["safe_activity_mci"] / out["predicted_activity_capped_mci"])
    assert (out["safe_activity_mci"] > 0).all() and (out["max_overdose_risk"] == 0.2).all()
    stricter = scan_model.predict(pats, new.scans, max_overdose_risk=0.05)
    assert (stricter["safe_activity_mci"] <= out["safe_activity_mci"] + 1e-9).all()
    # the other columns do not depend on the risk
    pd.testing.assert_frame_equal(out.drop(columns=list(SAFE_COLUMNS)), scan_model.predict(pats, new.scans))
    card = scan_model.card_["safe_prescription"]
    assert card["overdose_factor"] == 1.1 and card["min_risk"] == pytest.approx(1 / 61)


@pytest.mark.parametrize("risk, match", [(0.0, "strictly between"), (1.0, "strictly between"),
                                         (float("nan"), "strictly between"), ("x", "a number"),
                                         (0.01, "below 1/")])
def test_bad_overdose_risk_refused(scan_model, cohorts, risk, match):
    _, new = cohorts
    with pytest.raises(InputError, match=match) as err:
        scan_model.predict(new.patients, new.scans, max_overdose_risk=risk)
    assert err.value.problems[0].file == "--max-overdose-risk"


def test_non_positive_output_raised_and_warned():
    model, X = _small_model()
    X = X.copy()
    X.iloc[:, :] = X.to_numpy() * 200.0  # far along every slope: raw outputs ≪ 0 for some rows
    raw = model.conformal_.predict_raw(X)
    assert (raw <= 0).any()
    out = model._predict_features(X, 0.9, 0.1)
    assert (out["predicted_activity_mci"] >= model.conformal_.floor_).all()
    assert (out[["interval_low_mci", "interval_high_mci", "safe_activity_mci"]] >= 0).all().all()
    low = raw < model.conformal_.floor_
    assert all("below the lowest training activity: raised" in w for w in out.loc[low, "warnings"])


def test_plus_method_keeps_raw_intervals():
    """A model trained with the raw-scale CV+ keeps its intervals; its safe bound uses the log-plus rule."""
    from onescan.models._pipeline import PipelineSettings, make_pipeline

    X, y = _linear_data()
    X.index = pd.Index([f"P{i:03d}" for i in range(len(X))], name="patient_id")
    model = fit_model(X, y, pipeline=make_pipeline(PipelineSettings(selector="none")), interval_folds=5,
                      interval_method="plus")
    out = model._predict_features(X, 0.9, 0.1)
    _, lo, hi = CrossConformalPlus(make_pipeline(PipelineSettings(selector="none")), n_folds=5,
                                   random_state=0).fit(X, y).predict_interval(X, 0.9)
    p = out["predicted_activity_mci"].to_numpy()
    np.testing.assert_allclose(out["interval_low_mci"], np.minimum(lo, p))
    np.testing.assert_allclose(out["interval_high_mci"], np.maximum(hi, p))
    np.testing.assert_allclose(out["safe_activity_mci"],
                               np.minimum(1.1 * model.conformal_.lower_bound(X, 0.1, method="log-plus"), 1030))
