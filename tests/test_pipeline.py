"""Tests for onescan.models._pipeline: the published pipeline and its missing-share filter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.utils.estimator_checks import parametrize_with_checks

from onescan.models._pipeline import (
    MissingShareFilter,
    PipelineSettings,
    coefficients,
    make_pipeline,
    selected_features,
)


@parametrize_with_checks([MissingShareFilter(), MissingShareFilter(max_missing=0.0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _data(n=60, p=15, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"lab_{i}" for i in range(p)])
    y = 700 + 120 * X["lab_0"] - 90 * X["lab_1"] + rng.normal(0, 20, n)
    return X, y


def test_filter_decides_on_training_rows_only():
    X, _ = _data(40, 4)
    train, test = X.iloc[:30].copy(), X.iloc[30:].copy()
    train.iloc[:9, 1] = np.nan       # 30% missing in training → dropped
    test.iloc[:, 2] = np.nan         # all missing in test only → kept
    train.iloc[:6, 3] = np.nan       # exactly 20% → kept (not "more than")
    f = MissingShareFilter(0.2).set_output(transform="pandas").fit(train)
    assert list(f.get_feature_names_out()) == ["lab_0", "lab_2", "lab_3"]
    out = f.transform(test)
    assert list(out.columns) == ["lab_0", "lab_2", "lab_3"]
    assert out["lab_2"].isna().all()
    np.testing.assert_allclose(f.missing_share_, [0, 0.3, 0, 0.2])


def test_filter_rejects_bad_share():
    X, _ = _data(10, 2)
    with pytest.raises(ValueError):
        MissingShareFilter(1.5).fit(X)


def test_default_pipeline_matches_the_paper():
    s = PipelineSettings()
    assert (s.max_missing, s.imputer, s.scaler, s.k_features, s.forward, s.floating, s.selector_cv,
            s.scoring, s.alpha, s.model) == (0.2, "median", "robust", 8, True, False, 5, "r2", 0.3, "lasso")
    pipe = make_pipeline(s)
    assert [n for n, _ in pipe.steps] == ["filter", "impute", "scale", "select", "model"]
    sel = pipe.named_steps["select"]
    assert sel.k_features == 8 and sel.forward and not sel.floating and sel.cv == 5 and sel.scoring == "r2"
    assert sel.estimator.alpha == 0.3 and pipe.named_steps["model"].alpha == 0.3


@pytest.mark.parametrize("selector", ["fast", "mlxtend"])
def test_pipeline_selects_and_names_features(selector):
    X, y = _data(50, 10)
    X.iloc[:20, 5] = np.nan                       # 40% missing: filtered out
    X.iloc[:3, 0] = np.nan                        # a few gaps: imputed
    pipe = make_pipeline(PipelineSettings(selector=selector, k_features=3)).fit(X, y)
    feats = selected_features(pipe)
    assert len(feats) == 3
    assert {"lab_0", "lab_1"} <= set(feats)
    assert "lab_5" not in feats
    coef = coefficients(pipe)
    assert list(coef.index) == feats + ["(intercept)"]
    assert coef["lab_0"] > 0 > coef["lab_1"]
    assert np.isfinite(pipe.predict(X)).all()


def test_fast_and_mlxtend_select_the_same_features():
    X, y = _data(45, 12, seed=4)
    a = make_pipeline(PipelineSettings(selector="fast", k_features=4)).fit(X, y)
    b = make_pipeline(PipelineSettings(selector="mlxtend", k_features=4)).fit(X, y)
    assert selected_features(a) == selected_features(b)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-6)


def test_imputer_learns_from_training_rows_only():
    X, y = _data(30, 3)
    X.iloc[0, 0] = np.nan
    train = X.iloc[:20]
    pipe = make_pipeline(PipelineSettings(selector="none")).fit(train, y.iloc[:20])
    med = train.median()
    np.testing.assert_allclose(pipe.named_steps["impute"].statistics_, med.to_numpy())


def test_no_selector_uses_all_kept_features():
    X, y = _data(30, 4)
    pipe = make_pipeline(PipelineSettings(selector="none", scaler="none", model="linear")).fit(X, y)
    assert selected_features(pipe) == list(X.columns)
    assert len(coefficients(pipe)) == 5


@pytest.mark.parametrize("bad", [{"k_features": 0}, {"alpha": 0}, {"max_missing": 1.2},
                                 {"selector": "genetic"}, {"unknown": 1}])
def test_settings_are_validated(bad):
    with pytest.raises(ValidationError):
        PipelineSettings(**bad)
