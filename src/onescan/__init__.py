"""onescan: one-scan prediction of I-131 apamistamab therapeutic activity.

The public API. Layers, lowest first (each imports only the ones below it):
:mod:`onescan.contract` → :mod:`onescan.dosimetry` → :mod:`onescan.features` →
:mod:`onescan.models` → :mod:`onescan.evaluation` → :mod:`onescan.studies` →
:mod:`onescan.report` → :mod:`onescan.cli`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from onescan._lazy import lazy_exports  # noqa: E402
from onescan.contract._errors import InputError, Problem  # noqa: E402

_LAZY = {
    # data contract
    "Cohort": "onescan.contract._cohort", "load_cohort": "onescan.contract._cohort",
    "validate_cohort": "onescan.contract._cohort",
    "read_table": "onescan.contract._io", "write_table": "onescan.contract._io",
    # dosimetry
    "DoseSettings": "onescan.dosimetry._dose", "compute_dose": "onescan.dosimetry._dose",
    # models
    "PipelineSettings": "onescan.models._pipeline", "make_pipeline": "onescan.models._pipeline",
    "build_model": "onescan.models._registry",
    "HybridDosimetryRegressor": "onescan.models._hybrid",
    "LinearOnColumn": "onescan.models._baselines", "SingleTimePointDosimetry": "onescan.models._baselines",
    "CrossConformalPlus": "onescan.models._conformal",
    "SequentialFeatureSelector": "onescan.models.selection",
    # studies
    "reproduce": "onescan.studies._reproduce", "ReproduceResult": "onescan.studies._reproduce",
    "schedule_study": "onescan.studies._schedule", "ScheduleSettings": "onescan.studies._schedule",
    "simulate_cohort": "onescan.studies.simulate", "SimulatedCohort": "onescan.studies.simulate",
    "default_cohort": "onescan.studies.simulate",
    "train": "onescan.studies._clinic", "OnescanModel": "onescan.studies._clinic",
    # model files
    "load_model": "onescan.persistence._skops", "save_model": "onescan.persistence._skops",
    # outputs
    "write_outputs": "onescan.report._reproduce_report",
    "write_schedule_outputs": "onescan.report._schedule_report",
}

__all__ = ["InputError", "Problem", "__version__", *_LAZY]

# Public names imported on first use, so `import onescan` (and the CLI) stays light.
__getattr__ = lazy_exports(__name__, _LAZY)
