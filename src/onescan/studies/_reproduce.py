"""``onescan reproduce``: the seed study end to end, plus an honest evaluation.

:func:`reproduce` runs, on one cohort: the reference dosimetry (for the target when the
cohort has none, the single-time-point baseline's population half-life and the example
time–activity curve), the one-scan feature matrix, the published 70/30 split with the
LASSO pipeline, onescan's physics-informed hybrid model (:mod:`onescan.models._hybrid`; not in the
paper, reported beside the published model) and the three baselines, and repeated k-fold
cross-validation of all of them on the same folds.
It returns a :class:`ReproduceResult` (typed parts; ``metrics`` = ``to_dict()`` holds every
number the report shows); :func:`onescan.report.write_outputs` writes ``report.html`` (rendered
from that dict), ``metrics.json``, ``predictions.csv`` and ``figures/*.png``.

The paper's table is data (``data/seed_study.json``, :mod:`onescan.studies.reproduce._paper`);
the methods compared are the registry :mod:`onescan.studies.reproduce._methods`.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.base import clone

from onescan._provenance import jsonable as _clean, settings_dict as _settings_dict, versions
from onescan.contract._errors import InputError, Problem
from onescan.contract._organs import limiting_organ
from onescan.evaluation._cv import (
    bland_altman,
    calibration,
    nested_cv,
    UNCAPPED,
    published_split,
    regression_metrics,
    repeated_cv,
)
from onescan.evaluation._ncv import DEFAULT_NCV_REPEATS, apply_intervals
from onescan.features._features import build_features, get_target
from onescan.models._pipeline import PipelineSettings, coefficients
from onescan.studies.reproduce._methods import HALF_LIFE_COLUMN, HYBRID_COLUMNS, METHODS as _REGISTRY
from onescan.studies.reproduce._methods import build_methods as _models
from onescan.studies.reproduce._paper import PAPER, ROBUST_FEATURE_PATTERNS, robust_features
from onescan.studies.reproduce._summaries import (
    check_k_features,
    coef_unit,
    cohort_summary,
    comparison,
    example_patient,
    hybrid_model,
    split_intervals,
)

__all__ = ["PAPER", "ReproduceResult", "ReproduceSummary", "SplitResult", "CVSummary", "SelectedModel",
           "reproduce"]

logger = logging.getLogger(__name__)

_ORGAN = limiting_organ()

#: Methods compared, in report order: key → label (from the registry).
METHODS: dict[str, str] = {k: m.label for k, m in _REGISTRY.items()}
#: Short method labels for table columns and axes (from the registry).
SHORT: dict[str, str] = {k: m.short for k, m in _REGISTRY.items()}

#: Former names, kept importable from here.
_REEXPORTED = (ROBUST_FEATURE_PATTERNS, HYBRID_COLUMNS, _models)

ProgressFn = Callable[[str, int, int], None]

_versions = partial(versions, ("python", "onescan", "numpy", "pandas", "scipy", "scikit-learn", "mlxtend",
                               "radioactivedecay", "matplotlib", "jinja2", "joblib"))


def _inputs(cohort) -> dict:
    from onescan.contract._io import sha256_file

    out = {}
    for key in ("patients", "scans"):
        src = (getattr(cohort, "sources", None) or {}).get(key)
        entry = {"source": str(src) if src is not None else "in memory"}
        if src is not None and Path(str(src)).is_file():
            entry["sha256"] = sha256_file(src)
        out[key] = entry
    return out


# ----------------------------------------------------------------------------- typed result


@dataclass
class SelectedModel:
    """The LASSO pipeline of the published split: selected features and coefficients (mCi per scaled unit)."""

    features: list[dict]
    intercept_mci: float
    coefficient_unit: str

    def to_dict(self) -> dict:
        """``metrics.json``'s ``split.selected_model``."""
        return {"features": self.features, "intercept_mci": self.intercept_mci,
                "coefficient_unit": self.coefficient_unit}


