"""``biexp``: the free bi-exponential f = a1·exp(−λ1 t) + a2·exp(−λ2 t), one patient at a time.

λ1 ≥ λ2 ≥ λ_phys (a1 < 0 describes an uptake phase); the effective λ is the terminal λ2.
Fitted by scipy least squares with variable projection (the amplitudes in closed form),
from several starts scaled by the patient's mono-exponential λ. The curve must stay
non-negative for t ≥ 0 (a2 > 0 and f(0) = a1 + a2 ≥ 0 to rounding), otherwise the fit fails. Needs
≥ 4 points (4 parameters); TIAC = a1/λ1 + a2/λ2. A candidate of ``auto`` (AICc with
4 + 1 parameters: defined from 7 points).
"""

from __future__ import annotations

import numpy as np

from onescan.dosimetry.tac._base import TacArrays, TacModel
from onescan.dosimetry.tac._biexp_common import NAME, N_PARAMS, PARAM_NAMES, biexp_arrays, biexp_curve

__all__ = ["NAME", "N_PARAMS", "PARAM_NAMES", "BiExp", "biexp_one", "biexp_curve", "biexp_arrays"]

def biexp_one(t, y, lam_phys, lam_mono, starts=()):
    """Bi-exponential fit of one patient (variable projection), λ1 ≥ λ2 ≥ λ_phys.

    Parameters
    ----------
    t, y : ndarray
        The patient's valid times (h) and fractions.
    lam_phys : float
        Physical decay constant, 1/h.
    lam_mono : float
        λ of the patient's mono-exponential fit, 1/h (scales the starts).
    starts : sequence of (λ1, λ2)
        Further starting rates, 1/h (e.g. those of the uptake fit).

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
              (lam_mono * 2.0, lam_phys * 1.01), (0.5, lam_mono)] + [tuple(x) for x in starts]
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


class BiExp(TacModel):
    """Free bi-exponential least squares on f (per patient, variable projection)."""

    name = NAME
    description = "a1·exp(−λ1 t) + a2·exp(−λ2 t) by least squares on f, λ1 ≥ λ2 ≥ λ_phys (≥ 4 points)"
    n_params = N_PARAMS
    aicc_params = N_PARAMS
    param_names = ("a", "lambda_per_h") + PARAM_NAMES
    curves = {NAME: biexp_curve}

    def fit(self, t, y, valid, lam_phys, *, max_iter=200) -> TacArrays:
        from onescan.dosimetry.tac.biexp_uptake import uptake_one
        from onescan.dosimetry.tac.monoexp import MonoExp

        mono = MonoExp().fit(t, y, valid, lam_phys, max_iter=max_iter)
        n = valid.sum(1)
        fits = []
        for i in range(t.shape[0]):
            m = valid[i]
            fit = None
            if n[i] >= N_PARAMS and np.isfinite(mono.lambda_per_h[i]):
                lm = float(mono.lambda_per_h[i])
                up = uptake_one(t[i, m], y[i, m], lam_phys, lm)  # the uptake curve is a bi-exponential too
                starts = [] if up is None else [(up[1], max(up[3], lam_phys * 1.001))]
                fit = biexp_one(t[i, m], y[i, m], lam_phys, lm, starts)
            if fit is not None:
                a1, l1, a2, l2, _ = fit
                # a curve that stays non-negative for t >= 0, with a positive integral
                if not (a2 > 0 and a1 + a2 >= -1e-9 * a2 and a1 / l1 + a2 / l2 > 0):
                    fit = None
            fits.append(fit)
        return biexp_arrays(self.name, t, y, valid, lam_phys, fits)
