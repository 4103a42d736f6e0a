"""Tests for onescan._reproduce: the seed study end to end on a small synthetic cohort."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _h5_cohort import make_cohort, make_tables

from onescan._contract import Cohort, load_cohort
from onescan._errors import InputError
from onescan._evaluation import published_split, regression_metrics
from onescan._pipeline import PipelineSettings
from onescan._reproduce import PAPER, check_outputs, reproduce, write_outputs

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
    assert set(m["split"]["metrics"]) == {"lasso", "body_mass", "liver_mass", "stp"}
    assert set(m["cv"]["summary"]) == {"lasso", "body_mass", "liver_mass", "stp"}
    for key in ("r2", "rmse_mci", "mae_mci", "within30_pct", "bias_mci", "rmse_mci_clinical",
                "calibration_slope", "ba_loa_low_mci", "ba_loa_high_mci"):
        s = m["cv"]["summary"]["lasso"][key]
        assert s["low"] <= s["mean"] <= s["high"]
        assert key in m["split"]["metrics"]["stp"]
    assert m["settings"]["pipeline"]["k_features"] == 3
    assert m["settings"]["dosimetry"]["target_gy"] == 24.0
    assert {"numpy", "scikit-learn", "onescan"} <= set(m["versions"])
    assert len(m["split"]["selected_model"]["features"]) == 3
    assert m["cohort"]["n_patients"] == 30
    assert m["split"]["interval"]["level"] == 0.9
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
                      ("liver_mass", "liver_mass_mci"), ("stp", "stp_mci")):
        ref = regression_metrics(pred["actual_mci"], pred[col])
        got = result.metrics["split"]["metrics"][name]
        assert got["rmse_mci"] == pytest.approx(ref["rmse_mci"])
        assert got["within30_pct"] == pytest.approx(ref["within30_pct"])
    np.testing.assert_allclose(pred["predicted_clipped_mci"], pred["predicted_mci"].clip(0, 1030))
    np.testing.assert_allclose(pred["error_pct"],
                               100 * (pred["predicted_mci"] - pred["actual_mci"]) / pred["actual_mci"])
    assert (pred["interval_low_mci"] <= pred["predicted_mci"]).all()
    assert (pred["predicted_mci"] <= pred["interval_high_mci"]).all()


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
    fake = type(result)(metrics={**result.metrics, "inputs": {"patients": {"source": str(tmp_path / "predictions.csv")}}},
                        predictions=result.predictions, plot_data=result.plot_data)
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
    assert set(r.metrics["split"]["metrics"]) == {"lasso", "liver_mass", "stp"}
    assert any("body-mass" in n for n in r.metrics["notes"])
    write_outputs(r, tmp_path)
    assert "body-mass baseline skipped" in (tmp_path / "report.html").read_text()


def test_paired_comparison_with_best_baseline(result):
    y, oof = result.plot_data["y"], result.plot_data["oof"]
    rmse = {k: np.array([regression_metrics(y, v[r])["rmse_mci"] for r in range(v.shape[0])]) for k, v in oof.items()}
    best = min((k for k in rmse if k != "lasso"), key=lambda k: rmse[k].mean())
    c = result.metrics["comparison"]
    assert c["best_baseline"] == best
    assert c["cv_rmse_difference_mci"]["mean"] == pytest.approx((rmse["lasso"] - rmse[best]).mean())
    assert c["cv_lasso_better_pct"] == pytest.approx(100 * np.mean(rmse["lasso"] < rmse[best]))


def test_excluded_columns_leave_features_but_not_baselines(cohort):
    r = reproduce(cohort, pipeline_settings=PipelineSettings(selector="none"), folds=3, repeats=1,
                  exclude=("weight_kg", "liver_mass_g"))
    feats = [f["feature"] for f in r.metrics["split"]["selected_model"]["features"]]
    assert "weight_kg" not in feats and "liver_mass_g" not in feats
    assert "liver_effective_half_life_h" not in feats
    assert set(r.metrics["split"]["metrics"]) == {"lasso", "body_mass", "liver_mass", "stp"}
    assert r.metrics["settings"]["excluded_columns"] == ["weight_kg", "liver_mass_g"]
