"""Which scans can a clinic drop? The imaging-schedule study (issue 7).

For every patient the reference is onescan's MIRD dosimetry from **all** scans
(SPEC §2). Each method below predicts the prescribed activity from a *subset* of
the scans (plus, for the machine-learning models, the clinical features):

========================  ==================  ===============================================
method                    scans read          how
========================  ==================  ===============================================
``all_scans``             all (reference)     full dosimetry; zero error by definition
``stp_first``             first               STP: TIAC = f₁·exp(λ_pop·t₁)/λ_pop
``hanscheid_24h``         24 h                Hänscheid et al. 2017: TIAC ≈ 2·f(t)·t/ln 2
``stp_24h``               24 h                STP with the population half-life at t ≈ 24 h
``two_point``             first + 24 h        mono-exponential through the two points
``lasso_first``           first               the published pipeline (SPEC §3)
``hybrid_first``          first               :class:`~onescan.models._hybrid.HybridDosimetryRegressor`
``lasso_first_24h``       first + 24 h        the published pipeline on first + 24 h features
``hybrid_first_24h``      first + 24 h        the hybrid model on first + 24 h features
========================  ==================  ===============================================

λ_pop = ln 2 / median effective half-life of the *training* patients' full
dosimetry (Madsen et al., Med Phys 2018); every data-fitted quantity (λ_pop,
the ML models) is fitted on the training rows only. The "24 h" scan is each
patient's later scan nearest 24 h (:func:`onescan.features._features.schedule_scans`).
For the first + 24 h models the feature matrix also holds
``liver_two_point_ln_tiac_per_uptake`` — ln(TIAC/f₁) (h) of the two-point fit —
derived from that patient's own two scans. The ML models are trained on the
reference activity capped at the maximum activity (as the trial's prescriptions
were), computed with the same dose settings as the reference.

Metrics (per method; ``adm = clip(predicted, 0, cap)`` is the activity a clinic
would give, ``ref`` the reference activity, ``ref_c = min(ref, cap)``):

* ``rmse_mci``, ``bias_mci`` (mean of adm − ref_c), ``mae_mci`` — mCi;
* ``within10_pct`` / ``within20_pct`` / ``within30_pct`` — % of patients with
  |adm − ref_c| < 10/20/30 % of ref_c;
* ``overdose_pct`` — % of patients whose liver would get more than 24 Gy × 1.1:
  adm > 1.1 × ref (ref uncapped: a capped reference hides nothing here);
* ``underdose_pct`` — % with adm < 0.9 × ref_c (more than 10 % below what could be given);
* ``rmse_raw_mci`` — RMSE of the uncapped prediction against the uncapped reference
  (how well the method estimates the full-dosimetry activity before any cap).

Uncertainty: on one cohort, repeated k-fold CV — per repeat every patient is
predicted once out of fold, the metric is computed on the pooled predictions, and
the interval is the 2.5–97.5 percentile over repeats (as in
:mod:`onescan.evaluation._cv`). On virtual cohorts (sample-size study) each cohort of
``n`` patients is a training set; all methods are fitted on it and evaluated on one
large independent virtual test cohort; the interval is the 2.5–97.5 percentile over
training cohorts.
"""

from __future__ import annotations

import base64
import io
import logging
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.utils.parallel import Parallel, delayed  # carries sklearn config and warning filters to workers
from sklearn.model_selection import RepeatedKFold

from onescan._provenance import jsonable as _jsonable, settings_dict as _settings_dict, versions
from onescan.dosimetry._stp import hanscheid_tiac_h, population_half_life_h, stp_tiac_h, two_point_tiac_h

