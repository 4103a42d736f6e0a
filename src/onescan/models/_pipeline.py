"""The seed study's model as one scikit-learn ``Pipeline`` (SPEC §3).

``filter → impute → scale → select → model``: drop features with more than 20 %
missing values, median imputation, ``RobustScaler``, a forward sequential feature
selector (k = 8, 5-fold CV, r²) wrapping ``Lasso(alpha=0.3)``, and ``Lasso(alpha=0.3)``.
Every data-dependent step is inside the pipeline, so cross-validating the pipeline
refits all of them on the training rows of each fold.
"""

from __future__ import annotations

import logging
from typing import Literal, Union

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "PipelineSettings",
    "MissingShareFilter",
    "make_pipeline",
    "make_selector",
    "fast_selector_available",
    "selected_features",
    "coefficients",
]

logger = logging.getLogger(__name__)


class PipelineSettings(BaseModel):
    """Every setting of the published pipeline (defaults = the seed study, SPEC §3).

    Attributes
    ----------
    max_missing : float
        Drop a feature when more than this share (0–1) of the training rows is missing.
    imputer : {"median", "mean"}
        Strategy of the ``SimpleImputer``.
    scaler : {"robust", "standard", "minmax", "none"}
        Scaling step (the study used ``RobustScaler``: median and interquartile range).
    selector : {"fast", "mlxtend", "none"}
        Sequential feature selector: onescan's fast, mlxtend-compatible one
        (:mod:`onescan.models.selection._selector`), mlxtend's own, or no selection.
    k_features : int or {"best", "parsimonious"}
        Number of features to select (mlxtend semantics for the strings).
    forward, floating : bool
        Search direction and floating variant (mlxtend semantics).
    selector_cv : int
        Folds of the selector's internal CV (used only to choose features, never
        reported as performance).
    scoring : str
        Scikit-learn scorer used by the selector.
    alpha : float
        L1 penalty of the Lasso inside the selector and of the final model.
    model : {"lasso", "ridge", "linear", "hybrid"}
        Final regressor, a key of :data:`onescan.models._registry.MODELS`; ``"hybrid"`` is
        :class:`onescan.models._hybrid.HybridDosimetryRegressor` (clearance learnt by this
        pipeline with a Lasso, activity by MIRD dosimetry), built by
        :func:`onescan.models.build_model`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_missing: float = Field(0.2, ge=0.0, le=1.0)
    imputer: Literal["median", "mean"] = "median"
    scaler: Literal["robust", "standard", "minmax", "none"] = "robust"
    selector: Literal["fast", "mlxtend", "none"] = "fast"
    k_features: Union[int, Literal["best", "parsimonious"]] = 8
    forward: bool = True
    floating: bool = False
    selector_cv: int = Field(5, ge=2)
    scoring: str = "r2"
    alpha: float = Field(0.3, gt=0.0)
    model: Literal["lasso", "ridge", "linear", "hybrid"] = "lasso"

    @field_validator("k_features")
    @classmethod
    def _positive_k(cls, v):
        if isinstance(v, int) and v < 1:
            raise ValueError("k_features must be >= 1")
        return v


class MissingShareFilter(TransformerMixin, BaseEstimator):
    """Drop the features with more than ``max_missing`` share of missing values.

    The decision is made in :meth:`fit` (on the training rows) and then applied
    unchanged to any data given to :meth:`transform`.

    Parameters
    ----------
    max_missing : float, default 0.2
        Largest share (0–1) of missing values a kept feature may have in the training rows.

    Attributes
    ----------
    missing_share_ : ndarray of shape (n_features_in_,)
        Share of missing values per input feature in the training rows.
    support_ : ndarray of bool
        Which input features are kept.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.
    """

    def __init__(self, max_missing: float = 0.2):
        self.max_missing = max_missing

    def fit(self, X, y=None):
        """Decide which features to keep from the training rows ``X``."""
        if not (0.0 <= float(self.max_missing) <= 1.0):
            raise ValueError(f"max_missing must be in [0, 1], got {self.max_missing!r}")
        Xa = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=True)
        self.missing_share_ = np.isnan(Xa).mean(axis=0)
        self.support_ = self.missing_share_ <= self.max_missing + 1e-12
        dropped = int((~self.support_).sum())
        logger.debug("missing-share filter: %d of %d features dropped", dropped, Xa.shape[1])
        return self

    def transform(self, X):
        """Keep the features chosen in :meth:`fit`."""
        check_is_fitted(self, "support_")
        Xa = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        return Xa[:, self.support_]

    def get_feature_names_out(self, input_features=None):
        """Names of the kept features."""
        check_is_fitted(self, "support_")
        if input_features is None:
            if hasattr(self, "feature_names_in_"):
                input_features = self.feature_names_in_
            else:
                input_features = np.array([f"x{i}" for i in range(self.n_features_in_)], dtype=object)
        return np.asarray(input_features, dtype=object)[self.support_]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def fast_selector_available() -> bool:
    """True when onescan's fast sequential selector (:mod:`onescan.models.selection._selector`) is importable."""
    try:
        from onescan.models.selection._selector import SequentialFeatureSelector  # noqa: F401
    except ImportError:
        return False
    return True


