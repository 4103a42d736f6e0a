"""``trapezoid``: trapezoids from t = 0 plus an exponential tail.

f(0) is held at f(t_first); the tail after the last point is f(t_last)/λ_tail with λ_tail
from the last two points, bounded below by λ_phys. No curve to evaluate (``predict`` is NaN).
"""

from __future__ import annotations

import numpy as np

from onescan.dosimetry.tac._base import TacArrays, TacModel

__all__ = ["Trapezoid", "trapezoid_tiac"]


def trapezoid_tiac(t, y, valid, lam_phys):
    """Trapezoid TIAC (h), tail constant λ_tail (1/h), f(t_first) and whether λ_tail hit λ_phys."""
    n = valid.sum(1)
    rows = np.arange(t.shape[0])
    last = np.maximum(n - 1, 0)
    prev = np.maximum(n - 2, 0)
    pair = valid[:, 1:] & valid[:, :-1]
    area = y[:, 0] * t[:, 0] + np.where(pair, 0.5 * (y[:, 1:] + y[:, :-1]) * np.diff(t, axis=1), 0.0).sum(1)
    f_last, f_prev = y[rows, last], y[rows, prev]
    dt = t[rows, last] - t[rows, prev]
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_tail = np.log(f_prev / f_last) / dt
    lam_tail = np.where((n >= 2) & (dt > 0) & (f_prev > 0) & np.isfinite(lam_tail), lam_tail, lam_phys)
    lam_tail = np.where((n >= 2) & (f_prev > 0) & (f_last == 0), np.inf, lam_tail)
    bounded = lam_tail <= lam_phys
    lam_tail = np.maximum(lam_tail, lam_phys)
    with np.errstate(invalid="ignore"):
        tail = np.where(f_last > 0, f_last / lam_tail, 0.0)
    tiac = np.where(n >= 1, area + tail, np.nan)
    return tiac, lam_tail, y[:, 0], bounded


class Trapezoid(TacModel):
    """Trapezoidal integration with a tail; ``a`` is f(t_first), λ is λ_tail."""

    name = "trapezoid"
    description = "trapezoids from t = 0 plus a tail f(t_last)/λ_tail (no fitted curve)"
    n_params = 0
    curves = {"trapezoid": None}

    def fit(self, t, y, valid, lam_phys, *, max_iter=200) -> TacArrays:
        n_pat = t.shape[0]
        tiac, lam, a, at_bound = trapezoid_tiac(t, y, valid, lam_phys)
        model = np.full(n_pat, self.name, dtype=object)
        return TacArrays(model=model, tiac_h=tiac, lambda_per_h=lam, a=a, r2=np.full(n_pat, np.nan),
                         converged=np.ones(n_pat, dtype=bool), at_bound=at_bound,
                         params={"a": a, "lambda_per_h": lam})
