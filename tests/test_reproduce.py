"""Tests for onescan.studies._reproduce: the seed study end to end on a small synthetic cohort."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from _h5_cohort import make_cohort, make_tables

from onescan.contract._cohort import Cohort, load_cohort
from onescan.contract._errors import InputError
from onescan.evaluation._cv import published_split, regression_metrics
from onescan.models._pipeline import PipelineSettings
from onescan.report import check_outputs, write_outputs
from onescan.studies._reproduce import PAPER, reproduce

FAST = PipelineSettings(k_features=3, selector_cv=3)


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(30, seed=5)


@pytest.fixture(scope="module")
def result(cohort):
    return reproduce(cohort, pipeline_settings=FAST, seed=2, folds=3, repeats=2)


def test_metrics_are_complete_and_strict_json(result):
    m = json.loads(json.dumps(result.metrics, allow_nan=False))
    assert m["seed"] == 2
    assert m["paper"] == PAPER
    methods = {"lasso", "hybrid", "body_mass", "liver_mass", "stp"}
    assert set(m["split"]["metrics"]) == methods
    assert set(m["cv"]["summary"]) == methods
    assert set(m["methods"]) == set(m["method_short"]) == methods
    assert "not in the paper" in m["methods"]["hybrid"]
    for key in ("r2", "rmse_mci", "mae_mci", "within30_pct", "bias_mci", "rmse_mci_clinical",
                "calibration_slope", "ba_loa_low_mci", "ba_loa_high_mci"):
        for method in ("lasso", "hybrid"):
            s = m["cv"]["summary"][method][key]
            assert s["low"] <= s["mean"] <= s["high"]
        assert key in m["split"]["metrics"]["stp"]
        assert key in m["split"]["metrics"]["hybrid"]
    assert m["settings"]["pipeline"]["k_features"] == 3
    assert m["settings"]["dosimetry"]["target_gy"] == 24.0
    assert {"numpy", "scikit-learn", "onescan"} <= set(m["versions"])
    assert len(m["split"]["selected_model"]["features"]) == 3
    assert m["cohort"]["n_patients"] == 30
    assert m["split"]["interval"]["level"] == 0.9
    assert m["split"]["interval_hybrid"]["level"] == 0.9
    h = m["split"]["hybrid_model"]
    assert h["target"] == "log_tiac_per_uptake" and len(h["features"]) == 3 and h["alpha"] > 0
    assert set(m["cv"]["selection_frequency"]) == {"lasso", "hybrid"}
    assert all(0 < v <= 1 for v in m["cv"]["selection_frequency"]["hybrid"].values())
    assert all("hybrid_selected_pct" in c for r in m["robust_features"] for c in r["columns"])
    robust = {r["paper"]: r["columns"] for r in m["robust_features"]}
    assert len(robust) == 8
    assert [c["feature"] for c in robust["liver mass"]] == ["liver_mass_g"]
    assert [c["feature"] for c in robust["AST (pre dosimetric infusion)"]] == ["ast_pre_u_per_l"]
    assert robust["BSA"] == []


def test_split_is_the_published_one_and_metrics_follow_from_predictions(result, cohort):
    pred = result.predictions
    train, test = published_split(30, seed=2)
    assert list(pred["patient_id"]) == list(cohort.patients["patient_id"].iloc[test])
    for name, col in (("lasso", "predicted_mci"), ("body_mass", "body_mass_mci"),
                      ("liver_mass", "liver_mass_mci"), ("stp", "stp_mci"), ("hybrid", "hybrid_mci")):
        ref = regression_metrics(pred["actual_mci"], pred[col])
        got = result.metrics["split"]["metrics"][name]
        assert got["rmse_mci"] == pytest.approx(ref["rmse_mci"])
        assert got["within30_pct"] == pytest.approx(ref["within30_pct"])
    np.testing.assert_allclose(pred["predicted_clipped_mci"], pred["predicted_mci"].clip(0, 1030))
    np.testing.assert_allclose(pred["error_pct"],
                               100 * (pred["predicted_mci"] - pred["actual_mci"]) / pred["actual_mci"])
    assert (pred["interval_low_mci"] <= pred["predicted_mci"]).all()
    assert (pred["predicted_mci"] <= pred["interval_high_mci"]).all()
    assert (pred["hybrid_interval_low_mci"] <= pred["hybrid_mci"]).all()
    assert (pred["hybrid_mci"] <= pred["hybrid_interval_high_mci"]).all()
    np.testing.assert_allclose(pred["hybrid_cv_mean_predicted_mci"],
                               np.nanmean(result.plot_data["oof"]["hybrid"], axis=0)[test])


def test_hybrid_is_fitted_on_the_published_training_rows(result, cohort):
    """The split's hybrid predictions and model equal a HybridDosimetryRegressor fitted independently."""
    from onescan.features._features import build_features, get_target
    from onescan.models._hybrid import HybridDosimetryRegressor
    from onescan.models._registry import hybrid_params

    X, y = build_features(cohort), get_target(cohort)
    train, test = published_split(30, seed=2)
    h = HybridDosimetryRegressor(**hybrid_params(FAST)).fit(X.iloc[train], y.iloc[train])
    np.testing.assert_allclose(result.predictions["hybrid_mci"], h.predict(X.iloc[test]), rtol=1e-10)
    got = result.metrics["split"]["hybrid_model"]
    assert [f["feature"] for f in got["features"]] == h.selected_features()
    assert got["intercept_ln_h"] == pytest.approx(h.coefficients()["(intercept)"])
    assert got["n_censored_train"] == h.n_censored_