@dataclass
class SplitResult:
    """The published 70/30 split: sizes, every method's metrics, prediction intervals, fitted models.

    Attributes
    ----------
    n_train, n_test : int
    test_mean_actual_mci : float
    metrics : dict
        method → metric → value (:func:`onescan.evaluation.regression_metrics`, calibration,
        Bland–Altman).
    interval, interval_hybrid : dict or None
        CV+ prediction-interval summaries of the LASSO pipeline and the hybrid model.
    stp_half_life_pop_h : float or None
        Population effective half-life (h) of the single-time-point baseline.
    selected_model : SelectedModel
    hybrid_model : dict or None
        The fitted hybrid model's clearance model.
    """

    n_train: int
    n_test: int
    test_mean_actual_mci: float
    metrics: dict
    interval: dict | None
    interval_hybrid: dict | None
    stp_half_life_pop_h: float | None
    selected_model: SelectedModel
    hybrid_model: dict | None

    def to_dict(self) -> dict:
        """``metrics.json``'s ``split``."""
        return {"n_train": self.n_train, "n_test": self.n_test, "test_mean_actual_mci": self.test_mean_actual_mci,
                "metrics": self.metrics, "interval": self.interval, "interval_hybrid": self.interval_hybrid,
                "stp_half_life_pop_h": self.stp_half_life_pop_h, "selected_model": self.selected_model.to_dict(),
                "hybrid_model": self.hybrid_model}


@dataclass
class CVSummary:
    """The repeated cross-validation: its settings, metric summaries and selection frequencies (0–1).

    Attributes
    ----------
    summary : dict
        method → metric → {"mean": mean over repeats, "low", "high": the honest 95 % interval
        (nested CV or patient bootstrap, see ``interval``)}.
    interval : dict
        What ``summary``'s low/high are and how they were made.
    repeat_spread : dict
        method → metric → {"mean", "low", "high"}: 2.5–97.5 percentiles over repeats (the
        partition noise only; not a confidence interval).
    ncv : dict
        method → metric → the nested-CV estimate, SEs and bias on the loss scale.
    """

    seed: int
    folds: int
    repeats: int
    summary: dict
    selection_frequency: dict[str, dict[str, float]]
    interval: dict = field(default_factory=dict)
    repeat_spread: dict = field(default_factory=dict)
    ncv: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """``metrics.json``'s ``cv``."""
        return {"seed": self.seed, "folds": self.folds, "repeats": self.repeats, "summary": self.summary,
                "interval": self.interval, "repeat_spread": self.repeat_spread, "ncv": self.ncv,
                "selection_frequency": self.selection_frequency}


@dataclass
class ReproduceSummary:
    """Every number of the reproduce report (``metrics.json``), typed by part."""

    created_utc: str
    seed: int
    settings: dict
    versions: dict
    inputs: dict
    cohort: dict
    paper: dict
    methods: dict[str, str]
    method_short: dict[str, str]
    notes: list[str]
    split: SplitResult
    cv: CVSummary
    comparison: dict
    robust_features: list[dict]
    example: dict | None = None

    def to_dict(self) -> dict:
        """The ``metrics.json`` content: strictly JSON-serialisable (NaN → None)."""
        out = {
            "onescan_report": "reproduce", "created_utc": self.created_utc, "seed": self.seed,
            "settings": self.settings, "versions": self.versions, "inputs": self.inputs, "cohort": self.cohort,
            "paper": self.paper, "methods": self.methods, "method_short": self.method_short, "notes": self.notes,
            "split": self.split.to_dict(), "cv": self.cv.to_dict(), "comparison": self.comparison,
            "robust_features": self.robust_features,
        }
        if self.example is not None:
            out["example"] = {k: v for k, v in self.example.items() if k not in ("time_h", "fraction")}
        return _clean(out)


@dataclass
class ReproduceResult:
    """What :func:`onescan.studies.reproduce` computed.

    Attributes
    ----------
    summary : ReproduceSummary
        Every number of the report; ``metrics`` (= ``summary.to_dict()``) is ``metrics.json``.
    predictions : pandas.DataFrame
        One row per test patient of the published split (mCi).
    plot_data : dict
        Arrays for the figures (out-of-fold predictions, the example patient's curve).
    """

    summary: ReproduceSummary
    predictions: pd.DataFrame
    plot_data: dict = field(default_factory=dict)

    @property
    def metrics(self) -> dict:
        """The ``metrics.json`` content (settings, inputs, cohort, the paper's table, split, CV, …)."""
        return self.summary.to_dict()

    def to_dict(self) -> dict:
        """Same as :attr:`metrics`."""
        return self.metrics


