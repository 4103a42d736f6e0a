"""Tests for onescan.evaluation._cv: metrics against hand values, the split, repeated CV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import RepeatedKFold, train_test_split

from onescan.evaluation._cv import (
    bland_altman,
    calibration,
    published_split,
    regression_metrics,
    repeated_cv,
    summarise,
)
from onescan.models._pipeline import PipelineSettings, make_pipeline, selected_features


def test_regression_metrics_hand_values():
    y = np.array([100.0, 200.0, 300.0, 400.0])
    p = np.array([110.0, 150.0, 300.0, 1200.0])
    m = regression_metrics(y, p, cap_mci=500)
    # errors 10, -50, 0, 800
    assert m["n"] == 4
    assert m["rmse_mci"] == pytest.approx(np.sqrt((100 + 2500 + 0 + 640000) / 4))
    assert m["mae_mci"] == pytest.approx(860 / 4)
    assert m["bias_mci"] == pytest.approx(760 / 4)
    assert m["within30_pct"] == pytest.approx(75.0)        # |−50| < 60 yes; 800 < 120 no
    assert m["r2"] == pytest.approx(1 - 642600 / 50000)
    # clinical: 1200 → 500, errors 10, −50, 0, 100
    assert m["rmse_mci_clinical"] == pytest.approx(np.sqrt((100 + 2500 + 0 + 10000) / 4))
    assert m["within30_pct_clinical"] == pytest.approx(100.0)
    assert m["mean_actual_mci"] == 250.0


def test_within30_is_strict_and_clip_has_floor_at_zero():
    m = regression_metrics([100.0, 100.0], [130.0, -50.0], cap_mci=1030)
    assert m["within30_pct"] == 0.0                         # exactly 30% is not "less than 30%"
    assert m["mae_mci_clinical"] == pytest.approx((30 + 100) / 2)


def test_metrics_skip_nonfinite_pairs():
    m = regression_metrics([100.0, 200.0, np.nan], [100.0, np.nan, 5.0])
    assert m["n"] == 1 and m["rmse_mci"] == 0.0


def test_calibration_and_bland_altman_hand_values():
    p = np.array([1.0, 2.0, 3.0, 4.0])
    c = calibration(2 * p + 1, p)
    assert c["calibration_slope"] == pytest.approx(2.0)
    assert c["calibration_intercept_mci"] == pytest.approx(1.0)
    b = bland_altman([10.0, 20.0, 30.0], [12.0, 20.0, 34.0])   # diffs 2, 0, 4
    assert b["ba_bias_mci"] == pytest.approx(2.0)
    assert b["ba_sd_mci"] == pytest.approx(2.0)
    assert b["ba_loa_low_mci"] == pytest.approx(2 - 3.92)
    assert b["ba_loa_high_mci"] == pytest.approx(2 + 3.92)


def test_published_split_is_sklearn_train_test_split():
    tr, te = published_split(74, seed=0)
    a, b = train_test_split(np.arange(74), test_size=0.3, random_state=0, shuffle=True)
    np.testing.assert_array_equal(tr, a)
    np.testing.assert_array_equal(te, b)
    assert (len(tr), len(te)) == (51, 23)
    assert not set(tr) & set(te)
    assert not np.array_equal(published_split(74, seed=1)[1], te)


def test_summarise_percentile_interval():
    s = summarise(np.arange(1, 101, dtype=float))
    assert s["mean"] == 50.5
    assert s["low"] == pytest.approx(np.percentile(np.arange(1, 101), 2.5))
    assert s["high"] == pytest.approx(np.percentile(np.arange(1, 101), 97.5))


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"f{i}" for i in range(6)])
    y = 600 + 100 * X["f0"] + 80 * X["f1"] + rng.normal(0, 15, n)
    return X, y.to_numpy()


def test_repeated_cv_refits_each_fold_and_matches_a_manual_loop():
    X, y = _data()
    models = {"ols": LinearRegression(), "f0": LinearRegression()}
    res = repeated_cv(X, y, models, folds=4, repeats=3, seed=7, columns={"f0": ["f0"]})
    manual = np.full((3, len(y)), np.nan)
    for i, (tr, te) in enumerate(RepeatedKFold(n_splits=4, n_repeats=3, random_state=7).split(X)):
        manual[i // 4, te] = clone(LinearRegression()).fit(X.iloc[tr][["f0"]], y[tr]).predict(X.iloc[te][["f0"]])
    np.testing.assert_allclose(res.oof["f0"], manual)
    assert np.isfinite(res.oof["ols"]).all()
    assert len(res.per_repeat) == 2 * 3
    for r in range(3):
        got = res.per_repeat.query("model == 'ols' and repeat == @r")["rmse_mci"].item()
        assert got == pytest.approx(regression_metrics(y, res.oof["ols"][r])["rmse_mci"])
    s = res.summary["ols"]["rmse_mci"]
    vals = res.per_repeat.query("model == 'ols'")["rmse_mci"]
    assert vals.min() <= s["low"] <= s["mean"] <= s["high"] <= vals.max()
    assert res.summary["ols"]["rmse_mci"]["mean"] < res.summary["f0"]["rmse_mci"]["mean"]


def test_repeated_cv_selection_frequency_progress_and_jobs():
    X, y = _data(36)
    pipe = make_pipeline(PipelineSettings(k_features=2, selector_cv=3))
    calls = []
    res1 = repeated_cv(X, y, {"lasso": pipe}, folds=3, repeats=2, seed=0, selected={"lasso": selected_features},
                       progress=calls.append)
    assert sum(calls) == 6
    freq = res1.selection_frequency["lasso"]
    assert freq["f0"] == 1.0 and freq["f1"] == 1.0
    assert (freq <= 1).all() and freq.sum() == pytest.approx(2.0)   # 2 features per fit
    res2 = repeated_cv(X, y, {"lasso": pipe}, folds=3, repeats=2, seed=0, selected={"lasso": selected_features},
                       n_jobs=2)
    np.testing.assert_allclose(res1.oof["lasso"], res2.oof["lasso"])


def test_repeated_cv_argument_checks():
    X, y = _data(10)
    with pytest.raises(ValueError):
        repeated_cv(X, y, {"m": LinearRegression()}, folds=1)
    with pytest.raises(ValueError):
        repeated_cv(X, y, {"m": LinearRegression()}, folds=11)


def _mean_task(train, test, y):
    """A fold task: predicts the training mean; 'sel' selects one fake feature per fit."""
    return {"mean": (np.full(len(test), y[train].mean()), ["f"]), "zero": (np.zeros(len(test)), None)}


def test_engine_assembles_out_of_fold_predictions_in_split_order():
    from onescan.evaluation._engine import CVResult, run_repeated_cv

    y = np.arange(20, dtype=float)
    res = run_repeated_cv(20, _mean_task, (y,), ["mean", "zero"], lambda p: {"n": 20, "err": float(np.mean(p - y))},
                          folds=4, repeats=3, seed=2, key="method")
    assert isinstance(res, CVResult)
    for r, start in enumerate(range(0, 12, 4)):
        splits = list(RepeatedKFold(n_splits=4, n_repeats=3, random_state=2).split(y))[start:start + 4]
        for tr, te in splits:
            np.testing.assert_array_equal(res.oof["mean"][r, te], y[tr].mean())
    assert list(res.per_repeat.columns) == ["method", "repeat", "n", "err"]
    assert set(res.summary["zero"]) == {"err"}                      # "n" is not summarised
    assert res.selection_frequency["mean"]["f"] == 1.0 and "zero" not in res.selection_frequency
