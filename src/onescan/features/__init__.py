"""The feature table of the models: patient columns plus first-scan uptakes (never later scans)."""

from onescan._lazy import lazy_exports

__all__ = ["SCHEDULES", "TARGET_COLUMN", "first_scan_features", "build_features", "get_target"]

__getattr__ = lazy_exports(__name__, {
    "SCHEDULES": "onescan.features._features",
    "TARGET_COLUMN": "onescan.features._features",
    "first_scan_features": "onescan.features._features",
    "build_features": "onescan.features._features",
    "get_target": "onescan.features._features",
})
