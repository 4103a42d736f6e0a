"""Estimators: the published pipeline, the hybrid model, baselines, conformal intervals, selection."""

from onescan._lazy import lazy_exports

__all__ = ["PipelineSettings", "MissingShareFilter", "make_pipeline", "selected_features", "coefficients", "ModelKind", "MODELS", "build_model", "hybrid_params", "stp_params", "HybridDosimetryRegressor", "LinearOnColumn", "SingleTimePointDosimetry", "CrossConformalPlus", "LogCrossConformal", "SequentialFeatureSelector"]

__getattr__ = lazy_exports(__name__, {
    "PipelineSettings": "onescan.models._pipeline",
    "MissingShareFilter": "onescan.models._pipeline",
    "make_pipeline": "onescan.models._pipeline",
    "selected_features": "onescan.models._pipeline",
    "coefficients": "onescan.models._pipeline",
    "ModelKind": "onescan.models._registry",
    "MODELS": "onescan.models._registry",
    "build_model": "onescan.models._registry",
    "hybrid_params": "onescan.models._registry",
    "stp_params": "onescan.models._registry",
    "HybridDosimetryRegressor": "onescan.models._hybrid",
    "LinearOnColumn": "onescan.models._baselines",
    "SingleTimePointDosimetry": "onescan.models._baselines",
    "CrossConformalPlus": "onescan.models._conformal",
    "LogCrossConformal": "onescan.models._log_conformal",
    "SequentialFeatureSelector": "onescan.models.selection",
})