def test_example_patient_shows_the_hybrid_estimate(result):
    from onescan.models._hybrid import tiac_ratio_to_lambda

    ex = result.metrics["example"]
    row = result.predictions.set_index("patient_id").loc[ex["patient_id"]]
    assert ex["hybrid_mci"] == pytest.approx(row["hybrid_mci"])
    lam = np.log(2) / ex["hybrid_half_life_h"]
    # the drawn mono-exponential through the first scan integrates to the hybrid's TIAC
    t1, f1 = ex["hybrid_first_time_h"], ex["hybrid_first_fraction"]
    assert f1 * np.exp(lam * t1) / lam == pytest.approx(ex["hybrid_tiac_h"], rel=1e-9)
    assert tiac_ratio_to_lambda(np.array([ex["hybrid_tiac_h"] / f1]), np.array([t1]))[0] == pytest.approx(lam)


def test_no_hybrid_leaves_everything_else_unchanged(result, cohort):
    r = reproduce(cohort, pipeline_settings=FAST, seed=2, folds=3, repeats=2, hybrid=False)
    m = r.metrics
    assert "hybrid" not in m["split"]["metrics"] and "hybrid" not in m["cv"]["summary"]
    assert "hybrid" not in m["methods"] and "hybrid" not in m["cv"]["selection_frequency"]
    assert m["split"]["hybrid_model"] is None and m["split"]["interval_hybrid"] is None
    assert "hybrid" not in m["comparison"]
    assert not any(c.startswith("hybrid") for c in r.predictions.columns)
    for name in ("lasso", "body_mass", "liver_mass", "stp"):
        np.testing.assert_array_equal(r.plot_data["oof"][name], result.plot_data["oof"][name])
        assert m["split"]["metrics"][name] == result.metrics["split"]["metrics"][name]
    assert m["comparison"]["best_baseline"] == result.metrics["comparison"]["best_baseline"]


def test_hybrid_skipped_with_a_note_when_it_cannot_run():
    from onescan.studies._reproduce import _models

    X = pd.DataFrame({"uptake_first_liver": [0.1, np.nan, 0.12], "liver_mass_g": [1500.0, 1600, 1700],
                      "first_scan_time_h": [1.0, 1, 1], "weight_kg": [70.0, 80, 90]})
    models, columns, selected, notes = _models(X, list(X.columns), FAST, None)
    assert "hybrid" not in models and "hybrid" not in selected
    assert any("hybrid model skipped: 1 patients" in n for n in notes)
    models, _, _, notes = _models(X.drop(columns="first_scan_time_h"), ["uptake_first_liver"], FAST, None)
    assert "hybrid" not in models
    assert any("no first_scan_time_h" in n for n in notes)
    models, columns, selected, notes = _models(X.fillna(0.11), ["weight_kg"], FAST, None)
    assert columns["hybrid"] == ["weight_kg", "uptake_first_liver", "liver_mass_g", "first_scan_time_h"]
    assert "hybrid" in selected and any("reads uptake_first_liver" in n for n in notes)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # hybrid, all features, small alpha
