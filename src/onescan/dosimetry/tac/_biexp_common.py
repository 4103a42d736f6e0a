"""What the bi-exponential models share: parameter names, the curve and the result arrays."""

from __future__ import annotations

import numpy as np

from onescan.dosimetry.tac._base import BOUND_RTOL, TacArrays, r2_rss

__all__ = ["NAME", "N_PARAMS", "PARAM_NAMES", "biexp_curve", "biexp_arrays"]

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


def biexp_arrays(name, t, y, valid, lam_phys, fits) -> TacArrays:
    """:class:`TacArrays` of bi-exponential curves, one ``(a1, λ1, a2, λ2)`` or ``None`` per patient.

    The effective λ is the terminal λ2; ``a`` = f(0) = a1 + a2; TIAC = a1/λ1 + a2/λ2.
    """
    n_pat = t.shape[0]
    p = {k: np.full(n_pat, np.nan) for k in PARAM_NAMES}
    ok = np.zeros(n_pat, dtype=bool)
    for i, fit in enumerate(fits):
        if fit is not None:
            for k, v in zip(PARAM_NAMES, fit[:4]):
                p[k][i] = v
            ok[i] = True
    a1, l1, a2, l2 = (p[k] for k in PARAM_NAMES)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tiac = a1 / l1 + a2 / l2
        yhat = a1[:, None] * np.exp(-l1[:, None] * t) + a2[:, None] * np.exp(-l2[:, None] * t)
    r2, _ = r2_rss(y, valid, np.where(ok[:, None], yhat, np.nan))
    a = a1 + a2
    params = dict(p, a=a.copy(), lambda_per_h=l2.copy())
    return TacArrays(model=np.full(n_pat, name, dtype=object), tiac_h=np.where(ok, tiac, np.nan),
                     lambda_per_h=l2, a=a, r2=np.where(ok, r2, np.nan), converged=ok,
                     at_bound=ok & (l2 <= lam_phys * (1.0 + BOUND_RTOL)), params=params)
