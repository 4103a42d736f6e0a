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


# ----------------------------------------------------------------------------- honest intervals (nested CV)

from onescan.evaluation._ncv import (  # noqa: E402
    fold_ids,
    ncv_interval,
    paired_difference,
    pair_splits,
    patient_bootstrap,
    run_nested,
    verdict,
)
from onescan.evaluation._splits import repeated_kfold_splits  # noqa: E402


def test_pair_splits_leave_two_folds_out_and_run_nested_assembles_the_inner_cv():
    n, K = 20, 4
    y = np.arange(n, dtype=float)
    fid = fold_ids(repeated_kfold_splits(n, K, 3, 1), n, K)
    assert sorted(np.unique(fid)) == list(range(K)) and fid.shape == (3, n)
    pairs = pair_splits(fid, 2)
    assert len(pairs) == 2 * K * (K - 1) // 2
    for train, test, r, j, k in pairs:
        assert set(fid[r, train]) == set(range(K)) - {j, k}
        assert sorted(test) == sorted(np.flatnonzero((fid[r] == j) | (fid[r] == k)))
    nest = run_nested(n, _mean_task, (y,), ["mean", "zero"], fid, 2)
    inner = nest.inner["mean"]
    assert inner.shape == (2, K, n)
    for r in range(2):
        for k in range(K):
            assert np.isnan(inner[r, k, fid[r] == k]).all()
            for i in np.flatnonzero(fid[r] != k):      # fitted without fold k and i's own fold
                keep = (fid[r] != k) & (fid[r] != fid[r, i])
                assert inner[r, k, i] == pytest.approx(y[keep].mean())
    with pytest.raises(ValueError, match="3 folds"):
        run_nested(n, _mean_task, (y,), ["mean"], fold_ids(repeated_kfold_splits(n, 2, 1, 0), n, 2), 1)


def test_ncv_interval_hand_values():
    """Two repetitions, K = 3, n = 6: the estimate, MSE^ and the SE clamp by hand (Bates et al. 2023, §4)."""
    fid = np.array([[0, 0, 1, 1, 2, 2], [0, 1, 2, 0, 1, 2]])
    rng = np.random.default_rng(0)
    out = rng.uniform(0, 10, (2, 6))
    inner = rng.uniform(0, 10, (2, 3, 6))
    for r in range(2):
        for k in range(3):
            inner[r, k, fid[r] == k] = np.nan
    a, b, m_in = [], [], []
    for r in range(2):
        for k in range(3):
            e_in, e_out = inner[r, k][fid[r] != k], out[r][fid[r] == k]
            a.append((e_in.mean() - e_out.mean()) ** 2)
            b.append(e_out.var(ddof=1) / e_out.size)
            m_in.append(e_in.mean())
    mse = np.mean(a) - np.mean(b)
    naive = np.mean([row.std(ddof=1) / np.sqrt(6) for row in out])
    se = min(max(np.sqrt(max(mse, 0) * 2 / 3), naive), np.sqrt(3) * naive)
    bias = (1 + 1 / 3) * (np.mean(m_in) - out.mean())
    d = ncv_interval(out, inner, fid)
    assert d["err_cv"] == pytest.approx(out.mean())
    assert d["err_ncv"] == pytest.approx(np.mean(m_in))
    assert d["se_naive"] == pytest.approx(naive)
    assert d["se"] == pytest.approx(se)
    assert d["bias"] == pytest.approx(bias)
    z = 1.959963984540054
    assert d["estimate"] == pytest.approx(out.mean())          # centred on the CV estimate by default
    assert d["low"] == pytest.approx(d["estimate"] - z * se) and d["high"] == pytest.approx(d["estimate"] + z * se)
    bc = ncv_interval(out, inner, fid, bias_correction=True)   # the paper's centre
    assert bc["estimate"] == pytest.approx(np.mean(m_in) - bias) and bc["se"] == pytest.approx(se)


def test_verdict_says_better_only_when_the_interval_excludes_zero():
    assert verdict(-30.0, -0.1) == "better"
    assert verdict(0.5, 20.0) == "worse"
    for lo, hi in ((-30.0, 0.0), (-30.0, 5.0), (0.0, 4.0), (float("nan"), -1.0), (1.0, float("nan"))):
        assert verdict(lo, hi) == "no clear difference"


def _two_models(n=60, seed=0, folds=5, repeats=6, ncv=3):
    X, y = _data(n, seed)
    models = {"ols": LinearRegression(), "f0": LinearRegression(), "same": LinearRegression()}
    cols = {"f0": ["f0"], "ols": ["f0", "f1"], "same": ["f0", "f1"]}
    cv = repeated_cv(X, y, models, folds=folds, repeats=repeats, seed=seed, columns=cols)
    from onescan.evaluation._cv import nested_cv

    return X, y, cv, nested_cv(X, y, models, cv, ncv_repeats=ncv, columns=cols, n_boot=50)