def test_one_scan_predictions_ignore_later_scans():
    p, s = make_tables(24, seed=8, with_target=True)
    c1 = load_cohort(patients=p, scans=s)
    s2 = s.copy()
    later = (s2["time_h"] > s2.groupby("patient_id")["time_h"].transform("min")).to_numpy()
    s2.loc[later, ["counts_anterior", "counts_posterior"]] *= 3.7
    c2 = load_cohort(patients=p, scans=s2)
    kw = dict(pipeline_settings=PipelineSettings(selector="none"), folds=3, repeats=1)
    r1, r2 = reproduce(c1, **kw), reproduce(c2, **kw)
    np.testing.assert_array_equal(r1.predictions["predicted_mci"], r2.predictions["predicted_mci"])
    np.testing.assert_array_equal(r1.plot_data["oof"]["lasso"], r2.plot_data["oof"]["lasso"])
    np.testing.assert_array_equal(r1.predictions["hybrid_mci"], r2.predictions["hybrid_mci"])
    np.testing.assert_array_equal(r1.plot_data["oof"]["hybrid"], r2.plot_data["oof"]["hybrid"])
    # the single-time-point baseline *does* learn its half-life from the full dosimetry
    assert r1.metrics["split"]["stp_half_life_pop_h"] != r2.metrics["split"]["stp_half_life_pop_h"]


def test_write_outputs(result, tmp_path):
    out = tmp_path / "res"
    written = write_outputs(result, out)
    for name in ("report.html", "metrics.json", "predictions.csv"):
        assert (out / name).is_file()
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == sorted(["predicted_vs_prescribed.png", "bland_altman.png", "error_distribution.png",
                           "selection_frequency.png", "example_tac.png"])
    assert all((out / "figures" / n).read_bytes().startswith(b"\x89PNG") for n in pngs)
    assert json.loads((out / "metrics.json").read_text()) == result.metrics
    back = pd.read_csv(out / "predictions.csv", dtype={"patient_id": str})
    assert len(back) == result.metrics["split"]["n_test"]
    assert set(written) >= {"report.html", "metrics.json", "predictions.csv"}


def test_outputs_never_overwrite_inputs(tmp_path, result):
    p, s = make_tables(12, seed=1)
    p.to_csv(tmp_path / "predictions.csv", index=False)     # a user's input with an output's name
    s.to_csv(tmp_path / "scans.csv", index=False)
    c = load_cohort(tmp_path / "predictions.csv", tmp_path / "scans.csv")
    before = sorted(x.name for x in tmp_path.iterdir())
    with pytest.raises(InputError, match="overwritten"):
        check_outputs(tmp_path, c)
    fake = dataclasses.replace(result, summary=dataclasses.replace(
        result.summary, inputs={"patients": {"source": str(tmp_path / "predictions.csv")}}))
    with pytest.raises(InputError):
        write_outputs(fake, tmp_path)
    assert sorted(x.name for x in tmp_path.iterdir()) == before
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="folder"):
        check_outputs(tmp_path / "afile", c)


def test_too_few_patients(cohort):
    small = Cohort(cohort.patients.iloc[:6].reset_index(drop=True),
                   cohort.scans[cohort.scans["patient_id"].isin(cohort.patients["patient_id"].iloc[:6])],
                   cohort.sources)
    with pytest.raises(InputError, match="at least"):
        reproduce(small, pipeline_settings=FAST, folds=3, repeats=1)


