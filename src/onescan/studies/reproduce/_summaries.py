"""The reproduce study's summaries: the cohort, the fitted models, the paired comparison, the
prediction intervals and the example patient."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from sklearn.base import clone

from onescan.contract._errors import InputError, Problem
from onescan.contract._organs import limiting_organ
from onescan.evaluation._cv import UNCAPPED
from onescan.evaluation._ncv import paired_difference
from onescan.studies.reproduce._methods import HALF_LIFE_COLUMN, METHODS

__all__ = ["cohort_summary", "comparison", "hybrid_model", "coef_unit", "check_k_features", "split_intervals",
           "example_patient"]

logger = logging.getLogger(__name__)

_ORGAN = limiting_organ()


def cohort_summary(cohort, X: pd.DataFrame, y: pd.Series, dose: pd.DataFrame, cap: float) -> dict:
    """Size, features, scans, target (mCi) and clinical medians of the cohort."""
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
    for col in ("age_y", "weight_kg", _ORGAN.mass_column):
        if col in p.columns:
            summary[f"{col}_median"] = float(pd.to_numeric(p[col], errors="coerce").median())
    if "sex" in p.columns:
        summary["n_male"] = int((p["sex"].astype(str).str.upper() == "M").sum())
    if "flags" in dose.columns:
        summary["n_dosimetry_flagged"] = int((dose["flags"].fillna("").astype(str) != "").sum())
    return summary


def _pair(y, cv, honest, a: str, b: str, scale: str, cap: float) -> dict:
    """Paired nested-CV comparison of method ``a`` against ``b`` (RMSE, mCi) on the same folds.

    ``scale``: ``"raw"`` (both as predicted; a self-capping model's uncapped predictions),
    ``"clinical"`` (both clipped to [0, cap]) or ``"mixed"`` (each as reported: ``a`` raw, a
    self-capping ``a`` capped, ``b`` raw — the RMSE columns of the report side by side).
    """
    def preds(name, raw):
        key = name + UNCAPPED if raw and name + UNCAPPED in cv.oof else name
        return cv.oof[key], honest.nested.inner[key]

    oa, ia = preds(a, scale == "raw")
    ob, ib = preds(b, scale == "raw")
    clip = (0.0, cap) if scale == "clinical" else None
    d = paired_difference(y, oa, ob, ia, ib, honest.fold_id, clip=clip, level=honest.level)
    return {"a": a, "b": b, "scale": scale, **d}


def _hybrid_comparison(y, cv, honest, best: str, pairs: list, cap: float) -> dict:
    """The hybrid model against the LASSO pipeline and the best baseline.

    Keys without a suffix compare the methods as reported (the hybrid capped, the others raw:
    not like for like); ``_clinical``: both capped; ``_uncapped``: both raw (the hybrid's
    uncapped predictions).
    """
    def get(a, b, scale):
        return next(p for p in pairs if (p["a"], p["b"], p["scale"]) == (a, b, scale))

    # "mixed": the hybrid as reported (capped) against the others as reported (raw), the report's RMSE columns
    mixed, mixed_best = (_pair(y, cv, honest, "hybrid", b, "mixed", cap) for b in ("lasso", best))
    out = {}
    for suffix, vs_lasso, vs_best in (("", mixed, mixed_best),
                                      ("_clinical", get("hybrid", "lasso", "clinical"), get("hybrid", best, "clinical"))):
        out.update({
            f"cv_rmse{suffix}_minus_lasso_mci": {k: vs_lasso[k] for k in ("mean", "low", "high")},
            f"cv_better{suffix}_than_lasso_pct": vs_lasso["better_pct"],
            f"verdict{suffix}_vs_lasso": vs_lasso["verdict"],
            f"cv_rmse{suffix}_minus_best_baseline_mci": {k: vs_best[k] for k in ("mean", "low", "high")},
            f"cv_better{suffix}_than_best_baseline_pct": vs_best["better_pct"],
            f"verdict{suffix}_vs_best_baseline": vs_best["verdict"],
        })
    raw = get("hybrid", "lasso", "raw")
    out.update({"cv_rmse_uncapped_minus_lasso_mci": {k: raw[k] for k in ("mean", "low", "high")},
                "cv_better_uncapped_than_lasso_pct": raw["better_pct"],
                "verdict_uncapped_vs_lasso": raw["verdict"]})
    return out


def comparison(y, cv, honest, split_metrics: dict, cap: float) -> dict:
    """Paired comparisons on the same CV folds, each with a nested-CV interval of the RMSE difference.

    Parameters
    ----------
    y : ndarray
        Prescribed activity, mCi.
    cv : onescan.evaluation.CVResult
    honest : onescan.evaluation.HonestIntervals
        The nested CV of ``cv`` (inner predictions of every method).
    split_metrics : dict
        The published split's metrics per method.
    cap : float
        Clip of the clinical comparison (mCi).

    Returns
    -------
    dict
        ``best_baseline`` (lowest mean CV RMSE), the LASSO pipeline minus it
        (``cv_rmse_difference_mci`` {mean over repeats, nested-CV low/high}, ``verdict``:
        "better" only if the interval lies below 0), ``pairs`` (every model against every
        baseline, raw and clinical, and the hybrid against the LASSO pipeline like for like:
        both clinical, both raw) and ``hybrid`` (its summary).
    """
    rmse = cv.per_repeat.pivot(index="repeat", columns="model", values="rmse_mci")
    baselines = [c for c in rmse.columns if c != "lasso" and not METHODS[c].addition]
    if "lasso" not in rmse or not baselines:
        return {}
    y = np.asarray(y, dtype=float)
    best = min(baselines, key=lambda c: rmse[c].mean())
    models = ["lasso"] + (["hybrid"] if "hybrid" in rmse else [])
    pairs = [_pair(y, cv, honest, a, b, scale, cap) for a in models for b in baselines for scale in ("raw", "clinical")]
    if "hybrid" in rmse:
        pairs += [_pair(y, cv, honest, "hybrid", "lasso", scale, cap) for scale in ("clinical", "raw")]
    main = next(p for p in pairs if (p["a"], p["b"], p["scale"]) == ("lasso", best, "raw"))
    out = {
        "best_baseline": best,
        "cv_rmse_difference_mci": {k: main[k] for k in ("mean", "low", "high")},
        "cv_lasso_better_pct": main["better_pct"],
        "verdict": main["verdict"],
        "split_minus_cv_rmse_mci": float(split_metrics["lasso"]["rmse_mci"] - rmse["lasso"].mean()),
        "interval": "paired nested cross-validation of the per-patient difference of squared errors on the same "
                    "folds (interval of MSE_A - MSE_B, divided by RMSE_A + RMSE_B); 'better' only where the "
                    "95% interval lies below 0",
        "pairs": [{k: v for k, v in p.items() if k != "mse_difference"} for p in pairs],
    }
    if "hybrid" in rmse:
        out["hybrid"] = _hybrid_comparison(y, cv, honest, best, pairs, cap)
        out["hybrid"]["split_minus_cv_rmse_mci"] = float(split_metrics["hybrid"]["rmse_mci"] - rmse["hybrid"].mean())
    return out


def coef_unit(ps) -> str:
    """Unit of the selected model's coefficients under the pipeline's scaler."""
    return {"robust": "mCi per interquartile range of the feature",
            "standard": "mCi per standard deviation of the feature",
            "minmax": "mCi per training range of the feature",
            "none": "mCi per unit of the feature"}[ps.scaler]


def hybrid_model(model, ps) -> dict:
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
        "coefficient_unit": coef_unit(ps).replace("mCi", "ln h"),
    }


def check_k_features(X: pd.DataFrame, ps, cohort) -> None:
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


def split_intervals(XA, y, train, test, cols, estimator, seed, level, n_jobs) -> dict | None:
    """CV+ prediction intervals (Barber et al. 2021) of ``estimator`` for the published split's test patients."""
    from onescan.models._conformal import CrossConformalPlus, max_level_for

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


def _stp_part(stp, X: pd.DataFrame, pid: str) -> dict:
    xrow = X.loc[[pid]]
    return {"stp_half_life_h": float(stp.half_life_pop_h_),
            "stp_first_time_h": float(xrow["first_scan_time_h"].iloc[0]),
            "stp_first_fraction": float(xrow[_ORGAN.uptake_first_column].iloc[0]),
            "stp_tiac_h": float(stp.tiac_h(xrow)[0]),
            "stp_mci": float(stp.predict(xrow)[0])}


def _hybrid_part(model, XH: pd.DataFrame, pid: str) -> dict:
    from onescan.models._hybrid import tiac_ratio_to_lambda

    xrow = XH.loc[[pid]]
    f1 = float(xrow[_ORGAN.uptake_first_column].iloc[0])
    t1 = float(xrow["first_scan_time_h"].iloc[0])
    tiac_h = float(model.predict_tiac(xrow)[0])
    lam = float(tiac_ratio_to_lambda(np.array([tiac_h / f1]), np.array([t1]))[0])
    return {"hybrid_tiac_h": tiac_h, "hybrid_half_life_h": math.log(2.0) / lam,
            "hybrid_first_time_h": t1, "hybrid_first_fraction": f1,
            "hybrid_mci": float(model.predict(xrow)[0])}


def example_patient(cohort, dose, X, y, test, stp, ds, mu, hybrid=None) -> dict | None:
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
    q = q[q["region"] == _ORGAN.region].sort_values("time_h")
    row = dose.loc[pid]
    out = {
        "patient_id": pid,
        "time_h": q["time_h"].to_numpy(dtype=float),
        "fraction": q["fraction"].to_numpy(dtype=float),
        "half_life_h": float(row[HALF_LIFE_COLUMN]),
        "tiac_h": float(row[_ORGAN.column("tiac_h")]),
        "fit_model": str(row.get("fit_model", "")),
        "prescribed_mci": float(y.loc[pid]),
    }
    if stp is not None:
        out.update(_stp_part(stp, X, pid))
    if hybrid is not None:
        out.update(_hybrid_part(hybrid[0], hybrid[1], pid))
    return out
