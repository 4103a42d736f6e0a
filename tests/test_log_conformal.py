"""Tests of onescan.models._log_conformal: positive capped intervals and the one-sided lower bound's guarantee."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

from onescan.models._conformal import CrossConformalPlus
from onescan.models._log_conformal import LOG_METHODS, LogCrossConformal, miss_count


def _log_linear(rng, n, cap=None):
    """Exchangeable rows: y = exp(6.5 + 0.4 x0 − 0.2 x1 + 0.3 ε), optionally capped."""
    X = rng.normal(size=(n, 2))
    y = np.exp(6.5 + 0.4 * X[:, 0] - 0.2 * X[:, 1] + 0.3 * rng.normal(size=n))
    return X, (y if cap is None else np.minimum(y, cap))


@pytest.mark.parametrize("risk, n, k", [(0.05, 74, 3), (0.1, 9, 1), (0.1, 79, 8), (0.05, 19, 1), (0.01, 74, 0),
                                        (0.2, 4, 1)])
def test_miss_count_exact(risk, n, k):
    assert miss_count(risk, n) == k
    assert k / (n + 1) <= risk


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(12, 40), seed=st.integers(0, 10_000), scale=st.floats(0.1, 3.0),
       level=st.sampled_from([0.5, 0.8, 0.9, 0.95]), risk=st.sampled_from([0.05, 0.1, 0.3]),
       cap=st.sampled_from([None, 900.0]))
def test_activities_and_bounds_positive(n, seed, scale, level, risk, cap):
    """Whatever the training data, every log-scale activity and bound is ≥ 0 (point > 0) and ≤ the cap."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.exp(rng.normal(6.0, scale, size=n))  # positive, unrelated to X: raw predictions go negative
    if cap is not None:
        y = np.minimum(y, cap)
    conf = LogCrossConformal(LinearRegression(), n_folds=3, random_state=seed, max_value=cap).fit(X, y)
    direction = conf.estimator_.coef_ / np.linalg.norm(conf.estimator_.coef_)
    far = 1e4 * np.vstack([direction, -direction])  # along the fitted slope: raw predictions ≪ 0 and ≫ cap
    Xt = np.vstack([X, 50 * rng.normal(size=(10, 2)), far])
    raw = conf.predict_raw(Xt)
    top = np.inf if cap is None else cap
    for method in LOG_METHODS:
        point, low, high = conf.predict_interval(Xt, level=level, method=method)
        assert np.all(point > 0) and np.all(point >= raw)
        assert np.all(low >= 0) and np.all(low <= high) and np.all(high <= top)
        bound = conf.lower_bound(Xt, risk, method=method)
        assert np.all(bound >= 0) and np.all(bound <= top)
    assert np.any(raw <= 0), "the data must produce a non-positive raw prediction"


def _miss_rate(estimator, method, risk, draws=300, n=39, n_test=20, cap=None):
    rng = np.random.default_rng(7)
    misses = []
    for d in range(draws):
        X, y = _log_linear(rng, n + n_test, cap)
        conf = LogCrossConformal(estimator, n_folds=5, random_state=d, max_value=cap).fit(X[:n], y[:n])
        misses.append(y[n:] < conf.lower_bound(X[n:], risk, method=method))
    return float(np.mean(misses))


@pytest.mark.parametrize("method", LOG_METHODS)
@pytest.mark.parametrize("risk", [0.05, 0.1])
def test_one_sided_bound_guarantee(method, risk):
    """On exchangeable data the bound is missed (y < L) at most ⌊R(n+1)⌋/(n+1) ≤ R of the time (+ tolerance)."""
    rate = _miss_rate(LinearRegression(), method, risk, cap=1500.0)
    assert rate <= risk + 0.015, rate
    assert rate >= risk / 3, f"bound far too conservative ({rate})"  # not a trivial bound of 0


def test_one_sided_bound_guarantee_model_free():
    """With an estimator that ignores x the scores are exactly exchangeable: miss ≈ k/(n+1)."""
    rate = _miss_rate(DummyRegressor(strategy="median"), "log", 0.1, draws=300)
    assert abs(rate - 4 / 40) <= 0.02, rate


def test_log_interval_is_order_statistic_of_scores():
    rng = np.random.default_rng(1)
    X, y = _log_linear(rng, 39)
    conf = LogCrossConformal(LinearRegression(), n_folds=5, random_state=0).fit(X, y)
    s = np.sort(conf.log_scores_)
    point, low, high = conf.predict_interval(X[:3], level=0.8)  # α(n+1) = 8: 4 misses below, 4 above
    base = conf.predict_raw(X[:3]).clip(conf.floor_)
    np.testing.assert_allclose(low, base * np.exp(s[4 - 1]))
    np.testing.assert_allclose(high, base * np.exp(s[40 - 4 - 1]))
    np.testing.assert_allclose(conf.lower_bound(X[:3], 0.1), base * np.exp(s[4 - 1]))
    # the scores are the out-of-fold log ratios of the fold models
    k = conf.fold_of_sample_
    oof = np.array([conf.estimators_[k[i]].predict(X[i:i + 1])[0] for i in range(len(y))])
    np.testing.assert_allclose(conf.log_scores_, np.log(y) - np.log(np.maximum(oof, conf.fold_floors_[k])))


def test_raw_methods_equal_parent_and_errors():
    rng = np.random.default_rng(2)
    X, y = _log_linear(rng, 40)
    ours = LogCrossConformal(LinearRegression(), n_folds=5, random_state=3).fit(X, y)
    parent = CrossConformalPlus(LinearRegression(), n_folds=5, random_state=3).fit(X, y)
    for method in ("plus", "base", "minmax"):
        for a, b in zip(ours.predict_interval(X, 0.9, method=method), parent.predict_interval(X, 0.9, method=method)):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="positive target"):
        LogCrossConformal(LinearRegression(), n_folds=3).fit(X, y - 2 * y.max())
    with pytest.raises(ValueError, match="risk"):
        ours.lower_bound(X, 1.0)
    with pytest.raises(ValueError, match="method"):
        ours.lower_bound(X, 0.1, method="plus")
    assert np.all(ours.lower_bound(X, 0.01) == 0)  # ⌊0.01·41⌋ = 0: no bound exists
