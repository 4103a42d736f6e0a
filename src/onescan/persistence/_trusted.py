"""The allow-list of types an onescan model file may hold, written in code (never read from a file).

It is the union of the types every model needs (containers, onescan's model classes, the
published pipeline's steps and the selectors' scorers) and the ``trusted_types`` of every
final model of the registry :data:`onescan.models._registry.MODELS`, so a model kind added
to the registry is saved and loaded once its entry lists its types.
"""

from __future__ import annotations

from onescan.models._registry import MODELS

__all__ = ["BASE_TYPES", "TRUSTED_TYPES", "trusted_types"]

#: Types of every onescan model file, whatever its final model. They cover every option of
#: :class:`onescan.models._pipeline.PipelineSettings` except the final model (filter,
#: imputer, scalers, both selectors with their Lasso and scorers) and onescan's model classes.
BASE_TYPES: tuple[str, ...] = (
    # containers and scalars
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.set", "builtins.str",
    "builtins.int", "builtins.float", "builtins.bool", "builtins.NoneType", "builtins.slice",
    "numpy.ndarray", "numpy.dtype", "numpy.float64", "numpy.float32", "numpy.int64",
    "numpy.int32", "numpy.bool_", "numpy.bool", "numpy.str_", "numpy.object_",
    # onescan
    "onescan.studies._clinic.OnescanModel",
    "onescan.models._conformal.CrossConformalPlus",
    "onescan.models._pipeline.MissingShareFilter",
    "onescan.models.selection._selector.SequentialFeatureSelector",
    # scikit-learn steps the pipeline options can produce
    "sklearn.pipeline.Pipeline",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.preprocessing._data.RobustScaler",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.linear_model._coordinate_descent.Lasso",  # the selectors' estimator
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


def trusted_types() -> tuple[str, ...]:
    """:data:`BASE_TYPES` followed by each registry model's ``trusted_types`` (no repeats, in order)."""
    out = dict.fromkeys(BASE_TYPES)
    for kind in MODELS.values():
        out.update(dict.fromkeys(kind.trusted_types))
    return tuple(out)


#: Every type an onescan model file may hold, by fully qualified name: :func:`save_model`
#: refuses to write, and :func:`load_model` to read, a file holding any other type.
TRUSTED_TYPES: tuple[str, ...] = trusted_types()
