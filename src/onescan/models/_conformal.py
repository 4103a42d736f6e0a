"""Cross-conformal (CV+) prediction intervals around a whole scikit-learn pipeline.

:class:`CrossConformalPlus` is onescan's own small estimator for the cross-conformal
methods of Barber, Candès, Ramdas & Tibshirani, "Predictive inference with the
jackknife+", Ann. Statist. 49 (2021) 486–507 — CV+ (``method="plus"``, the default),
CV (``"base"``) and CV-minmax (``"minmax"``) — with absolute-residual conformity
scores. It reproduces, to the last bit, the intervals of MAPIE 1.6's
``mapie.regression.CrossConformalRegressor(method=..., conformity_score="absolute")``
with ``predict_interval(..., aggregate_point_predictions=None)`` (this is tested),
but it keeps only what the intervals need — the pipeline fitted on all rows, the
*K* fold pipelines, which fold left each training row out, and the out-of-fold
absolute residuals — so that it can be stored with ``skops.io`` using a short,
explicit list of trusted types, and so that the interval level can be chosen at
prediction time.

With *K* = *n* folds it is the jackknife+.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import numpy as np
from sklearn.utils.parallel import Parallel, delayed  # carries sklearn config and warning filters to workers
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["CrossConformalPlus", "max_level_for"]

logger = logging.getLogger(__name__)


def max_level_for(n_calibration: int) -> float:
    """Highest interval level that ``n_calibration`` conformity scores can support.

    Parameters
    ----------
    n_calibration : int
        Number of out-of-fold residuals (training patients).

    Returns
    -------
    float
        ``n / (n + 1)``: above it the finite-sample corrected quantile would exceed 1
        and the interval would be infinite.
    """
    return n_calibration / (n_calibration + 1.0)


def _corrected_quantile_level(level: float, n: int, plus: bool = True) -> float:
    """Finite-sample corrected quantile level ⌈(1−α)(n+1)⌉/n, in MAPIE 1.6's exact arithmetic.

    α is formed as ``Decimal("1") - Decimal(str(level))``, and 1−α as ``(1 − 2α) + α``
    for the "plus" method and as ``1 − α`` otherwise, as ``mapie`` does, so that both
    round the same way at the ceiling.
    """
    alpha = float(Decimal("1") - Decimal(str(level)))
    alpha_ref = (1 - 2 * alpha) + alpha if plus else 1 - alpha
    return float(np.ceil(alpha_ref * (n + 1)) / n)


def _fit_one(estimator, X, y, train_idx):
    est = clone(estimator)
    if train_idx is None:
        return est.fit(X, y)
    Xt = X.iloc[train_idx] if hasattr(X, "iloc") else X[train_idx]
    return est.fit(Xt, y[train_idx])


class CrossConformalPlus(RegressorMixin, BaseEstimator):
    """Cross-conformal prediction intervals (CV+ by default) around any regressor.

    Parameters
    ----------
    estimator : regressor, default=LinearRegression()
        The whole model (typically a :class:`sklearn.pipeline.Pipeline` with its
        filtering, imputation, scaling and feature selection), cloned and refitted
        on every fold so the conformity scores are honest out-of-fold residuals.
    n_folds : int, default=10
        Number of folds *K* (``n_folds`` equal to the number of rows gives the
        jackknife+).
    shuffle : bool, default=True
        Shuffle rows before splitting into folds.
    random_state : int or None, default=None
        Seed of the fold split (used only when ``shuffle``).
    n_jobs : int or None, default=None
        Folds fitted in parallel with joblib.
    method : {"plus", "base", "minmax"}, default="plus"
        ``"plus"`` (CV+ / jackknife+): quantiles of ``mu_{-k(i)}(x) ± R_i``, coverage
        ≥ 1 − 2α guaranteed for any algorithm. ``"base"`` (CV): ``mu(x) ± q(R)``,
        no guarantee without stability but narrower. ``"minmax"``: from the smallest and
        largest fold prediction, ≥ 1 − α guaranteed, widest.

    Attributes
    ----------
    estimator_ : regressor
        ``estimator`` fitted on all rows; it gives the point prediction.
    estimators_ : list of regressors
        The *K* fold estimators, each fitted without its fold.
    fold_of_sample_ : ndarray of int, shape (n_samples,)
        Index into ``estimators_`` of the model that did not see each training row.
    conformity_scores_ : ndarray of float, shape (n_samples,)
        Out-of-fold absolute residuals ``|y_i - mu_{-k(i)}(x_i)|``, in the unit of y.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Present when ``X`` had string column names.
    """

    _METHODS = ("plus", "base", "minmax")

    def __init__(self, estimator=None, n_folds=10, shuffle=True, random_state=None, n_jobs=None,
                 method="plus"):
        self.estimator = estimator
        self.n_folds = n_folds
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.method = method

    def _base(self):
        return LinearRegression() if self.estimator is None else self.estimator

    def _cv(self):
        return KFold(n_splits=self.n_folds, shuffle=self.shuffle,
                     random_state=self.random_state if self.shuffle else None)

    def fit(self, X, y):
        """Fit the point model on all rows and the *K* fold models, then score out of fold.

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)
            Features (NaN allowed if the estimator handles them).
        y : array of shape (n_samples,)
            Target (any unit; the intervals come out in the same unit).

        Returns
        -------
        self
        """
        if not isinstance(self.n_folds, (int, np.integer)) or self.n_folds < 2:
            raise ValueError(f"n_folds must be an integer >= 2, got {self.n_folds!r}")
        if self.method not in self._METHODS:
            raise ValueError(f"method must be one of {self._METHODS}, got {self.method!r}")
        X_checked, y = validate_data(self, X, y, ensure_all_finite=False, dtype=None, y_numeric=True,
                                     reset=True)
        y = np.asarray(y, dtype=float)
        Xf = X if hasattr(X, "iloc") else X_checked
        n = len(y)
        if self.n_folds > n:
            raise ValueError(f"n_samples={n} is fewer than n_folds={self.n_folds}")
        splits = list(self._cv().split(np.zeros((n, 1))))
        base = self._base()
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(base, Xf, y, idx) for idx in [None] + [tr for tr, _ in splits]
        )
        self.estimator_ = fitted[0]
        self.estimators_ = list(fitted[1:])
        fold = np.empty(n, dtype=np.int64)
        oof = np.empty(n, dtype=float)
        for k, (_, te) in enumerate(splits):
            fold[te] = k
            Xte = Xf.iloc[te] if hasattr(Xf, "iloc") else Xf[te]
            oof[te] = np.asarray(self.estimators_[k].predict(Xte), dtype=float).ravel()
        self.fold_of_sample_ = fold
        self.conformity_scores_ = np.abs(y - oof)
        logger.debug("CV+ fitted: %d rows, %d folds, median |residual| %.4g",
                     n, self.n_folds, float(np.median(self.conformity_scores_)))
        return self

    def _as_input(self, X):
        X_checked = validate_data(self, X, ensure_all_finite=False, dtype=None, reset=False)
        return X if hasattr(X, "iloc") else X_checked

    def predict(self, X):
        """Point prediction of the model fitted on all rows.

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
            In the unit of the training target.
        """
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict(self._as_input(X)), dtype=float).ravel()

    def predict_interval(self, X, level=0.9, method=None):
        """Point predictions and cross-conformal prediction intervals.

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)
        level : float, default=0.9
            Nominal coverage 1 − α, in (0, n/(n+1)].
        method : {"plus", "base", "minmax"}, optional
            Overrides ``self.method`` (all three use the same fitted models).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Point prediction of the model fitted on all rows.
        low, high : ndarray of shape (n_samples,)
            Interval bounds. ``"plus"``: ``low`` is the ⌈(1−α)(n+1)⌉-th largest of
            ``mu_{-k(i)}(x) − R_i`` and ``high`` the ⌈(1−α)(n+1)⌉-th smallest of
            ``mu_{-k(i)}(x) + R_i`` over the n training rows. ``"base"``:
            ``y_pred ∓ q`` with q the ⌈(1−α)(n+1)⌉-th smallest residual. ``"minmax"``:
            ``min_k mu_k(x) − q`` and ``max_k mu_k(x) + q``. (MAPIE's convention:
            ``numpy.quantile(..., method="lower")`` at level ⌈(1−α)(n+1)⌉/n.)
        """
        check_is_fitted(self, "estimator_")
        method = self.method if method is None else method
        if method not in self._METHODS:
            raise ValueError(f"method must be one of {self._METHODS}, got {method!r}")
        level = float(level)
        n = len(self.conformity_scores_)
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level}")
        q = _corrected_quantile_level(level, n, plus=method == "plus")
        if q > 1.0:
            raise ValueError(f"level {level:g} needs more than {n} training rows "
                             f"(the highest level {n} rows support is {max_level_for(n):.4f})")
        X = self._as_input(X)
        y_pred = np.asarray(self.estimator_.predict(X), dtype=float).ravel()
        mu = np.column_stack([np.asarray(e.predict(X), dtype=float).ravel() for e in self.estimators_])
        R = self.conformity_scores_
        if method == "plus":
            mu_i = mu[:, self.fold_of_sample_]  # (n_test, n_train): prediction of the model blind to row i
            low = -np.quantile(-(mu_i - R[np.newaxis, :]), q, axis=1, method="lower")
            high = np.quantile(mu_i + R[np.newaxis, :], q, axis=1, method="lower")
            return y_pred, low, high
        r = float(np.quantile(R, q, method="lower"))
        if method == "base":
            return y_pred, y_pred - r, y_pred + r
        return y_pred, mu.min(axis=1) - r, mu.max(axis=1) + r

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = get_tags(self._base()).input_tags.allow_nan
        return tags
