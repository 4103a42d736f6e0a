"""The bi-exponential curve f = a1·exp(−λ1 t) + a2·exp(−λ2 t), fitted one patient at a time.

λ1 ≥ λ2 ≥ λ_phys (a1 < 0 describes an uptake phase); the effective λ is the terminal λ2.
Fitted by scipy least squares with variable projection (the amplitudes in closed form),
from several starts. Not a ``--fit`` choice on its own: :mod:`~onescan.dosimetry.tac.auto`
uses it for the rare patients with enough points.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NAME", "N_PARAMS", "PARAM_NAMES", "biexp_one", "biexp_curve"]

#: ``TacFit.model`` of a bi-exponential patient.
NAME = "biexp"

#: Fitted parameters (a1, λ1, a2, λ2).
N_PARAMS = 4

#: Entries of ``TacFit.params`` of a bi-exponential patient.
PARAM_NAMES = ("a1", "lambda1_per_h", "a2", "lambda2_per_h")


def biexp_curve(params: dict, rows: np.ndarray, t: np.ndarray) -> np.ndarray:
    """a1·exp(−λ1 t) + a2·exp(−λ2 t) of the patients ``rows`` (fraction; t in h)."""
    tb = t if t.shape[0] == 1 else t[rows]
    return (params["a1"][rows, None] * np.exp(-params["lambda1_per_h"][rows, None] * tb)
            + params["a2"][rows, None] * np.exp(-params["lambda2_per_h"][rows, None] * tb))


def biexp_one(t, y, lam_phys, lam_mono):
    """Bi-exponential fit of one patient (variable projection), λ1 ≥ λ2 ≥ λ_phys.

    Parameters
    ----------
    t, y : ndarray
        The patient's valid times (h) and fractions.
    lam_phys : float
        Physical decay constant, 1/h.
    lam_mono : float
        λ of the patient's mono-exponential fit, 1/h (scales the starts).

    Returns
    -------
    tuple or None
        (a1, λ1, a2, λ2, rss), or None when no start converged.
    """
    from scipy.optimize import least_squares

    def basis(th):
        return np.exp(-np.outer(t, th))

    def resid(th):
        b = basis(th)
        coef, *_ = np.linalg.lstsq(b, y, rcond=None)
        return b @ coef - y

    best = None
    starts = [(lam_mono * 4.0, lam_mono), (lam_mono * 10.0, max(lam_mono * 0.7, lam_phys * 1.01)),
              (lam_mono * 2.0, lam_phys * 1.01), (0.5, lam_mono)]
    for s in starts:
        x0 = np.maximum(np.asarray(s, dtype=float), lam_phys * 1.001)
        try:
            res = least_squares(resid, x0, bounds=([lam_phys, lam_phys], [np.inf, np.inf]),
                                xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=2000)
        except (ValueError, np.linalg.LinAlgError):  # degenerate basis at this start
            continue
        if not res.success:
            continue
        rss = float(res.fun @ res.fun)
        if best is None or rss < best[1]:
            best = (res.x, rss)
    if best is None:
        return None
    th, rss = best
    b = basis(th)
    coef, *_ = np.linalg.lstsq(b, y, rcond=None)
    (l1, l2), (a1, a2) = th, coef
    if l2 > l1:
        l1, l2, a1, a2 = l2, l1, a2, a1
    if not (np.isfinite([a1, a2, l1, l2]).all()):
        return None
    return float(a1), float(l1), float(a2), float(l2), rss
