"""The methods ``onescan reproduce`` compares: one registry entry each.

Every entry has its key (in ``metrics.json``), its label and short label (tables, axes), its
colour and marker in the figures, and a ``build`` function that makes the unfitted estimator
and the columns it reads from the cohort (or says why it cannot run on this cohort). The
report reads labels, colours and markers from here only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from onescan.contract._organs import limiting_organ

__all__ = ["ReproduceMethod", "Built", "METHODS", "HYBRID_COLUMNS", "HALF_LIFE_COLUMN", "build_methods"]

_ORGAN = limiting_organ()

#: Columns the hybrid model reads for its dosimetry (first-image uptake of the dose-limiting organ,
#: its mass in g, first scan time in h).
HYBRID_COLUMNS = (_ORGAN.uptake_first_column, _ORGAN.mass_column, "first_scan_time_h")

#: The full-dosimetry effective half-life (h), read at fit time only by the single-time-point baseline.
HALF_LIFE_COLUMN = _ORGAN.column("effective_half_life_h")


@dataclass
class Built:
    """What :attr:`ReproduceMethod.build` made: the estimator (None: skipped), its columns, notes."""

    estimator: object | None
    columns: list[str] = field(default_factory=list)
    selected: Callable | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReproduceMethod:
    """A method of the reproduce study.

    Attributes
    ----------
    key : str
    label : str
        Long label (the report's method list).
    short : str
        Short label (table columns, axes).
    colour : str
        Colour in every figure.
    marker : tuple of (str, float, int)
        Marker, marker size and z-order in the predicted-vs-prescribed figure.
    addition : bool
        onescan's addition, not in the paper (the report marks it).
    build : callable
        ``build(X, feature_cols, pipeline_settings, dose_settings)`` → :class:`Built`.
    """

    key: str
    label: str
    short: str
    colour: str
    marker: tuple[str, float, int]
    addition: bool
    build: Callable[..., Built]


def _lasso(X, feature_cols, ps, ds) -> Built:
    from onescan.models._pipeline import make_pipeline, selected_features

    return Built(make_pipeline(ps), feature_cols, selected_features)


def _hybrid(X, feature_cols, ps, ds) -> Built:
    from onescan.models._hybrid import hybrid_selected_features, make_model

    missing = [c for c in HYBRID_COLUMNS if c not in X.columns]
    if missing:
        return Built(None, notes=["hybrid model skipped: the cohort has no " + ", ".join(missing) + " column"])
    bad = int((~(X[list(HYBRID_COLUMNS)].to_numpy(dtype=float) >= 0).all(axis=1)
               | ~(X[list(HYBRID_COLUMNS[:2])].to_numpy(dtype=float) > 0).all(axis=1)).sum())
    if bad:
        return Built(None, notes=[f"hybrid model skipped: {bad} patients lack a positive first-image "
                                  f"{_ORGAN.label} uptake, {_ORGAN.label} mass or first-scan time"])
    extra = [c for c in HYBRID_COLUMNS if c not in feature_cols]
    notes = []
    if extra:
        notes.append("the hybrid model reads " + ", ".join(extra) + " for its dosimetry although "
                     "excluded from the features, so its selector may also choose it")
    return Built(make_model(ps, ds, cap_predictions=True), feature_cols + extra, hybrid_selected_features, notes)


def _body_mass(X, feature_cols, ps, ds) -> Built:
    from onescan.models._baselines import LinearOnColumn

    if "weight_kg" in X.columns and X["weight_kg"].notna().sum() >= 2:
        return Built(LinearOnColumn("weight_kg"), ["weight_kg"])
    return Built(None, notes=["body-mass baseline skipped: the cohort has no weight_kg column"])


def _organ_mass(X, feature_cols, ps, ds) -> Built:
    from onescan.models._baselines import LinearOnColumn

    return Built(LinearOnColumn(_ORGAN.mass_column), [_ORGAN.mass_column])


def _stp(X, feature_cols, ps, ds) -> Built:
    from onescan.models._baselines import STP_COLUMNS, SingleTimePointDosimetry
    from onescan.models._registry import stp_params

    if _ORGAN.uptake_first_column in X.columns:
        return Built(SingleTimePointDosimetry(half_life_column=HALF_LIFE_COLUMN, **stp_params(ds)),
                     list(STP_COLUMNS) + [HALF_LIFE_COLUMN])
    return Built(None, notes=[f"single-time-point baseline skipped: no {_ORGAN.label} region at the first scan"])


_DEFAULT_MARKER = ("x", 18, 2)

#: The methods, in report order: key → :class:`ReproduceMethod`.
METHODS: dict[str, ReproduceMethod] = {m.key: m for m in (
    ReproduceMethod("lasso", "LASSO pipeline (one scan + clinical)", "LASSO", "#1f77b4", ("o", 40, 4), False,
                    _lasso),
    ReproduceMethod("hybrid", f"Hybrid: learnt {_ORGAN.label} clearance + MIRD dosimetry (onescan's addition, "
                    "not in the paper)", "hybrid", "#9467bd", ("s", 30, 3), True, _hybrid),
    ReproduceMethod("body_mass", "Linear on body mass", "body mass", "#ff7f0e", _DEFAULT_MARKER, False, _body_mass),
    ReproduceMethod(f"{_ORGAN.key}_mass", f"Linear on {_ORGAN.label} mass", f"{_ORGAN.label} mass", "#2ca02c",
                    _DEFAULT_MARKER, False, _organ_mass),
    ReproduceMethod("stp", "Single time point MIRD", "single time point", "#d62728", _DEFAULT_MARKER, False, _stp),
)}


def build_methods(X: pd.DataFrame, feature_cols: list[str], pipeline_settings, dose_settings,
                  hybrid: bool = True) -> tuple[dict, dict, dict, list[str]]:
    """The methods that can run on this cohort, the columns each sees, selected-feature readers, notes.

    Parameters
    ----------
    X : pandas.DataFrame
        Design matrix of all methods (features plus what only the baselines read).
    feature_cols : list of str
        The features proper (what the LASSO pipeline reads).
    pipeline_settings : onescan.models._pipeline.PipelineSettings
    dose_settings : onescan.dosimetry._dose.DoseSettings or None
    hybrid : bool, default True
        Include the hybrid model.

    Returns
    -------
    models, columns, selected : dict
        key → unfitted estimator / list of columns / function of the fitted estimator giving
        its selected features (models that select).
    notes : list of str
        Why a method was skipped, or how it reads the data.
    """
    models, columns, selected, notes = {}, {}, {}, []
    for key, method in METHODS.items():
        if method.addition and not hybrid:
            continue
        built = method.build(X, feature_cols, pipeline_settings, dose_settings)
        notes.extend(built.notes)
        if built.estimator is None:
            continue
        models[key] = built.estimator
        columns[key] = built.columns
        if built.selected is not None:
            selected[key] = built.selected
    return models, columns, selected, notes
