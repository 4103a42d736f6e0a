"""Time–activity integrals from one or two scans: the single-time-point formulas, once.

Used by the single-time-point baseline, the schedule study and the reports. All times in h
after the end of the infusion, fractions of the administered activity (not decay corrected),
clearance constants in 1/h.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["stp_tiac_h", "hanscheid_tiac_h", "two_point_tiac_h", "population_half_life_h"]


def stp_tiac_h(f, t_h, lambda_per_h):
    """Single-time-point TIAC (h) with a known effective clearance.

    ``TIAC = f·exp(λ t)/λ``: a mono-exponential through the one point (f, t).

    Parameters
    ----------
    f : array_like
        Fraction of the administered activity in the liver at ``t_h`` (not decay corrected).
    t_h : array_like
        Scan time after the end of infusion, h.
    lambda_per_h : float or array_like
        Effective clearance constant λ_eff, 1/h.

    Returns
    -------
    numpy.ndarray
        TIAC, h.
    """
    f = np.asarray(f, dtype=float)
    t = np.asarray(t_h, dtype=float)
    lam = np.asarray(lambda_per_h, dtype=float)
    return f * np.exp(lam * t) / lam


def hanscheid_tiac_h(f, t_h):
    """Hänscheid's single-time-point TIAC (h): ``2·f(t)·t/ln 2``.

    Exact for a mono-exponential whose effective half-life equals the scan time t
    (Hänscheid et al., J Nucl Med 2018;59:75-81); it is :func:`stp_tiac_h` with
    λ = ln 2 / t and needs no population parameter.

    Parameters
    ----------
    f : array_like
        Liver fraction of the administered activity at ``t_h``.
    t_h : array_like
        Scan time, h (> 0).

    Returns
    -------
    numpy.ndarray
        TIAC, h.
    """
    f = np.asarray(f, dtype=float)
    t = np.asarray(t_h, dtype=float)
    return 2.0 * f * t / math.log(2.0)


def two_point_tiac_h(f1, t1_h, f2, t2_h, lambda_phys_per_h):
    """TIAC (h) of the mono-exponential through two liver points.

    ``λ = max(ln(f1/f2)/(t2 − t1), λ_phys)``, ``a = f1·exp(λ t1)``, TIAC = a/λ
    (integral from the end of infusion to infinity). With rising uptake
    (f2 ≥ f1) λ falls back to the physical decay constant.

    Parameters
    ----------
    f1, f2 : array_like
        Liver fractions of the administered activity at the first and second scans.
    t1_h, t2_h : array_like
        Their times, h (t2 > t1).
    lambda_phys_per_h : float
        Physical decay constant, 1/h.

    Returns
    -------
    numpy.ndarray
        TIAC, h (NaN where an input is missing or t2 ≤ t1).
    """
    f1 = np.asarray(f1, dtype=float)
    f2 = np.asarray(f2, dtype=float)
    t1 = np.asarray(t1_h, dtype=float)
    t2 = np.asarray(t2_h, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.log(f1 / f2) / (t2 - t1)
        lam = np.where(np.isnan(lam), np.nan, np.maximum(lam, lambda_phys_per_h))
        lam = np.where((t2 > t1) & (f1 > 0) & (f2 > 0), lam, np.nan)
        return f1 * np.exp(lam * t1) / lam


def population_half_life_h(half_lives_h) -> float:
    """Population effective half-life (h): the median of the finite, positive values.

    Parameters
    ----------
    half_lives_h : array_like
        Effective half-lives of the training patients' full dosimetry, h.

    Returns
    -------
    float
        Median, h.

    Raises
    ------
    ValueError
        When no value is usable.
    """
    v = np.asarray(half_lives_h, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        raise ValueError("no training patient has a usable effective half-life")
    return float(np.median(v))