def test_paired_difference_is_paired_and_worded_by_its_interval():
    X, y, cv, honest = _two_models()
    inner = honest.nested.inner
    d = paired_difference(y, cv.oof["ols"], cv.oof["f0"], inner["ols"], inner["f0"], honest.fold_id)
    rm = lambda p: np.sqrt(np.mean((p - y) ** 2, axis=1))  # noqa: E731
    assert d["mean"] == pytest.approx(np.mean(rm(cv.oof["ols"]) - rm(cv.oof["f0"])))
    assert d["better_pct"] == 100.0
    assert d["high"] < 0 and d["verdict"] == "better"          # f1 explains 80 mCi of SD: clearly better
    rev = paired_difference(y, cv.oof["f0"], cv.oof["ols"], inner["f0"], inner["ols"], honest.fold_id)
    assert rev["low"] == pytest.approx(-d["high"]) and rev["verdict"] == "worse"
    same = paired_difference(y, cv.oof["ols"], cv.oof["same"], inner["ols"], inner["same"], honest.fold_id)
    assert same["low"] == same["high"] == 0.0 and same["verdict"] == "no clear difference"
    # capped like for like: clipping both at a cap below every prediction makes them equal
    capped = paired_difference(y, cv.oof["ols"], cv.oof["f0"], inner["ols"], inner["f0"], honest.fold_id,
                               clip=(0.0, 100.0))
    assert capped["mean"] == 0.0 and capped["verdict"] == "no clear difference"


def test_nested_cv_intervals_cover_every_metric_and_keep_the_mean():
    X, y, cv, honest = _two_models()
    iv = honest.intervals["ols"]
    assert set(cv.summary["ols"]) - {"n"} <= set(iv)
    for metric, s in iv.items():
        assert s["method"] in ("ncv", "bootstrap")
        assert s["low"] <= s["high"], metric
    rm = honest.details["ols"]["rmse_mci"]
    half = 1.959963984540054 * rm["se"] / (2 * np.sqrt(rm["err_cv"]))    # delta method on the RMSE scale
    assert iv["rmse_mci"]["low"] == pytest.approx(max(np.sqrt(rm["estimate"]) - half, 0))
    assert iv["rmse_mci"]["high"] == pytest.approx(np.sqrt(rm["estimate"]) + half)
    var_y = np.mean((y - y.mean()) ** 2)
    assert iv["r2"]["low"] == pytest.approx(1 - iv["rmse_mci"]["high"] ** 2 / var_y)
    assert iv["r2"]["high"] == pytest.approx(1 - iv["rmse_mci"]["low"] ** 2 / var_y)
    d = honest.describe(5)
    assert d["ncv_repeats"] == 3 and d["ncv_inner_fits"] == 30 and "Bates" in d["method"]
    # the honest interval is wider than the partition noise
    spread = cv.summary["ols"]["rmse_mci"]
    assert iv["rmse_mci"]["high"] - iv["rmse_mci"]["low"] > spread["high"] - spread["low"]


def test_patient_bootstrap_of_the_mean_matches_the_normal_interval():
    rng = np.random.default_rng(3)
    y = rng.normal(700, 300, 400)
    oof = np.tile(y + rng.normal(0, 50, 400), (3, 1))
    iv = patient_bootstrap(y, oof, n_boot=400, seed=1)
    se = y.std(ddof=1) / np.sqrt(len(y))
    assert iv["mean_actual_mci"]["low"] == pytest.approx(y.mean() - 1.96 * se, abs=0.35 * se)
    assert iv["mean_actual_mci"]["high"] == pytest.approx(y.mean() + 1.96 * se, abs=0.35 * se)
    assert iv["calibration_slope"]["low"] < 1.0 < iv["calibration_slope"]["high"] + 0.05


def test_rmse_interval_covers_the_known_error_on_new_patients():
    """OLS on y = 600 + 100·f0 + 80·f1 + N(0, 15²), f ~ N(0, 1): the error on new patients of the model
    fitted on the n patients is sqrt(15² + |coef − truth|²). The nested-CV interval covers it in most of
    16 data sets (90 % measured on 60 with these settings); the spread over repeats (partition noise,
    15 % on 60) in few."""
    from onescan.evaluation._cv import nested_cv

    cover_ncv = cover_spread = 0
    for seed in range(16):
        X, y = _data(40, seed)
        cols = {"ols": ["f0", "f1"]}
        models = {"ols": LinearRegression()}
        cv = repeated_cv(X, y, models, folds=5, repeats=3, seed=seed, columns=cols)
        honest = nested_cv(X, y, models, cv, ncv_repeats=2, columns=cols, n_boot=10)
        fit = LinearRegression().fit(X[["f0", "f1"]], y)
        truth = np.sqrt(15.0**2 + (fit.intercept_ - 600) ** 2 + np.sum((fit.coef_ - [100, 80]) ** 2))
        iv, spread = honest.intervals["ols"]["rmse_mci"], cv.summary["ols"]["rmse_mci"]
        cover_ncv += iv["low"] <= truth <= iv["high"]
        cover_spread += spread["low"] <= truth <= spread["high"]
    assert cover_ncv >= 12
    assert cover_spread <= 6
