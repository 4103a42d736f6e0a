"""The model card of a clinic model: units of the features, training ranges, coefficients.

:func:`build_card` writes the card content of :func:`onescan.studies._clinic.fit_model`
(everything except the model file's SHA-256, which
:func:`onescan.persistence.save_model` adds). The coefficient unit comes from the
model registry (:data:`onescan.models._registry.MODELS`): mCi for the linear models,
ln h for the hybrid's clearance model.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from onescan._provenance import jsonable, versions
from onescan.models._conformal import _corrected_quantile_level, max_level_for
from onescan.models._log_conformal import LOG_METHODS
from onescan.studies._clinic_safe import safe_card

__all__ = ["CARD_FORMAT", "CARD_VERSION", "CARD_PACKAGES", "unit_from_column", "feature_ranges",
           "selected_and_coefficients", "imputed_values", "direct_columns", "input_hashes", "build_card",
           "cross_validation_card"]

logger = logging.getLogger(__name__)

CARD_FORMAT = "onescan-model-card"
CARD_VERSION = 1
#: Packages whose versions the card records, in this order.
CARD_PACKAGES = ("onescan", "python", "numpy", "scipy", "pandas", "scikit-learn", "mlxtend", "skops", "mapie",
                 "joblib")
#: Interval levels whose residual quantile (mCi) the card records.
_CARD_LEVELS = (0.8, 0.9, 0.95)

# Unit spelled by a column-name suffix (SPEC §1: snake_case with the unit as suffix).
_UNIT_TOKENS: dict[str, str] = {
    "mci": "mCi", "mbq": "MBq", "gbq": "GBq", "kbq": "kBq",
    "g": "g", "kg": "kg", "mg": "mg", "ug": "µg", "ng": "ng", "pg": "pg",
    "cm": "cm", "mm": "mm", "m": "m", "m2": "m²", "cm2": "cm²",
    "ml": "mL", "l": "L", "dl": "dL", "ul": "µL", "fl": "fL",
    "h": "h", "d": "d", "y": "y", "s": "s", "ms": "ms", "min": "min", "wk": "wk", "months": "months",
    "gy": "Gy", "mgy": "mGy", "pct": "%", "percent": "%", "c": "°C", "hu": "HU",
    "u": "U", "iu": "IU", "miu": "mIU", "mmol": "mmol", "umol": "µmol", "nmol": "nmol", "mol": "mol",
    "meq": "mEq", "cells": "cells", "1e9": "10⁹", "x10e9": "10⁹", "1e12": "10¹²", "x10e12": "10¹²",
    "1e3": "10³", "hpf": "HPF", "mmhg": "mmHg", "bpm": "/min", "n": "count",
    "ratio": "ratio", "fraction": "fraction", "counts": "counts", "score": "score", "grade": "grade",
}
#: Qualifiers after the unit (``ast_u_per_l_pre``: before the dosimetric infusion).
_QUALIFIERS = ("pre", "post")
#: Compound suffixes the token rules cannot spell.
_SPECIAL_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("ml_per_min_1_73m2", "mL/min/1.73 m²"), ("per_100_wbc", "/100 WBC"), ("kg_m2", "kg/m²"),
    ("pct_pred", "% of predicted"),
)



def unit_from_column(name: str) -> str:
    """The unit a column name spells in its suffix (SPEC §1), or ``""`` when none.

    ``liver_mass_g`` → ``"g"``, ``ast_pre_u_per_l`` → ``"U/L"``,
    ``neutrophils_x10e9_per_l`` → ``"10⁹/L"``, ``bsa_m2`` → ``"m²"``,
    ``uptake_first_liver`` → ``"fraction"`` (of the administered activity),
    ``sex_male`` → ``"0/1"``.

    Parameters
    ----------
    name : str
        Column name.

    Returns
    -------
    str
        Unit symbol, ``"fraction"``, ``"0/1"`` for sex, or ``""`` when unknown.
    """
    if name.startswith(("uptake_first_", "uptake_24h_")):
        return "fraction"
    if name == "sex_male":
        return "0/1"
    tokens = name.lower().split("_")
    while len(tokens) > 1 and tokens[-1] in _QUALIFIERS:
        tokens = tokens[:-1]
    stem = "_".join(tokens)
    for suffix, unit in _SPECIAL_SUFFIXES:
        if stem.endswith("_" + suffix):
            return unit
    # "<a>_per_<b>[_<c>]" (u_per_l, mg_per_dl, 1e9_per_l) and "<quantity>_per_<b>" (rate_per_min)
    if "per" in tokens[1:]:
        i = len(tokens) - 1 - tokens[::-1].index("per")
        den = tokens[i + 1:]
        if den and all(t in _UNIT_TOKENS for t in den):
            num = _UNIT_TOKENS.get(tokens[i - 1], "") if i >= 2 else ""
            return num + "/" + "·".join(_UNIT_TOKENS[t] for t in den)
    last = tokens[-1] if len(tokens) > 1 else ""
    return _UNIT_TOKENS.get(last, "")


def feature_ranges(X: pd.DataFrame) -> dict[str, dict]:
    """Per feature: ``unit`` (from its name), training ``min`` and ``max``, ``missing_share`` (0–1)."""
    out = {}
    for c in X.columns:
        s = pd.to_numeric(X[c], errors="coerce").astype(float)
        ok = s[np.isfinite(s)]
        out[str(c)] = {
            "unit": unit_from_column(str(c)),
            "min": float(ok.min()) if len(ok) else None,
            "max": float(ok.max()) if len(ok) else None,
            "missing_share": float(s.isna().mean()) if len(s) else None,
        }
    return out


def selected_and_coefficients(estimator) -> tuple[list[str], dict[str, float], float | None]:
    """Selected feature names, their coefficients and the intercept of a fitted final model.

    A model with its own ``coefficients()`` method (the hybrid: ln h per unit of the
    scaled feature) is read through it; a linear pipeline through
    :func:`onescan.models._pipeline.coefficients` (mCi per unit of the scaled feature).
    """
    from onescan.models._pipeline import coefficients, selected_features

    own = getattr(estimator, "coefficients", None)
    try:
        coefs = own() if callable(own) else coefficients(estimator)
    except (AttributeError, KeyError, TypeError, RuntimeError) as exc:
        logger.debug("no coefficients for this model (%s)", exc)
        return [str(f) for f in selected_features(estimator)], {}, None
    intercept = float(coefs.pop("(intercept)")) if "(intercept)" in coefs.index else None
    return [str(f) for f in coefs.index], {str(k): float(v) for k, v in coefs.items()}, intercept


def imputed_values(estimator) -> dict[str, float]:
    """Training medians (or means) the model's imputer fills in, by feature name.

    The hybrid's imputer is the one of its clearance pipeline (``pipeline_``).
    """
    pipe = getattr(estimator, "pipeline_", estimator)
    steps = getattr(pipe, "named_steps", {})
    imp = steps.get("impute") if hasattr(steps, "get") else None
    if imp is None or imp == "passthrough" or not hasattr(imp, "statistics_"):
        return {}
    names = getattr(imp, "feature_names_in_", None)
    if names is None:
        return {}
    return {str(n): float(v) for n, v in zip(names, imp.statistics_)}


def direct_columns(estimator, columns) -> list[str]:
    """Feature columns a final model reads by name besides its selected features.

    These are the estimator's ``*_column`` parameters naming a column of the feature
    table (the hybrid's first-image uptake, organ mass and first-scan time): a
    prediction needs them whatever the selector chose. Empty for a linear pipeline.
    """
    params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}
    names = set(map(str, columns))
    return [v for k, v in params.items() if k.endswith("_column") and isinstance(v, str) and v in names]


def input_hashes(cohort) -> dict[str, dict]:
    """Path and SHA-256 of each input table of ``cohort`` read from a file."""
    from onescan.contract._io import sha256_file

    inputs = {}
    for which, src in cohort.sources.items():
        entry = {"path": str(src)}
        try:
            if src and Path(str(src)).is_file():
                entry["sha256"] = sha256_file(src)
        except OSError:
            pass
        inputs[which] = entry
    return inputs


def _residual_quantiles(scores, n: int) -> dict[str, float]:
    """Conformity-score quantile (mCi) of each card level the training size supports."""
    q_levels = {}
    for lev in _CARD_LEVELS:
        if lev <= max_level_for(n):
            q_levels[f"{lev:g}"] = float(np.quantile(scores, _corrected_quantile_level(lev, n), method="lower"))
    return q_levels


def _interval_card(conf, n: int, interval_method: str, interval_level: float) -> dict:
    """The card's ``intervals`` entry: method, its description, folds, levels, score quantiles."""
    if interval_method in LOG_METHODS:
        description = (f"cross-conformal '{interval_method}' ({'CV+' if interval_method == 'log-plus' else 'CV'} "
                       "of Barber et al. 2021) on the log scale: signed out-of-fold scores ln(y) − ln(ŷ⁺), ŷ⁺ = "
                       "the fold model's prediction clipped to [smallest training activity of the fold, maximum "
                       "activity]; bounds ŷ⁺·exp(order statistics of the scores) — positive — with floor(α(n+1)) "
                       "misses split floor(m/2) below and the rest above; upper bounds clipped to the maximum "
                       "activity; point = all-patient model raised to the smallest training activity; interval "
                       "widened to include the capped point")
    else:
        description = (f"cross-conformal '{interval_method}' (Barber et al. 2021; 'plus' = CV+) with absolute "
                       f"residuals, identical to MAPIE CrossConformalRegressor(method='{interval_method}'); point = "
                       "pipeline fitted on all patients; interval widened to include it")
    entry = {"method": interval_method, "description": description, "folds": int(conf.n_folds),
             "default_level": float(interval_level), "max_level": max_level_for(n),
             "residual_quantiles_mci": _residual_quantiles(conf.conformity_scores_, n)}
    if hasattr(conf, "floor_"):
        entry["floor_mci"] = float(conf.floor_)
        entry["max_value_mci"] = None if conf.max_value is None else float(conf.max_value)
    return entry


def build_card(X: pd.DataFrame, y: np.ndarray, conf, *, info: dict, selected: list[str], used: list[str],
               scan_features: list[str], coefs: dict[str, float], intercept: float | None,
               coefficient_unit: str, seed: int, schedule: str, target_gy: float, max_activity_mci: float,
               interval_method: str, interval_level: float, extra: dict | None = None) -> dict:
    """The model card of a fitted model, as plain JSON (without the model file's SHA-256).

    Parameters
    ----------
    X : pandas.DataFrame
        Training feature table.
    y : numpy.ndarray
        Training target activity (mCi).
    conf : onescan.models._conformal.CrossConformalPlus
        The fitted conformal wrapper.
    info : dict
        :func:`feature_ranges` of ``X`` with ``selected``/``used`` flags.
    selected, used, scan_features : list of str
        Selected features, those with a non-zero coefficient (and the columns read
        directly), and those among them read from the scans.
    coefs : dict
        Coefficient per selected feature, in ``coefficient_unit`` per unit of the
        scaled feature; ``intercept`` in ``coefficient_unit``.
    coefficient_unit : str
        Unit of the coefficients (the registry's ``ModelKind.coefficient_unit``).
    seed, schedule, target_gy, max_activity_mci, interval_method, interval_level
        As in :func:`onescan.studies._clinic.fit_model` (Gy, mCi).
    extra : dict, optional
        Further entries (inputs, settings, cross-validation), added last.

    Returns
    -------
    dict
    """
    card = {
        "format": CARD_FORMAT,
        "card_version": CARD_VERSION,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(CARD_PACKAGES),
        "seed": int(seed),
        "schedule": schedule,
        "n_patients": int(len(y)),
        "target": {"name": "prescribed_activity_mci", "unit": "mCi", "target_gy": float(target_gy),
                   "max_activity_mci": float(max_activity_mci), "mean": float(y.mean()),
                   "min": float(y.min()), "max": float(y.max())},
        "features": [{"name": f, **info[f]} for f in X.columns],
        "selected_features": selected,
        "used_features": used,
        "scan_features": scan_features,
        "coefficients": coefs,
        "intercept": intercept,
        "coefficient_unit": coefficient_unit,
        "coefficients_note": f"{coefficient_unit} per unit of the scaled feature (RobustScaler: per "
                             f"interquartile range); intercept in {coefficient_unit}",
        "intervals": _interval_card(conf, len(y), interval_method, interval_level),
    }
    safe = safe_card(conf)
    if safe is not None:
        card["safe_prescription"] = safe
    card.update(jsonable(extra or {}))
    return jsonable(card)


def cross_validation_card(X, y, ps, ds, *, cv_folds, cv_repeats, seed, n_jobs, progress) -> dict[str, Any]:
    """Repeated k-fold cross-validation of the whole model (SPEC §4), as a card entry."""
    from onescan.evaluation._cv import repeated_cv
    from onescan.models._pipeline import selected_features
    from onescan.models._registry import build_model

    cv_card: dict[str, Any] = {"folds": cv_folds, "repeats": cv_repeats, "seed": seed}
    if cv_repeats > 0:
        res = repeated_cv(X, y.to_numpy(), {"model": build_model(ps, ds)}, folds=cv_folds, repeats=cv_repeats,
                          seed=seed, n_jobs=n_jobs or 1, progress=progress,
                          selected={"model": selected_features}, cap_mci=ds.max_activity_mci)
        cv_card["metrics"] = res.summary.get("model", {})
        cv_card["interval_note"] = "mean over repeats and 95 % percentile interval"
        freq = res.selection_frequency.get("model")
        if freq is not None:
            cv_card["selection_frequency"] = {str(k): float(v) for k, v in freq.items()}
    return cv_card
