"""How well a model predicts the prescribed activity: metrics, the published split, repeated CV.

* :func:`regression_metrics` — the seed study's numbers (r², RMSE, MAE, share of
  patients within 30 %) plus bias, each as predicted and with predictions clipped to
  [0, 1030] mCi (the "clinical" variant: the maximum manufactured activity).
* :func:`published_split` — the study's 70/30 ``train_test_split`` over row positions.
* :func:`repeated_cv` — repeated k-fold cross-validation of *whole* estimators
  (every data-dependent step refitted on each training fold), out-of-fold predictions
  per repeat, metric means with 95 % intervals, selection frequencies, calibration and
  Bland–Altman statistics.

The metrics live in :mod:`onescan.evaluation._metrics`, the splits in
:mod:`onescan.evaluation._splits` and the engine every study's cross-validation runs on in
:mod:`onescan.evaluation._engine`.

Interval convention (documented choice): within one repeat every patient is predicted
exactly once out of fold; the metric is computed on those pooled out-of-fold
predictions (one value per repeat). The reported interval is the 2.5–97.5 percentile of
the per-repeat values: it shows how much the estimate moves with the random partition
of 74 patients, not a confidence interval for a new cohort's performance.
"""

from __future__ import annotations

import logging
from typing import Callable, Mapping

import numpy as np
import pandas as pd
from sklearn.base import clone

from onescan.evaluation._engine import CVResult, run_repeated_cv
from onescan.evaluation._metrics import (
    DEFAULT_CAP_MCI,
    METRIC_NAMES,
    WITHIN_FRACTION,
    bland_altman,
    calibration,
    regression_metrics,
    summarise,
)
from onescan.evaluation._splits import published_split

__all__ = [
    "DEFAULT_CAP_MCI",
    "WITHIN_FRACTION",
    "METRIC_NAMES",
    "regression_metrics",
    "calibration",
    "bland_altman",
    "published_split",
    "repeated_cv",
    "CVResult",
    "summarise",
]

logger = logging.getLogger(__name__)


def _select_columns(X: pd.DataFrame, cols):
    return X if cols is None else X[list(cols)]


def _fit_predict(train, test, models, X, y, columns, selected):
    """Fit every model on the training rows of one split; predictions for its test rows."""
    out = {}
    for name, est in models.items():
        cols = columns.get(name)
        Xs = _select_columns(X, cols)
        model = clone(est).fit(Xs.iloc[train], y[train])
        pred = np.asarray(model.predict(Xs.iloc[test]), dtype=float)
        sel = None
        fn = selected.get(name)
        if fn is not None:
            try:
                sel = list(fn(model))
            except (AttributeError, TypeError, KeyError):
                sel = None
        out[name] = (pred, sel)
    return out


class _SplitMetrics:
    """Every metric of one repeat's pooled predictions against ``y`` (a picklable callable)."""

    def __init__(self, y: np.ndarray, cap_mci: float):
        self.y, self.cap_mci = y, cap_mci

    def __call__(self, pred: np.ndarray) -> dict:
        m = regression_metrics(self.y, pred, cap_mci=self.cap_mci)
        m.update(calibration(self.y, pred))
        m.update(bland_altman(self.y, pred))
        return m


def repeated_cv(
    X: pd.DataFrame,
    y,
    models: Mapping[str, object],
    *,
    folds: int = 5,
    repeats: int = 20,
    seed: int = 0,
    n_jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    columns: Mapping[str, list[str] | None] | None = None,
    selected: Mapping[str, Callable] | None = None,
    cap_mci: float = DEFAULT_CAP_MCI,
) -> CVResult:
    """Repeated k-fold cross-validation of whole estimators.

    Each estimator is cloned and refitted on the training rows of every fold (for a
    pipeline: filter, imputer, scaler, selector and model), and predicts the held-out
    rows. The selector's own internal CV score is never used.

    Parameters
    ----------
    X : pandas.DataFrame
        Design matrix (one row per patient).
    y : array-like
        Target, mCi.
    models : mapping of str → estimator
        Unfitted scikit-learn estimators, all evaluated on the same folds.
    folds, repeats : int, default 5, 20
        ``RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)``.
    seed : int, default 0
    n_jobs : int, default 1
        joblib workers (processes) across the ``folds × repeats`` splits.
    progress : callable, optional
        Called with 1 each time one train/test split (all models) is done, i.e.
        ``folds × repeats`` times (for a progress bar).
    columns : mapping of str → list of str, optional
        Per model, the columns of ``X`` it sees (default: all). This lets a baseline read
        a fit-time-only column (the full-dosimetry half-life) that the main model must not.
    selected : mapping of str → callable, optional
        Per model, a function of the fitted estimator returning the selected feature names.
    cap_mci : float, default 1030
        Clip for the clinical metrics (mCi).

    Returns
    -------
    CVResult
    """
    if folds < 2:
        raise ValueError("folds must be >= 2")
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < folds:
        raise ValueError(f"{folds}-fold CV needs at least {folds} patients, got {n}")
    models = dict(models)
    args = (models, X, y, dict(columns or {}), dict(selected or {}))
    return run_repeated_cv(n, _fit_predict, args, list(models), _SplitMetrics(y, cap_mci), folds=folds,
                           repeats=repeats, seed=seed, n_jobs=n_jobs, progress=progress)