def test_minimal_hand_written_cohort(tmp_path):
    p, s = make_tables(16, seed=12, extra_regions=False)
    p = p[["patient_id", "dosimetric_activity_mci", "liver_mass_g", "age_y", "ast_pre_u_per_l"]]
    c = load_cohort(patients=p, scans=s)
    with pytest.raises(InputError, match="--k-features 8 is more than the 7 usable"):
        reproduce(c, folds=3, repeats=1)
    r = reproduce(c, pipeline_settings=PipelineSettings(k_features=2, selector_cv=3), folds=3, repeats=1)
    assert set(r.metrics["split"]["metrics"]) == {"lasso", "hybrid", "liver_mass", "stp"}
    assert any("body-mass" in n for n in r.metrics["notes"])
    write_outputs(r, tmp_path)
    assert "body-mass baseline skipped" in (tmp_path / "report.html").read_text()


def test_paired_comparison_with_best_baseline(result):
    y, oof = result.plot_data["y"], result.plot_data["oof"]
    rmse = {k: np.array([regression_metrics(y, v[r])["rmse_mci"] for r in range(v.shape[0])]) for k, v in oof.items()}
    best = min((k for k in rmse if k not in ("lasso", "hybrid")), key=lambda k: rmse[k].mean())
    c = result.metrics["comparison"]
    assert c["best_baseline"] == best
    assert c["cv_rmse_difference_mci"]["mean"] == pytest.approx((rmse["lasso"] - rmse[best]).mean())
    assert c["cv_lasso_better_pct"] == pytest.approx(100 * np.mean(rmse["lasso"] < rmse[best]))
    h = c["hybrid"]
    assert h["cv_rmse_minus_lasso_mci"]["mean"] == pytest.approx((rmse["hybrid"] - rmse["lasso"]).mean())
    assert h["cv_better_than_lasso_pct"] == pytest.approx(100 * np.mean(rmse["hybrid"] < rmse["lasso"]))
    clin = {k: np.array([regression_metrics(y, v[r])["rmse_mci_clinical"] for r in range(v.shape[0])])
            for k, v in oof.items()}
    assert h["cv_rmse_clinical_minus_best_baseline_mci"]["mean"] == pytest.approx(
        (clin["hybrid"] - clin[best]).mean())
    assert h["cv_better_clinical_than_lasso_pct"] == pytest.approx(100 * np.mean(clin["hybrid"] < clin["lasso"]))


def test_excluded_columns_leave_features_but_not_baselines(cohort):
    r = reproduce(cohort, pipeline_settings=PipelineSettings(selector="none"), folds=3, repeats=1,
                  exclude=("weight_kg", "liver_mass_g"))
    feats = [f["feature"] for f in r.metrics["split"]["selected_model"]["features"]]
    assert "weight_kg" not in feats and "liver_mass_g" not in feats
    assert "liver_effective_half_life_h" not in feats
    assert set(r.metrics["split"]["metrics"]) == {"lasso", "hybrid", "body_mass", "liver_mass", "stp"}
    # the hybrid needs the liver mass for its dosimetry, and says so
    assert any("hybrid model reads liver_mass_g" in n for n in r.metrics["notes"])
    assert r.metrics["settings"]["excluded_columns"] == ["weight_kg", "liver_mass_g"]


def test_result_is_typed_and_to_dict_is_metrics_json(result):
    from onescan.studies._reproduce import CVSummary, ReproduceSummary, SplitResult

    assert isinstance(result.summary, ReproduceSummary)
    assert isinstance(result.summary.split, SplitResult) and isinstance(result.summary.cv, CVSummary)
    assert result.to_dict() == result.metrics
    assert result.metrics["split"]["n_test"] == result.summary.split.n_test


def test_paper_table_is_read_from_the_data_file():
    from importlib import resources

    from onescan.studies.reproduce._paper import ROBUST_FEATURE_PATTERNS

    data = json.loads((resources.files("onescan") / "data" / "seed_study.json").read_text(encoding="utf-8"))
    assert PAPER == data["paper"]
    assert PAPER["lasso"] == {"r2": 0.71, "rmse_mci": 179.8, "within30_pct": 63.6, "rmse_mci_clinical": 167.4}
    assert [label for label, _ in ROBUST_FEATURE_PATTERNS] == PAPER["robust_features"]


