"""How well a model predicts the prescribed activity: metrics, the published split, repeated CV.

* :func:`regression_metrics` — the seed study's numbers (r², RMSE, MAE, share of
  patients within 30 %) plus bias, each as predicted and with predictions clipped to
  [0, 1030] mCi (the "clinical" variant: the maximum manufactured activity).
* :func:`published_split` — the study's 70/30 ``train_test_split`` over row positions.
* :func:`repeated_cv` — repeated k-fold cross-validation of *whole* estimators
  (every data-dependent step refitted on each training fold), out-of-fold predictions
  per repeat, metric means with 95 % intervals, selection frequencies, calibration and
  Bland–Altman statistics.

Interval convention (documented choice): within one repeat every patient is predicted
exactly once out of fold; the metric is computed on those pooled out-of-fold
predictions (one value per repeat). The reported interval is the 2.5–97.5 percentile of
the per-repeat values: it shows how much the estimate moves with the random partition
of 74 patients, not a confidence interval for a new cohort's performance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd
from sklearn.utils.parallel import Parallel, delayed  # carries sklearn config and warning filters to workers
from sklearn.base import clone
from sklearn.model_selection import RepeatedKFold, train_test_split

__all__ = [
    "DEFAULT_CAP_MCI",
    "WITHIN_FRACTION",
    "regression_metrics",
    "calibration",
    "bland_altman",
    "published_split",
    "repeated_cv",
    "CVResult",
    "summarise",
]

logger = logging.getLogger(__name__)

#: SIERRA's maximum manufactured activity (mCi), the clinical clip of predictions.
DEFAULT_CAP_MCI = 1030.0
#: An error below this share of the prescribed activity counts as "within 30 %".
WITHIN_FRACTION = 0.30

METRIC_NAMES = ("r2", "rmse_mci", "mae_mci", "within30_pct", "bias_mci")


def _basic(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    err = p - y
    ss_res = float(np.sum(err**2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        "rmse_mci": float(np.sqrt(np.mean(err**2))),
        "mae_mci": float(np.mean(np.abs(err))),
        "within30_pct": float(100.0 * np.mean(np.abs(err) < WITHIN_FRACTION * np.abs(y))),
        "bias_mci": float(np.mean(err)),
    }


def regression_metrics(y, yhat, cap_mci: float = DEFAULT_CAP_MCI) -> dict[str, float]:
    """The seed study's metrics, raw and clinical (clipped).

    Parameters
    ----------
    y : array-like
        Prescribed (reference) activity, mCi.
    yhat : array-like
        Predicted activity, mCi. Pairs where either is not finite are left out
        (``n`` says how many were used).
    cap_mci : float, default 1030
        Upper clip of the "clinical" predictions (mCi); the lower clip is 0.

    Returns
    -------
    dict
        ``n``; ``r2`` (1 − SS_res/SS_tot); ``rmse_mci``; ``mae_mci``; ``within30_pct``
        (percent of patients with |ŷ − y| < 0.3·y); ``bias_mci`` (mean ŷ − y); and the same
        five with the suffix ``_clinical`` computed on ``clip(ŷ, 0, cap_mci)``;
        ``mean_actual_mci``.
    """
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(yhat, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y and yhat differ in length ({y.size} vs {p.size})")
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    out: dict[str, float] = {"n": int(ok.sum())}
    if y.size == 0:
        nan = float("nan")
        for k in METRIC_NAMES:
            out[k] = nan
            out[k + "_clinical"] = nan
        out["mean_actual_mci"] = nan
        return out
    out.update(_basic(y, p))
    out.update({k + "_clinical": v for k, v in _basic(y, np.clip(p, 0.0, cap_mci)).items()})
    out["mean_actual_mci"] = float(np.mean(y))
    return out


def calibration(y, yhat) -> dict[str, float]:
    """Calibration line: ordinary least squares of observed ``y`` on predicted ``yhat``.

    A perfectly calibrated model has slope 1 and intercept 0 (mCi); slope < 1 means the
    predictions spread too much (over-fitting).
    """
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(yhat, dtype=float).ravel()
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    if y.size < 2 or np.ptp(p) == 0:
        return {"calibration_slope": float("nan"), "calibration_intercept_mci": float("nan")}
    slope, intercept = np.polyfit(p, y, 1)
    return {"calibration_slope": float(slope), "calibration_intercept_mci": float(intercept)}


def bland_altman(y, yhat) -> dict[str, float]:
    """Bland–Altman statistics of predicted − actual (mCi).

    Returns ``ba_bias_mci`` (mean difference), ``ba_sd_mci`` (sample SD of the
    differences), ``ba_loa_low_mci`` and ``ba_loa_high_mci`` (bias ∓ 1.96 SD).
    """
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(yhat, dtype=float).ravel()
    ok = np.isfinite(y) & np.isfinite(p)
    d = p[ok] - y[ok]
    if d.size < 2:
        nan = float("nan")
        return {"ba_bias_mci": nan, "ba_sd_mci": nan, "ba_loa_low_mci": nan, "ba_loa_high_mci": nan}
    bias, sd = float(d.mean()), float(d.std(ddof=1))
    return {"ba_bias_mci": bias, "ba_sd_mci": sd,
            "ba_loa_low_mci": bias - 1.96 * sd, "ba_loa_high_mci": bias + 1.96 * sd}


def published_split(n: int, seed: int = 0, test_size: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """The seed study's train/test split over row positions 0..n−1 (file order).

    ``sklearn.model_selection.train_test_split(range(n), test_size, random_state=seed,
    shuffle=True)``.

    Returns
    -------
    train, test : ndarray of int
        Row positions, in the order ``train_test_split`` returns them.
    """
    if n < 4:
        raise ValueError(f"need at least 4 patients for a train/test split, got {n}")
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed, shuffle=True)
    return np.asarray(train), np.asarray(test)


def _select_columns(X: pd.DataFrame, cols):
    return X if cols is None else X[list(cols)]


def _fit_predict(models, X, y, train, test, columns, selected):
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


@dataclass
class CVResult:
    """Everything :func:`repeated_cv` measured.

    Attributes
    ----------
    oof : dict of str → ndarray (repeats, n)
        Out-of-fold predictions (mCi) per model, one row per repeat.
    per_repeat : pandas.DataFrame
        One row per (model, repeat): every metric of :func:`regression_metrics`,
        :func:`calibration` and :func:`bland_altman` on that repeat's pooled predictions.
    summary : dict
        model → metric → {"mean", "low", "high"} (95 % percentile interval over repeats).
    selection_frequency : dict of str → pandas.Series
        model → share (0–1) of the ``folds × repeats`` fits that selected each feature.
    folds, repeats, seed : int
    """

    oof: dict[str, np.ndarray]
    per_repeat: pd.DataFrame
    summary: dict
    selection_frequency: dict[str, pd.Series] = field(default_factory=dict)
    folds: int = 5
    repeats: int = 20
    seed: int = 0


def summarise(values, level: float = 0.95) -> dict[str, float]:
    """Mean and central percentile interval of ``values`` (NaNs ignored)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan")}
    a = (1.0 - level) / 2.0 * 100.0
    return {"mean": float(v.mean()), "low": float(np.percentile(v, a)),
            "high": float(np.percentile(v, 100.0 - a))}


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
    columns = dict(columns or {})
    selected = dict(selected or {})
    rkf = RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    splits = list(rkf.split(np.arange(n)))
    oof = {name: np.full((repeats, n), np.nan) for name in models}
    sel_counts: dict[str, dict[str, int]] = {name: {} for name in models}
    sel_fits = {name: 0 for name in models}
    models = dict(models)
    jobs = (delayed(_fit_predict)(models, X, y, tr, te, columns, selected) for tr, te in splits)
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    for i, ((tr, te), res) in enumerate(zip(splits, parallel(jobs))):
        for name, (pred, sel) in res.items():
            oof[name][i // folds, te] = pred
            if sel is not None:
                sel_fits[name] += 1
                for f in sel:
                    sel_counts[name][f] = sel_counts[name].get(f, 0) + 1
        if progress is not None:
            progress(1)

    rows = []
    for name in models:
        for r in range(repeats):
            m = regression_metrics(y, oof[name][r], cap_mci=cap_mci)
            m.update(calibration(y, oof[name][r]))
            m.update(bland_altman(y, oof[name][r]))
            rows.append({"model": name, "repeat": r, **m})
    per_repeat = pd.DataFrame(rows)
    summary = {}
    metric_cols = [c for c in per_repeat.columns if c not in ("model", "repeat", "n")]
    for name, g in per_repeat.groupby("model", sort=False):
        summary[name] = {c: summarise(g[c]) for c in metric_cols}
    freq = {}
    for name in models:
        if sel_fits[name]:
            s = pd.Series(sel_counts[name], dtype=float) / sel_fits[name]
            freq[name] = s.sort_values(ascending=False, kind="mergesort")
    return CVResult(oof=oof, per_repeat=per_repeat, summary=summary, selection_frequency=freq,
                    folds=folds, repeats=repeats, seed=seed)
