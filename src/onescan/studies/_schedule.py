"""Which scans can a clinic drop? The imaging-schedule study (issue 7).

For every patient the reference is onescan's MIRD dosimetry from **all** scans
(SPEC §2). Each method of the registry :data:`onescan.studies.schedule._methods.METHODS` predicts the
prescribed activity from a *subset* of the scans (plus, for the machine-learning models,
the clinical features): single-time-point dosimetry from the first or the 24 h scan, the
two-point fit, and the published LASSO and the hybrid model on the first scan and on
first + 24 h.

λ_pop = ln 2 / median effective half-life of the *training* patients' full
dosimetry (Madsen et al., Med Phys 2018); every data-fitted quantity (λ_pop,
the ML models) is fitted on the training rows only. The "24 h" scan is each
patient's later scan nearest 24 h (:func:`onescan.features._features.schedule_scans`).
For the first + 24 h models the feature matrix also holds
``<organ>_two_point_ln_tiac_per_uptake`` — ln(TIAC/f₁) (h) of the two-point fit —
derived from that patient's own two scans. The ML models are trained on the
reference activity capped at the maximum activity (as the trial's prescriptions
were), computed with the same dose settings as the reference.

Metrics (per method; ``adm = clip(predicted, 0, cap)`` is the activity a clinic
would give, ``ref`` the reference activity, ``ref_c = min(ref, cap)``):

* ``rmse_mci``, ``bias_mci`` (mean of adm − ref_c), ``mae_mci`` — mCi;
* ``within10_pct`` / ``within20_pct`` / ``within30_pct`` — % of patients with
  |adm − ref_c| < 10/20/30 % of ref_c;
* ``overdose_pct`` — % of patients whose dose-limiting organ would get more than 24 Gy × 1.1:
  adm > 1.1 × ref (ref uncapped: a capped reference hides nothing here);
* ``underdose_pct`` — % with adm < 0.9 × ref_c (more than 10 % below what could be given);
* ``rmse_raw_mci`` — RMSE of the uncapped prediction against the uncapped reference
  (how well the method estimates the full-dosimetry activity before any cap).

Uncertainty: on one cohort, repeated k-fold CV — per repeat every patient is
predicted once out of fold, the metric is computed on the pooled predictions, and
the interval is the 2.5–97.5 percentile over repeats (the engine
:func:`onescan.evaluation._engine.run_repeated_cv`). On virtual cohorts (sample-size study) each cohort of
``n`` patients is a training set; all methods are fitted on it and evaluated on one
large independent virtual test cohort; the interval is the 2.5–97.5 percentile over
training cohorts.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from onescan._provenance import jsonable as _jsonable, settings_dict as _settings_dict, versions
from onescan.evaluation._engine import CVResult
from onescan.studies.schedule._data import TWO_POINT_FEATURE, StudyData, prepare_study_data
from onescan.studies.schedule._methods import METHODS, MethodInfo, ScheduleMethod, fit_predict_methods
from onescan.studies.schedule._metrics import METRICS, schedule_metrics
from onescan.studies.schedule._runs import VirtualCohortResult, cohort_cv, virtual_cohort_study

__all__ = [
    "METHODS",
    "METRICS",
    "ScheduleMethod",
    "ScheduleSettings",
    "StudyData",
    "ScheduleResult",
    "VirtualCohortResult",
    "schedule_metrics",
    "prepare_study_data",
    "fit_predict_methods",
    "cohort_cv",
    "virtual_cohort_study",
    "schedule_study",
]

logger = logging.getLogger(__name__)

#: Former names, kept importable from here.
_REEXPORTED = (MethodInfo, TWO_POINT_FEATURE, CVResult)

# ----------------------------------------------------------------------------- the study


@dataclass
class ScheduleSettings:
    """Settings of :func:`schedule_study`.

    Attributes
    ----------
    folds, repeats : int
        Repeated k-fold CV on the cohort (``repeats=0`` skips it).
    seed : int
    virtual_cohorts : int
        Virtual cohorts per size for the sample-size study (0 skips it).
    sizes : tuple of int
        Virtual training-cohort sizes, patients.
    test_patients : int
        Patients in the independent virtual test cohort.
    methods : tuple of str
        Keys of :data:`METHODS`.
    overdose_margin : float
        0.10: a dose to the limiting organ above 1.1 × target counts as an overdose.
    """

    folds: int = 5
    repeats: int = 20
    seed: int = 0
    virtual_cohorts: int = 0
    sizes: tuple[int, ...] = (74, 150, 300, 1000)
    test_patients: int = 1000
    methods: tuple[str, ...] = tuple(METHODS)
    overdose_margin: float = 0.10


@dataclass
class ScheduleResult:
    """What :func:`schedule_study` measured (``metrics`` is JSON-ready)."""

    metrics: dict
    table: pd.DataFrame
    cv_per_repeat: pd.DataFrame | None = None
    virtual_per_cohort: pd.DataFrame | None = None
    cv_oof: dict = field(default_factory=dict)
    ids: np.ndarray | None = None
    reference_mci: np.ndarray | None = None


_versions = partial(versions, ("python", "onescan", "numpy", "pandas", "scikit-learn", "mlxtend", "joblib", "scipy"))


def _table(metrics: dict) -> pd.DataFrame:
    rows = []
    cv = metrics.get("cohort_cv")
    if cv:
        for mth, met in cv["summary"].items():
            row = {"study": "cohort_cv", "training_patients": cv["training_patients_per_fold"],
                   "method": mth, "scans": METHODS[mth].scans}
            for k in METRICS:
                for stat in ("mean", "low", "high"):
                    row[f"{k}_{stat}"] = met[k][stat]
            rows.append(row)
    vc = metrics.get("virtual")
    if vc:
        for size, by_method in vc["summary"].items():
            for mth, met in by_method.items():
                row = {"study": "virtual", "training_patients": int(size), "method": mth,
                       "scans": METHODS[mth].scans}
                for k in METRICS:
                    for stat in ("mean", "low", "high"):
                        row[f"{k}_{stat}"] = met[k][stat]
                rows.append(row)
    return pd.DataFrame(rows)


def _given_diff(data: StudyData, ds) -> float | None:
    """Median |given prescribed − reference (capped)| / reference, %, or None without a given column."""
    if "prescribed_given_mci" not in data.kin:
        return None
    g = data.kin["prescribed_given_mci"].to_numpy(float)
    r = np.minimum(data.kin["ref_mci"].to_numpy(float), ds.max_activity_mci)
    ok = np.isfinite(g) & np.isfinite(r) & (r > 0)
    return float(np.median(np.abs(g[ok] - r[ok]) / r[ok]) * 100.0) if ok.any() else None


def _best_by_scans(summary: dict) -> list[dict]:
    """Per scan subset, the methods with the lowest mean RMSE and the lowest overdose share."""
    def ok(m, key):
        v = summary[m][key]["mean"]
        return v is not None and math.isfinite(v)

    out = []
    subsets = dict.fromkeys(m.scans for m in METHODS.values() if m.kind != "reference")
    for scans in subsets:
        cands = [m for m in summary if METHODS[m].scans == scans and ok(m, "rmse_mci") and ok(m, "overdose_pct")]
        if not cands:
            continue
        by_rmse = min(cands, key=lambda m: summary[m]["rmse_mci"]["mean"])
        by_over = min(cands, key=lambda m: summary[m]["overdose_pct"]["mean"])
        out.append({"scans": scans, "by_rmse": by_rmse, "by_overdose": by_over,
                    "cells": {m: {k: summary[m][k] for k in ("rmse_mci", "overdose_pct", "within20_pct")}
                              for m in {by_rmse, by_over}}})
    return out


def _findings(metrics: dict) -> list[str]:
    """Plain-language statements computed from the numbers (shown at the top of the report)."""
    lines = []

    def say(prefix, b):
        def desc(m):
            c = b["cells"][m]
            r, o, w = c["rmse_mci"], c["overdose_pct"], c["within20_pct"]
            return (f"{METHODS[m].label} (RMSE {r['mean']:.0f} mCi [{r['low']:.0f}, {r['high']:.0f}], "
                    f"{w['mean']:.0f} % within 20 %, {o['mean']:.1f} % [{o['low']:.1f}, {o['high']:.1f}] "
                    f"above 1.1 × target dose)")

        text = f"{prefix}, {b['scans']} scan(s): lowest RMSE — {desc(b['by_rmse'])}"
        if b["by_overdose"] != b["by_rmse"]:
            text += f"; fewest overdoses — {desc(b['by_overdose'])}"
        return text + "."

    if "cohort_cv" in metrics:
        for b in _best_by_scans(metrics["cohort_cv"]["summary"]):
            lines.append(say(f"Cohort of {metrics['cohort_cv']['n_patients']} (CV)", b))
    if "virtual" in metrics:
        sizes = metrics["virtual"]["sizes"]
        for size in (sizes[0], sizes[-1]) if len(sizes) > 1 else sizes:
            for b in _best_by_scans(metrics["virtual"]["summary"][str(size)]):
                lines.append(say(f"Virtual training cohorts of {size}", b))
    return lines



def _header(s: ScheduleSettings, ds, ps, methods: list[str], n_jobs: int) -> dict:
    """The settings part of ``metrics.json``."""
    return {
        "study": "imaging schedule (which scans can be dropped)",
        "settings": {"folds": s.folds, "repeats": s.repeats, "seed": s.seed,
                     "virtual_cohorts": s.virtual_cohorts, "sizes": list(s.sizes),
                     "test_patients": s.test_patients, "overdose_margin": s.overdose_margin,
                     "n_jobs": n_jobs},
        "dose_settings": _settings_dict(ds),
        "pipeline_settings": _settings_dict(ps),
        "methods": {m: {"label": METHODS[m].label, "scans": METHODS[m].scans, "kind": METHODS[m].kind}
                    for m in methods},
        "metric_labels": dict(METRICS),
        "versions": _versions(),
    }


def _inputs(cohort) -> dict:
    """Source (and sha256 of files) of each of the cohort's inputs."""
    inputs = {}
    for key, src in cohort.sources.items():
        entry = {"source": str(src)}
        p = Path(str(src))
        if p.is_file():
            from onescan.contract._io import sha256_file

            entry["sha256"] = sha256_file(p)
        inputs[key] = entry
    return inputs