__all__ = [
    "METHODS",
    "METRICS",
    "ScheduleSettings",
    "StudyData",
    "ScheduleResult",
    "schedule_metrics",
    "prepare_study_data",
    "fit_predict_methods",
    "cohort_cv",
    "virtual_cohort_study",
    "schedule_study",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MethodInfo:
    """A method of the schedule study: label for the report and the scans it reads."""

    label: str
    scans: str
    kind: str  # "reference" | "dosimetry" | "ml"


METHODS: dict[str, MethodInfo] = {
    "all_scans": MethodInfo("All scans: full MIRD dosimetry (reference)", "all", "reference"),
    "stp_first": MethodInfo("First scan: STP, population half-life", "first", "dosimetry"),
    "hanscheid_24h": MethodInfo("24 h scan: Hänscheid (T_eff = t)", "24 h", "dosimetry"),
    "stp_24h": MethodInfo("24 h scan: STP, population half-life", "24 h", "dosimetry"),
    "two_point": MethodInfo("First + 24 h: two-point mono-exponential", "first + 24 h", "dosimetry"),
    "lasso_first": MethodInfo("Published LASSO, first scan", "first", "ml"),
    "hybrid_first": MethodInfo("Hybrid (clearance ML + MIRD), first scan", "first", "ml"),
    "lasso_first_24h": MethodInfo("Published LASSO, first + 24 h", "first + 24 h", "ml"),
    "hybrid_first_24h": MethodInfo("Hybrid (clearance ML + MIRD), first + 24 h", "first + 24 h", "ml"),
}

#: Metric names, in report order, with their display labels.
METRICS: dict[str, str] = {
    "rmse_mci": "RMSE (mCi)",
    "bias_mci": "Bias (mCi)",
    "mae_mci": "MAE (mCi)",
    "within10_pct": "Within 10 % (%)",
    "within20_pct": "Within 20 % (%)",
    "within30_pct": "Within 30 % (%)",
    "overdose_pct": "Liver > 1.1 × target (%)",
    "underdose_pct": "Activity < 0.9 × reference (%)",
    "rmse_raw_mci": "RMSE before capping (mCi)",
}

TWO_POINT_FEATURE = "liver_two_point_ln_tiac_per_uptake"


# ----------------------------------------------------------------------------- metrics


def schedule_metrics(pred_mci, ref_mci, cap_mci: float = 1030.0, margin: float = 0.10,
                     within: Sequence[int] = (10, 20, 30)) -> dict[str, float]:
    """Error and safety metrics of predicted against reference activities.

    Parameters
    ----------
    pred_mci : array_like
        Predicted activity, mCi (uncapped; NaN = no prediction, excluded).
    ref_mci : array_like
        Reference activity from full dosimetry, mCi, **uncapped** (it gives exactly the
        target liver dose).
    cap_mci : float
        Maximum activity that can be given, mCi (1030 in SIERRA).
    margin : float
        Overdose margin: a patient is overdosed when the given activity exceeds
        (1 + margin) × the reference, i.e. the liver gets more than (1 + margin) × target.
    within : sequence of int
        Percent thresholds for the "within" shares.

    Returns
    -------
    dict
        ``n``, ``rmse_mci``, ``bias_mci``, ``mae_mci``, ``within<k>_pct``, ``overdose_pct``,
        ``underdose_pct``, ``rmse_raw_mci`` (see module docstring).
    """
    p = np.asarray(pred_mci, dtype=float)
    r = np.asarray(ref_mci, dtype=float)
    ok = np.isfinite(p) & np.isfinite(r)
    p, r = p[ok], r[ok]
    out: dict[str, float] = {"n": int(ok.sum())}
    if p.size == 0:
        for k in METRICS:
            out[k] = float("nan")
        return out
    adm = np.clip(p, 0.0, cap_mci)
    rc = np.minimum(r, cap_mci)
    err = adm - rc
    out["rmse_mci"] = float(np.sqrt(np.mean(err**2)))
    out["bias_mci"] = float(np.mean(err))
    out["mae_mci"] = float(np.mean(np.abs(err)))
    rel = np.abs(err) / rc
    for w in within:
        out[f"within{int(w)}_pct"] = float(100.0 * np.mean(rel < w / 100.0))
    out["overdose_pct"] = float(100.0 * np.mean(adm > (1.0 + margin) * r))
    out["underdose_pct"] = float(100.0 * np.mean(adm < (1.0 - margin) * rc))
    out["rmse_raw_mci"] = float(np.sqrt(np.mean((p - r) ** 2)))
    return out


# ----------------------------------------------------------------------------- data


@dataclass
class StudyData:
    """Everything the methods need, one row per patient (same order everywhere).

    Attributes
    ----------
    ids : numpy.ndarray of str
    X_first : pandas.DataFrame
        Features of the one-scan models (SPEC §3).
    X_24 : pandas.DataFrame
        Features of the first + 24 h models (adds ``uptake_24h_*``, ``scan_24h_time_h``
        and the two-point feature).
    y : numpy.ndarray
        Training target of the ML models: the reference activity capped at the maximum
        activity as in the trial, mCi (the cohort's own ``prescribed_activity_mci``, if
        any, is kept in ``kin["prescribed_given_mci"]`` for comparison only).
    kin : pandas.DataFrame
        ``liver_mass_g`` (g), ``t1_h``, ``f1``, ``t24_h``, ``f24``, ``half_life_full_h`` (h),
        ``ref_mci`` (uncapped reference activity), ``ref_capped_mci``.
    """

    ids: np.ndarray
    X_first: pd.DataFrame
    X_24: pd.DataFrame
    y: np.ndarray
    kin: pd.DataFrame

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, idx) -> "StudyData":
        """Rows ``idx`` (positions)."""
        idx = np.asarray(idx)
        return StudyData(ids=self.ids[idx], X_first=self.X_first.iloc[idx], X_24=self.X_24.iloc[idx],
                         y=self.y[idx], kin=self.kin.iloc[idx].reset_index(drop=True))


