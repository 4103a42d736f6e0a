"""Fit many time–activity curves at once through the model registry; flags per patient."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from onescan.dosimetry.tac._base import TacArrays, exponential_curve
from onescan.dosimetry.tac._registry import curves, param_names, tac_model

__all__ = ["TacFit", "fit_tacs", "LOW_R2"]

log = logging.getLogger(__name__)

#: r² below which a fit is flagged ``low_r2``.
LOW_R2 = 0.9


@dataclass
class TacFit:
    """Result of :func:`fit_tacs`: one entry per patient (row of the input).

    Attributes
    ----------
    model : ndarray of str
        Model used per patient (``monoexp``, ``biexp``, ``loglinear``, ``trapezoid``).
    tiac_h : ndarray
        Time-integrated activity coefficient ∫₀^∞ f(t) dt, h (NaN if the fit failed).
    lambda_eff_per_h : ndarray
        Effective clearance constant, 1/h (bi-exponential: the slower, terminal
        λ; trapezoid: λ_tail).
    effective_half_life_h : ndarray
        ln 2 / λ_eff, h.
    a : ndarray
        Fraction extrapolated to t = 0 (trapezoid: f(t_first)).
    r2 : ndarray
        Coefficient of determination of the fit on f (NaN for trapezoid or < 2 points).
    flags : list of list of str
        Short flag codes per patient (empty list when fine).
    params : dict of str → ndarray
        Model parameters (``a``, ``lambda_per_h``; for bi-exponential fits also
        ``a1``, ``lambda1_per_h``, ``a2``, ``lambda2_per_h``, NaN elsewhere), and
        ``n_points``.
    """

    model: np.ndarray
    tiac_h: np.ndarray
    lambda_eff_per_h: np.ndarray
    effective_half_life_h: np.ndarray
    a: np.ndarray
    r2: np.ndarray
    flags: list[list[str]]
    params: dict[str, np.ndarray] = field(default_factory=dict)

    def flag_strings(self, sep: str = ";") -> list[str]:
        """Flags per patient joined with ``sep`` (empty string when fine)."""
        return [sep.join(f) for f in self.flags]

    def predict(self, t_h) -> np.ndarray:
        """Fitted fraction at times ``t_h`` (h; patients × times, or times broadcast to all patients).

        Defined for models with a curve (NaN for trapezoid patients).
        """
        t = np.atleast_2d(np.asarray(t_h, dtype=float))
        a = self.params["a"][:, None]
        lam = self.params["lambda_per_h"][:, None]
        out = a * np.exp(-lam * t)
        for name, curve in curves().items():
            rows = self.model == name
            if curve is exponential_curve or not rows.any():
                continue
            out[rows] = np.nan if curve is None else curve(self.params, rows, t)
        return out

    def to_dict(self) -> dict:
        """JSON-ready lists (NaN stays NaN)."""
        return {"model": self.model.tolist(), "tiac_h": self.tiac_h.tolist(),
                "lambda_eff_per_h": self.lambda_eff_per_h.tolist(),
                "effective_half_life_h": self.effective_half_life_h.tolist(), "a": self.a.tolist(),
                "r2": self.r2.tolist(), "flags": [list(f) for f in self.flags],
                "params": {k: np.asarray(v).tolist() for k, v in self.params.items()}}


def _prepare(t_h, f):
    t = np.asarray(t_h, dtype=float)
    y = np.asarray(f, dtype=float)
    if t.ndim == 1:
        t = t[None, :]
    if y.ndim == 1:
        y = y[None, :]
    if t.shape[0] == 1 and y.shape[0] > 1 and t.shape[1] == y.shape[1]:
        t = np.broadcast_to(t, y.shape)  # one schedule shared by all patients
    if t.shape != y.shape:
        raise ValueError(f"times and fractions must have the same shape, got {t.shape} and {y.shape}")
    valid = np.isfinite(t) & np.isfinite(y)
    key = np.where(valid, t, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    t = np.take_along_axis(t, order, axis=1)
    y = np.take_along_axis(y, order, axis=1)
    valid = np.take_along_axis(valid, order, axis=1)
    t = np.where(valid, t, 0.0)
    y = np.where(valid, y, 0.0)
    return t, y, valid


def _flags(res: TacArrays, y, valid, n, ok_fit) -> list[list[str]]:
    """Flag codes per patient, built column-wise then joined per patient."""
    rising = (valid[:, 1:] & valid[:, :-1] & (y[:, 1:] > y[:, :-1] * (1.0 + 1e-9))).any(1)
    r2 = res.r2
    codes = [
        ("few_points", n < 2),
        ("fit_failed", ~ok_fit),
        ("fit_not_converged", ok_fit & ~res.converged),
        ("lambda_at_physical_bound", ok_fit & res.at_bound),
        ("uptake_rising", rising),
        ("low_r2", ok_fit & (n >= 3) & np.isfinite(r2) & (r2 < LOW_R2)),
    ]
    flags: list[list[str]] = [[] for _ in range(y.shape[0])]
    for code, mask in codes:
        for i in np.flatnonzero(mask):
            flags[i].append(code)
    if res.notes is not None:
        for i, extra in enumerate(res.notes):
            flags[i].extend(extra)
    return flags


def fit_tacs(t_h, f, method: str = "monoexp", lambda_phys_per_h: float | None = None, *,
             max_iter: int = 200) -> TacFit:
    """Fit time–activity curves of many patients at once and integrate them.

    Parameters
    ----------
    t_h : array-like, shape (n_patients, n_points) or (n_points,)
        Scan times after the end of infusion, h; NaN pads patients with fewer points.
        A 1-D array is one schedule shared by every row of ``f``.
    f : array-like, same shape
        Fraction of the administered activity in the region (not decay-corrected);
        NaN pads. Points where ``t_h`` or ``f`` is NaN are ignored.
    method : str
        A key of :data:`onescan.dosimetry.tac.TAC_MODELS` (``FIT_METHODS``:
        ``monoexp``, ``loglinear``, ``trapezoid``, ``auto``).
    lambda_phys_per_h : float or None
        Physical decay constant, 1/h, lower bound of λ_eff; ``None`` uses I-131
        from :func:`onescan.dosimetry._physics.lambda_phys_per_h`.
    max_iter : int
        Iteration limit of the Levenberg–Marquardt fit.

    Returns
    -------
    TacFit
        Arrays with one entry per patient.

    Raises
    ------
    ValueError
        Unknown ``method``, a non-positive ``lambda_phys_per_h``, or shapes that differ.
    """
    model = tac_model(method)
    if lambda_phys_per_h is None:
        from onescan.dosimetry._physics import lambda_phys_per_h as _lp

        lambda_phys_per_h = _lp("I-131")
    lam_phys = float(lambda_phys_per_h)
    if not (math.isfinite(lam_phys) and lam_phys > 0):
        raise ValueError("lambda_phys_per_h must be a positive number (1/h)")
    t, y, valid = _prepare(t_h, f)
    n_pat = t.shape[0]
    n = valid.sum(1)
    res = model.fit(t, y, valid, lam_phys, max_iter=max_iter)
    params = {k: np.full(n_pat, np.nan) for k in param_names()}
    params.update(res.params)
    params["n_points"] = n.copy()
    lam = res.lambda_per_h
    with np.errstate(divide="ignore", invalid="ignore"):
        t_half = np.log(2.0) / lam
    ok_fit = np.isfinite(res.tiac_h) & (res.tiac_h > 0)
    flags = _flags(res, y, valid, n, ok_fit)
    tiac = np.where(ok_fit, res.tiac_h, np.nan)
    n_failed = int((~ok_fit).sum())
    if n_failed:
        log.info("TAC fit (%s): %d of %d curves failed", method, n_failed, n_pat)
    return TacFit(model=res.model.astype(str), tiac_h=tiac, lambda_eff_per_h=lam,
                  effective_half_life_h=t_half, a=res.a, r2=res.r2, flags=flags, params=params)
