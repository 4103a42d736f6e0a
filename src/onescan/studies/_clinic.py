"""A model a clinic can use: train it and predict with intervals.

:func:`train` fits the published pipeline (SPEC §3), or any final model of the
registry :data:`onescan.models._registry.MODELS` (``model=``), on a whole cohort,
wraps it in cross-conformal prediction intervals on the log scale, positive and
capped (:class:`onescan.models._log_conformal.LogCrossConformal`; the raw-scale CV+
of :class:`onescan.models._conformal.CrossConformalPlus` stays an option) and measures it by repeated
cross-validation (SPEC §4). The result is an :class:`OnescanModel`, whose
:meth:`OnescanModel.predict` takes a new patients table (and, when the model reads the
first scan, a scans table that may hold the first image only) and returns, per patient,
the predicted activity, its capped value, the interval, the liver dose the capped
activity implies, on request a safe activity with a bounded overdose risk
(:mod:`onescan.studies._clinic_safe`) and plain-language warnings.

The model card's content is built in :mod:`onescan.studies._clinic_card`; model files
(skops, never pickle, with the card beside them) are written and read by
:mod:`onescan.persistence`.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from onescan.contract._errors import InputError, Problem
from onescan.contract._organs import limiting_organ
from onescan.contract._units import MBQ_PER_MCI
from onescan.models._conformal import max_level_for
from onescan.models._log_conformal import LOG_METHODS, LogCrossConformal
from onescan._provenance import settings_dict
from onescan.studies._clinic_card import (
    build_card,
    cross_validation_card,
    direct_columns,
    feature_ranges,
    imputed_values,
    input_hashes,
    selected_and_coefficients,
)
from onescan.studies._clinic_warnings import prediction_warnings
from onescan.studies._clinic_safe import SAFE_COLUMNS, check_risk, safe_columns

__all__ = [
    "OUTPUT_COLUMNS",
    "SAFE_COLUMNS",
    "DOSE_COLUMN",
    "OnescanModel",
    "train",
    "fit_model",
]

logger = logging.getLogger(__name__)

_ORGAN = limiting_organ()
#: Output column: dose (Gy) the capped activity delivers to the dose-limiting organ.
DOSE_COLUMN = _ORGAN.column("dose_gy_at_capped")

#: Columns of :meth:`OnescanModel.predict`, in order.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "predicted_activity_mci",
    "predicted_activity_gbq",
    "predicted_activity_capped_mci",
    "interval_low_mci",
    "interval_high_mci",
    "interval_level",
    DOSE_COLUMN,
    "warnings",
)

#: A patient whose earliest scan is later than the latest first scan seen in training
#: plus this margin (h) has no first image: its "first-scan" uptakes would be measured
#: on a later image, so the model cannot be applied (SPEC §3).
FIRST_SCAN_MARGIN_H = 12.0

#: Features read from the scans (the others come from the patients table).
_SCAN_FEATURE_RE = re.compile(r"^(uptake_(first|24h)_.+|first_scan_time_h|scan_24h_time_h)$")


# --------------------------------------------------------------------------- the model


class OnescanModel:
    """A fitted one-scan model: the pipeline, its conformal intervals and its card.

    Build it with :func:`train` (from a cohort) or :func:`fit_model` (from a feature
    table); read it with :func:`load_model`. Attributes ending in ``_`` were learned.

    Attributes
    ----------
    conformal_ : LogCrossConformal
        The pipeline fitted on every training patient (``conformal_.estimator_``), the
        fold pipelines, the out-of-fold residuals (mCi) and log-ratio scores of the
        cross-conformal intervals and of the safe activity. (A file written before the
        log scores existed holds a :class:`~onescan.models._conformal.CrossConformalPlus`.)
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

    def predict(self, patients, scans=None, level=None, max_overdose_risk=None) -> pd.DataFrame:
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
        max_overdose_risk : float, optional
            R in (0, 1): adds :data:`SAFE_COLUMNS`, the largest activity whose conformal
            probability of exceeding 1.1 × the ideal activity is at most R
            (:mod:`onescan.studies._clinic_safe`).

        Returns
        -------
        pandas.DataFrame
            One row per patient (patients-table order) with :data:`OUTPUT_COLUMNS`:
            ``predicted_activity_mci`` (mCi; for the log interval methods the model's
            output raised to the lowest training activity, so positive) and ``_gbq``
            (GBq), the value clipped to [0, ``max_activity_mci``] (mCi), the conformal
            interval (mCi) at ``interval_level`` (log methods: positive, clipped to the
            maximum activity), :data:`DOSE_COLUMN` (``liver_dose_gy_at_capped``) = ``target_gy`` ×
            capped / predicted (Gy; NaN for a non-positive prediction) and ``warnings``
            (";"-separated; empty when none); with ``max_overdose_risk``, the
            :data:`SAFE_COLUMNS` before ``warnings``.

        Raises
        ------
        InputError
            Invalid tables, a selected feature missing entirely, a patient without a
            first scan (models that read it), an invalid ``level`` or ``max_overdose_risk``.
        """
        level = self._check_level(level)
        risk = None if max_overdose_risk is None else check_risk(max_overdose_risk, self.n_train_)
        X = self.features(patients, scans)
        return self._predict_features(X, level, risk)

    def predict_cohort(self, cohort, level=None, max_overdose_risk=None) -> pd.DataFrame:
        """:meth:`predict` for an already loaded :class:`onescan.contract._cohort.Cohort`.

        Parameters
        ----------
        cohort : onescan.contract._cohort.Cohort
            Validated cohort (e.g. from ``load_cohort(..., need_dosimetry=False)``).
        level : float, optional
            Interval level (default: the model's).
        max_overdose_risk : float, optional
            As in :meth:`predict`.

        Returns
        -------
        pandas.DataFrame
            As :meth:`predict`.
        """
        level = self._check_level(level)
        risk = None if max_overdose_risk is None else check_risk(max_overdose_risk, self.n_train_)
        return self._predict_features(self._features_from_cohort(cohort), level, risk)

    def load_rules(self) -> dict:
        """Keyword arguments of :func:`onescan.contract._cohort.load_cohort` for this model's input.

        Nothing the model does not use is required: no dosimetric activity, no target,
        no second scan; the scans table only when a scan feature was selected.
        """
        return dict(need_dosimetry=False, need_target=False, need_scans=bool(self.scan_features_),
                    need_activity=False, min_liver_points=0)

    @property
    def interval_method_(self) -> str:
        """Default interval method of the conformal wrapper (``"log"``, ``"plus"`` …)."""
        return str(self.conformal_.method)

    def intervals(self, X: pd.DataFrame, level: float, method: str | None = None):
        """Point prediction and interval (mCi) as :meth:`predict` reports them, for any method.

        Parameters
        ----------
        X : pandas.DataFrame
            Feature table (:meth:`features`).
        level : float
            Interval level (0–1).
        method : str, optional
            Interval method (default: the model's).

        Returns
        -------
        y_pred, low, high : numpy.ndarray
            The point prediction and the interval widened to contain it (its capped
            value for the log methods, whose bounds never exceed the maximum activity):
            the point comes from the model fitted on every patient, the bounds from the
            fold models, so they need not bracket it; widening only raises coverage.
        """
        method = self.interval_method_ if method is None else method
        y_pred, low, high = self.conformal_.predict_interval(X, level=level, method=method)
        inner = np.minimum(y_pred, self.max_activity_mci) if method in LOG_METHODS else y_pred
        return y_pred, np.minimum(low, inner), np.maximum(high, inner)

    def _predict_features(self, X: pd.DataFrame, level: float, risk: float | None = None) -> pd.DataFrame:
        y_pred, low, high = self.intervals(X, level)
        raw = self.conformal_.predict_raw(X) if hasattr(self.conformal_, "predict_raw") else y_pred
        capped = np.clip(y_pred, 0.0, self.max_activity_mci)
        with np.errstate(divide="ignore", invalid="ignore"):
            dose = np.where(y_pred > 0, self.target_gy * capped / y_pred, np.nan)
        warnings = prediction_warnings(self, X, y_pred, raw)
        safe = {} if risk is None else safe_columns(self.conformal_, X, risk, capped, self.max_activity_mci)
        out = pd.DataFrame({
            "patient_id": X.index.astype(str),
            "predicted_activity_mci": y_pred,
            "predicted_activity_gbq": y_pred * MBQ_PER_MCI / 1000.0,
            "predicted_activity_capped_mci": capped,
            "interval_low_mci": low,
            "interval_high_mci": high,
            "interval_level": level,
            DOSE_COLUMN: dose,
            **safe,
            "warnings": warnings,
        })
        columns = list(OUTPUT_COLUMNS[:-1]) + (list(SAFE_COLUMNS) if safe else []) + [OUTPUT_COLUMNS[-1]]
        return out.loc[:, columns].reset_index(drop=True)


# --------------------------------------------------------------------------- fitting


def fit_model(X: pd.DataFrame, y, *, pipeline, schedule: str = "first", exclude: Iterable[str] = (),
              interval_level: float = 0.9, interval_folds: int = 10, interval_method: str = "log",
              seed: int = 0, n_jobs: int | None = None, target_gy: float = 24.0,
              max_activity_mci: float = 1030.0, mu_per_cm: float = 0.110, coefficient_unit: str = "mCi",
              card: dict | None = None) -> OnescanModel:
    """Fit a model and its CV+ intervals on a feature table (the core of :func:`train`).

    Parameters
    ----------
    X : pandas.DataFrame
        Feature table, one row per patient (index ``patient_id``), as from
        :func:`onescan.features._features.build_features`.
    y : array-like
        Target activity (mCi), aligned with ``X``.
    pipeline : estimator
        Unfitted final model, e.g. a pipeline of :func:`onescan.models._pipeline.make_pipeline`
        or any model of :func:`onescan.models._registry.build_model`.
    schedule : str, default "first"
        Which scans the features read.
    exclude : iterable of str, default ()
        Patients columns kept out of the features (recorded for prediction).
    interval_level : float, default 0.9
        Default interval level.
    interval_folds : int, default 10
        Folds of the CV+ intervals (the number of patients gives the jackknife+).
    interval_method : {"log", "log-plus", "plus", "base", "minmax"}, default "log"
        Cross-conformal method (see :class:`onescan.models._log_conformal.LogCrossConformal`).
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
    coefficient_unit : str, default "mCi"
        Unit of the fitted coefficients written in the card (the registry's
        ``ModelKind.coefficient_unit``).
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
    conf = LogCrossConformal(pipeline, n_folds=min(interval_folds, len(y)), shuffle=True, random_state=seed,
                             n_jobs=n_jobs, method=interval_method, max_value=max_activity_mci).fit(X, y)
    selected, coefs, intercept = selected_and_coefficients(conf.estimator_)
    used = [f for f in selected if coefs.get(f, 1.0) != 0.0]
    used += [f for f in direct_columns(conf.estimator_, X.columns) if f not in used]
    info = feature_ranges(X)
    for f in info:
        info[f]["selected"] = f in selected
        info[f]["used"] = f in used
    scan_feats = [f for f in used if _SCAN_FEATURE_RE.match(f)]
    t_max = float(np.nanmax(X["first_scan_time_h"])) if "first_scan_time_h" in X.columns \
        and X["first_scan_time_h"].notna().any() else None
    model_card = build_card(X, y, conf, info=info, selected=selected, used=used, scan_features=scan_feats,
                            coefs=coefs, intercept=intercept, coefficient_unit=coefficient_unit, seed=seed,
                            schedule=schedule, target_gy=target_gy, max_activity_mci=max_activity_mci,
                            interval_method=interval_method, interval_level=interval_level, extra=card)
    model = OnescanModel(
        conformal_=conf, feature_names_=[str(c) for c in X.columns], selected_features_=selected,
        used_features_=used, scan_features_=scan_feats, feature_info_=info,
        imputed_values_=imputed_values(conf.estimator_),
        first_scan_time_max_h=t_max, schedule=schedule, exclude=list(exclude), mu_per_cm=mu_per_cm,
        target_gy=target_gy, max_activity_mci=max_activity_mci, interval_level=interval_level,
        card_=model_card,
    )
    logger.info("model fitted on %d patients; %d features selected", len(y), len(selected))
    return model


def _pipeline_settings(pipeline_settings, model: str | None):
    """The pipeline settings to train with: ``pipeline_settings`` (default: the seed study's) with ``model``."""
    from onescan.models._pipeline import PipelineSettings

    ps = pipeline_settings if pipeline_settings is not None else PipelineSettings()
    if model is None:
        return ps
    return PipelineSettings.model_validate({**ps.model_dump(), "model": model})


def train(cohort, *, model: str | None = None, pipeline_settings=None, dose_settings=None, seed: int = 0,
          interval_level: float = 0.9, interval_folds: int = 10, interval_method: str = "log",
          cv_folds: int = 5, cv_repeats: int = 20, schedule: str = "first",
          exclude: Iterable[str] = (), n_jobs: int | None = None,
          progress: Callable[[int], None] | None = None) -> OnescanModel:
    """Train the published model, or another final model of the registry, on a whole cohort (SPEC §3–§4).

    Parameters
    ----------
    cohort : onescan.contract._cohort.Cohort
        Training cohort; the target is ``prescribed_activity_mci`` or, when absent,
        the capped activity computed by the reference dosimetry (``dose_settings``).
    model : str, optional
        Final model, a key of :data:`onescan.models._registry.MODELS` (``"lasso"``,
        ``"ridge"``, ``"linear"``, ``"hybrid"``); overrides ``pipeline_settings.model``.
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
    interval_method : {"log", "log-plus", "plus", "base", "minmax"}, default "log"
        Cross-conformal method: on the log scale (positive, clipped to the maximum
        activity) CV (``"log"``) or CV+ (``"log-plus"``); on the raw scale (mCi) CV+
        (coverage ≥ 1 − 2α guaranteed, measured above 1 − α), CV (no guarantee) or
        CV-minmax (widest).
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

    Raises
    ------
    pydantic.ValidationError
        When ``model`` is not a key of the registry.
    """
    from onescan.dosimetry._dose import DoseSettings
    from onescan.features._features import SCHEDULES, build_features, get_target
    from onescan.models._registry import MODELS, build_model

    ps = _pipeline_settings(pipeline_settings, model)
    ds = dose_settings if dose_settings is not None else DoseSettings()
    exclude = list(exclude)
    X = build_features(cohort, exclude=exclude, schedule=schedule, mu_per_cm=ds.mu_per_cm)
    y = get_target(cohort, ds)
    target_source = ("prescribed_activity_mci" if "prescribed_activity_mci" in cohort.patients.columns
                     else "computed by the reference dosimetry (onescan dose), capped")
    cv_card = cross_validation_card(X, y, ps, ds, cv_folds=cv_folds, cv_repeats=cv_repeats, seed=seed,
                                n_jobs=n_jobs, progress=progress)
    fitted = fit_model(
        X, y.to_numpy(), pipeline=build_model(ps, ds), schedule=schedule, exclude=exclude,
        interval_level=interval_level, interval_folds=interval_folds, interval_method=interval_method,
        seed=seed, n_jobs=n_jobs,
        target_gy=ds.target_gy, max_activity_mci=ds.max_activity_mci, mu_per_cm=ds.mu_per_cm,
        coefficient_unit=MODELS[ps.model].coefficient_unit,
        card={"inputs": input_hashes(cohort),
              "settings": {"pipeline": settings_dict(ps), "dose": settings_dict(ds), "exclude": exclude},
              "target_source": target_source,
              "cross_validation": cv_card},
    )
    if progress is not None:
        progress(1 + fitted.conformal_.n_folds)
    fitted.card_["schedule_description"] = SCHEDULES.get(schedule, schedule)
    return fitted
