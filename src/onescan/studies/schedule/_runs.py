"""The schedule study's two designs: repeated CV on one cohort, and many virtual training cohorts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.utils.parallel import delayed  # carries sklearn config and warning filters to workers

from onescan.evaluation._engine import CVResult, parallel_unordered, run_repeated_cv
from onescan.evaluation._metrics import summarise
from onescan.studies.schedule._data import StudyData, prepare_study_data
from onescan.studies.schedule._methods import METHODS, fit_predict_methods
from onescan.studies.schedule._metrics import METRICS, schedule_metrics

__all__ = ["cohort_cv", "virtual_cohort_study", "VirtualCohortResult"]

logger = logging.getLogger(__name__)


class _Metrics:
    """:func:`schedule_metrics` of one repeat's (or cohort's) predictions against the reference ``ref``."""

    def __init__(self, ref: np.ndarray, dose_settings, margin: float):
        self.ref = ref
        self.cap = float(getattr(dose_settings, "max_activity_mci", 1030.0))
        self.margin = margin

    def __call__(self, pred) -> dict[str, float]:
        return schedule_metrics(pred, self.ref, self.cap, self.margin)


def _fold_task(train, test, data: StudyData, methods, ps, ds):
    preds = fit_predict_methods(data.take(train), data.take(test), methods, ps, ds)
    return {mth: (p, None) for mth, p in preds.items()}


def cohort_cv(data: StudyData, methods: Sequence[str] = tuple(METHODS), *, folds: int = 5, repeats: int = 20,
              seed: int = 0, n_jobs: int = 1, pipeline_settings=None, dose_settings=None,
              progress: Callable[[int], None] | None = None, margin: float = 0.10) -> CVResult:
    """Repeated k-fold CV of every method on one cohort (:func:`onescan.evaluation._engine.run_repeated_cv`).

    Parameters
    ----------
    data : StudyData
    methods : sequence of str
    folds, repeats, seed : int
        ``RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)``.
    n_jobs : int
        joblib workers over the ``folds × repeats`` fits.
    pipeline_settings, dose_settings : optional
    progress : callable, optional
        Called with 1 after each fold.
    margin : float
        Overdose margin (0.10: dose to the limiting organ > 1.1 × target).

    Returns
    -------
    onescan.evaluation.CVResult
        ``summary`` (method → metric → {mean, low, high}), ``per_repeat`` (DataFrame with a
        ``method`` column), ``oof`` (method → array (repeats, n) of predictions, mCi).
    """
    from onescan.dosimetry._dose import DoseSettings

    ds = dose_settings if dose_settings is not None else DoseSettings()
    n = len(data)
    if folds < 2 or repeats < 1:
        raise ValueError("need folds >= 2 and repeats >= 1")
    if n < 2 * folds:
        raise ValueError(f"{folds}-fold CV needs at least {2 * folds} patients, got {n}")
    metric = _Metrics(data.kin["ref_mci"].to_numpy(float), ds, margin)
    return run_repeated_cv(n, _fold_task, (data, list(methods), pipeline_settings, ds), list(methods), metric,
                           folds=folds, repeats=repeats, seed=seed, n_jobs=n_jobs, progress=progress,
                           key="method", summary_columns=tuple(METRICS))


@dataclass
class VirtualCohortResult:
    """What :func:`virtual_cohort_study` measured.

    Attributes
    ----------
    summary : dict
        size → method → metric → {"mean", "low", "high"} (2.5–97.5 percentile over cohorts).
    per_cohort : pandas.DataFrame
        One row per (size, cohort, method) with every metric.
    test_patients, test_seed : int
        Size and seed of the independent virtual test cohort.
    sizes : list of int
        Training-cohort sizes, ascending.
    n_cohorts : int
        Virtual cohorts per size.
    """

    summary: dict
    per_cohort: pd.DataFrame
    test_patients: int
    test_seed: int
    sizes: list[int]
    n_cohorts: int


def _cohort_seed(seed: int, size: int, k: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(size), int(k)]).generate_state(1)[0])


def _simulated_study_data(n: int, seed: int, ds) -> StudyData:
    from onescan.contract._cohort import load_cohort
    from onescan.studies._simulate import simulate_cohort

    sim = simulate_cohort(n, seed, dose_settings=ds)
    cohort = load_cohort(patients=sim.patients, scans=sim.scans, need_target=True)
    return prepare_study_data(cohort, ds)


def _virtual_task(size, k, seed, test: StudyData, methods, ps, ds, margin):
    train = _simulated_study_data(size, _cohort_seed(seed, size, k), ds)
    preds = fit_predict_methods(train, test, methods, ps, ds)
    metric = _Metrics(test.kin["ref_mci"].to_numpy(float), ds, margin)
    return size, k, {m: metric(p) for m, p in preds.items()}


def virtual_cohort_study(sizes: Sequence[int] = (74, 150, 300, 1000), n_cohorts: int = 50, *,
                         test_patients: int = 1000, seed: int = 0, methods: Sequence[str] = tuple(METHODS),
                         n_jobs: int = 1, pipeline_settings=None, dose_settings=None,
                         progress: Callable[[int], None] | None = None, margin: float = 0.10
                         ) -> VirtualCohortResult:
    """The schedule comparison on many virtual training cohorts of each size.

    For each size ``n`` and each of ``n_cohorts`` seeds, a virtual cohort of ``n``
    patients is simulated (:func:`onescan.studies._simulate.simulate_cohort`), every method is
    fitted on it, and evaluated on one independent virtual test cohort of
    ``test_patients`` patients (shared by all, seeded separately). Tasks run through
    joblib (``n_jobs`` processes; any joblib backend, e.g. Dask or Ray, via
    ``joblib.parallel_config``).

    Parameters
    ----------
    sizes : sequence of int
        Training-cohort sizes (patients).
    n_cohorts : int
        Virtual cohorts per size.
    test_patients : int
        Size of the independent test cohort.
    seed : int
    methods : sequence of str
    n_jobs : int
    pipeline_settings, dose_settings : optional
    progress : callable, optional
        Called with 1 after each cohort.
    margin : float

    Returns
    -------
    VirtualCohortResult
    """
    from onescan.dosimetry._dose import DoseSettings

    ds = dose_settings if dose_settings is not None else DoseSettings()
    sizes = [int(s) for s in sizes]
    if any(s < 10 for s in sizes):
        raise ValueError("virtual cohort sizes must be >= 10 patients")
    if n_cohorts < 1:
        raise ValueError("n_cohorts must be >= 1")
    test_seed = int(np.random.SeedSequence([int(seed), 7_777_777]).generate_state(1)[0])
    test = _simulated_study_data(int(test_patients), test_seed, ds)
    # largest cohorts first: better load balance across workers
    tasks = [(s, k) for s in sorted(sizes, reverse=True) for k in range(n_cohorts)]
    jobs = (delayed(_virtual_task)(s, k, seed, test, list(methods), pipeline_settings, ds, margin)
            for s, k in tasks)
    rows = []
    for done, (s, k, res) in enumerate(parallel_unordered(jobs, n_jobs), start=1):
        for mth, met in res.items():
            rows.append({"size": s, "cohort": k, "method": mth, **met})
        logger.info("virtual cohort %d of %d done (size %d, cohort %d)", done, len(tasks), s, k)
        if progress is not None:
            progress(1)
    per_cohort = pd.DataFrame(rows).sort_values(["size", "cohort", "method"], kind="mergesort")
    per_cohort = per_cohort.reset_index(drop=True)
    summary: dict = {}
    for s in sorted(sizes):
        g = per_cohort[per_cohort["size"] == s]
        summary[s] = {mth: {k: summarise(g.loc[g["method"] == mth, k]) for k in METRICS} for mth in methods}
    return VirtualCohortResult(summary=summary, per_cohort=per_cohort, test_patients=int(test_patients),
                               test_seed=test_seed, sizes=sorted(sizes), n_cohorts=int(n_cohorts))