# ----------------------------------------------------------------------------- stages


@dataclass
class _Design:
    """The cohort prepared for every method: reference dosimetry, features, target, the methods."""

    dose: pd.DataFrame
    X: pd.DataFrame
    y: pd.Series
    XA: pd.DataFrame
    models: dict
    columns: dict
    selected: dict
    notes: list


@dataclass
class _Split:
    """The published split: rows, fitted models, their test predictions (mCi) and metrics."""

    train: np.ndarray
    test: np.ndarray
    fitted: dict
    pred: dict
    metrics: dict


def _prepare(cohort, ps, ds, exclude, hybrid: bool, tick) -> _Design:
    """Reference dosimetry, the feature matrix, the target and the methods that can run."""
    from onescan.dosimetry._dose import compute_dose

    tick("reference dosimetry", 0, 1)
    dose = compute_dose(cohort.patients, cohort.scans, ds)
    dose = dose.assign(patient_id=dose["patient_id"].astype(str)).set_index("patient_id")
    tick("reference dosimetry", 1, 1)
    X = build_features(cohort, exclude=exclude, schedule="first", mu_per_cm=float(getattr(ds, "mu_per_cm", 0.110)))
    y = get_target(cohort, ds)
    check_k_features(X, ps, cohort)
    # the design matrix of all methods: the features, plus what only the baselines read
    # (the full-dosimetry half-life, needed at fit only, and masses the user excluded from the features)
    XA = X.join(dose[[HALF_LIFE_COLUMN]], how="left")
    for col in ("weight_kg", _ORGAN.mass_column):
        if col not in XA.columns and col in cohort.patients.columns:
            XA[col] = pd.to_numeric(cohort.patients[col], errors="coerce").to_numpy(dtype=float)
    models, columns, selected, notes = _models(XA, list(X.columns), ps, ds, hybrid=hybrid)
    return _Design(dose, X, y, XA, models, columns, selected, notes)


def _fit_split(d: _Design, n: int, seed: int, test_size: float, cap: float, tick) -> _Split:
    """Fit every method on the published split's training rows; metrics on its test rows."""
    tick("published split", 0, len(d.models))
    train, test = published_split(n, seed=seed, test_size=test_size)
    yv = d.y.to_numpy(dtype=float)
    pred: dict[str, np.ndarray] = {}
    fitted = {}
    for name, est in d.models.items():
        m = clone(est).fit(d.XA.iloc[train][d.columns[name]], yv[train])
        fitted[name] = m
        pred[name] = np.asarray(m.predict(d.XA.iloc[test][d.columns[name]]), dtype=float)
        tick("published split", 1, len(d.models))
    metrics = {}
    for name, p in pred.items():
        mm = regression_metrics(yv[test], p, cap_mci=cap)
        mm.update(calibration(yv[test], p))
        mm.update(bland_altman(yv[test], p))
        metrics[name] = mm
    return _Split(train, test, fitted, pred, metrics)


def _intervals(d: _Design, sp: _Split, seed: int, level: float, n_jobs: int, tick) -> tuple:
    """CV+ prediction intervals of the LASSO pipeline and (if fitted) the hybrid model."""
    yv = d.y.to_numpy(dtype=float)
    n_int = 2 if "hybrid" in d.models else 1
    tick("prediction intervals", 0, n_int)
    interval = split_intervals(d.XA, yv, sp.train, sp.test, d.columns["lasso"], d.models["lasso"], seed, level,
                               n_jobs)
    tick("prediction intervals", 1, n_int)
    interval_h = None
    if "hybrid" in d.models:
        interval_h = split_intervals(d.XA, yv, sp.train, sp.test, d.columns["hybrid"], d.models["hybrid"], seed,
                                     level, n_jobs)
        tick("prediction intervals", 1, n_int)
    return interval, interval_h


