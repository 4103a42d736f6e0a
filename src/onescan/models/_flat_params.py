"""Settings objects ↔ the flat parameters of the estimators.

Estimators that compute the activity by MIRD dosimetry
(:class:`~onescan.models._hybrid.HybridDosimetryRegressor`,
:class:`~onescan.models._baselines.SingleTimePointDosimetry`) take the dosimetry settings
they use as flat scikit-learn parameters (numbers and strings, so ``get_params`` and
``clone`` reach each one); :func:`dose_settings_for` turns them into the
:class:`~onescan.dosimetry._dose.DoseSettings` the dosimetry functions take (validated, so
a bad value raises ``ValueError`` naming it), and :func:`dose_params`, :func:`hybrid_params`
and :func:`stp_params` do the opposite for the registry (settings of the CLI and the studies
→ constructor parameters; :mod:`onescan.models._registry` re-exports them). This module
imports no estimator, so the estimators and the registry can both use it.
"""

from __future__ import annotations

import functools

__all__ = [
    "DOSE_PARAMS",
    "STP_DOSE_PARAMS",
    "CLEARANCE_PIPELINE_PARAMS",
    "dose_settings_for",
    "dose_params",
    "hybrid_params",
    "stp_params",
]

#: The :class:`~onescan.dosimetry._dose.DoseSettings` fields an estimator may take as
#: parameters (``fit`` and ``mu_per_cm`` concern the full dosimetry of the scans only); the
#: hybrid model takes all of them.
DOSE_PARAMS = ("target_gy", "max_activity_mci", "mass_scaling", "s_values", "nuclide")

#: Dosimetry settings the single-time-point baseline takes as parameters (it is uncapped).
STP_DOSE_PARAMS = ("target_gy", "mass_scaling", "s_values", "nuclide")

#: Parameters of the hybrid's clearance pipeline, named as the ``PipelineSettings`` fields they take.
CLEARANCE_PIPELINE_PARAMS = ("max_missing", "imputer", "scaler", "selector", "k_features", "forward",
                             "floating", "selector_cv", "scoring")


@functools.lru_cache(maxsize=64)
def _cached(items):
    from onescan.dosimetry._dose import DoseSettings

    return DoseSettings(**dict(items))


def dose_settings_for(**params):
    """The dosimetry settings given by an estimator's flat parameters.

    Parameters
    ----------
    **params
        Some of :data:`DOSE_PARAMS` (the others take the ``DoseSettings`` defaults):
        ``target_gy`` (Gy), ``max_activity_mci`` (mCi), ``mass_scaling``, ``s_values``
        (path of an S-value file or None) and ``nuclide``.

    Returns
    -------
    onescan.dosimetry._dose.DoseSettings

    Raises
    ------
    ValueError
        When a value is invalid (pydantic's ``ValidationError``, naming the parameter).
    """
    unknown = set(params) - set(DOSE_PARAMS)
    if unknown:
        raise TypeError(f"not dosimetry parameters: {sorted(unknown)}")
    items = tuple(sorted(params.items()))
    try:
        hash(items)
    except TypeError:
        return _cached.__wrapped__(items)
    return _cached(items)


def dose_params(dose_settings=None, names=DOSE_PARAMS) -> dict:
    """Flat estimator parameters from a :class:`~onescan.dosimetry._dose.DoseSettings`.

    Parameters
    ----------
    dose_settings : onescan.dosimetry._dose.DoseSettings, optional
        None gives an empty dict (the estimators' defaults are the settings' defaults).
    names : sequence of str
        The parameters wanted (a subset of :data:`DOSE_PARAMS`).

    Returns
    -------
    dict
        ``{name: value}``; ``s_values`` as a string path (or None).
    """
    if dose_settings is None:
        return {}
    out = {name: getattr(dose_settings, name) for name in names}
    if out.get("s_values") is not None:
        out["s_values"] = str(out["s_values"])
    return out


def hybrid_params(settings=None, dose_settings=None) -> dict:
    """:class:`~onescan.models._hybrid.HybridDosimetryRegressor` parameters from settings objects.

    Parameters
    ----------
    settings : onescan.models.PipelineSettings, optional
        The clearance pipeline's steps (same names) and ``alpha`` → ``activity_alpha``;
        ``model`` is not a parameter (the clearance model is always the Lasso).
    dose_settings : onescan.dosimetry.DoseSettings, optional
        ``target_gy`` (Gy), ``max_activity_mci`` (mCi), ``mass_scaling``, ``s_values``,
        ``nuclide``.

    Returns
    -------
    dict
        Constructor keyword arguments; empty for None settings (the estimator's defaults
        are the settings' defaults).
    """
    out = {}
    if settings is not None:
        out.update({name: getattr(settings, name) for name in CLEARANCE_PIPELINE_PARAMS})
        out["activity_alpha"] = settings.alpha
    out.update(dose_params(dose_settings, DOSE_PARAMS))
    return out


def stp_params(dose_settings=None) -> dict:
    """:class:`~onescan.models._baselines.SingleTimePointDosimetry` parameters from a ``DoseSettings``.

    Returns
    -------
    dict
        ``target_gy`` (Gy), ``mass_scaling``, ``s_values``, ``nuclide`` (empty for None).
    """
    return dose_params(dose_settings, STP_DOSE_PARAMS)
