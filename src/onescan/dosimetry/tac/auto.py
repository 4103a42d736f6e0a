"""``auto``: mono- or bi-exponential per patient, by AICc.

Patients with ≥ 4 points are candidates, but the AICc of the 4-parameter bi-exponential is
finite only with ≥ 6 points, so with 4–5 points the mono-exponential is always kept. The
bi-exponential (:mod:`~onescan.dosimetry.tac.biexp`) must describe a curve that stays
non-negative for t ≥ 0 (a2 > 0 and f(0) = a1 + a2 ≥ 0); its effective λ is the terminal λ2.
"""

from __future__ import annotations

import numpy as np

from onescan.dosimetry.tac import biexp
from onescan.dosimetry.tac._base import BOUND_RTOL, TacArrays, TacModel, exponential_curve, r2_rss
from onescan.dosimetry.tac.monoexp import MonoExp

__all__ = ["Auto", "aicc"]

_MONO = MonoExp()


def aicc(rss, n, k):
    """Corrected Akaike information criterion of a least-squares fit (inf when n ≤ k + 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(n - k - 1 > 0, 2.0 * k * (k + 1) / (n - k - 1), np.inf)
        return n * np.log(rss / n) + 2 * k + corr


class Auto(TacModel):
    """Mono-exponential, replaced by the bi-exponential where its AICc is lower."""

    name = "auto"
    description = "mono- or bi-exponential per patient by AICc (bi-exponential needs ≥ 6 points)"
    n_params = biexp.N_PARAMS
    param_names = MonoExp.param_names + biexp.PARAM_NAMES
    curves = {MonoExp.name: exponential_curve, biexp.NAME: biexp.biexp_curve}

    def fit(self, t, y, valid, lam_phys, *, max_iter=200) -> TacArrays:
        res, rss = _MONO.fit_with_rss(t, y, valid, lam_phys, max_iter=max_iter)
        nan = np.full(t.shape[0], np.nan)
        for k in biexp.PARAM_NAMES:
            res.params[k] = nan.copy()
        n = valid.sum(1)
        # bi-exponential candidates: AICc is finite for k = 4 only with n >= 6
        for i in np.flatnonzero((n >= biexp.N_PARAMS + 2) & np.isfinite(res.tiac_h)):
            self._try_biexp(res, i, t, y, valid, lam_phys, float(rss[i]), int(n[i]))
        bi = res.model == biexp.NAME
        res.params["a"] = np.where(bi, res.params["a"], res.a)
        res.params["lambda_per_h"] = np.where(bi, res.params["lambda_per_h"], res.lambda_per_h)
        return res

    @staticmethod
    def _try_biexp(res: TacArrays, i, t, y, valid, lam_phys, rss_mono, n_i) -> None:
        """Fit patient ``i`` bi-exponentially and keep it in ``res`` where its AICc is lower."""
        m = valid[i]
        fit = biexp.biexp_one(t[i, m], y[i, m], lam_phys, float(res.lambda_per_h[i]))
        if fit is None:
            return
        a1, l1, a2, l2, rss_b = fit
        tiac_b = a1 / l1 + a2 / l2
        # a curve that stays non-negative for t >= 0: a2 > 0 and f(0) = a1 + a2 >= 0
        if not (np.isfinite(tiac_b) and tiac_b > 0 and a2 > 0 and a1 + a2 >= 0):
            return
        floor = 1e-24 * float((y[i, m] ** 2).sum())
        aic_m = aicc(max(rss_mono, floor), n_i, MonoExp.n_params)
        aic_b = aicc(max(rss_b, floor), n_i, biexp.N_PARAMS)
        if not aic_b < aic_m:
            return
        res.model[i] = biexp.NAME
        res.tiac_h[i] = tiac_b
        res.a[i] = a1 + a2
        res.lambda_per_h[i] = l2
        res.at_bound[i] = l2 <= lam_phys * (1.0 + BOUND_RTOL)
        res.params["a1"][i], res.params["lambda1_per_h"][i] = a1, l1
        res.params["a2"][i], res.params["lambda2_per_h"][i] = a2, l2
        yh = a1 * np.exp(-l1 * t[i, m]) + a2 * np.exp(-l2 * t[i, m])
        r2i, _ = r2_rss(y[i, m][None], np.ones((1, m.sum()), bool), yh[None])
        res.r2[i] = r2i[0]