def _regressor(settings: PipelineSettings):
    if settings.model == "lasso":
        return Lasso(alpha=settings.alpha)
    if settings.model == "ridge":
        return Ridge(alpha=settings.alpha)
    return LinearRegression()


def make_selector(settings: PipelineSettings):
    """The sequential feature selector of ``settings`` (None for ``selector="none"``).

    ``"fast"`` falls back to mlxtend (with a warning) when :mod:`onescan.models.selection._selector`
    is not installed.
    """
    if settings.selector == "none":
        return None
    kind = settings.selector
    if kind == "fast" and not fast_selector_available():
        logger.warning("onescan.models.selection._selector is not available; using mlxtend's selector (slower)")
        kind = "mlxtend"
    if kind == "fast":
        from onescan.models.selection._selector import SequentialFeatureSelector
    else:
        from mlxtend.feature_selection import SequentialFeatureSelector
    return SequentialFeatureSelector(
        Lasso(alpha=settings.alpha),
        k_features=settings.k_features,
        forward=settings.forward,
        floating=settings.floating,
        scoring=settings.scoring,
        cv=settings.selector_cv,
        n_jobs=1,
    )


def make_pipeline(settings: PipelineSettings | None = None) -> Pipeline:
    """Build the (unfitted) published pipeline.

    Parameters
    ----------
    settings : PipelineSettings, optional
        Defaults to the seed study's settings.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``filter``, ``impute``, ``scale``, ``select``, ``model`` (``scale`` and
        ``select`` are ``"passthrough"`` when disabled). Input: a DataFrame of
        features (NaN allowed); output: predicted activity in the target's unit (mCi).
        The steps before the selector emit DataFrames, so feature names reach the
        selector and :func:`selected_features`.
    """
    s = settings if settings is not None else PipelineSettings()
    if s.model == "hybrid":
        raise ValueError("model='hybrid' is not a linear pipeline: build it with onescan.models.build_model")
    scaler = {"robust": RobustScaler(), "standard": StandardScaler(), "minmax": MinMaxScaler(),
              "none": "passthrough"}[s.scaler]
    selector = make_selector(s)
    steps = [
        ("filter", MissingShareFilter(max_missing=s.max_missing)),
        ("impute", SimpleImputer(strategy=s.imputer, keep_empty_features=False)),
        ("scale", scaler),
        ("select", selector if selector is not None else "passthrough"),
        ("model", _regressor(s)),
    ]
    pipe = Pipeline(steps)
    for name, step in steps[:-1]:
        if step != "passthrough" and hasattr(step, "set_output"):
            step.set_output(transform="pandas")
    return pipe


def _names_before_select(pipe: Pipeline) -> np.ndarray:
    return np.asarray(pipe[:3].get_feature_names_out(), dtype=object)


def selected_features(pipe: Pipeline) -> list[str]:
    """Names of the features the fitted pipeline's final model uses (selector order)."""
    pipe = getattr(pipe, "pipeline_", pipe)  # the hybrid model's inner clearance pipeline
    names = _names_before_select(pipe)
    sel = pipe.named_steps["select"]
    if sel == "passthrough" or sel is None:
        return [str(n) for n in names]
    if hasattr(sel, "k_feature_idx_"):
        return [str(names[i]) for i in sel.k_feature_idx_]
    if hasattr(sel, "get_support"):
        return [str(n) for n in names[sel.get_support()]]
    raise TypeError(f"cannot read the selected features of {type(sel).__name__}")


def coefficients(pipe: Pipeline) -> pd.Series:
    """Coefficients of the fitted final model by feature name.

    Returns
    -------
    pandas.Series
        Index: selected feature names; values: coefficient in mCi per unit of the
        *scaled* feature (for ``RobustScaler``: per interquartile range), plus the
        ``(intercept)`` in mCi as the last entry.
    """
    model = pipe.named_steps["model"]
    check_is_fitted(model)
    names = selected_features(pipe)
    coef = np.ravel(model.coef_)
    if len(coef) != len(names):
        raise RuntimeError("coefficient and feature-name counts differ")
    s = pd.Series(coef, index=names, name="coefficient", dtype=float)
    s.loc["(intercept)"] = float(np.ravel(model.intercept_)[0])
    return s
