"""``onescan reproduce``: the seed study end to end, plus an honest evaluation.

:func:`reproduce` runs, on one cohort: the reference dosimetry (for the target when the
cohort has none, the single-time-point baseline's population half-life and the example
time–activity curve), the one-scan feature matrix, the published 70/30 split with the
LASSO pipeline, onescan's physics-informed hybrid model (:mod:`onescan.models._hybrid`; not in the
paper, reported beside the published model) and the three baselines, and repeated k-fold
cross-validation of all of them on the same folds.
It returns a :class:`ReproduceResult` whose ``metrics`` dict holds every number the
report shows; :func:`onescan.report.write_outputs` writes ``report.html`` (rendered from that dict),
``metrics.json``, ``predictions.csv`` and ``figures/*.png``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from sklearn.base import clone

from onescan._provenance import jsonable as _clean, settings_dict as _settings_dict, versions
from onescan.models._baselines import STP_COLUMNS, LinearOnColumn, SingleTimePointDosimetry
from onescan.contract._errors import InputError, Problem
from onescan.evaluation._cv import published_split, regression_metrics, repeated_cv, calibration, bland_altman
from onescan.features._features import build_features, get_target
from onescan.models._pipeline import PipelineSettings, coefficients, make_pipeline, selected_features

__all__ = ["PAPER", "ReproduceResult", "reproduce"]

logger = logging.getLogger(__name__)

#: The seed study's published results (seed/abstract.txt; SPEC §3). Activities in mCi.
PAPER: dict = {
    "source": "seed abstract (SIERRA, 74 patients, 70/30 split, LASSO alpha=0.3, mlxtend SFS)",
    "lasso": {"r2": 0.71, "rmse_mci": 179.8, "within30_pct": 63.6, "rmse_mci_clinical": 167.4},
    "mean_prescribed_mci": 716.4,
    "body_mass": {"rmse_mci": 337.2},
    "liver_mass": {"rmse_mci": 278.3},
    "stp": {"rmse_mci": 331.8},
    "robust_features": ["liver mass", "initial liver uptake", "AST (pre dosimetric infusion)",
                        "AST (post dosimetric infusion)", "BSA", "LDH", "lymphocyte count",
                        "neutrophil count"],
}

#: The paper's robust features and the column-name patterns (regular expressions) that
#: identify them in a cohort following onescan's naming (SPEC §1: snake_case + unit).
ROBUST_FEATURE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("liver mass", r"^liver_(mass|volume)"),
    ("initial liver uptake", r"^uptake_first_liver$"),
    ("AST (pre dosimetric infusion)", r"^ast_(.*_)?pre(_|$)"),
    ("AST (post dosimetric infusion)", r"^ast_(.*_)?post(_|$)"),
    ("BSA", r"^bsa"),
    ("LDH", r"^ldh_"),
    ("lymphocyte count", r"^lymphocyte"),
    ("neutrophil count", r"^neutrophil"),
)

#: Short method labels for table columns and axes.
SHORT: dict[str, str] = {"lasso": "LASSO", "hybrid": "hybrid", "body_mass": "body mass",
                         "liver_mass": "liver mass", "stp": "single time point"}

#: Methods compared, in report order: key → label.
METHODS: dict[str, str] = {
    "lasso": "LASSO pipeline (one scan + clinical)",
    "hybrid": "Hybrid: learnt liver clearance + MIRD dosimetry (onescan's addition, not in the paper)",
    "body_mass": "Linear on body mass",
    "liver_mass": "Linear on liver mass",
    "stp": "Single time point MIRD",
}

#: Columns the hybrid model reads for its dosimetry (first-image liver uptake, liver mass in g,
#: first scan time in h).
HYBRID_COLUMNS = ("uptake_first_liver", "liver_mass_g", "first_scan_time_h")

HALF_LIFE_COLUMN = "liver_effective_half_life_h"

ProgressFn = Callable[[str, int, int], None]


@dataclass
class ReproduceResult:
    """What :func:`reproduce` computed.

    Attributes
    ----------
    metrics : dict
        JSON-serialisable: settings, inputs, cohort summary, the paper's table, the split
        results, the repeated-CV summary, selection frequencies, the selected model.
    predictions : pandas.DataFrame
        One row per test patient of the published split (mCi).
    plot_data : dict
        Arrays for the figures (out-of-fold predictions, the example patient's curve).
    """

    metrics: dict
    predictions: pd.DataFrame
    plot_data: dict = field(default_factory=dict)


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


def _cohort_summary(cohort, X: pd.DataFrame, y: pd.Series, dose: pd.DataFrame, cap: float) -> dict:
    p = cohort.patients
    scans = cohort.scans
    times = scans.groupby("patient_id")["time_h"].apply(lambda t: np.unique(t.to_numpy()).size)
    first = scans.groupby("patient_id")["time_h"].min()
    missing_share = X.isna().mean()
    summary = {
        "n_patients": int(len(p)),
        "n_features": int(X.shape[1]),
        "n_features_over_missing_limit": None,
        "n_features_with_gaps": int((missing_share > 0).sum()),
        "regions_first_scan": sorted(c.removeprefix("uptake_first_") for c in X.columns
                                     if c.startswith("uptake_first_")),
        "scans_per_patient_median": float(np.median(times)) if len(times) else float("nan"),
        "first_scan_time_h_median": float(np.median(first)) if len(first) else float("nan"),
        "target_mean_mci": float(y.mean()),
        "target_sd_mci": float(y.std(ddof=1)) if len(y) > 1 else float("nan"),
        "target_min_mci": float(y.min()),
        "target_max_mci": float(y.max()),
        "target_at_cap": int(np.sum(np.isclose(y.to_numpy(), cap) | (y.to_numpy() > cap))),
        "effective_half_life_h_median": float(dose[HALF_LIFE_COLUMN].median()),
    }
    for col, key in (("age_y", "age_y_median"), ("weight_kg", "weight_kg_median"),
                     ("liver_mass_g", "liver_mass_g_median")):
        if col in p.columns:
            summary[key] = float(pd.to_numeric(p[col], errors="coerce").median())
    if "sex" in p.columns:
        summary["n_male"] = int((p["sex"].astype(str).str.upper() == "M").sum())
    if "flags" in dose.columns:
        summary["n_dosimetry_flagged"] = int((dose["flags"].fillna("").astype(str) != "").sum())
    return summary


def _models(X: pd.DataFrame, feature_cols: list[str], pipeline_settings,
            dose_settings, hybrid: bool = True) -> tuple[dict, dict, dict, list[str]]:
    """The methods, the columns each sees, selected-feature readers, and notes on methods that cannot run."""
    from onescan.models._hybrid import hybrid_selected_features, make_model
    from onescan.models._registry import stp_params

    models, columns, notes = {}, {}, []
    selected = {"lasso": selected_features}
    models["lasso"] = make_pipeline(pipeline_settings)
    columns["lasso"] = feature_cols
    if hybrid:
        missing = [c for c in HYBRID_COLUMNS if c not in X.columns]
        bad = 0 if missing else int((~(X[list(HYBRID_COLUMNS)].to_numpy(dtype=float) >= 0).all(axis=1)
                                     | ~(X[list(HYBRID_COLUMNS[:2])].to_numpy(dtype=float) > 0).all(axis=1)).sum())
        if missing:
            notes.append("hybrid model skipped: the cohort has no " + ", ".join(missing) + " column")
        elif bad:
            notes.append(f"hybrid model skipped: {bad} patients lack a positive first-image liver uptake, "
                         "liver mass or first-scan time")
        else:
            models["hybrid"] = make_model(pipeline_settings, dose_settings, cap_predictions=True)
            extra = [c for c in HYBRID_COLUMNS if c not in feature_cols]
            columns["hybrid"] = feature_cols + extra
            selected["hybrid"] = hybrid_selected_features
            if extra:
                notes.append("the hybrid model reads " + ", ".join(extra) + " for its dosimetry although "
                             "excluded from the features, so its selector may also choose it")
    if "weight_kg" in X.columns and X["weight_kg"].notna().sum() >= 2:
        models["body_mass"] = LinearOnColumn("weight_kg")
        columns["body_mass"] = ["weight_kg"]
    else:
        notes.append("body-mass baseline skipped: the cohort has no weight_kg column")
    models["liver_mass"] = LinearOnColumn("liver_mass_g")
    columns["liver_mass"] = ["liver_mass_g"]
    if "uptake_first_liver" in X.columns:
        models["stp"] = SingleTimePointDosimetry(half_life_column=HALF_LIFE_COLUMN, **stp_params(dose_settings))
        columns["stp"] = list(STP_COLUMNS) + [HALF_LIFE_COLUMN]
    else:
        notes.append("single-time-point baseline skipped: no liver region at the first scan")
    return models, columns, selected, notes


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
    progress : callable(stage, advance, total), optional
        Progress callback: ``stage`` names the step, ``advance`` units done, ``total``
        the stage's size.

    Returns
    -------
    ReproduceResult
    """
    from onescan.dosimetry._dose import DoseSettings, compute_dose

    ps = pipeline_settings if pipeline_settings is not None else PipelineSettings()
    if ps.model == "hybrid":  # the published model is the Lasso; the hybrid is added beside it
        ps = ps.model_copy(update={"model": "lasso"})
        hybrid = True
    ds = dose_settings if dose_settings is not None else DoseSettings()
    cap = float(getattr(ds, "max_activity_mci", 1030.0))
    mu = float(getattr(ds, "mu_per_cm", 0.110))

    def tick(stage, advance=1, total=1):
        if progress is not None:
            progress(stage, advance, total)

    n = len(cohort.patients)
    if n < max(folds, 10):
        raise InputError(Problem(file=str(cohort.sources.get("patients", "patients")),
                                 message=f"reproduce needs at least {max(folds, 10)} patients, got {n}"))
    tick("reference dosimetry", 0, 1)
    dose = compute_dose(cohort.patients, cohort.scans, ds)
    dose = dose.assign(patient_id=dose["patient_id"].astype(str)).set_index("patient_id")
    tick("reference dosimetry", 1, 1)

    X = build_features(cohort, exclude=exclude, schedule="first", mu_per_cm=mu)
    y = get_target(cohort, ds)
    _check_k_features(X, ps, cohort)
    # the design matrix of all methods: the features, plus what only the baselines read
    # (the full-dosimetry half-life, needed at fit only, and masses the user excluded from the features)
    XA = X.join(dose[[HALF_LIFE_COLUMN]], how="left")
    for col in ("weight_kg", "liver_mass_g"):
        if col not in XA.columns and col in cohort.patients.columns:
            XA[col] = pd.to_numeric(cohort.patients[col], errors="coerce").to_numpy(dtype=float)
    models, columns, selected, notes = _models(XA, list(X.columns), ps, ds, hybrid=hybrid)

    # --- the published split ---
    tick("published split", 0, len(models))
    train, test = published_split(n, seed=seed, test_size=test_size)
    yv = y.to_numpy(dtype=float)
    split_pred: dict[str, np.ndarray] = {}
    fitted = {}
    for name, est in models.items():
        m = clone(est).fit(XA.iloc[train][columns[name]], yv[train])
        fitted[name] = m
        split_pred[name] = np.asarray(m.predict(XA.iloc[test][columns[name]]), dtype=float)
        tick("published split", 1, len(models))
    split_metrics = {}
    for name, pred in split_pred.items():
        mm = regression_metrics(yv[test], pred, cap_mci=cap)
        mm.update(calibration(yv[test], pred))
        mm.update(bland_altman(yv[test], pred))
        split_metrics[name] = mm
    lasso = fitted["lasso"]
    coef = coefficients(lasso)
    n_int = 2 if "hybrid" in models else 1
    tick("prediction intervals", 0, n_int)
    interval = _split_intervals(XA, yv, train, test, columns["lasso"], models["lasso"], seed, interval_level,
                                n_jobs)
    tick("prediction intervals", 1, n_int)
    interval_h = None
    if "hybrid" in models:
        interval_h = _split_intervals(XA, yv, train, test, columns["hybrid"], models["hybrid"], seed,
                                      interval_level, n_jobs)
        tick("prediction intervals", 1, n_int)
    n_kept = int(lasso.named_steps["filter"].support_.sum())

    # --- repeated cross-validation ---
    total = folds * repeats
    tick("repeated cross-validation", 0, total)
    cv = repeated_cv(XA, yv, models, folds=folds, repeats=repeats, seed=seed, n_jobs=n_jobs,
                     columns=columns, selected=selected, cap_mci=cap,
                     progress=lambda k: tick("repeated cross-validation", k, total))

    ids = X.index.to_numpy()
    summary = _cohort_summary(cohort, X, y, dose, cap)
    summary["label"] = cohort_label or "the given cohort"
    summary["n_features_over_missing_limit"] = int((X.isna().mean() > ps.max_missing).sum())
    summary["n_features_kept_by_filter_train"] = n_kept
    metrics = {
        "onescan_report": "reproduce",
        "created_utc": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "seed": int(seed),
        "settings": {
            "pipeline": _settings_dict(ps),
            "dosimetry": _settings_dict(ds),
            "split": {"test_size": test_size, "random_state": int(seed), "shuffle": True},
            "cv": {"folds": int(folds), "repeats": int(repeats), "seed": int(seed),
                   "interval": "2.5-97.5 percentile over repeats of the metric on each repeat's "
                               "pooled out-of-fold predictions"},
            "cap_mci": cap,
            "excluded_columns": list(exclude),
        },
        "versions": _versions(),
        "inputs": _inputs(cohort),
        "cohort": summary,
        "paper": PAPER,
        "methods": {k: v for k, v in METHODS.items() if k in models},
        "method_short": {k: v for k, v in SHORT.items() if k in models},
        "notes": notes,
        "split": {
            "n_train": int(len(train)),
            "n_test": int(len(test)),
            "test_mean_actual_mci": float(np.mean(yv[test])),
            "metrics": split_metrics,
            "interval": interval["summary"] if interval else None,
            "interval_hybrid": interval_h["summary"] if interval_h else None,
            "stp_half_life_pop_h": float(fitted["stp"].half_life_pop_h_) if "stp" in fitted else None,
            "selected_model": {
                "features": [{"feature": k, "coefficient_mci": float(v)} for k, v in coef.items()
                             if k != "(intercept)"],
                "intercept_mci": float(coef["(intercept)"]),
                "coefficient_unit": _coef_unit(ps),
            },
            "hybrid_model": _hybrid_model(fitted["hybrid"], ps) if "hybrid" in fitted else None,
        },
        "cv": {
            "seed": int(seed),
            "folds": int(folds),
            "repeats": int(repeats),
            "summary": cv.summary,
            "selection_frequency": {k: {f: float(v) for f, v in s.items()}
                                    for k, s in cv.selection_frequency.items()},
        },
    }
    metrics["comparison"] = _comparison(cv.per_repeat, split_metrics)
    metrics["robust_features"] = _clean(_robust_features(
        X.columns, cv.selection_frequency.get("lasso"),
        [f["feature"] for f in metrics["split"]["selected_model"]["features"]],
        cv.selection_frequency.get("hybrid") if "hybrid" in models else None,
        fitted["hybrid"].selected_features() if "hybrid" in fitted else None))
    example = _example_patient(cohort, dose, XA[columns["stp"]] if "stp" in columns else X, y, test,
                               fitted.get("stp"), ds, mu,
                               hybrid=(fitted["hybrid"], XA[columns["hybrid"]]) if "hybrid" in fitted else None)
    if example is not None:
        metrics["example"] = {k: v for k, v in example.items() if k not in ("time_h", "fraction")}
    metrics = _clean(metrics)

    pred = pd.DataFrame({"patient_id": ids[test], "actual_mci": yv[test]})
    pred["predicted_mci"] = split_pred["lasso"]
    pred["predicted_clipped_mci"] = np.clip(split_pred["lasso"], 0.0, cap)
    pred["error_pct"] = 100.0 * (pred["predicted_mci"] - pred["actual_mci"]) / pred["actual_mci"]
    pred["error_clipped_pct"] = 100.0 * (pred["predicted_clipped_mci"] - pred["actual_mci"]) / pred["actual_mci"]
    for name in models:
        if name != "lasso":
            pred[f"{name}_mci"] = split_pred[name]
    if "hybrid" in models:
        pred["hybrid_error_pct"] = 100.0 * (pred["hybrid_mci"] - pred["actual_mci"]) / pred["actual_mci"]
    if interval:
        pred["interval_low_mci"] = interval["low"]
        pred["interval_high_mci"] = interval["high"]
    if interval_h:
        pred["hybrid_interval_low_mci"] = interval_h["low"]
        pred["hybrid_interval_high_mci"] = interval_h["high"]
    pred["cv_mean_predicted_mci"] = np.nanmean(cv.oof["lasso"], axis=0)[test]
    if "hybrid" in models:
        pred["hybrid_cv_mean_predicted_mci"] = np.nanmean(cv.oof["hybrid"], axis=0)[test]

    plot_data = {
        "ids": ids, "y": yv, "test": test, "train": train, "split_pred": split_pred,
        "oof": cv.oof, "cap": cap, "interval": interval, "interval_hybrid": interval_h,
        "methods": {k: METHODS[k] for k in METHODS if k in models},
        "selection_frequency": cv.selection_frequency.get("lasso"),
        "selection_frequency_hybrid": cv.selection_frequency.get("hybrid"),
        "example": example,
    }
    return ReproduceResult(metrics=metrics, predictions=pred, plot_data=plot_data)


def _comparison(per_repeat: pd.DataFrame, split_metrics: dict) -> dict:
    """Paired comparison of the LASSO pipeline with the best baseline on the same CV folds."""
    from onescan.evaluation._cv import summarise

    rmse = per_repeat.pivot(index="repeat", columns="model", values="rmse_mci")
    baselines = [c for c in rmse.columns if c not in ("lasso", "hybrid")]
    if "lasso" not in rmse or not baselines:
        return {}
    best = min(baselines, key=lambda c: rmse[c].mean())
    diff = (rmse["lasso"] - rmse[best]).to_numpy()
    out = {
        "best_baseline": best,
        "cv_rmse_difference_mci": summarise(diff),
        "cv_lasso_better_pct": float(100.0 * np.mean(diff < 0)),
        "split_minus_cv_rmse_mci": float(split_metrics["lasso"]["rmse_mci"] - rmse["lasso"].mean()),
    }
    if "hybrid" in rmse:
        # raw and clinical (equal for the hybrid, whose predictions are capped like the target)
        out["hybrid"] = {}
        for suffix in ("", "_clinical"):
            r = rmse if not suffix else per_repeat.pivot(index="repeat", columns="model", values="rmse_mci_clinical")
            dh = (r["hybrid"] - r["lasso"]).to_numpy()
            db = (r["hybrid"] - r[best]).to_numpy()
            out["hybrid"].update({
                f"cv_rmse{suffix}_minus_lasso_mci": summarise(dh),
                f"cv_better{suffix}_than_lasso_pct": float(100.0 * np.mean(dh < 0)),
                f"cv_rmse{suffix}_minus_best_baseline_mci": summarise(db),
                f"cv_better{suffix}_than_best_baseline_pct": float(100.0 * np.mean(db < 0)),
            })
        out["hybrid"]["split_minus_cv_rmse_mci"] = float(split_metrics["hybrid"]["rmse_mci"] - rmse["hybrid"].mean())
    return _clean(out)


def _robust_features(columns, freq: pd.Series | None, split_selected: list[str],
                     freq_hybrid: pd.Series | None = None, split_selected_hybrid: list[str] | None = None
                     ) -> list[dict]:
    """For each of the paper's robust features, the matching columns and how often onescan selected them.

    ``selected_pct``/``in_split_model`` are the LASSO pipeline's; with the hybrid model,
    ``hybrid_selected_pct``/``hybrid_in_split_model`` are its clearance pipeline's.
    """
    import re

    def pct(f, c):
        return float(100.0 * (f.get(c, 0.0) if f is not None else float("nan")))

    out = []
    for label, pattern in ROBUST_FEATURE_PATTERNS:
        rx = re.compile(pattern)
        cols = [c for c in columns if rx.search(str(c))]
        entries = []
        for c in cols:
            e = {"feature": c, "selected_pct": pct(freq, c), "in_split_model": c in split_selected}
            if split_selected_hybrid is not None:
                e["hybrid_selected_pct"] = pct(freq_hybrid, c)
                e["hybrid_in_split_model"] = c in split_selected_hybrid
            entries.append(e)
        out.append({"paper": label, "columns": entries})
    return out


def _hybrid_model(model, ps: PipelineSettings) -> dict:
    """The fitted hybrid model of the published split: its clearance model and settings."""
    coef = model.coefficients()
    return {
        "target": model.target,
        "target_unit": "ln h",
        "alpha": float(model.alpha_),
        "censoring": model.censoring,
        "n_censored_train": int(model.n_censored_),
        "residual_sd_ln": float(model.residual_sd_),
        "features": [{"feature": k, "coefficient_ln_h": float(v)} for k, v in coef.items() if k != "(intercept)"],
        "intercept_ln_h": float(coef["(intercept)"]),
        "coefficient_unit": _coef_unit(ps).replace("mCi", "ln h"),
    }


def _check_k_features(X: pd.DataFrame, ps: PipelineSettings, cohort) -> None:
    """InputError when the selector is asked for more features than the cohort can offer."""
    if ps.selector == "none" or not isinstance(ps.k_features, int):
        return
    usable = int(((X.isna().mean() <= ps.max_missing) & (X.nunique(dropna=True) > 1)).sum())
    if ps.k_features > usable:
        raise InputError(Problem(
            file=str(cohort.sources.get("patients", "patients")), column=None,
            message=f"--k-features {ps.k_features} is more than the {usable} usable features of this cohort "
                    f"(non-constant, at most {100 * ps.max_missing:.0f}% missing); choose --k-features "
                    f"{usable} or fewer, or --selector none"))


def _split_intervals(XA, y, train, test, cols, estimator, seed, level, n_jobs) -> dict | None:
    """CV+ prediction intervals (Barber et al. 2021) of ``estimator`` for the published split's test patients."""
    try:
        from onescan.models._conformal import CrossConformalPlus, max_level_for
    except ImportError:  # pragma: no cover - the module ships with onescan
        logger.warning("onescan.models._conformal is not available: no prediction intervals")
        return None
    n_folds = int(min(10, len(train)))
    if level > max_level_for(len(train)):
        logger.warning("too few training patients for %.0f%% intervals", 100 * level)
        return None
    cc = CrossConformalPlus(clone(estimator), n_folds=n_folds, shuffle=True, random_state=seed,
                            n_jobs=n_jobs if n_jobs != 1 else None)
    cc.fit(XA.iloc[train][cols], y[train])
    _, low, high = cc.predict_interval(XA.iloc[test][cols], level=level)
    yt = y[test]
    inside = (yt >= low) & (yt <= high)
    return {
        "low": low, "high": high,
        "summary": {
            "method": f"CV+: cross-conformal, {n_folds} folds on the training patients, absolute residuals",
            "level": float(level),
            "n_folds": n_folds,
            "coverage_pct": float(100.0 * inside.mean()),
            "mean_width_mci": float(np.mean(high - low)),
            "median_width_mci": float(np.median(high - low)),
        },
    }


def _coef_unit(ps: PipelineSettings) -> str:
    return {"robust": "mCi per interquartile range of the feature",
            "standard": "mCi per standard deviation of the feature",
            "minmax": "mCi per training range of the feature",
            "none": "mCi per unit of the feature"}[ps.scaler]


def _example_patient(cohort, dose, X, y, test, stp, ds, mu, hybrid=None) -> dict | None:
    """Data for the example time–activity curve: the test patient with the median target.

    ``hybrid``: (fitted hybrid model, its design matrix), to add its predicted TIAC (h), the
    effective half-life (h) of the mono-exponential through the first scan with that TIAC, and
    its activity (mCi, the capped prescription it implies).
    """
    from onescan.dosimetry._quantify import quantify

    if len(test) == 0:
        return None
    yt = y.iloc[test]
    order = np.argsort(yt.to_numpy(), kind="mergesort")
    pid = str(yt.index[order[len(order) // 2]])
    scans = cohort.scans[cohort.scans["patient_id"].astype(str) == pid]
    q = quantify(scans, mu_per_cm=mu)
    q = q[q["region"] == "liver"].sort_values("time_h")
    row = dose.loc[pid]
    t_half = float(row[HALF_LIFE_COLUMN])
    tiac = float(row["liver_tiac_h"])
    out = {
        "patient_id": pid,
        "time_h": q["time_h"].to_numpy(dtype=float),
        "fraction": q["fraction"].to_numpy(dtype=float),
        "half_life_h": t_half,
        "tiac_h": tiac,
        "fit_model": str(row.get("fit_model", "")),
        "prescribed_mci": float(y.loc[pid]),
    }
    if stp is not None:
        xrow = X.loc[[pid]]
        out["stp_half_life_h"] = float(stp.half_life_pop_h_)
        out["stp_first_time_h"] = float(xrow["first_scan_time_h"].iloc[0])
        out["stp_first_fraction"] = float(xrow["uptake_first_liver"].iloc[0])
        out["stp_tiac_h"] = float(stp.tiac_h(xrow)[0])
        out["stp_mci"] = float(stp.predict(xrow)[0])
    if hybrid is not None:
        from onescan.models._hybrid import tiac_ratio_to_lambda

        model, XH = hybrid
        xrow = XH.loc[[pid]]
        f1 = float(xrow["uptake_first_liver"].iloc[0])
        t1 = float(xrow["first_scan_time_h"].iloc[0])
        tiac_h = float(model.predict_tiac(xrow)[0])
        lam = float(tiac_ratio_to_lambda(np.array([tiac_h / f1]), np.array([t1]))[0])
        out.update({"hybrid_tiac_h": tiac_h, "hybrid_half_life_h": math.log(2.0) / lam,
                    "hybrid_first_time_h": t1, "hybrid_first_fraction": f1,
                    "hybrid_mci": float(model.predict(xrow)[0])})
    return out
