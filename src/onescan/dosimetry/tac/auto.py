"""``auto``: per patient, the registered least-squares model with the lowest AICc (SPEC §2.2).

Candidates are the registered models that fit a curve to f by least squares (those with
:attr:`~onescan.dosimetry.tac.TacModel.aicc_params`: ``monoexp`` 2, ``biexp_uptake`` 3,
``biexp`` 4 parameters). The noise σ of the least-squares fit is counted as a parameter, so a
model with p curve parameters has k = p + 1, and its AICc

    AICc = n·ln(RSS/n) + 2k + 2k(k + 1)/(n − k − 1)

is defined only when n > k + 1 (``monoexp`` from 5 points, ``biexp_uptake`` from 6, ``biexp``
from 7; Burnham & Anderson, *Model Selection and Multimodel Inference*, 2002, §2.4). Among
the candidates whose AICc is defined for the patient's number of points (and whose fit gives
a finite positive TIAC) the lowest wins; with fewer than two such candidates the patient keeps
the mono-exponential. The choice and its reason are flags: ``auto_<model>_by_aicc``, or
``auto_monoexp_aicc_undefined`` (too few points to compare models by AICc).
"""

from __future__ import annotations

import numpy as np

from onescan.dosimetry.tac import _biexp_common as biexp
from onescan.dosimetry.tac._base import TacArrays, TacModel, exponential_curve, r2_rss
from onescan.dosimetry.tac.monoexp import MonoExp

__all__ = ["Auto", "aicc", "aicc_k"]

_MONO = MonoExp()


def aicc(rss, n, k):
    """Corrected Akaike information criterion of a least-squares fit (inf when n ≤ k + 1).

    Parameters
    ----------
    rss : float or ndarray
        Residual sum of squares.
    n : int or ndarray
        Number of points.
    k : int
        Number of estimated parameters, the noise σ included.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(n - k - 1 > 0, 2.0 * k * (k + 1) / np.maximum(n - k - 1, 1), np.inf)
        return n * np.log(rss / n) + 2 * k + corr


def aicc_k(model: TacModel) -> int:
    """Parameters of ``model`` in its AICc: its curve parameters plus the noise σ."""
    return int(model.aicc_params) + 1


def _candidates(models) -> list[TacModel]:
    return [m for m in models if m.aicc_params is not None and not isinstance(m, Auto)]


def _rss(model: TacModel, res: TacArrays, t, y, valid) -> np.ndarray:
    rows = np.ones(t.shape[0], dtype=bool)
    out = np.full(t.shape[0], np.inf)
    for name in set(res.model):
        sel = res.model == name
        curve = model.curves[name]
        yhat = curve({k: np.asarray(v)[sel] for k, v in res.params.items()}, np.ones(sel.sum(), bool), t[sel])
        out[sel] = (np.where(valid[sel], y[sel] - yhat, 0.0) ** 2).sum(1)
    return np.where(rows & np.isfinite(out), out, np.inf)


def _take(dst: TacArrays, src: TacArrays, i_dst: np.ndarray, i_src: np.ndarray) -> None:
    """Copy patients ``i_src`` of ``src`` into patients ``i_dst`` of ``dst``."""
    for attr in ("model", "tiac_h", "lambda_per_h", "a", "r2", "converged", "at_bound"):
        getattr(dst, attr)[i_dst] = getattr(src, attr)[i_src]
    for k, v in src.params.items():
        if k in dst.params:
            dst.params[k][i_dst] = np.asarray(v)[i_src]


class Auto(TacModel):
    """The registered least-squares model with the lowest AICc per patient (monoexp when undefined)."""

    name = "auto"
    description = ("per patient the lowest AICc among monoexp, biexp_uptake, biexp where defined "
                   "(n > k + 1, σ counted), else monoexp")
    n_params = biexp.N_PARAMS
    param_names = MonoExp.param_names + biexp.PARAM_NAMES
    curves = {MonoExp.name: exponential_curve, biexp.NAME: biexp.biexp_curve,
              "biexp_uptake": biexp.biexp_curve}

    def __init__(self, models=None):
        #: The registered models (given by the registry, which imports this module).
        self.models = list(models or ())

    def fit(self, t, y, valid, lam_phys, *, max_iter=200) -> TacArrays:
        res, rss = _MONO.fit_with_rss(t, y, valid, lam_phys, max_iter=max_iter)
        for k in biexp.PARAM_NAMES:
            res.params[k] = np.full(t.shape[0], np.nan)
        n = valid.sum(1)
        k_mono = aicc_k(_MONO)
        best = np.where(np.isfinite(res.tiac_h) & (res.tiac_h > 0) & (n > k_mono + 1),
                        aicc(np.maximum(rss, _floor(y, valid)), n, k_mono), np.inf)
        n_defined = np.isfinite(best).astype(int)
        for model in _candidates(self.models):
            if isinstance(model, MonoExp):
                continue
            k = aicc_k(model)
            rows = np.flatnonzero((n > k + 1) & np.isfinite(res.tiac_h))
            if rows.size == 0:
                continue
            cand = model.fit(t[rows], y[rows], valid[rows], lam_phys, max_iter=max_iter)
            ok = np.isfinite(cand.tiac_h) & (cand.tiac_h > 0)
            score = np.where(ok, aicc(np.maximum(_rss(model, cand, t[rows], y[rows], valid[rows]),
                                                 _floor(y[rows], valid[rows])), n[rows], k), np.inf)
            n_defined[rows] += np.isfinite(score)
            win = score < best[rows]
            _take(res, cand, rows[win], np.flatnonzero(win))
            best[rows[win]] = score[win]
        notes = [[f"auto_{m}_by_aicc"] if d >= 2 else ["auto_monoexp_aicc_undefined"]
                 for m, d in zip(res.model, n_defined)]
        res.notes = notes
        r2, _ = r2_rss(y, valid, _predict(res, t))
        res.r2 = np.where(res.model == MonoExp.name, res.r2, r2)
        return res


def _floor(y, valid):
    """RSS floor (an exact fit has RSS 0 and ln 0 = −inf): 1e-24 of the sum of squares of f."""
    return 1e-24 * ((y * valid) ** 2).sum(1)


def _predict(res: TacArrays, t) -> np.ndarray:
    out = np.full(t.shape, np.nan)
    for name, curve in Auto.curves.items():
        sel = res.model == name
        if sel.any():
            out[sel] = curve({k: np.asarray(v)[sel] for k, v in res.params.items()}, np.ones(sel.sum(), bool), t[sel])
    return out
