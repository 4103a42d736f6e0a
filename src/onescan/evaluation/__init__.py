"""Metrics, the published split and repeated cross-validation of whole pipelines."""

from onescan._lazy import lazy_exports

__all__ = ["regression_metrics", "calibration", "bland_altman", "published_split", "repeated_cv", "CVResult",
           "summarise", "run_repeated_cv"]

__getattr__ = lazy_exports(__name__, {
    "regression_metrics": "onescan.evaluation._metrics",
    "calibration": "onescan.evaluation._metrics",
    "bland_altman": "onescan.evaluation._metrics",
    "summarise": "onescan.evaluation._metrics",
    "published_split": "onescan.evaluation._splits",
    "repeated_cv": "onescan.evaluation._cv",
    "CVResult": "onescan.evaluation._engine",
    "run_repeated_cv": "onescan.evaluation._engine",
})
