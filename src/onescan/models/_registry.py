"""The final models a pipeline setting can name, in one registry.

Each :class:`ModelKind` says how to build the model from the pipeline settings, what its
coefficients are in, and which types a fitted model of that kind holds (the types
``skops.io`` must trust to load it); the CLI choices, the clinic model, the studies and the
model files read this table, so a new final model is one entry here.

The estimators take flat scikit-learn parameters (numbers and strings); the settings objects
(:class:`~onescan.models._pipeline.PipelineSettings`,
:class:`~onescan.dosimetry._dose.DoseSettings`) belong to the command line and the studies,
and the registry translates them (:func:`build_model`; :func:`hybrid_params` and
:func:`stp_params`, defined in :mod:`onescan.models._flat_params`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from onescan.models._flat_params import hybrid_params, stp_params

__all__ = ["ModelKind", "MODELS", "build_model", "hybrid_params", "stp_params", "PIPELINE_TRUSTED_TYPES"]

#: Types a fitted linear pipeline of any :class:`~onescan.models._pipeline.PipelineSettings`
#: holds (every scaler, imputer strategy, selector and final regressor the settings can name,
#: the selectors' scorers, and the containers and numpy types of their fitted attributes), by
#: fully qualified name as ``skops.io`` records them.
PIPELINE_TRUSTED_TYPES: tuple[str, ...] = (
    # containers and scalars
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.set", "builtins.str",
    "builtins.int", "builtins.float", "builtins.bool", "builtins.NoneType", "builtins.slice",
    "numpy.ndarray", "numpy.dtype", "numpy.float64", "numpy.float32", "numpy.int64",
    "numpy.int32", "numpy.bool_", "numpy.bool", "numpy.str_", "numpy.object_",
    # onescan's steps
    "onescan.models._pipeline.MissingShareFilter",
    "onescan.models.selection._selector.SequentialFeatureSelector",
    # scikit-learn steps
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

#: The hybrid model's own class (it holds a linear pipeline, with Lasso, as ``pipeline_``).
HYBRID_TRUSTED_TYPES: tuple[str, ...] = PIPELINE_TRUSTED_TYPES + (
    "onescan.models._hybrid.HybridDosimetryRegressor",
)


def _linear_pipeline(settings, dose_settings=None, **kwargs):
    from onescan.models._pipeline import make_pipeline

    return make_pipeline(settings)


def _hybrid(settings, dose_settings=None, **kwargs):
    from onescan.models._hybrid import HybridDosimetryRegressor

    return HybridDosimetryRegressor(**{**hybrid_params(settings, dose_settings), **kwargs})


@dataclass(frozen=True)
class ModelKind:
    """One final model.

    Attributes
    ----------
    key : str
        The value of ``PipelineSettings.model`` (and of ``--model`` on the command line).
    label : str
        Words for reports.
    factory : callable
        ``factory(pipeline_settings, dose_settings=None, **kwargs)`` → an unfitted estimator
        whose ``predict`` gives the activity in mCi.
    coefficient_unit : str
        Unit of the fitted linear coefficients (per unit of the scaled feature).
    trusted_types : tuple of str
        Every type (``module.name``, as ``skops.io`` records it) a fitted model of this kind
        may hold, for any pipeline settings: the allow-list for storing it with skops.
    """

    key: str
    label: str
    factory: Callable
    coefficient_unit: str = "mCi"
    trusted_types: tuple[str, ...] = PIPELINE_TRUSTED_TYPES


MODELS: dict[str, ModelKind] = {
    "lasso": ModelKind("lasso", "LASSO", _linear_pipeline),
    "ridge": ModelKind("ridge", "ridge regression", _linear_pipeline),
    "linear": ModelKind("linear", "ordinary least squares", _linear_pipeline),
    "hybrid": ModelKind("hybrid", "hybrid: learnt clearance + MIRD dosimetry", _hybrid,
                        coefficient_unit="ln(h) (log of TIAC per first-image uptake)",
                        trusted_types=HYBRID_TRUSTED_TYPES),
}


def build_model(settings=None, dose_settings=None, **kwargs):
    """The unfitted model that ``settings.model`` names (default: the published pipeline).

    Parameters
    ----------
    settings : onescan.models.PipelineSettings, optional
    dose_settings : onescan.dosimetry.DoseSettings, optional
        Used by models that compute the activity by dosimetry (``hybrid``).
    **kwargs
        Further parameters of the model's factory.

    Returns
    -------
    estimator
        Unfitted; ``predict`` gives the activity in mCi. The settings reach the estimator
        as flat parameters (``get_params``).
    """
    from onescan.models._pipeline import PipelineSettings

    s = settings if settings is not None else PipelineSettings()
    return MODELS[s.model].factory(s, dose_settings, **kwargs)
