"""Cross-conformal intervals on the log scale: positive activities and a one-sided safe bound.

:class:`LogCrossConformal` extends :class:`onescan.models._conformal.CrossConformalPlus`
(same fitted state: the model fitted on all rows, the *K* fold models, the fold of each
row) with **signed log-ratio conformity scores**

    s_i = ln(y_i) − ln(ŷ⁺_{−k(i)}(x_i)),

where ``ŷ⁺ = clip(ŷ, floor, max_value)`` is the fold model's prediction made positive:
raised to the smallest target the fold model was trained on (``floor``, fitted inside
each training fold, so never below the lowest training activity) and lowered to
``max_value`` (the activity cap; targets never exceed it). Every interval and bound is
``ŷ⁺(x) · exp(s)`` for some score, so it is positive; the upper bounds are clipped to
``max_value`` (a capped target never exceeds the cap, so clipping loses no coverage;
an upper bound the scores cannot give — too few rows — becomes the cap itself).

Quantile rule (n training rows, scores sorted s_(1) ≤ … ≤ s_(n); s_(0) = −∞,
s_(n+1) = +∞). For a level 1 − α the miss budget is m = ⌊α(n + 1)⌋ rows,
k_lo = ⌊m/2⌋ of them below and m − k_lo above:

* ``"log"`` (CV on the log scale): low = ŷ⁺(x)·exp(s_(k_lo)),
  high = ŷ⁺(x)·exp(s_(n+1−(m−k_lo))), around the model fitted on all rows.
* ``"log-plus"`` (CV+ on the log scale): the same order statistics of the n values
  ŷ⁺_{−k(i)}(x)·exp(s_i), each with the fold model blind to row i.
* One-sided lower bound at risk R (:meth:`LogCrossConformal.lower_bound`): k = ⌊R(n + 1)⌋,
  L = ŷ⁺(x)·exp(s_(k)) (``"log"``) or the k-th smallest ŷ⁺_{−k(i)}(x)·exp(s_i)
  (``"log-plus"``); k = 0 gives no bound (L = 0).

If the test score is exchangeable with the n scores (exact for split conformal, where
the scores come from a model that never saw the calibration rows nor the test row),
P(y < L) ≤ k/(n + 1) ≤ R and P(y ∉ [low, high]) ≤ m/(n + 1) ≤ α. With out-of-fold scores
the fold models see (K − 1)/K of the rows, so exchangeability is approximate: the
``"log-plus"`` bound carries the CV+ worst-case guarantee of Barber et al. (Ann. Statist.
2021) — miss ≤ 2α plus a small-K term — and both are measured on independent virtual
cohorts by ``scripts/coverage.py`` and ``scripts/safe_prescription.py``.

The raw-scale methods of the parent (``"plus"``, ``"base"``, ``"minmax"``) remain
available from the same fitted models.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import numpy as np
from sklearn.utils.validation import check_is_fitted

from onescan.models._conformal import CrossConformalPlus

__all__ = ["LogCrossConformal", "LOG_METHODS", "miss_count"]

logger = logging.getLogger(__name__)

#: Methods computed on the log scale (positive intervals).
LOG_METHODS: tuple[str, ...] = ("log", "log-plus")


def miss_count(risk: float, n: int) -> int:
    """⌊risk · (n + 1)⌋ in exact decimal arithmetic: how many of n scores may lie beyond a bound.

    Parameters
    ----------
    risk : float
        Allowed miss probability (α for an interval, R for a one-sided bound), in (0, 1).
    n : int
        Number of conformity scores.

    Returns
    -------
    int
        The order-statistic index k with k/(n + 1) ≤ risk; 0 when no finite bound exists.
    """
    return int((Decimal(str(float(risk))) * (n + 1)).to_integral_value(rounding="ROUND_FLOOR"))


def _order_stat(values: np.ndarray, k: int, axis: int = -1, empty: float = np.nan) -> np.ndarray:
    """k-th smallest (1-based) along ``axis``; ``empty`` when k < 1 or k > size."""
    n = values.shape[axis]
    if k < 1 or k > n:
        shape = list(values.shape)
        del shape[axis]
        return np.full(shape, empty, dtype=float) if shape else np.asarray(empty, dtype=float)
    return np.partition(values, k - 1, axis=axis).take(k - 1, axis=axis)


class LogCrossConformal(CrossConformalPlus):
    """Cross-conformal intervals with positive activities (log-ratio scores) and a safe lower bound.

    Parameters
    ----------
    estimator : regressor, default=LinearRegression()
        The whole model, cloned and refitted on every fold (see :class:`CrossConformalPlus`).
    n_folds : int, default=10
    shuffle : bool, default=True
    random_state : int or None, default=None
    n_jobs : int or None, default=None
    method : {"log", "log-plus", "plus", "base", "minmax"}, default="log"
        Default interval method (see the module docstring; the last three are the
        parent's raw-scale cross-conformal methods).
    max_value : float or None, default=None
        Cap of the target (mCi): predictions used in the scores and the upper bounds
        are clipped to it. None: no cap.

    Attributes
    ----------
    log_scores_ : ndarray of shape (n_samples,)
        Signed out-of-fold log ratios ln(y_i) − ln(ŷ⁺_{−k(i)}(x_i)) (dimensionless).
    floor_ : float
        Smallest training target (unit of y): the all-rows model's predictions are raised to it.
    fold_floors_ : ndarray of shape (n_folds,)
        Smallest target in each fold model's training rows.
    (and the attributes of :class:`CrossConformalPlus`)
    """

    _METHODS = LOG_METHODS + CrossConformalPlus._METHODS

    def __init__(self, estimator=None, n_folds=10, shuffle=True, random_state=None, n_jobs=None,
                 method="log", max_value=None):
        super().__init__(estimator=estimator, n_folds=n_folds, shuffle=shuffle, random_state=random_state,
                         n_jobs=n_jobs, method=method)
        self.max_value = max_value

    def _ceiling(self) -> float:
        return np.inf if self.max_value is None else float(self.max_value)

    def fit(self, X, y):
        """Fit as :meth:`CrossConformalPlus.fit`, then score out of fold on the log scale.

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)
        y : array of shape (n_samples,)
            Positive target (e.g. activity, mCi).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            When a target is not positive, or ``max_value`` is not positive.
        """
        y_arr = np.asarray(y, dtype=float).ravel()
        if not np.all(y_arr > 0):
            raise ValueError("LogCrossConformal needs a positive target (log-ratio scores)")
        if self.max_value is not None and not float(self.max_value) > 0:
            raise ValueError(f"max_value must be positive, got {self.max_value!r}")
        super().fit(X, y)
        Xf = self._as_input(X)
        fold = self.fold_of_sample_
        self.floor_ = float(y_arr.min())
        self.fold_floors_ = np.array([y_arr[fold != k].min() for k in range(len(self.estimators_))])
        oof = np.empty(len(y_arr), dtype=float)
        for k, est in enumerate(self.estimators_):
            rows = np.flatnonzero(fold == k)
            Xk = Xf.iloc[rows] if hasattr(Xf, "iloc") else Xf[rows]
            oof[rows] = np.asarray(est.predict(Xk), dtype=float).ravel()
        self.log_scores_ = np.log(y_arr) - np.log(np.clip(oof, self.fold_floors_[fold], self._ceiling()))
        logger.debug("log scores: median %.3g, IQR %.3g", float(np.median(self.log_scores_)),
                     float(np.subtract(*np.percentile(self.log_scores_, [75, 25]))))
        return self

    # ------------------------------------------------------------ predictions

    def predict(self, X):
        """Positive point prediction: the all-rows model's, raised to :attr:`floor_` (not capped).

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return np.maximum(self.predict_raw(X), self.floor_)

    def predict_raw(self, X):
        """The all-rows model's own prediction (may be ≤ 0), as :meth:`CrossConformalPlus.predict`."""
        return super().predict(X)

    def _positive_fold_predictions(self, X) -> np.ndarray:
        """(n_test, n_train): ŷ⁺ of the fold model blind to each training row."""
        mu = np.column_stack([np.asarray(e.predict(X), dtype=float).ravel() for e in self.estimators_])
        mu = np.clip(mu, self.fold_floors_[np.newaxis, :], self._ceiling())
        return mu[:, self.fold_of_sample_]

    def _candidates(self, X, method):
        """Per test row, the values whose order statistics are the bounds (sorted scores for "log")."""
        if method == "log":
            point = np.clip(self.predict_raw(X), self.floor_, self._ceiling())
            return point[:, np.newaxis] * np.exp(self.log_scores_)[np.newaxis, :]
        return self._positive_fold_predictions(X) * np.exp(self.log_scores_)[np.newaxis, :]

    def _check_method(self, method):
        check_is_fitted(self, "log_scores_")
        method = self.method if method is None else method
        if method not in self._METHODS:
            raise ValueError(f"method must be one of {self._METHODS}, got {method!r}")
        return method

    def predict_interval(self, X, level=0.9, method=None):
        """Point predictions and cross-conformal intervals (positive for the log methods).

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)
        level : float, default=0.9
            Nominal coverage 1 − α, in (0, 1).
        method : str, optional
            Overrides ``self.method``.

        Returns
        -------
        y_pred, low, high : ndarray of shape (n_samples,)
            For ``"log"``/``"log-plus"``: the positive point (:meth:`predict`), and the
            bounds of the module docstring, ``low ≥ 0`` and both clipped to
            ``max_value``; for the raw-scale methods, the parent's result.
        """
        method = self._check_method(method)
        if method not in LOG_METHODS:
            return super().predict_interval(X, level=level, method=method)
        level = float(level)
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level}")
        X = self._as_input(X)
        n = len(self.log_scores_)
        m = miss_count(float(Decimal("1") - Decimal(str(level))), n)
        k_lo = m // 2
        k_hi = n + 1 - (m - k_lo)
        cand = self._candidates(X, method)
        low = np.nan_to_num(_order_stat(cand, k_lo, axis=1, empty=0.0), nan=0.0)
        high = _order_stat(cand, k_hi, axis=1, empty=np.inf)
        cap = self._ceiling()
        return self.predict(X), np.minimum(low, cap), np.minimum(high, cap)

    def lower_bound(self, X, risk, method=None):
        """One-sided conformal lower bound L with P(y < L) ≤ ⌊R(n+1)⌋/(n+1) ≤ R (see module docstring).

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)
        risk : float
            R in (0, 1).
        method : {"log", "log-plus"}, optional
            Default: ``"log-plus"`` when ``self.method`` is ``"plus"`` or ``"log-plus"``,
            otherwise ``"log"``.

        Returns
        -------
        ndarray of shape (n_samples,)
            L in the unit of y, in [0, max_value]; 0 where ⌊R(n+1)⌋ = 0 (no bound).
        """
        check_is_fitted(self, "log_scores_")
        if method is None:
            method = "log-plus" if self.method in ("plus", "log-plus") else "log"
        if method not in LOG_METHODS:
            raise ValueError(f"method must be one of {LOG_METHODS}, got {method!r}")
        risk = float(risk)
        if not 0.0 < risk < 1.0:
            raise ValueError(f"risk must be in (0, 1), got {risk}")
        k = miss_count(risk, len(self.log_scores_))
        cand = self._candidates(self._as_input(X), method)
        return np.minimum(np.nan_to_num(_order_stat(cand, k, axis=1, empty=0.0), nan=0.0), self._ceiling())