def prepare_study_data(cohort, dose_settings=None) -> StudyData:
    """Reference dosimetry, first-scan and first + 24 h features of a cohort.

    Parameters
    ----------
    cohort : onescan.contract._cohort.Cohort
        Canonical cohort with at least two liver time points per patient.
    dose_settings : onescan.dosimetry._dose.DoseSettings, optional

    Returns
    -------
    StudyData
    """
    from onescan.dosimetry._dose import DoseSettings, compute_dose
    from onescan.features._features import TARGET_COLUMN, build_features
    from onescan.dosimetry._physics import lambda_phys_per_h

    ds = dose_settings if dose_settings is not None else DoseSettings()
    mu = float(getattr(ds, "mu_per_cm", 0.110))
    ids = cohort.patients["patient_id"].astype(str).to_numpy()
    X1 = build_features(cohort, schedule="first", mu_per_cm=mu)
    X24 = build_features(cohort, schedule="first+24h", mu_per_cm=mu)
    dose = compute_dose(cohort.patients, cohort.scans, ds)
    dose = dose.set_index(dose["patient_id"].astype(str)).reindex(ids)
    # The ML models learn the reference itself (capped as in the trial), so that every method
    # is compared with the same quantity under the same dose settings.
    y = dose["prescribed_activity_capped_mci"].to_numpy(float)
    if not np.all(np.isfinite(y) & (y > 0)):
        from onescan.contract._errors import InputError, Problem

        bad = [str(i) for i, v in zip(ids, y) if not (np.isfinite(v) and v > 0)]
        raise InputError([Problem(str(cohort.sources.get("scans", "scans")), patient_id=pid,
                                  message="the reference dosimetry failed for this patient (see onescan dose)")
                          for pid in bad])
    given = None
    if TARGET_COLUMN in cohort.patients.columns:
        given = pd.to_numeric(cohort.patients[TARGET_COLUMN], errors="coerce").to_numpy(float)
    lam_p = lambda_phys_per_h(getattr(ds, "nuclide", "I-131"))
    f1 = X24["uptake_first_liver"].to_numpy(float)
    t1 = X24["first_scan_time_h"].to_numpy(float)
    f24 = X24["uptake_24h_liver"].to_numpy(float) if "uptake_24h_liver" in X24 else np.full(len(ids), np.nan)
    t24 = X24["scan_24h_time_h"].to_numpy(float) if "scan_24h_time_h" in X24 else np.full(len(ids), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        X24 = X24.assign(**{TWO_POINT_FEATURE: np.log(two_point_tiac_h(f1, t1, f24, t24, lam_p) / f1)})
    kin = pd.DataFrame({
        "liver_mass_g": cohort.patients["liver_mass_g"].to_numpy(float),
        "t1_h": t1, "f1": f1, "t24_h": t24, "f24": f24,
        "half_life_full_h": dose["liver_effective_half_life_h"].to_numpy(float),
        "ref_mci": dose["prescribed_activity_mci"].to_numpy(float),
        "ref_capped_mci": dose["prescribed_activity_capped_mci"].to_numpy(float),
    })
    if given is not None:
        kin["prescribed_given_mci"] = given
    return StudyData(ids=ids, X_first=X1, X_24=X24, y=y, kin=kin)


def _make_ml(method: str, pipeline_settings, dose_settings):
    from onescan.models._hybrid import make_model
    from onescan.models._pipeline import PipelineSettings, make_pipeline

    ps = pipeline_settings if pipeline_settings is not None else PipelineSettings()
    if method.startswith("lasso"):
        if ps.model != "lasso":
            ps = ps.model_copy(update={"model": "lasso"})
        return make_pipeline(ps)
    return make_model(ps, dose_settings)


def fit_predict_methods(train: StudyData, test: StudyData, methods: Sequence[str] = tuple(METHODS),
                        pipeline_settings=None, dose_settings=None) -> dict[str, np.ndarray]:
    """Fit every method on ``train`` and predict the activity (mCi, uncapped) of ``test``.

    Only ``train`` rows inform anything fitted (population half-life, ML models);
    ``test`` contributes its own scans and features only.

    Parameters
    ----------
    train, test : StudyData
    methods : sequence of str
        Keys of :data:`METHODS`.
    pipeline_settings : onescan.models._pipeline.PipelineSettings, optional
    dose_settings : onescan.dosimetry._dose.DoseSettings, optional

    Returns
    -------
    dict of str → numpy.ndarray
        Predicted activity per test patient, mCi (NaN where a method cannot apply,
        e.g. no second scan).
    """
    from onescan.dosimetry._dose import DoseSettings, activity_for_target_mci
    from onescan.dosimetry._physics import lambda_phys_per_h

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown schedule methods {unknown}; valid: {list(METHODS)}")
    ds = dose_settings if dose_settings is not None else DoseSettings()
    k = test.kin
    m = k["liver_mass_g"].to_numpy(float)
    lam_phys = lambda_phys_per_h(getattr(ds, "nuclide", "I-131"))
    out: dict[str, np.ndarray] = {}

    def act(tiac):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(activity_for_target_mci(tiac, m, ds), dtype=float)

    lam_pop = None
    if {"stp_first", "stp_24h"} & set(methods):
        lam_pop = math.log(2.0) / population_half_life_h(train.kin["half_life_full_h"])
    for meth in methods:
        if meth == "all_scans":
            out[meth] = k["ref_mci"].to_numpy(float)
        elif meth == "stp_first":
            out[meth] = act(stp_tiac_h(k["f1"], k["t1_h"], lam_pop))
        elif meth == "stp_24h":
            out[meth] = act(stp_tiac_h(k["f24"], k["t24_h"], lam_pop))
        elif meth == "hanscheid_24h":
            out[meth] = act(hanscheid_tiac_h(k["f24"], k["t24_h"]))
        elif meth == "two_point":
            out[meth] = act(two_point_tiac_h(k["f1"], k["t1_h"], k["f24"], k["t24_h"], lam_phys))
        else:
            two = meth.endswith("_24h")
            Xtr = train.X_24 if two else train.X_first
            Xte = (test.X_24 if two else test.X_first).reindex(columns=Xtr.columns)
            model = _make_ml(meth, pipeline_settings, ds).fit(Xtr, train.y)
            out[meth] = np.asarray(model.predict(Xte), dtype=float)
    return out


# ----------------------------------------------------------------------------- studies


def _summarise(values) -> dict[str, float]:
    from onescan.evaluation._cv import summarise

    return summarise(values)


def _fold_task(i, data: StudyData, tr, te, methods, ps, ds):
    preds = fit_predict_methods(data.take(tr), data.take(te), methods, ps, ds)
    return i, te, preds


def _parallel(jobs, n_jobs: int):
    """Run joblib ``jobs``, yielding results as they complete (any order).

    Uses the active joblib backend (``joblib.parallel_config``: loky by default, or
    Dask, Ray, ...). Backends that cannot stream results (e.g. Ray's, which builds on
    multiprocessing) return them all at the end instead.
    """
    try:
        par = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    except ValueError:
        par = Parallel(n_jobs=n_jobs, return_as="list")
    return par(jobs)


def cohort_cv(data: StudyData, methods: Sequence[str] = tuple(METHODS), *, folds: int = 5, repeats: int = 20,
              seed: int = 0, n_jobs: int = 1, pipeline_settings=None, dose_settings=None,
              progress: Callable[[int], None] | None = None, margin: float = 0.10) -> dict:
    """Repeated k-fold CV of every method on one cohort.

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
        Overdose margin (0.10: liver dose > 1.1 × target).

    Returns
    -------
    dict
        ``summary`` (method → metric → {mean, low, high}), ``per_repeat`` (DataFrame),
        ``oof`` (method → array (repeats, n) of predictions, mCi).
    """
    from onescan.dosimetry._dose import DoseSettings

    ds = dose_settings if dose_settings is not None else DoseSettings()
    n = len(data)
    if folds < 2 or repeats < 1:
        raise ValueError("need folds >= 2 and repeats >= 1")
    if n < 2 * folds:
        raise ValueError(f"{folds}-fold CV needs at least {2 * folds} patients, got {n}")
    splits = list(RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=seed).split(np.arange(n)))
    oof = {mth: np.full((repeats, n), np.nan) for mth in methods}
    jobs = (delayed(_fold_task)(i, data, tr, te, list(methods), pipeline_settings, ds)
            for i, (tr, te) in enumerate(splits))
    for i, te, preds in _parallel(jobs, n_jobs):
        for mth, p in preds.items():
            oof[mth][i // folds, te] = p
        if progress is not None:
            progress(1)
    cap = float(getattr(ds, "max_activity_mci", 1030.0))
    ref = data.kin["ref_mci"].to_numpy(float)
    rows = []
    for mth in methods:
        for r in range(repeats):
            rows.append({"method": mth, "repeat": r, **schedule_metrics(oof[mth][r], ref, cap, margin)})
    per_repeat = pd.DataFrame(rows)
    summary = {mth: {k: _summarise(g[k]) for k in METRICS}
               for mth, g in per_repeat.groupby("method", sort=False)}
    return {"summary": summary, "per_repeat": per_repeat, "oof": oof}


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
    cap = float(getattr(ds, "max_activity_mci", 1030.0))
    ref = test.kin["ref_mci"].to_numpy(float)
    return size, k, {m: schedule_metrics(p, ref, cap, margin) for m, p in preds.items()}


def virtual_cohort_study(sizes: Sequence[int] = (74, 150, 300, 1000), n_cohorts: int = 50, *,
                         test_patients: int = 1000, seed: int = 0, methods: Sequence[str] = tuple(METHODS),
                         n_jobs: int = 1, pipeline_settings=None, dose_settings=None,
                         progress: Callable[[int], None] | None = None, margin: float = 0.10) -> dict:
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
    dict
        ``summary`` (size → method → metric → {mean, low, high}), ``per_cohort``
        (DataFrame: size, cohort, method, metrics), ``test_patients``, ``sizes``, ``n_cohorts``.
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
    for done, (s, k, res) in enumerate(_parallel(jobs, n_jobs), start=1):
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
        summary[s] = {mth: {k: _summarise(g.loc[g["method"] == mth, k]) for k in METRICS} for mth in methods}
    return {"summary": summary, "per_cohort": per_cohort, "test_patients": int(test_patients),
            "test_seed": test_seed, "sizes": sorted(sizes), "n_cohorts": int(n_cohorts)}


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
        0.10: a liver dose above 1.1 × target counts as an overdose.
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
    for scans in ("first", "24 h", "first + 24 h"):
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


def schedule_study(cohort=None, settings: ScheduleSettings | None = None, *, pipeline_settings=None,
                   dose_settings=None, n_jobs: int = 1,
                   progress: Callable[[str, int, int], Callable[[int], None]] | None = None) -> ScheduleResult:
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
    metrics: dict = {
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
    result = ScheduleResult(metrics=metrics, table=pd.DataFrame())

    if s.repeats > 0:
        if cohort is None:
            from onescan.studies._simulate import default_cohort

            cohort = default_cohort()
        data = prepare_study_data(cohort, ds)
        advance = progress("cross-validating on the cohort", s.folds * s.repeats) if progress else None
        t1 = time.perf_counter()
        cv = cohort_cv(data, methods, folds=s.folds, repeats=s.repeats, seed=s.seed, n_jobs=n_jobs,
                       pipeline_settings=ps, dose_settings=ds, progress=advance, margin=s.overdose_margin)
        inputs = {}
        for key, src in cohort.sources.items():
            entry = {"source": str(src)}
            p = Path(str(src))
            if p.is_file():
                from onescan.contract._io import sha256_file

                entry["sha256"] = sha256_file(p)
            inputs[key] = entry
        ref = data.kin["ref_mci"].to_numpy(float)
        metrics["cohort_cv"] = {
            "n_patients": len(data),
            "training_patients_per_fold": int(round(len(data) * (s.folds - 1) / s.folds)),
            "mean_reference_mci": float(np.mean(np.minimum(ref, ds.max_activity_mci))),
            "share_at_cap_pct": float(100.0 * np.mean(ref >= ds.max_activity_mci)),
            "given_prescription_median_abs_diff_pct": _given_diff(data, ds),
            "inputs": inputs,
            "summary": cv["summary"],
            "elapsed_s": time.perf_counter() - t1,
        }
        result.cv_per_repeat = cv["per_repeat"]
        result.cv_oof = cv["oof"]
        result.ids = data.ids
        result.reference_mci = ref

    if s.virtual_cohorts > 0:
        total = s.virtual_cohorts * len(s.sizes)
        advance = progress("virtual cohorts", total) if progress else None
        t1 = time.perf_counter()
        vc = virtual_cohort_study(s.sizes, s.virtual_cohorts, test_patients=s.test_patients, seed=s.seed,
                                  methods=methods, n_jobs=n_jobs, pipeline_settings=ps, dose_settings=ds,
                                  progress=advance, margin=s.overdose_margin)
        metrics["virtual"] = {
            "sizes": vc["sizes"], "n_cohorts": vc["n_cohorts"], "test_patients": vc["test_patients"],
            "test_seed": vc["test_seed"],
            "summary": {str(k): v for k, v in vc["summary"].items()},
            "elapsed_s": time.perf_counter() - t1,
        }
        result.virtual_per_cohort = vc["per_cohort"]
    metrics["elapsed_s"] = time.perf_counter() - t0
    metrics["findings"] = _findings(_jsonable(metrics))
    result.table = _table(metrics)
    return result


# ----------------------------------------------------------------------------- outputs
