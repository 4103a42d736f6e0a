"""The repeated k-fold cross-validation engine shared by every study.

A study supplies a *fold task* — a picklable function ``task(train, test, *args)`` that fits
whatever it compares on the training rows and returns, per method name, the predictions of
the test rows and (optionally) the features the fitted model selected — and a metric
function of one repeat's pooled out-of-fold predictions. The engine runs the
``folds × repeats`` tasks through joblib, assembles the out-of-fold predictions in split
order (whatever order the workers finish in), and summarises every metric over repeats.

Interval convention: within one repeat every patient is predicted exactly once out of
fold; the metric is computed on those pooled predictions (one value per repeat), and the
summary gives the 2.5–97.5 percentile of the per-repeat values: the partition noise only.
:mod:`onescan.evaluation._ncv` gives intervals for the error on new patients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.utils.parallel import Parallel, delayed  # carries sklearn config and warning filters to workers

from onescan.evaluation._metrics import summarise
from onescan.evaluation._splits import repeated_kfold_splits

__all__ = ["CVResult", "FoldPrediction", "run_repeated_cv", "parallel_unordered"]

#: What a fold task returns per method: test-row predictions (mCi) and the selected features (or None).
FoldPrediction = tuple[np.ndarray, "list[str] | None"]


@dataclass
class CVResult:
    """Everything a repeated cross-validation measured.

    Attributes
    ----------
    oof : dict of str → ndarray (repeats, n)
        Out-of-fold predictions (mCi) per model, one row per repeat.
    per_repeat : pandas.DataFrame
        One row per (model, repeat): every metric on that repeat's pooled predictions.
    summary : dict
        model → metric → {"mean", "low", "high"}: mean and 2.5–97.5 percentiles over repeats
        (partition noise only, not a confidence interval for new patients; see
        :func:`onescan.evaluation.nested_cv`).
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


def parallel_unordered(jobs, n_jobs: int):
    """Run joblib ``jobs``, yielding results as they complete (any order).

    Uses the active joblib backend (``joblib.parallel_config``: loky by default, or
    Dask, Ray, ...). Backends that cannot stream results (e.g. multiprocessing, on which
    Ray's builds) return them all at the end instead.
    """
    try:
        par = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    except ValueError:
        par = Parallel(n_jobs=n_jobs, return_as="list")
    return par(jobs)


def _indexed(task, i, train, test, args):
    return i, task(train, test, *args)


def _run_folds(task, args, splits, n_jobs, progress) -> list:
    """Every fold task's result, in split order."""
    results: list = [None] * len(splits)
    jobs = (delayed(_indexed)(task, i, tr, te, args) for i, (tr, te) in enumerate(splits))
    for i, res in parallel_unordered(jobs, n_jobs):
        results[i] = res
        if progress is not None:
            progress(1)
    return results


def _assemble(names, splits, results, n, folds, repeats):
    """Out-of-fold predictions and selection frequencies from the fold results (split order)."""
    oof = {name: np.full((repeats, n), np.nan) for name in names}
    sel_counts: dict[str, dict[str, int]] = {name: {} for name in names}
    sel_fits = {name: 0 for name in names}
    for i, ((_, te), res) in enumerate(zip(splits, results)):
        for name, (pred, sel) in res.items():
            # a task may return extra predictions (e.g. a model's uncapped ones) beside the methods
            oof.setdefault(name, np.full((repeats, n), np.nan))[i // folds, te] = pred
            sel_counts.setdefault(name, {})
            sel_fits.setdefault(name, 0)
            if sel is not None:
                sel_fits[name] += 1
                for f in sel:
                    sel_counts[name][f] = sel_counts[name].get(f, 0) + 1
    freq = {}
    for name in names:
        if sel_fits[name]:
            s = pd.Series(sel_counts[name], dtype=float) / sel_fits[name]
            freq[name] = s.sort_values(ascending=False, kind="mergesort")
    return oof, freq


def run_repeated_cv(
    n: int,
    task: Callable[..., Mapping[str, FoldPrediction]],
    args: tuple,
    names: Sequence[str],
    metric_fn: Callable[[np.ndarray], dict],
    *,
    folds: int = 5,
    repeats: int = 20,
    seed: int = 0,
    n_jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    key: str = "model",
    summary_columns: Sequence[str] | None = None,
) -> CVResult:
    """Repeated k-fold cross-validation of the methods a fold task fits.

    Parameters
    ----------
    n : int
        Patients (rows).
    task : callable
        ``task(train, test, *args)`` → {name: (predictions of the test rows in mCi,
        selected features or None)}; module-level (picklable) for process workers.
    args : tuple
        Further arguments of ``task``.
    names : sequence of str
        The methods ``task`` returns, in report order.
    metric_fn : callable
        Metrics (dict) of one repeat's pooled out-of-fold predictions (array of n, mCi).
    folds, repeats, seed : int
        ``RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)``.
    n_jobs : int
        joblib workers over the ``folds × repeats`` tasks.
    progress : callable, optional
        Called with 1 after each task.
    key : str, default "model"
        Name of the method column of ``per_repeat``.
    summary_columns : sequence of str, optional
        Metrics to summarise (default: every column but ``key``, ``repeat`` and ``n``).

    Returns
    -------
    CVResult
    """
    splits = repeated_kfold_splits(n, folds, repeats, seed)
    results = _run_folds(task, args, splits, n_jobs, progress)
    oof, freq = _assemble(list(names), splits, results, n, folds, repeats)
    rows = []
    for name in names:
        for r in range(repeats):
            rows.append({key: name, "repeat": r, **metric_fn(oof[name][r])})
    per_repeat = pd.DataFrame(rows)
    cols = list(summary_columns) if summary_columns is not None else \
        [c for c in per_repeat.columns if c not in (key, "repeat", "n")]
    summary = {name: {c: summarise(g[c]) for c in cols} for name, g in per_repeat.groupby(key, sort=False)}
    return CVResult(oof=oof, per_repeat=per_repeat, summary=summary, selection_frequency=freq,
                    folds=folds, repeats=repeats, seed=seed)