def _run_cohort_cv(cohort, s: ScheduleSettings, ds, ps, methods, n_jobs, progress, result: ScheduleResult) -> dict:
    """Repeated CV on the cohort: its ``metrics.json`` part; fills ``result``'s per-repeat tables."""
    if cohort is None:
        from onescan.studies._simulate import default_cohort

        cohort = default_cohort()
    data = prepare_study_data(cohort, ds)
    advance = progress("cross-validating on the cohort", s.folds * s.repeats) if progress else None
    t1 = time.perf_counter()
    cv = cohort_cv(data, methods, folds=s.folds, repeats=s.repeats, seed=s.seed, n_jobs=n_jobs,
                   pipeline_settings=ps, dose_settings=ds, progress=advance, margin=s.overdose_margin)
    inputs = _inputs(cohort)
    ref = data.kin["ref_mci"].to_numpy(float)
    result.cv_per_repeat = cv.per_repeat
    result.cv_oof = cv.oof
    result.ids = data.ids
    result.reference_mci = ref
    return {
        "n_patients": len(data),
        "training_patients_per_fold": int(round(len(data) * (s.folds - 1) / s.folds)),
        "mean_reference_mci": float(np.mean(np.minimum(ref, ds.max_activity_mci))),
        "share_at_cap_pct": float(100.0 * np.mean(ref >= ds.max_activity_mci)),
        "given_prescription_median_abs_diff_pct": _given_diff(data, ds),
        "inputs": inputs,
        "summary": cv.summary,
        "elapsed_s": time.perf_counter() - t1,
    }