def _split_result(d: _Design, sp: _Split, ps, interval, interval_h) -> SplitResult:
    coef = coefficients(sp.fitted["lasso"])
    yv = d.y.to_numpy(dtype=float)
    return SplitResult(
        n_train=int(len(sp.train)), n_test=int(len(sp.test)),
        test_mean_actual_mci=float(np.mean(yv[sp.test])),
        metrics=sp.metrics,
        interval=interval["summary"] if interval else None,
        interval_hybrid=interval_h["summary"] if interval_h else None,
        stp_half_life_pop_h=float(sp.fitted["stp"].half_life_pop_h_) if "stp" in sp.fitted else None,
        selected_model=SelectedModel(
            features=[{"feature": k, "coefficient_mci": float(v)} for k, v in coef.items() if k != "(intercept)"],
            intercept_mci=float(coef["(intercept)"]),
            coefficient_unit=coef_unit(ps)),
        hybrid_model=hybrid_model(sp.fitted["hybrid"], ps) if "hybrid" in sp.fitted else None,
    )


def _settings(ps, ds, seed, folds, repeats, test_size, cap, exclude, ncv_repeats) -> dict:
    return {
        "pipeline": _settings_dict(ps),
        "dosimetry": _settings_dict(ds),
        "split": {"test_size": test_size, "random_state": int(seed), "shuffle": True},
        "cv": {"folds": int(folds), "repeats": int(repeats), "seed": int(seed), "ncv_repeats": int(ncv_repeats),
               "interval": f"95% nested cross-validation interval (Bates, Hastie & Tibshirani 2023; {int(ncv_repeats)} "
                           f"repetitions of a {int(folds) - 1}-fold inner CV in each outer fold) of the error of the "
                           "whole pipeline fitted on these patients, for metrics that are means of a per-patient "
                           "loss; patient bootstrap of the out-of-fold predictions (SD inflated by the nested CV's "
                           "SE ratio) for calibration and Bland-Altman SD and limits; coverage measured in "
                           "docs/metric_intervals.md; the spread over repeats is cv.repeat_spread"},
        "cap_mci": cap,
        "excluded_columns": list(exclude),
    }


def _example(cohort, d: _Design, sp: _Split, ds) -> dict | None:
    X = d.XA[d.columns["stp"]] if "stp" in d.columns else d.X
    hyb = (sp.fitted["hybrid"], d.XA[d.columns["hybrid"]]) if "hybrid" in sp.fitted else None
    return example_patient(cohort, d.dose, X, d.y, sp.test, sp.fitted.get("stp"), ds,
                           float(getattr(ds, "mu_per_cm", 0.110)), hybrid=hyb)


def _predictions(d: _Design, sp: _Split, cv, interval, interval_h, cap: float) -> pd.DataFrame:
    """One row per test patient of the published split (mCi; errors in % of the actual activity)."""
    yv, test, split_pred = d.y.to_numpy(dtype=float), sp.test, sp.pred
    pred = pd.DataFrame({"patient_id": d.X.index.to_numpy()[test], "actual_mci": yv[test]})
    pred["predicted_mci"] = split_pred["lasso"]
    pred["predicted_clipped_mci"] = np.clip(split_pred["lasso"], 0.0, cap)
    pred["error_pct"] = 100.0 * (pred["predicted_mci"] - pred["actual_mci"]) / pred["actual_mci"]
    pred["error_clipped_pct"] = 100.0 * (pred["predicted_clipped_mci"] - pred["actual_mci"]) / pred["actual_mci"]
    for name in d.models:
        if name != "lasso":
            pred[f"{name}_mci"] = split_pred[name]
    if "hybrid" in d.models:
        pred["hybrid_error_pct"] = 100.0 * (pred["hybrid_mci"] - pred["actual_mci"]) / pred["actual_mci"]
    if interval:
        pred["interval_low_mci"] = interval["low"]
        pred["interval_high_mci"] = interval["high"]
    if interval_h:
        pred["hybrid_interval_low_mci"] = interval_h["low"]
        pred["hybrid_interval_high_mci"] = interval_h["high"]
    pred["cv_mean_predicted_mci"] = np.nanmean(cv.oof["lasso"], axis=0)[test]
    if "hybrid" in d.models:
        pred["hybrid_cv_mean_predicted_mci"] = np.nanmean(cv.oof["hybrid"], axis=0)[test]
    return pred


