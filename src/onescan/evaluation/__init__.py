"""Metrics, the published split and repeated cross-validation of whole pipelines."""

from onescan._lazy import lazy_exports

__all__ = ["regression_metrics", "calibration", "bland_altman", "published_split", "repeated_cv", "CVResult"]

__getattr__ = lazy_exports(__name__, {
    "regression_metrics": "onescan.evaluation._cv",
    "calibration": "onescan.evaluation._cv",
    "bland_altman": "onescan.evaluation._cv",
    "published_split": "onescan.evaluation._cv",
    "repeated_cv": "onescan.evaluation._cv",
    "CVResult": "onescan.evaluation._cv",
})