def _run_virtual(s: ScheduleSettings, ds, ps, methods, n_jobs, progress, result: ScheduleResult) -> dict:
    """The sample-size study: its ``metrics.json`` part; fills ``result.virtual_per_cohort``."""
    total = s.virtual_cohorts * len(s.sizes)
    advance = progress("virtual cohorts", total) if progress else None
    t1 = time.perf_counter()
    vc = virtual_cohort_study(s.sizes, s.virtual_cohorts, test_patients=s.test_patients, seed=s.seed,
                              methods=methods, n_jobs=n_jobs, pipeline_settings=ps, dose_settings=ds,
                              progress=advance, margin=s.overdose_margin)
    result.virtual_per_cohort = vc.per_cohort
    return {
        "sizes": vc.sizes, "n_cohorts": vc.n_cohorts, "test_patients": vc.test_patients,
        "test_seed": vc.test_seed,
        "summary": {str(k): v for k, v in vc.summary.items()},
        "elapsed_s": time.perf_counter() - t1,
    }


def schedule_study(cohort=None, settings: ScheduleSettings | None = None, *, pipeline_settings=None,
                   dose_settings=None, n_jobs: int = 1,
                   progress: Callable[[str, int], Callable[[int], None]] | None = None) -> ScheduleResult:
    """Run the imaging-schedule study.

    Parameters
    ----------
    cohort : onescan.contract._cohort.Cohort or None
        The cohort for the repeated-CV comparison (None: only the virtual study runs,
        or the built-in cohort when ``settings.repeats > 0``).
    settings : ScheduleSettings, optional
    pipeline_settings : onescan.models._pipeline.PipelineSettings, optional
    dose_settings : onescan.dosimetry._dose.DoseSettings, optional
    n_jobs : int
        joblib workers.
    progress : callable, optional
        ``progress(description, total) -> advance`` factory used to report progress;
        ``advance(k)`` is called as work completes.

    Returns
    -------
    ScheduleResult
    """
    from onescan.dosimetry._dose import DoseSettings
    from onescan.models._pipeline import PipelineSettings

    s = settings if settings is not None else ScheduleSettings()
    ds = dose_settings if dose_settings is not None else DoseSettings()
    ps = pipeline_settings if pipeline_settings is not None else PipelineSettings()
    methods = list(s.methods)
    t0 = time.perf_counter()
    metrics = _header(s, ds, ps, methods, n_jobs)
    result = ScheduleResult(metrics=metrics, table=pd.DataFrame())
    if s.repeats > 0:
        metrics["cohort_cv"] = _run_cohort_cv(cohort, s, ds, ps, methods, n_jobs, progress, result)
    if s.virtual_cohorts > 0:
        metrics["virtual"] = _run_virtual(s, ds, ps, methods, n_jobs, progress, result)
    metrics["elapsed_s"] = time.perf_counter() - t0
    metrics["findings"] = _findings(_jsonable(metrics))
    result.table = _table(metrics)
    return result