def _summary(cohort, d: _Design, sp: _Split, cv, honest, ps, settings: dict, seed: int, interval, interval_h,
             example, cohort_label) -> ReproduceSummary:
    """Every number of the report, typed."""
    summary = cohort_summary(cohort, d.X, d.y, d.dose, settings["cap_mci"])
    summary["label"] = cohort_label or "the given cohort"
    summary["n_features_over_missing_limit"] = int((d.X.isna().mean() > ps.max_missing).sum())
    summary["n_features_kept_by_filter_train"] = int(sp.fitted["lasso"].named_steps["filter"].support_.sum())
    split = _split_result(d, sp, ps, interval, interval_h)
    return ReproduceSummary(
        created_utc=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        seed=int(seed), settings=settings, versions=_versions(), inputs=_inputs(cohort), cohort=summary,
        paper=PAPER, methods={k: v for k, v in METHODS.items() if k in d.models},
        method_short={k: v for k, v in SHORT.items() if k in d.models}, notes=d.notes, split=split,
        cv=CVSummary(seed=int(seed), folds=int(cv.folds), repeats=int(cv.repeats),
                     summary=apply_intervals(cv.summary, honest.intervals),
                     selection_frequency={k: {f: float(v) for f, v in s.items()}
                                          for k, s in cv.selection_frequency.items()},
                     interval=honest.describe(cv.folds), repeat_spread=cv.summary, ncv=honest.details),
        comparison=comparison(d.y.to_numpy(dtype=float), cv, honest, sp.metrics, settings["cap_mci"]),
        robust_features=robust_features(
            d.X.columns, cv.selection_frequency.get("lasso"), [f["feature"] for f in split.selected_model.features],
            cv.selection_frequency.get("hybrid") if "hybrid" in d.models else None,
            sp.fitted["hybrid"].selected_features() if "hybrid" in sp.fitted else None),
        example=example,
    )


