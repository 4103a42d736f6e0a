"""The schedule study's methods: one registry entry each.

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

A new method is one :class:`ScheduleMethod` in :data:`METHODS`: its label, the scans it
reads, its kind, its colour in the figures and its ``predict`` function. The report's
rows, labels, colours and line styles all come from this table.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from operator import attrgetter
from typing import Callable, Sequence

import numpy as np

from onescan.contract._organs import limiting_organ
from onescan.dosimetry._stp import hanscheid_tiac_h, population_half_life_h, stp_tiac_h, two_point_tiac_h
from onescan.studies.schedule._data import StudyData

__all__ = ["Kind", "KINDS", "ScheduleMethod", "MethodInfo", "METHODS", "fit_predict_methods"]

_ORGAN = limiting_organ()


@dataclass(frozen=True)
class Kind:
    """A kind of method and how the figures draw it: colour of its points, style of its lines."""

    colour: str
    linestyle: str


#: Kinds of method: the reference (never drawn), dosimetry from fewer scans, machine learning.
KINDS: dict[str, Kind] = {
    "reference": Kind("#7f7f7f", ":"),
    "dosimetry": Kind("#1f77b4", "--"),
    "ml": Kind("#d62728", "-"),
}


class _Context:
    """What a method's ``predict`` reads: the training and test rows and the settings."""

    def __init__(self, train: StudyData, test: StudyData, pipeline_settings, dose_settings):
        self.train, self.test = train, test
        self.pipeline_settings, self.dose_settings = pipeline_settings, dose_settings
        self.kin = test.kin
        self.mass_g = test.kin[_ORGAN.mass_column].to_numpy(float)

    @functools.cached_property
    def lam_pop(self) -> float:
        """Population effective decay constant (1/h) of the *training* patients' full dosimetry."""
        return math.log(2.0) / population_half_life_h(self.train.kin["half_life_full_h"])

    @functools.cached_property
    def lam_phys(self) -> float:
        """Physical decay constant of the nuclide, 1/h."""
        from onescan.dosimetry._physics import lambda_phys_per_h

        return lambda_phys_per_h(getattr(self.dose_settings, "nuclide", "I-131"))

    def activity(self, tiac_h) -> np.ndarray:
        """Activity (mCi, uncapped) that gives the target dose with TIAC ``tiac_h`` (h)."""
        from onescan.dosimetry._dose import activity_for_target_mci

        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(activity_for_target_mci(tiac_h, self.mass_g, self.dose_settings), dtype=float)


@dataclass(frozen=True)
class ScheduleMethod:
    """A method of the schedule study.

    Attributes
    ----------
    key : str
        Name in ``metrics.json``, tables and ``ScheduleSettings.methods``.
    label : str
        Words for the report.
    scans : str
        The scans it reads: ``"all"``, ``"first"``, ``"24 h"`` or ``"first + 24 h"``.
    kind : str
        A key of :data:`KINDS`: ``"reference"``, ``"dosimetry"`` or ``"ml"``.
    colour : str
        Its colour in the figures that draw one line per method.
    predict : callable
        ``predict(context)`` → activity per test patient, mCi (uncapped; NaN where it cannot apply).
    factory : callable, optional
        ML methods: ``factory(pipeline_settings, dose_settings)`` → unfitted estimator.
    """

    key: str
    label: str
    scans: str
    kind: str
    colour: str
    predict: Callable[[_Context], np.ndarray]
    factory: Callable | None = None

    @property
    def linestyle(self) -> str:
        """Line style of its kind."""
        return KINDS[self.kind].linestyle

    @property
    def kind_colour(self) -> str:
        """Colour of its kind."""
        return KINDS[self.kind].colour


#: Former name of :class:`ScheduleMethod` (label, scans and kind are read the same way).
MethodInfo = ScheduleMethod


def _lasso(pipeline_settings, dose_settings):
    from onescan.models._pipeline import PipelineSettings, make_pipeline

    ps = pipeline_settings if pipeline_settings is not None else PipelineSettings()
    if ps.model != "lasso":
        ps = ps.model_copy(update={"model": "lasso"})
    return make_pipeline(ps)


def _hybrid(pipeline_settings, dose_settings):
    from onescan.models._hybrid import make_model
    from onescan.models._pipeline import PipelineSettings

    ps = pipeline_settings if pipeline_settings is not None else PipelineSettings()
    return make_model(ps, dose_settings)


def _ml(factory, design: Callable[[StudyData], object]):
    """``predict`` of an ML method: fit ``factory``'s model on the training rows' ``design`` matrix."""
    def predict(ctx: _Context) -> np.ndarray:
        Xtr = design(ctx.train)
        Xte = design(ctx.test).reindex(columns=Xtr.columns)
        model = factory(ctx.pipeline_settings, ctx.dose_settings).fit(Xtr, ctx.train.y)
        return np.asarray(model.predict(Xte), dtype=float)

    return predict


_FIRST = attrgetter("X_first")
_FIRST_24H = attrgetter("X_24")


def _entries() -> list[ScheduleMethod]:
    return [
        ScheduleMethod("all_scans", "All scans: full MIRD dosimetry (reference)", "all", "reference", "#17becf",
                       lambda c: c.kin["ref_mci"].to_numpy(float)),
        ScheduleMethod("stp_first", "First scan: STP, population half-life", "first", "dosimetry", "#1f77b4",
                       lambda c: c.activity(stp_tiac_h(c.kin["f1"], c.kin["t1_h"], c.lam_pop))),
        ScheduleMethod("hanscheid_24h", "24 h scan: Hänscheid (T_eff = t)", "24 h", "dosimetry", "#ff7f0e",
                       lambda c: c.activity(hanscheid_tiac_h(c.kin["f24"], c.kin["t24_h"]))),
        ScheduleMethod("stp_24h", "24 h scan: STP, population half-life", "24 h", "dosimetry", "#2ca02c",
                       lambda c: c.activity(stp_tiac_h(c.kin["f24"], c.kin["t24_h"], c.lam_pop))),
        ScheduleMethod("two_point", "First + 24 h: two-point mono-exponential", "first + 24 h", "dosimetry",
                       "#d62728", lambda c: c.activity(two_point_tiac_h(c.kin["f1"], c.kin["t1_h"], c.kin["f24"],
                                                                        c.kin["t24_h"], c.lam_phys))),
        ScheduleMethod("lasso_first", "Published LASSO, first scan", "first", "ml", "#9467bd",
                       _ml(_lasso, _FIRST), _lasso),
        ScheduleMethod("hybrid_first", "Hybrid (clearance ML + MIRD), first scan", "first", "ml", "#8c564b",
                       _ml(_hybrid, _FIRST), _hybrid),
        ScheduleMethod("lasso_first_24h", "Published LASSO, first + 24 h", "first + 24 h", "ml", "#e377c2",
                       _ml(_lasso, _FIRST_24H), _lasso),
        ScheduleMethod("hybrid_first_24h", "Hybrid (clearance ML + MIRD), first + 24 h", "first + 24 h", "ml",
                       "#7f7f7f", _ml(_hybrid, _FIRST_24H), _hybrid),
    ]


#: The methods, in report order: key → :class:`ScheduleMethod`.
METHODS: dict[str, ScheduleMethod] = {m.key: m for m in _entries()}


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
    from onescan.dosimetry._dose import DoseSettings

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown schedule methods {unknown}; valid: {list(METHODS)}")
    ds = dose_settings if dose_settings is not None else DoseSettings()
    ctx = _Context(train, test, pipeline_settings, ds)
    return {meth: METHODS[meth].predict(ctx) for meth in methods}
