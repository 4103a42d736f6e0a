"""A model a clinic can use: train, predict with intervals, and safe model files.

:func:`train` fits the published pipeline (SPEC §3) on a whole cohort, wraps it in
cross-conformal (CV+) prediction intervals (:class:`onescan.models._conformal.CrossConformalPlus`)
and measures it by repeated cross-validation (SPEC §4). The result is an
:class:`OnescanModel`, whose :meth:`OnescanModel.predict` takes a new patients table
(and, when the model reads the first scan, a scans table that may hold the first
image only) and returns, per patient, the predicted activity, its capped value, the
interval, the liver dose the capped activity implies and plain-language warnings.

Model files are written with ``skops.io`` (never pickle): :func:`save_model` writes
``<name>.skops`` and a JSON model card ``<name>.card.json`` beside it, holding the
SHA-256 of the model file. :func:`load_model` refuses, with an
:class:`~onescan.contract._errors.InputError`, a model without its card, a model whose
SHA-256 differs from the card's, and a model holding any type outside
:data:`TRUSTED_TYPES`, an allow-list written here in code (never read from a file).
"""

from __future__ import annotations

import io
import json
import logging
import math
import platform
import re
import zipfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from onescan.models._conformal import CrossConformalPlus, max_level_for
from onescan.contract._errors import InputError, Problem
from onescan.contract._units import MBQ_PER_MCI

__all__ = [
    "TRUSTED_TYPES",
    "OUTPUT_COLUMNS",
    "OnescanModel",
    "train",
    "fit_model",
    "save_model",
    "load_model",
    "card_path_for",
    "unit_from_column",
    "file_types",
]

logger = logging.getLogger(__name__)

CARD_FORMAT = "onescan-model-card"
CARD_VERSION = 1

#: Columns of :meth:`OnescanModel.predict`, in order.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "predicted_activity_mci",
    "predicted_activity_gbq",
    "predicted_activity_capped_mci",
    "interval_low_mci",
    "interval_high_mci",
    "interval_level",
    "liver_dose_gy_at_capped",
    "warnings",
)

#: A patient whose earliest scan is later than the latest first scan seen in training
#: plus this margin (h) has no first image: its "first-scan" uptakes would be measured
#: on a later image, so the model cannot be applied (SPEC §3).
FIRST_SCAN_MARGIN_H = 12.0

#: Features read from the scans (the others come from the patients table).
_SCAN_FEATURE_RE = re.compile(r"^(uptake_(first|24h)_.+|first_scan_time_h|scan_24h_time_h)$")

#: Every type an onescan model file may hold, by fully qualified name. This list is
#: the allow-list: :func:`save_model` refuses to write, and :func:`load_model` to read,
#: a file holding any other type. It covers every option of
#: :class:`onescan.models._pipeline.PipelineSettings` (filter, imputer, scalers, both
#: selectors and their scorers, the final regressors) and onescan's model classes.
TRUSTED_TYPES: tuple[str, ...] = (
    # containers and scalars
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.set", "builtins.str",
    "builtins.int", "builtins.float", "builtins.bool", "builtins.NoneType", "builtins.slice",
    "numpy.ndarray", "numpy.dtype", "numpy.float64", "numpy.float32", "numpy.int64",
    "numpy.int32", "numpy.bool_", "numpy.bool", "numpy.str_", "numpy.object_",
    # onescan
    "onescan.studies._clinic.OnescanModel",
    "onescan.models._conformal.CrossConformalPlus",
    "onescan.models._pipeline.MissingShareFilter",
    "onescan.models.selection._selector.SequentialFeatureSelector",
    # scikit-learn steps the pipeline options can produce
    "sklearn.pipeline.Pipeline",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.preprocessing._data.RobustScaler",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.linear_model._coordinate_descent.Lasso",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.linear_model._base.LinearRegression",
    "sklearn.model_selection._split.KFold",
    # the selectors' scorers
    "sklearn.metrics._scorer._Scorer",
    "sklearn.metrics._scorer._PassthroughScorer",
    "sklearn.metrics._regression.r2_score",
    "sklearn.metrics._regression.mean_squared_error",
    "sklearn.metrics._regression.root_mean_squared_error",
    "sklearn.metrics._regression.mean_absolute_error",
    "sklearn.metrics._regression.explained_variance_score",
    "sklearn.metrics._regression.median_absolute_error",
    # mlxtend's selector
    "mlxtend.feature_selection.sequential_feature_selector.SequentialFeatureSelector",
)

