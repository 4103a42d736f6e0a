"""Time–activity curve fits and time-integrated activity coefficients (SPEC §2.2–2.3).

All fits are vectorised across patients: the input is a 2-D array of times and one of
fractions (patients × points, padded with NaN), and every step is a numpy operation on all
patients at once. :func:`fit_tacs` sorts and masks the points, dispatches to the model
registered under ``method`` and adds the flags.

Models (one module each, all behind :class:`TacModel`)
-------------------------------------------------------
``monoexp`` (:mod:`.monoexp`, default)
    f(t) = a·exp(−λ t), least squares on f by batched projected Levenberg–Marquardt from the
    log-linear start, λ ≥ λ_phys, guarded by a grid search of λ. TIAC = a/λ.
``loglinear`` (:mod:`.loglinear`)
    Least squares of ln f on t (points with f > 0), λ ≥ λ_phys.
``trapezoid`` (:mod:`.trapezoid`)
    Trapezoids from t = 0 holding f(0) = f(t_first), plus a tail f(t_last)/λ_tail.
``biexp_uptake`` (:mod:`.biexp_uptake`)
    a·(exp(−λ_c t) − exp(−λ_u t)): uptake then clearance, f(0) = 0 (≥ 3 points).
``biexp`` (:mod:`.biexp`)
    Free bi-exponential a1·exp(−λ1 t) + a2·exp(−λ2 t) (≥ 4 points).
``auto`` (:mod:`.auto`)
    Per patient the lowest AICc among the registered least-squares models (σ counted in k;
    only where AICc is defined, n > k + 1), else the mono-exponential; flags
    ``auto_<model>_by_aicc`` / ``auto_monoexp_aicc_undefined``.

Flags (short codes, per patient)
--------------------------------
``few_points`` (fewer than 2 usable points), ``fit_failed`` (no finite positive TIAC),
``fit_not_converged``, ``lambda_at_physical_bound``, ``uptake_rising`` (fraction increases
between consecutive points), ``low_r2`` (r² < 0.9 with ≥ 3 points).

Adding a fit model
------------------
One new module and one registry line. A module ``tac/powerlaw.py``::

    import numpy as np
    from onescan.dosimetry.tac._base import TacArrays, TacModel

    class PowerLaw(TacModel):
        name = "powerlaw"                      # the --fit choice
        description = "f(t) = a·t^(−b) ..."    # for help texts
        n_params = 2
        curves = {"powerlaw": my_curve}        # how TacFit.predict evaluates it (None: NaN)

        def fit(self, t, y, valid, lam_phys, *, max_iter=200) -> TacArrays:
            ...                                # every patient at once
            return TacArrays(model=..., tiac_h=..., lambda_per_h=..., a=..., r2=...,
                             converged=..., at_bound=..., params={"a": ..., "lambda_per_h": ...})

and in ``tac/_registry.py`` the line ``PowerLaw(),`` in :data:`TAC_MODELS`. ``FIT_METHODS``,
``DoseSettings.fit`` and the command line's ``--fit`` are built from the registry.
"""

from onescan.dosimetry.tac._base import TacArrays, TacModel
from onescan.dosimetry.tac._fit import LOW_R2, TacFit, fit_tacs
from onescan.dosimetry.tac._registry import FIT_METHODS, TAC_MODELS, tac_model

__all__ = ["TacFit", "fit_tacs", "FIT_METHODS", "TAC_MODELS", "tac_model", "TacModel", "TacArrays", "LOW_R2"]
