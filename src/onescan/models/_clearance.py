"""Clearance arithmetic of the hybrid model: the TIAC an activity implies, λ_eff from TIAC/f1.

:func:`implied_tiac_h` inverts the MIRD prescription (activity → TIAC of the dose-limiting
organ); :func:`tiac_ratio_to_lambda` solves the mono-exponential relation between the TIAC per
first-image uptake and the effective clearance. Used by
:class:`onescan.models._hybrid.HybridDosimetryRegressor` (and re-exported there).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["implied_tiac_h", "tiac_ratio_to_lambda"]


def _dose_settings(settings):
    from onescan.dosimetry._dose import DoseSettings

    return DoseSettings() if settings is None else settings


def implied_tiac_h(activity_mci, liver_mass_g, dose_settings=None):
    """TIAC (h) that makes ``activity_mci`` deliver the target liver dose.

    Exact inverse of :func:`onescan.dosimetry._dose.activity_for_target_mci`: the dose
    is proportional to the TIAC, so ``TIAC = activity_for_target_mci(1 h, m) / A``.

    Parameters
    ----------
    activity_mci : array_like
        Prescribed activity, mCi (> 0).
    liver_mass_g : array_like
        Liver mass, g (> 0).
    dose_settings : onescan.dosimetry._dose.DoseSettings, optional
        Target dose (Gy), S-values and mass scaling; defaults to ``DoseSettings()``.

    Returns
    -------
    numpy.ndarray
        TIAC of the liver, h.
    """
    from onescan.dosimetry._dose import activity_for_target_mci

    settings = _dose_settings(dose_settings)
    a = np.asarray(activity_mci, dtype=float)
    m = np.asarray(liver_mass_g, dtype=float)
    per_hour = np.asarray(activity_for_target_mci(np.ones_like(m), m, settings), dtype=float)
    return per_hour / a


def tiac_ratio_to_lambda(ratio_h, t1_h, max_iter=50):
    """Effective clearance λ (1/h) with ``exp(λ t1)/λ = ratio`` (the slow branch).

    Solves the mono-exponential relation between the TIAC per unit first-image
    uptake and the effective clearance by Newton's method in ``ln λ``, on the branch
    ``λ < 1/t1`` (the physical one: effective half-lives are far longer than the
    first scan time). Where no solution exists (``ratio < e·t1``) λ = 1/t1.

    Parameters
    ----------
    ratio_h : array_like
        TIAC / first-image uptake, h (> 0).
    t1_h : array_like
        First scan time after the end of infusion, h (≥ 0).
    max_iter : int
        Newton iterations (converges quadratically; 50 is ample).

    Returns
    -------
    numpy.ndarray
        λ_eff, 1/h.
    """
    r = np.asarray(ratio_h, dtype=float)
    t1 = np.broadcast_to(np.asarray(t1_h, dtype=float), r.shape).copy()
    lam = 1.0 / r
    pos = t1 > 0
    if np.any(pos):
        rr, tt = r[pos], t1[pos]
        feasible = rr >= math.e * tt
        u = -np.log(rr)  # start from the t1 = 0 solution, which lies on the slow branch
        for _ in range(max_iter):
            h = np.exp(u) * tt - u - np.log(rr)
            dh = np.exp(u) * tt - 1.0
            step = np.where(feasible, h / np.where(dh == 0, -1e-300, dh), 0.0)
            u = u - step
            u = np.minimum(u, -np.log(tt))  # stay on the slow branch
            if np.all(np.abs(step) < 1e-14):
                break
        lam_pos = np.exp(u)
        lam_pos[~feasible] = 1.0 / tt[~feasible]
        lam[pos] = lam_pos
    return lam
