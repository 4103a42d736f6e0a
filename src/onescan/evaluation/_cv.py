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

* :func:`nested_cv` — the honest intervals of every metric (nested cross-validation on the
  same folds, :mod:`onescan.evaluation._ncv`), which ``onescan reproduce`` reports.

Interval convention: within one repeat every patient is predicted exactly once out of
fold; the metric is computed on those pooled out-of-fold predictions (one value per
repeat). ``CVResult.summary`` holds the mean and the 2.5–97.5 percentile of the
per-repeat values: that spread shows only how much the estimate moves with the random
partition of the same patients, not a confidence interval for the error on new patients;
:func:`nested_cv` gives that.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
from onescan.evaluation._ncv import (
    DEFAULT_BOOTSTRAPS,
    DEFAULT_NCV_REPEATS,
    INTERVAL_LEVEL,
    NestedPredictions,
    fold_ids,
    metric_intervals,
    run_nested,
)
from onescan.evaluation._splits import published_split, repeated_kfold_splits

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
    "UNCAPPED",
    "nested_cv",
    "HonestIntervals",
]

logger = logging.getLogger(__name__)

#: Suffix of the extra out-of-fold predictions of a self-capping model without its cap
#: (``CVResult.oof["hybrid" + UNCAPPED]``).
UNCAPPED = "@uncapped"


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
        if getattr(model, "cap_predictions", False) is True:
            # a model that caps its own predictions (the hybrid): also its uncapped ones, for
            # like-for-like comparisons with uncapped models
            model.set_params(cap_predictions=False)
            out[name + UNCAPPED] = (np.asarray(model.predict(Xs.iloc[test]), dtype=float), None)
            model.set_params(cap_predictions=True)
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


@dataclass
class HonestIntervals:
    """The nested cross-validation of a :func:`repeated_cv` run and the metric intervals it gives.

    Attributes
    ----------
    intervals : dict
        method → metric → {"low", "high", "method"} (:func:`onescan.evaluation._ncv.metric_intervals`).
    details : dict
        method → metric → the nested-CV estimate, SEs and bias (loss scale).
    nested : NestedPredictions
        Inner-CV predictions (also of extra task outputs such as ``"hybrid" + UNCAPPED``).
    fold_id : ndarray (repeats, n)
        Folds of the ordinary CV.
    level : float
    ncv_repeats, n_boot : int
    """

    intervals: dict
    details: dict
    nested: NestedPredictions
    fold_id: np.ndarray
    level: float
    ncv_repeats: int
    n_boot: int

    def describe(self, folds: int) -> dict:
        """``metrics.json``'s ``cv.interval``: what the low/high of ``cv.summary`` are and how they were made."""
        return {
            "level": self.level,
            "method": "nested cross-validation (Bates, Hastie & Tibshirani, JASA 2023): the ordinary CV's first "
                      f"{self.ncv_repeats} repeats as outer folds, a {folds - 1}-fold inner CV in each; interval "
                      "Err_CV +/- z * SE_NCV for metrics that are means of a per-patient loss (RMSE from the squared "
                      "error by the delta method, r2 from the RMSE ends); normal patient bootstrap of the "
                      "out-of-fold predictions for the others; widened to contain the mean over repeats",
            "ncv_repeats": self.ncv_repeats,
            "ncv_inner_fits": self.ncv_repeats * folds * (folds - 1) // 2,
            "bootstraps": self.n_boot,
            "metrics_ncv": sorted({m for iv in self.intervals.values() for m, v in iv.items() if v["method"] == "ncv"}),
            "metrics_bootstrap": sorted({m for iv in self.intervals.values() for m, v in iv.items()
                                         if v["method"] == "bootstrap"}),
            "coverage": "measured on 30 virtual cohorts of 74 patients by scripts/metric_interval_coverage.py "
                        "(docs/metric_intervals.md): LASSO RMSE 100% (30/30), its other metrics 90-100%, "
                        "baselines' RMSE 93-97%, paired differences 90-100%",
        }


def nested_cv(
    X: pd.DataFrame,
    y,
    models: Mapping[str, object],
    cv: CVResult,
    *,
    ncv_repeats: int = DEFAULT_NCV_REPEATS,
    n_jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    columns: Mapping[str, list[str] | None] | None = None,
    cap_mci: float = DEFAULT_CAP_MCI,
    level: float = INTERVAL_LEVEL,
    n_boot: int = DEFAULT_BOOTSTRAPS,
) -> HonestIntervals:
    """Honest intervals of every metric of a :func:`repeated_cv` run (nested CV + patient bootstrap).

    Reuses ``cv``'s folds (its first ``ncv_repeats`` repeats are the outer folds) and fits
    every model on each pair of folds' complement (``ncv_repeats × folds(folds−1)/2`` fits),
    with the same fold task, so selection and every data-dependent step are inside each fit.

    Parameters
    ----------
    X, y, models, columns, cap_mci
        As given to :func:`repeated_cv`.
    cv : CVResult
        Its result.
    ncv_repeats : int, default 10
    n_jobs : int, default 1
    progress : callable, optional
        Called with 1 after each inner fit.
    level : float, default 0.95
    n_boot : int, default 200
        Patient bootstraps of the metrics that are not means of a per-patient loss.

    Returns
    -------
    HonestIntervals
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    splits = repeated_kfold_splits(n, cv.folds, cv.repeats, cv.seed)
    fid = fold_ids(splits, n, cv.folds)
    models = dict(models)
    args = (models, X, y, dict(columns or {}), {})
    nested = run_nested(n, _fit_predict, args, list(models), fid, ncv_repeats, n_jobs=n_jobs, progress=progress)
    intervals, details = {}, {}
    for name in models:
        intervals[name], details[name] = metric_intervals(y, cv.oof[name], nested.inner[name], fid, cap_mci=cap_mci,
                                                          level=level, n_boot=n_boot, seed=cv.seed)
    return HonestIntervals(intervals, details, nested, fid, level, nested.repeats, n_boot)
