"""``biexp_uptake``: uptake then clearance, f(t) = a·(exp(−λ_c t) − exp(−λ_u t)).

The curve of a one-compartment uptake (rate λ_u) with clearance λ_c: it starts at f(0) = 0,
rises and falls, and is the bi-exponential with amplitudes −a and a (``a1`` = −a at
``lambda1_per_h`` = λ_u, ``a2`` = a at ``lambda2_per_h`` = λ_c, so it shares the
bi-exponential's parameters and curve). Constraints: a > 0, λ_u > λ_c ≥ λ_phys; the
effective (terminal) λ is λ_c. TIAC = a·(1/λ_c − 1/λ_u).

Fitted per patient by scipy least squares on f with variable projection (a in closed form
for given rates) from several starts; needs ≥ 3 points (3 parameters). A candidate of
``auto`` (AICc with 3 + 1 parameters: defined from 6 points).
"""

from __future__ import annotations

import numpy as np

from onescan.dosimetry.tac import _biexp_common as biexp
from onescan.dosimetry.tac._base import TacArrays, TacModel

__all__ = ["BiExpUptake", "uptake_one"]

#: Upper bound of the rates searched, 1/h (an uptake faster than this is instantaneous at scan times).
_RATE_MAX = 50.0


def uptake_one(t, y, lam_phys, lam_mono):
    """Fit a·(exp(−λ_c t) − exp(−λ_u t)) to one patient, λ_u > λ_c ≥ λ_phys, a > 0.

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
        (a1, λ1, a2, λ2, rss) in the bi-exponential's convention (a1 = −a, λ1 = λ_u,
        a2 = a, λ2 = λ_c), or None when no start gave a positive amplitude.
    """
    from scipy.optimize import least_squares

    def shape(th):
        lc, du = th
        return np.exp(-lc * t) - np.exp(-(lc + du) * t)

    def amp(g):
        gg = float(g @ g)
        return float(g @ y) / gg if gg > 0 else 0.0

    def resid(th):
        g = shape(th)
        return amp(g) * g - y

    lc0 = min(max(lam_mono, lam_phys * 1.01), _RATE_MAX / 4)
    best = None
    for du in (lc0 * 10.0, 1.0, 0.1, lc0):
        x0 = np.array([lc0, min(max(du, 1e-4), _RATE_MAX / 2)])
        try:
            res = least_squares(resid, x0, bounds=([lam_phys, 1e-9], [_RATE_MAX, _RATE_MAX]),
                                xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=2000)
        except (ValueError, np.linalg.LinAlgError):
            continue
        rss = float(res.fun @ res.fun)
        if best is None or rss < best[1]:
            best = (res.x, rss)
    if best is None:
        return None
    (lc, du), rss = best
    a = amp(shape(best[0]))
    if not (np.isfinite(a) and a > 0):
        return None
    return -a, float(lc + du), a, float(lc), rss


class BiExpUptake(TacModel):
    """Bi-exponential with an uptake phase (f(0) = 0), least squares on f per patient."""

    name = "biexp_uptake"
    description = "a·(exp(−λ_c t) − exp(−λ_u t)), λ_u > λ_c ≥ λ_phys, least squares on f (≥ 3 points)"
    n_params = 3
    aicc_params = 3
    param_names = ("a", "lambda_per_h") + biexp.PARAM_NAMES
    curves = {"biexp_uptake": biexp.biexp_curve}

    def fit(self, t, y, valid, lam_phys, *, max_iter=200) -> TacArrays:
        from onescan.dosimetry.tac.monoexp import MonoExp

        mono = MonoExp().fit(t, y, valid, lam_phys, max_iter=max_iter)
        n = valid.sum(1)
        fits = []
        for i in range(t.shape[0]):
            m = valid[i]
            ok = n[i] >= self.n_params and np.isfinite(mono.lambda_per_h[i])
            fits.append(uptake_one(t[i, m], y[i, m], lam_phys, float(mono.lambda_per_h[i])) if ok else None)
        return biexp.biexp_arrays(self.name, t, y, valid, lam_phys, fits)
