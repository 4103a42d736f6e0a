"""Metrics, the published split, repeated cross-validation of whole pipelines and honest intervals (nested CV)."""

from onescan._lazy import lazy_exports

__all__ = ["regression_metrics", "calibration", "bland_altman", "published_split", "repeated_cv", "CVResult",
           "summarise", "run_repeated_cv", "nested_cv", "HonestIntervals", "paired_difference", "ncv_interval",
           "patient_bootstrap", "verdict"]

__getattr__ = lazy_exports(__name__, {
    "regression_metrics": "onescan.evaluation._metrics",
    "calibration": "onescan.evaluation._metrics",
    "bland_altman": "onescan.evaluation._metrics",
    "summarise": "onescan.evaluation._metrics",
    "published_split": "onescan.evaluation._splits",
    "repeated_cv": "onescan.evaluation._cv",
    "CVResult": "onescan.evaluation._engine",
    "run_repeated_cv": "onescan.evaluation._engine",
    "nested_cv": "onescan.evaluation._cv",
    "HonestIntervals": "onescan.evaluation._cv",
    "paired_difference": "onescan.evaluation._ncv",
    "ncv_interval": "onescan.evaluation._ncv",
    "patient_bootstrap": "onescan.evaluation._ncv",
    "verdict": "onescan.evaluation._ncv",
})