def reproduce(
    cohort,
    *,
    pipeline_settings: PipelineSettings | None = None,
    dose_settings=None,
    seed: int = 0,
    folds: int = 5,
    repeats: int = 20,
    n_jobs: int = 1,
    test_size: float = 0.3,
    exclude=(),
    interval_level: float = 0.9,
    cohort_label: str | None = None,
    hybrid: bool = True,
    ncv_repeats: int = DEFAULT_NCV_REPEATS,
    progress: ProgressFn | None = None,
) -> ReproduceResult:
    """Run the seed study's protocol and the repeated cross-validation on ``cohort``.

    Parameters
    ----------
    cohort : onescan.contract._cohort.Cohort
        Canonical cohort; every patient needs whole-body and liver scans (≥ 2 liver time
        points), ``liver_mass_g`` (g), and either ``prescribed_activity_mci`` or scans
        from which the reference dosimetry computes it.
    pipeline_settings : PipelineSettings, optional
        The LASSO pipeline's settings (SPEC §3 defaults).
    dose_settings : onescan.dosimetry._dose.DoseSettings, optional
        Dosimetry settings (fit model, S-values, target dose in Gy, cap in mCi).
    seed : int, default 0
        ``random_state`` of the published split and of the repeated CV.
    folds, repeats : int, default 5, 20
        Repeated k-fold settings.
    n_jobs : int, default 1
        joblib workers for the repeated CV.
    test_size : float, default 0.3
        Share of patients in the published split's test set.
    exclude : iterable of str
        ``patients`` columns not to use as features.
    interval_level : float, default 0.9
        Nominal coverage of the per-patient CV+ prediction intervals of the published
        split's test patients (10-fold cross-conformal on the training rows).
    cohort_label : str, optional
        How the report names the cohort (e.g. "the built-in virtual cohort").
    hybrid : bool, default True
        Also fit and cross-validate the physics-informed hybrid model
        (:class:`onescan.models._hybrid.HybridDosimetryRegressor`, same pipeline settings, same
        split and folds) and report it beside the published model.
    ncv_repeats : int, default 10
        Repetitions of the nested cross-validation that gives the metrics' 95 % intervals
        and the paired comparisons (the first ``ncv_repeats`` repeats of the CV are its
        outer folds; each adds ``folds·(folds−1)/2`` fits of every method; needs folds ≥ 3).
    progress : callable(stage, advance, total), optional
        Progress callback: ``stage`` names the step, ``advance`` units done, ``total``
        the stage's size.

    Returns
    -------
    ReproduceResult
    """
    from onescan.dosimetry._dose import DoseSettings

    ps = pipeline_settings if pipeline_settings is not None else PipelineSettings()
    if ps.model == "hybrid":  # the published model is the Lasso; the hybrid is added beside it
        ps = ps.model_copy(update={"model": "lasso"})
        hybrid = True
    ds = dose_settings if dose_settings is not None else DoseSettings()
    cap = float(getattr(ds, "max_activity_mci", 1030.0))

    def tick(stage, advance=1, total=1):
        if progress is not None:
            progress(stage, advance, total)

    n = len(cohort.patients)
    _check_sizes(cohort, n, folds, ncv_repeats)
    d = _prepare(cohort, ps, ds, exclude, hybrid, tick)
    sp = _fit_split(d, n, seed, test_size, cap, tick)
    interval, interval_h = _intervals(d, sp, seed, interval_level, n_jobs, tick)
    total = folds * repeats
    tick("repeated cross-validation", 0, total)
    cv = repeated_cv(d.XA, d.y.to_numpy(dtype=float), d.models, folds=folds, repeats=repeats, seed=seed,
                     n_jobs=n_jobs, columns=d.columns, selected=d.selected, cap_mci=cap,
                     progress=lambda k: tick("repeated cross-validation", k, total))
    n_inner = min(ncv_repeats, repeats) * folds * (folds - 1) // 2
    tick("nested cross-validation", 0, n_inner)
    honest = nested_cv(d.XA, d.y.to_numpy(dtype=float), d.models, cv, ncv_repeats=ncv_repeats, n_jobs=n_jobs,
                       columns=d.columns, cap_mci=cap, progress=lambda k: tick("nested cross-validation", k, n_inner))
    settings = _settings(ps, ds, seed, folds, repeats, test_size, cap, exclude, min(ncv_repeats, repeats))
    example = _example(cohort, d, sp, ds)
    summary = _summary(cohort, d, sp, cv, honest, ps, settings, seed, interval, interval_h, example, cohort_label)
    return ReproduceResult(summary=summary, predictions=_predictions(d, sp, cv, interval, interval_h, cap),
                           plot_data=_plot_data(d, sp, cv, cap, interval, interval_h, example))


def _check_sizes(cohort, n: int, folds: int, ncv_repeats: int) -> None:
    """Refuse CV settings and cohorts too small for the study (exit 2 through the CLI)."""
    if folds < 3:
        raise InputError(Problem("--folds", "must be at least 3: the nested cross-validation of the metric "
                                            "intervals leaves two folds out of each inner fit"))
    if ncv_repeats < 1:
        raise InputError(Problem("--ncv-repeats", "must be at least 1"))
    if n < max(folds, 10):
        raise InputError(Problem(file=str(cohort.sources.get("patients", "patients")),
                                 message=f"reproduce needs at least {max(folds, 10)} patients, got {n}"))


def _plot_data(d, sp, cv, cap: float, interval, interval_h, example) -> dict:
    """Arrays for the report's figures (out-of-fold predictions, intervals, the example curve)."""
    return {
        "ids": d.X.index.to_numpy(), "y": d.y.to_numpy(dtype=float), "test": sp.test, "train": sp.train,
        "split_pred": sp.pred,
        "oof": {k: v for k, v in cv.oof.items() if k in d.models},
        "oof_uncapped": {k.removesuffix(UNCAPPED): v for k, v in cv.oof.items() if k.endswith(UNCAPPED)},
        "cap": cap, "interval": interval, "interval_hybrid": interval_h,
        "methods": {k: METHODS[k] for k in METHODS if k in d.models},
        "selection_frequency": cv.selection_frequency.get("lasso"),
        "selection_frequency_hybrid": cv.selection_frequency.get("hybrid"),
        "example": example,
    }