def test_cv_summary_keys_unchanged_and_intervals_documented(result):
    """cv.summary.<method>.<metric>.{mean,low,high} as before; mean = the mean over repeats; the interval says what it is."""
    from onescan.evaluation._ncv import BOOTSTRAP_METRICS, LOSS_METRICS

    m = result.metrics
    cv = m["cv"]
    assert set(cv["summary"]) == set(cv["repeat_spread"])
    for method, metrics in cv["summary"].items():
        assert set(metrics) == set(cv["repeat_spread"][method])
        for metric, s in metrics.items():
            assert set(s) == {"mean", "low", "high"}
            assert s["mean"] == cv["repeat_spread"][method][metric]["mean"]
            assert s["low"] <= s["mean"] <= s["high"], (method, metric)
    iv = cv["interval"]
    assert iv["level"] == 0.95 and iv["ncv_repeats"] == m["settings"]["cv"]["ncv_repeats"] == 2
    assert iv["ncv_inner_fits"] == 2 * 3 * 2 // 2
    assert "Bates" in iv["method"] and "nested" in m["settings"]["cv"]["interval"]
    assert set(iv["metrics_ncv"]) >= {"rmse_mci", "r2", "rmse_mci_clinical", "within30_pct"}
    assert set(iv["metrics_bootstrap"]) == set(BOOTSTRAP_METRICS)
    assert set(cv["ncv"]["lasso"]) >= set(LOSS_METRICS)
    # the honest RMSE interval is at least as wide as the spread over repeats
    s, r = cv["summary"]["lasso"]["rmse_mci"], cv["repeat_spread"]["lasso"]["rmse_mci"]
    assert s["high"] - s["low"] >= r["high"] - r["low"]


def test_every_comparison_is_paired_and_its_verdict_follows_its_interval(result):
    from onescan.evaluation._ncv import verdict

    c = result.metrics["comparison"]
    baselines = ["body_mass", "liver_mass", "stp"]
    keys = {(p["a"], p["b"], p["scale"]) for p in c["pairs"]}
    for a in ("lasso", "hybrid"):
        for b in baselines:
            assert {(a, b, "raw"), (a, b, "clinical")} <= keys
    assert {("hybrid", "lasso", "clinical"), ("hybrid", "lasso", "raw")} <= keys
    for p in c["pairs"]:
        assert p["low"] <= p["high"]
        assert p["verdict"] == verdict(p["low"], p["high"])
    best = next(p for p in c["pairs"] if (p["a"], p["b"], p["scale"]) == ("lasso", c["best_baseline"], "raw"))
    assert c["verdict"] == best["verdict"]
    assert c["cv_rmse_difference_mci"] == {k: best[k] for k in ("mean", "low", "high")}
    h = c["hybrid"]
    like = next(p for p in c["pairs"] if (p["a"], p["b"], p["scale"]) == ("hybrid", "lasso", "clinical"))
    assert h["verdict_clinical_vs_lasso"] == like["verdict"]
    assert h["cv_rmse_clinical_minus_lasso_mci"] == {k: like[k] for k in ("mean", "low", "high")}
    raw = next(p for p in c["pairs"] if (p["a"], p["b"], p["scale"]) == ("hybrid", "lasso", "raw"))
    assert h["cv_rmse_uncapped_minus_lasso_mci"]["low"] == raw["low"]


def test_uncapped_hybrid_predictions_are_kept_for_the_like_for_like_comparison(result):
    cap = result.plot_data["cap"]
    assert set(result.plot_data["oof_uncapped"]) == {"hybrid"}
    capped, raw = result.plot_data["oof"]["hybrid"], result.plot_data["oof_uncapped"]["hybrid"]
    np.testing.assert_allclose(capped, np.minimum(raw, cap))


def test_nested_cv_needs_three_folds(cohort):
    with pytest.raises(InputError, match="at least 3"):
        reproduce(cohort, pipeline_settings=FAST, folds=2, repeats=1)