_TRUSTED = frozenset(TRUSTED_TYPES)

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


# --------------------------------------------------------------------------- helpers


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


def card_path_for(model_path: str | Path) -> Path:
    """Path of the model card beside a model file: ``model.skops`` → ``model.card.json``."""
    p = Path(model_path)
    return p.with_name(p.stem + ".card.json")


def _jsonable(obj):
    """Plain JSON types (NaN/inf → None, numpy scalars → Python, tuples → lists)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def _settings_dict(settings) -> dict:
    if settings is None:
        return {}
    if hasattr(settings, "model_dump"):
        return _jsonable(settings.model_dump())
    if hasattr(settings, "__dataclass_fields__"):
        from dataclasses import asdict

        return _jsonable(asdict(settings))
    if isinstance(settings, dict):
        return _jsonable(settings)
    return _jsonable(vars(settings))


def _versions() -> dict[str, str]:
    from onescan import __version__

    out = {"onescan": __version__, "python": platform.python_version()}
    for dist in ("numpy", "scipy", "pandas", "scikit-learn", "mlxtend", "skops", "mapie", "joblib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _fmt(v: float, unit: str = "") -> str:
    s = f"{v:.4g}"
    return f"{s} {unit}" if unit and unit not in ("0/1",) else s


def _feature_ranges(X: pd.DataFrame) -> dict[str, dict]:
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


def _selected_and_coefficients(pipe) -> tuple[list[str], dict[str, float], float | None]:
    """Selected feature names, their coefficients and the intercept of a fitted pipeline."""
    from onescan.models._pipeline import coefficients, selected_features

    try:
        coefs = coefficients(pipe)
    except (AttributeError, KeyError, TypeError, RuntimeError) as exc:
        logger.debug("no coefficients for this pipeline (%s)", exc)
        return [str(f) for f in selected_features(pipe)], {}, None
    intercept = float(coefs.pop("(intercept)")) if "(intercept)" in coefs.index else None
    return [str(f) for f in coefs.index], {str(k): float(v) for k, v in coefs.items()}, intercept


def _imputed_values(pipe) -> dict[str, float]:
    """Training medians (or means) the pipeline's imputer fills in, by feature name."""
    steps = getattr(pipe, "named_steps", {})
    imp = steps.get("impute") if hasattr(steps, "get") else None
    if imp is None or imp == "passthrough" or not hasattr(imp, "statistics_"):
        return {}
    names = getattr(imp, "feature_names_in_", None)
    if names is None:
        return {}
    return {str(n): float(v) for n, v in zip(names, imp.statistics_)}


# --------------------------------------------------------------------------- the model


