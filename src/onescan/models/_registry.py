"""The final models a pipeline setting can name, in one registry.

Each :class:`ModelKind` says how to build the model from the pipeline settings and what its
predictions are; the CLI choices, the clinic model and the studies read this table, so a
new final model is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["ModelKind", "MODELS", "build_model"]


def _linear_pipeline(settings, dose_settings=None, **kwargs):
    from onescan.models._pipeline import make_pipeline

    return make_pipeline(settings)


def _hybrid(settings, dose_settings=None, **kwargs):
    from onescan.models._hybrid import make_model

    return make_model(settings, dose_settings, **kwargs)


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
        Fully qualified names of the types a fitted model of this kind holds beyond the
        published pipeline's steps (its final estimator and what it stores); the model-file
        allow-list of :mod:`onescan.persistence` is built from these.
    """

    key: str
    label: str
    factory: Callable
    coefficient_unit: str = "mCi"
    trusted_types: tuple[str, ...] = ()


MODELS: dict[str, ModelKind] = {
    "lasso": ModelKind("lasso", "LASSO", _linear_pipeline,
                       trusted_types=("sklearn.linear_model._coordinate_descent.Lasso",)),
    "ridge": ModelKind("ridge", "ridge regression", _linear_pipeline,
                       trusted_types=("sklearn.linear_model._ridge.Ridge",)),
    "linear": ModelKind("linear", "ordinary least squares", _linear_pipeline,
                        trusted_types=("sklearn.linear_model._base.LinearRegression",)),
    "hybrid": ModelKind("hybrid", "hybrid: learnt clearance + MIRD dosimetry", _hybrid,
                        coefficient_unit="ln(h) (log of TIAC per first-image uptake)",
                        trusted_types=("onescan.models._hybrid.HybridDosimetryRegressor",
                                       "onescan.models._pipeline.PipelineSettings",
                                       "onescan.dosimetry._dose.DoseSettings",
                                       "sklearn.linear_model._coordinate_descent.Lasso")),
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
    """
    from onescan.models._pipeline import PipelineSettings

    s = settings if settings is not None else PipelineSettings()
    return MODELS[s.model].factory(s, dose_settings, **kwargs)
