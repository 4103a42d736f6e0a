"""``loglinear``: ordinary least squares of ln f on t, λ ≥ λ_phys.

Points with f > 0 only. When the free slope is below the bound, ln a is refitted with
λ = λ_phys. Also the starting point of the mono-exponential fit.
"""

from __future__ import annotations

import numpy as np

from onescan.dosimetry.tac._base import TacArrays, TacModel, exponential_arrays, exponential_curve

__all__ = ["LogLinear", "loglinear_fit"]


def loglinear_fit(t, y, valid, lam_phys):
    """Batched (bounded) OLS of ln y on t.

    Returns
    -------
    (a, lam, ok) : tuple of ndarray
        Fraction at t = 0, clearance constant (1/h) and whether the fit exists
        (at least one point with f > 0); a and lam are NaN where not ok.
    """
    w = valid & (y > 0)
    ly = np.where(w, np.log(np.where(w, y, 1.0)), 0.0)
    tw = np.where(w, t, 0.0)
    sw = w.sum(axis=1).astype(float)
    st = tw.sum(axis=1)
    sy = ly.sum(axis=1)
    stt = (tw * tw).sum(axis=1)
    sty = (tw * ly).sum(axis=1)
    den = sw * stt - st * st
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = -(sw * sty - st * sy) / den
    # den ~ 0 for a single point (or all at one time): fall back to the bound
    degenerate = ~(np.abs(den) > 1e-12 * np.maximum(sw * stt, 1e-300))
    lam = np.where(degenerate | ~np.isfinite(lam), lam_phys, lam)
    lam = np.maximum(lam, lam_phys)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_a = (sy + lam * st) / sw
    a = np.exp(ln_a)
    ok = (sw >= 1) & np.isfinite(a)
    return np.where(ok, a, np.nan), np.where(ok, lam, np.nan), ok


class LogLinear(TacModel):
    """Log-linear least squares: f(t) = a·exp(−λ t) fitted on ln f; TIAC = a/λ."""

    name = "loglinear"
    description = "least squares of ln f on t (points with f > 0), λ ≥ λ_phys"
    n_params = 2
    curves = {"loglinear": exponential_curve}

    def fit(self, t, y, valid, lam_phys, *, max_iter=200) -> TacArrays:
        a, lam, _ = loglinear_fit(t, y, valid, lam_phys)
        converged = np.ones(t.shape[0], dtype=bool)
        return exponential_arrays(self.name, t, y, valid, lam_phys, a, lam, converged)[0]