class OnescanModel:
    """A fitted one-scan model: the pipeline, its conformal intervals and its card.

    Build it with :func:`train` (from a cohort) or :func:`fit_model` (from a feature
    table); read it with :func:`load_model`. Attributes ending in ``_`` were learned.

    Attributes
    ----------
    conformal_ : CrossConformalPlus
        The pipeline fitted on every training patient (``conformal_.estimator_``) and
        the fold pipelines and out-of-fold residuals (mCi) of the CV+ intervals.
    feature_names_ : list of str
        Columns of the feature table, in training order.
    selected_features_ : list of str
        Features chosen by the feature selector (all features without one).
    used_features_ : list of str
        Selected features with a non-zero coefficient in the final model: only these
        influence a prediction, so only these are required, range-checked and named
        when imputed.
    scan_features_ : list of str
        The selected features read from the scans (empty: the model needs no scans).
    feature_info_ : dict
        Per feature: ``unit``, training ``min``/``max`` and ``missing_share``.
    imputed_values_ : dict
        Per feature, the value the imputer fills in (training median).
    first_scan_time_max_h : float or None
        Latest first-scan time among the training patients (h).
    schedule : str
        Which scans the model reads (``"first"``: the first image only).
    exclude : list of str
        Patients columns kept out of the features.
    mu_per_cm : float
        Attenuation coefficient used to quantify the scans (cm⁻¹).
    target_gy : float
        Liver dose the target activity delivers (Gy).
    max_activity_mci : float
        Maximum manufactured activity (mCi) the capped prediction is clipped to.
    interval_level : float
        Default interval level (0–1).
    card_ : dict
        The model card without the model file's SHA-256 (added by :func:`save_model`).
    card : dict or None
        The card read beside the file by :func:`load_model` (None before saving).
    """

    def __init__(self, *, conformal_, feature_names_, selected_features_, used_features_, scan_features_,
                 feature_info_,
                 imputed_values_, first_scan_time_max_h, schedule, exclude, mu_per_cm, target_gy,
                 max_activity_mci, interval_level, card_):
        self.conformal_ = conformal_
        self.feature_names_ = list(feature_names_)
        self.selected_features_ = list(selected_features_)
        self.used_features_ = list(used_features_)
        self.scan_features_ = list(scan_features_)
        self.feature_info_ = feature_info_
        self.imputed_values_ = imputed_values_
        self.first_scan_time_max_h = first_scan_time_max_h
        self.schedule = schedule
        self.exclude = list(exclude)
        self.mu_per_cm = float(mu_per_cm)
        self.target_gy = float(target_gy)
        self.max_activity_mci = float(max_activity_mci)
        self.interval_level = float(interval_level)
        self.card_ = card_
        self.card = None

    @property
    def pipeline_(self):
        """The published pipeline fitted on every training patient."""
        return self.conformal_.estimator_

    @property
    def n_train_(self) -> int:
        """Number of training patients."""
        return int(len(self.conformal_.conformity_scores_))

    def __repr__(self) -> str:
        return (f"OnescanModel(n_train={self.n_train_}, schedule={self.schedule!r}, "
                f"used_features={self.used_features_!r}, interval_level={self.interval_level})")

    # ---------------------------------------------------------------- predict

    def _check_level(self, level) -> float:
        level = self.interval_level if level is None else level
        try:
            level = float(level)
        except (TypeError, ValueError):
            raise InputError(Problem("--level", f"must be a number between 0 and 1, got {level!r}")) from None
        top = max_level_for(self.n_train_)
        if not (0.0 < level <= top) or not math.isfinite(level):
            raise InputError(Problem("--level", f"must be in (0, {top:.4f}] for a model trained on "
                                                f"{self.n_train_} patients, got {level:g}"))
        return level

    def _load_input(self, patients, scans):
        from onescan.contract._cohort import load_cohort

        needs_scans = bool(self.scan_features_)
        if needs_scans and scans is None:
            raise InputError(Problem(
                "<scans>", "this model reads the first scan (features "
                + ", ".join(self.scan_features_) + "): give the scans table (the first image is enough)"))
        return load_cohort(patients=patients, scans=scans, **self.load_rules())

    def features(self, patients, scans=None) -> pd.DataFrame:
        """The model's feature table for new patients, aligned to the training columns.

        Parameters
        ----------
        patients : pandas.DataFrame or path-like
            Patients table (SPEC §1.1); ``prescribed_activity_*`` is not needed.
        scans : pandas.DataFrame or path-like, optional
            Scans table; the first image per patient is enough. Needed only when the
            model selected a scan feature (``scan_features_``).

        Returns
        -------
        pandas.DataFrame
            Index ``patient_id``, columns :attr:`feature_names_` (NaN where absent).

        Raises
        ------
        InputError
            Invalid tables; a selected feature's column missing entirely; a patient
            without scans, or whose earliest scan is not a first image, when the model
            reads the first scan.
        """
        cohort = self._load_input(patients, scans)
        return self._features_from_cohort(cohort)

    def _features_from_cohort(self, cohort) -> pd.DataFrame:
        from onescan.features._features import build_features

        P = str(cohort.sources.get("patients", "<patients>"))
        S = str(cohort.sources.get("scans", "<scans>"))
        problems: list[Problem] = []
        ids = cohort.patients["patient_id"].astype(str).tolist()
        if self.scan_features_:
            scans = cohort.scans
            t_first = scans.groupby(scans["patient_id"].astype(str))["time_h"].min()
            limit = (self.first_scan_time_max_h or 0.0) + FIRST_SCAN_MARGIN_H
            for pid in ids:
                if pid not in t_first.index:
                    problems.append(Problem(S, "no scan for this patient: the model reads the first scan "
                                               f"({', '.join(self.scan_features_)})", patient_id=pid))
                elif float(t_first[pid]) > limit:
                    problems.append(Problem(
                        S, f"no first scan: the earliest scan is at {float(t_first[pid]):.4g} h, but the model "
                           f"was trained on first scans taken up to {self.first_scan_time_max_h:.4g} h after the "
                           "infusion (a later image cannot stand in for the first one)",
                        patient_id=pid, column="time_h"))
        X = build_features(cohort, exclude=[c for c in self.exclude if c in cohort.patients.columns],
                           schedule=self.schedule, mu_per_cm=self.mu_per_cm)
        X = self._fill_indicators(X, cohort.patients)
        for f in self.used_features_:
            if f not in X.columns and not (_SCAN_FEATURE_RE.match(f) and problems):
                unit = self.feature_info_.get(f, {}).get("unit")
                problems.append(Problem(
                    S if _SCAN_FEATURE_RE.match(f) else P,
                    "the model needs this feature (selected in training, non-zero coefficient) but the column "
                    "is missing" + (f"; unit {unit}" if unit else ""), column=f))
        if problems:
            raise InputError(problems)
        return X.reindex(columns=self.feature_names_).astype(float)

    def _fill_indicators(self, X: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
        """Rebuild a training indicator column ``<text column>_<level>`` absent from ``X``.

        Text columns are one-hot encoded from the levels present in the table, so a
        small prediction table may lack a level the training table had; the
        indicator is then recomputed from the raw column with the training level.
        """
        extra = {}
        for f in self.feature_names_:
            if f in X.columns:
                continue
            for c in patients.columns:
                if f.startswith(f"{c}_") and not pd.api.types.is_numeric_dtype(patients[c]):
                    level = f[len(c) + 1:]
                    text = patients[c].astype("string").str.strip()
                    extra[f] = pd.Series((text == level).astype(float).where(text.notna()).to_numpy(),
                                         index=X.index)
                    break
        if extra:
            X = X.assign(**extra)
        return X

    def predict(self, patients, scans=None, level=None) -> pd.DataFrame:
        """Predicted therapeutic activity, with interval and warnings, per patient.

        Parameters
        ----------
        patients : pandas.DataFrame or path-like
            Patients table (SPEC §1.1), as read from a file (``prescribed_activity_*``
            is not needed and is ignored).
        scans : pandas.DataFrame or path-like, optional
            Scans table; the first image per patient is enough (later images are
            ignored by a ``"first"`` model). Needed only when the model reads the scans.
        level : float, optional
            Interval level (default: the model's, e.g. 0.90).

        Returns
        -------
        pandas.DataFrame
            One row per patient (patients-table order) with :data:`OUTPUT_COLUMNS`:
            ``predicted_activity_mci`` (mCi) and ``_gbq`` (GBq), the value clipped to
            [0, ``max_activity_mci``] (mCi), the conformal interval (mCi) at
            ``interval_level``, ``liver_dose_gy_at_capped`` = ``target_gy`` ×
            capped / predicted (Gy; NaN for a non-positive prediction) and ``warnings``
            (";"-separated; empty when none).

        Raises
        ------
        InputError
            Invalid tables, a selected feature missing entirely, a patient without a
            first scan (models that read it), or an invalid ``level``.
        """
        level = self._check_level(level)
        X = self.features(patients, scans)
        return self._predict_features(X, level)

    def predict_cohort(self, cohort, level=None) -> pd.DataFrame:
        """:meth:`predict` for an already loaded :class:`onescan.contract._cohort.Cohort`.

        Parameters
        ----------
        cohort : onescan.contract._cohort.Cohort
            Validated cohort (e.g. from ``load_cohort(..., need_dosimetry=False)``).
        level : float, optional
            Interval level (default: the model's).

        Returns
        -------
        pandas.DataFrame
            As :meth:`predict`.
        """
        level = self._check_level(level)
        return self._predict_features(self._features_from_cohort(cohort), level)

    def load_rules(self) -> dict:
        """Keyword arguments of :func:`onescan.contract._cohort.load_cohort` for this model's input.

        Nothing the model does not use is required: no dosimetric activity, no target,
        no second scan; the scans table only when a scan feature was selected.
        """
        return dict(need_dosimetry=False, need_target=False, need_scans=bool(self.scan_features_),
                    need_activity=False, min_liver_points=0)

    def _predict_features(self, X: pd.DataFrame, level: float) -> pd.DataFrame:
        y_pred, low, high = self.conformal_.predict_interval(X, level=level)
        # The point prediction is the model fitted on every patient; CV+ bounds come from the
        # fold models and need not bracket it. Widening to include it only raises coverage.
        low = np.minimum(low, y_pred)
        high = np.maximum(high, y_pred)
        capped = np.clip(y_pred, 0.0, self.max_activity_mci)
        with np.errstate(divide="ignore", invalid="ignore"):
            dose = np.where(y_pred > 0, self.target_gy * capped / y_pred, np.nan)
        warnings = self._warnings(X, y_pred)
        out = pd.DataFrame({
            "patient_id": X.index.astype(str),
            "predicted_activity_mci": y_pred,
            "predicted_activity_gbq": y_pred * MBQ_PER_MCI / 1000.0,
            "predicted_activity_capped_mci": capped,
            "interval_low_mci": low,
            "interval_high_mci": high,
            "interval_level": level,
            "liver_dose_gy_at_capped": dose,
            "warnings": warnings,
        })
        return out.loc[:, list(OUTPUT_COLUMNS)].reset_index(drop=True)

    def _warnings(self, X: pd.DataFrame, y_pred: np.ndarray) -> list[str]:
        out = []
        for k in range(len(X)):
            msgs = []
            for f in self.used_features_:
                v = X[f].iloc[k]
                info = self.feature_info_.get(f, {})
                unit = info.get("unit", "")
                if not np.isfinite(v):
                    fill = self.imputed_values_.get(f)
                    strategy = ((self.card_ or {}).get("settings", {}).get("pipeline", {})
                                .get("imputer", "median"))
                    msgs.append(f"{f} missing: imputed with the training {strategy} {_fmt(fill, unit)}"
                                if fill is not None else f"{f} missing: imputed")
                    continue
                lo, hi = info.get("min"), info.get("max")
                if lo is not None and v < lo:
                    msgs.append(f"{f} = {_fmt(v, unit)} below the training range "
                                f"[{_fmt(lo)}, {_fmt(hi, unit)}]")
                elif hi is not None and v > hi:
                    msgs.append(f"{f} = {_fmt(v, unit)} above the training range "
                                f"[{_fmt(lo)}, {_fmt(hi, unit)}]")
            p = float(y_pred[k])
            if p <= 0:
                msgs.append("prediction not positive: the model cannot be used for this patient")
            elif p > self.max_activity_mci:
                msgs.append(f"prediction above the maximum activity: capped at {_fmt(self.max_activity_mci)} mCi "
                            f"(the liver would receive {_fmt(self.target_gy * self.max_activity_mci / p)} Gy)")
            out.append("; ".join(msgs))
        return out


# --------------------------------------------------------------------------- fitting


def fit_model(X: pd.DataFrame, y, *, pipeline, schedule: str = "first", exclude: Iterable[str] = (),
              interval_level: float = 0.9, interval_folds: int = 10, interval_method: str = "plus",
              seed: int = 0, n_jobs: int | None = None, target_gy: float = 24.0,
              max_activity_mci: float = 1030.0, mu_per_cm: float = 0.110,
              card: dict | None = None) -> OnescanModel:
    """Fit a pipeline and its CV+ intervals on a feature table (the core of :func:`train`).

    Parameters
    ----------
    X : pandas.DataFrame
        Feature table, one row per patient (index ``patient_id``), as from
        :func:`onescan.features._features.build_features`.
    y : array-like
        Target activity (mCi), aligned with ``X``.
    pipeline : sklearn.pipeline.Pipeline
        Unfitted pipeline (steps named as in :func:`onescan.models._pipeline.make_pipeline`).
    schedule : str, default "first"
        Which scans the features read.
    exclude : iterable of str, default ()
        Patients columns kept out of the features (recorded for prediction).
    interval_level : float, default 0.9
        Default interval level.
    interval_folds : int, default 10
        Folds of the CV+ intervals (the number of patients gives the jackknife+).
    interval_method : {"plus", "base", "minmax"}, default "plus"
        Cross-conformal method (see :class:`onescan.models._conformal.CrossConformalPlus`).
    seed : int, default 0
        Seed of the CV+ fold split.
    n_jobs : int, optional
        Parallel fold fits.
    target_gy : float, default 24
        Liver dose the target activity delivers (Gy).
    max_activity_mci : float, default 1030
        Cap of the clinical prediction (mCi).
    mu_per_cm : float, default 0.110
        Attenuation coefficient used to quantify scans at prediction (cm⁻¹).
    card : dict, optional
        Extra card entries (inputs, settings, cross-validation).

    Returns
    -------
    OnescanModel
    """
    y = np.asarray(y, dtype=float)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if not 0.0 < interval_level < 1.0:
        raise ValueError(f"interval_level must be in (0, 1), got {interval_level}")
    if interval_level > max_level_for(len(y)):
        raise ValueError(f"interval_level {interval_level} needs more than {len(y)} training patients")
    X = X.astype(float)
    conf = CrossConformalPlus(pipeline, n_folds=min(interval_folds, len(y)), shuffle=True,
                              random_state=seed, n_jobs=n_jobs, method=interval_method).fit(X, y)
    selected, coefs, intercept = _selected_and_coefficients(conf.estimator_)
    used = [f for f in selected if coefs.get(f, 1.0) != 0.0]
    info = _feature_ranges(X)
    for f in info:
        info[f]["selected"] = f in selected
        info[f]["used"] = f in used
    scan_feats = [f for f in used if _SCAN_FEATURE_RE.match(f)]
    t_max = float(np.nanmax(X["first_scan_time_h"])) if "first_scan_time_h" in X.columns \
        and X["first_scan_time_h"].notna().any() else None
    q_levels = {}
    for lev in (0.8, 0.9, 0.95):
        if lev <= max_level_for(len(y)):
            from onescan.models._conformal import _corrected_quantile_level

            q_levels[f"{lev:g}"] = float(np.quantile(conf.conformity_scores_,
                                                     _corrected_quantile_level(lev, len(y)), method="lower"))
    base_card = {
        "format": CARD_FORMAT,
        "card_version": CARD_VERSION,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
        "seed": int(seed),
        "schedule": schedule,
        "n_patients": int(len(y)),
        "target": {"name": "prescribed_activity_mci", "unit": "mCi", "target_gy": float(target_gy),
                   "max_activity_mci": float(max_activity_mci), "mean": float(y.mean()),
                   "min": float(y.min()), "max": float(y.max())},
        "features": [{"name": f, **info[f]} for f in X.columns],
        "selected_features": selected,
        "used_features": used,
        "scan_features": scan_feats,
        "coefficients": coefs,
        "intercept": intercept,
        "coefficients_note": "mCi per unit of the scaled feature (RobustScaler: per interquartile range); "
                             "intercept in mCi",
        "intervals": {
            "method": interval_method,
            "description": f"cross-conformal '{interval_method}' (Barber et al. 2021; 'plus' = CV+) with "
                           f"absolute residuals, identical to MAPIE CrossConformalRegressor(method="
                           f"'{interval_method}'); point = pipeline fitted on all patients; interval widened "
                           "to include it",
            "folds": int(conf.n_folds), "default_level": float(interval_level),
            "max_level": max_level_for(len(y)),
            "residual_quantiles_mci": q_levels,
        },
    }
    base_card.update(_jsonable(card or {}))
    model = OnescanModel(
        conformal_=conf, feature_names_=[str(c) for c in X.columns], selected_features_=selected,
        used_features_=used, scan_features_=scan_feats, feature_info_=info,
        imputed_values_=_imputed_values(conf.estimator_),
        first_scan_time_max_h=t_max, schedule=schedule, exclude=list(exclude), mu_per_cm=mu_per_cm,
        target_gy=target_gy, max_activity_mci=max_activity_mci, interval_level=interval_level,
        card_=_jsonable(base_card),
    )
    logger.info("model fitted on %d patients; %d features selected", len(y), len(selected))
    return model


def train(cohort, *, pipeline_settings=None, dose_settings=None, seed: int = 0, interval_level: float = 0.9,
          interval_folds: int = 10, interval_method: str = "plus", cv_folds: int = 5, cv_repeats: int = 20,
          schedule: str = "first",
          exclude: Iterable[str] = (), n_jobs: int | None = None,
          progress: Callable[[int], None] | None = None) -> OnescanModel:
    """Train the published model on a whole cohort (SPEC §3–§4).

    Parameters
    ----------
    cohort : onescan.contract._cohort.Cohort
        Training cohort; the target is ``prescribed_activity_mci`` or, when absent,
        the capped activity computed by the reference dosimetry (``dose_settings``).
    pipeline_settings : onescan.models._pipeline.PipelineSettings, optional
        Pipeline options (default: the seed study's).
    dose_settings : onescan.dosimetry._dose.DoseSettings, optional
        Target dose (Gy), activity cap (mCi), attenuation (cm⁻¹) and, for a target
        computed from the scans, the dosimetry options.
    seed : int, default 0
        Seed of the CV+ folds and of the repeated cross-validation.
    interval_level : float, default 0.9
        Default level of the prediction intervals.
    interval_folds : int, default 10
        Folds of the CV+ intervals (the number of patients gives the jackknife+).
    interval_method : {"plus", "base", "minmax"}, default "plus"
        Cross-conformal method: CV+ (coverage ≥ 1 − 2α guaranteed, in practice at or
        above 1 − α), CV (narrower, no guarantee) or CV-minmax (widest).
    cv_folds, cv_repeats : int, default 5, 20
        Repeated k-fold cross-validation of the whole pipeline reported in the card
        (``cv_repeats=0`` skips it).
    schedule : {"first", "first+24h"}, default "first"
        Which scans the model reads.
    exclude : iterable of str, default ()
        Patients columns kept out of the features.
    n_jobs : int, optional
        Parallel workers for the fold fits.
    progress : callable, optional
        Called with the number of pipeline fits just completed.

    Returns
    -------
    OnescanModel
        With ``card_`` describing the training (inputs, settings, features and
        ranges, selected features and coefficients, repeated-CV performance).
    """
    from onescan.dosimetry._dose import DoseSettings
    from onescan.evaluation._cv import repeated_cv
    from onescan.features._features import build_features, get_target
    from onescan.contract._io import sha256_file
    from onescan.models._pipeline import PipelineSettings, selected_features
    from onescan.models._registry import build_model

    ps = pipeline_settings if pipeline_settings is not None else PipelineSettings()
    ds = dose_settings if dose_settings is not None else DoseSettings()
    exclude = list(exclude)
    X = build_features(cohort, exclude=exclude, schedule=schedule, mu_per_cm=ds.mu_per_cm)
    y = get_target(cohort, ds)
    target_source = ("prescribed_activity_mci" if "prescribed_activity_mci" in cohort.patients.columns
                     else "computed by the reference dosimetry (onescan dose), capped")
    inputs = {}
    for which, src in cohort.sources.items():
        entry = {"path": str(src)}
        try:
            if src and Path(str(src)).is_file():
                entry["sha256"] = sha256_file(src)
        except OSError:
            pass
        inputs[which] = entry
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
    model = fit_model(
        X, y.to_numpy(), pipeline=build_model(ps, ds), schedule=schedule, exclude=exclude,
        interval_level=interval_level, interval_folds=interval_folds, interval_method=interval_method,
        seed=seed, n_jobs=n_jobs,
        target_gy=ds.target_gy, max_activity_mci=ds.max_activity_mci, mu_per_cm=ds.mu_per_cm,
        card={"inputs": inputs,
              "settings": {"pipeline": _settings_dict(ps), "dose": _settings_dict(ds), "exclude": exclude},
              "target_source": target_source,
              "cross_validation": cv_card},
    )
    if progress is not None:
        progress(1 + model.conformal_.n_folds)
    from onescan.features._features import SCHEDULES

    model.card_["schedule_description"] = SCHEDULES.get(schedule, schedule)
    return model


# --------------------------------------------------------------------------- files


def file_types(data: bytes) -> set[str]:
    """Every type (``module.name``) a skops file holds, read from its schema without loading it.

    Parameters
    ----------
    data : bytes
        Content of a ``.skops`` file.

    Returns
    -------
    set of str

    Raises
    ------
    ValueError
        When the bytes are not a skops archive.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            schema = json.loads(z.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a skops model file ({type(exc).__name__})") from exc
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            mod, cls = node.get("__module__"), node.get("__class__")
            if isinstance(mod, str) and isinstance(cls, str):
                found.add(f"{mod}.{cls}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _foreign_types(data: bytes) -> list[str]:
    import skops.io as sio

    types = file_types(data) | set(sio.get_untrusted_types(data=data))
    return sorted(types - _TRUSTED)


def save_model(model: OnescanModel, path: str | Path) -> tuple[Path, Path]:
    """Write ``model`` to ``path`` (``.skops``) and its card beside it, atomically.

    Parameters
    ----------
    model : OnescanModel
        A fitted model.
    path : str or path-like
        Destination ending in ``.skops``; the card goes to ``<stem>.card.json``.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        Paths of the model file and of its card.

    Raises
    ------
    InputError
        When ``path`` does not end in ``.skops``.
    TypeError
        When the model holds a type outside :data:`TRUSTED_TYPES` (nothing is written).
    """
    import skops.io as sio

    from onescan.contract._io import atomic_write_bytes, atomic_write_text

    p = Path(path)
    if p.suffix.lower() != ".skops":
        raise InputError(Problem(str(p), "a model file name must end in .skops"))
    if not isinstance(model, OnescanModel):
        raise TypeError(f"expected an OnescanModel, got {type(model).__name__}")
    card_seen = model.card
    model.card = None  # the card lives beside the file, not inside it
    try:
        data = sio.dumps(model)
    finally:
        model.card = card_seen
    foreign = _foreign_types(data)
    if foreign:
        raise TypeError("this model holds types outside onescan's allow-list and cannot be saved safely: "
                        + ", ".join(foreign))
    import hashlib

    card = dict(model.card_)
    card["model_file"] = p.name
    card["model_sha256"] = hashlib.sha256(data).hexdigest()
    card["types_in_file"] = sorted(file_types(data))  # informative; trust comes from TRUSTED_TYPES
    cp = card_path_for(p)
    atomic_write_bytes(p, data)
    atomic_write_text(cp, json.dumps(_jsonable(card), indent=2, ensure_ascii=False) + "\n")
    model.card = card
    logger.info("model written (%d bytes) with its card", len(data))
    return p, cp


def load_model(path: str | Path) -> OnescanModel:
    """Read a model written by :func:`save_model`, refusing anything unsafe or altered.

    The file is never unpickled: ``skops.io.load`` rebuilds it from its schema,
    trusting only :data:`TRUSTED_TYPES`.

    Parameters
    ----------
    path : str or path-like
        The ``.skops`` file; its card ``<stem>.card.json`` must be beside it.

    Returns
    -------
    OnescanModel
        With ``card`` set to the card read from disk.

    Raises
    ------
    InputError
        Missing file or card, unreadable card, SHA-256 of the file ≠ the card's, a type
        outside the allow-list, or a file that is not an onescan model.
    """
    import hashlib

    import skops.io as sio

    p = Path(path)
    if not p.is_file():
        raise InputError(Problem(str(p), "model file not found"))
    cp = card_path_for(p)
    if not cp.is_file():
        raise InputError(Problem(str(p), f"refusing to load: its model card {cp.name} is missing (a model is "
                                         "only accepted with the card written beside it by onescan train)"))
    try:
        card = json.loads(cp.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(Problem(str(cp), f"unreadable model card: {exc}")) from exc
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT or "model_sha256" not in card:
        raise InputError(Problem(str(cp), "not an onescan model card (no format / model_sha256)"))
    data = p.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != card["model_sha256"]:
        raise InputError(Problem(str(p), "refusing to load: the file's SHA-256 does not match its model card "
                                         f"(file {digest[:12]}…, card {str(card['model_sha256'])[:12]}…); "
                                         "the model was altered or replaced"))
    try:
        foreign = _foreign_types(data)
    except ValueError as exc:
        raise InputError(Problem(str(p), f"refusing to load: {exc}")) from exc
    except Exception as exc:  # skops schema errors on a malformed archive
        raise InputError(Problem(str(p), f"refusing to load: unreadable skops file "
                                         f"({type(exc).__name__}: {exc})")) from exc
    if foreign:
        raise InputError(Problem(str(p), "refusing to load: the file holds types outside onescan's allow-list: "
                                         + ", ".join(foreign)))
    try:
        model = sio.loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # skops raises UntrustedTypesFoundException, TypeError, ValueError …
        raise InputError(Problem(str(p), f"refusing to load: {type(exc).__name__}: {exc}")) from exc
    if not isinstance(model, OnescanModel) or not isinstance(getattr(model, "conformal_", None),
                                                             CrossConformalPlus):
        raise InputError(Problem(str(p), f"not an onescan model (it holds a {type(model).__name__})"))
    model.card = card
    logger.info("model loaded (trained on %d patients)", model.n_train_)
    return model
