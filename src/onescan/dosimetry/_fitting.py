"""Time–activity curve fits and time-integrated activity coefficients (SPEC §2.2–2.3).

All fits are vectorised across patients: the input is a 2-D array of times and
one of fractions (patients × points, padded with NaN), and every step is a numpy
operation on all patients at once. The default mono-exponential fit is a batched
Levenberg–Marquardt on the two parameters (a, λ_eff) with closed-form 2×2 solves
and projection onto the physical bound λ_eff ≥ λ_phys; it reproduces a per-patient
bounded least-squares fit (lmfit / scipy) to better than 1e-6 in TIAC (tested).

Methods
-------
``monoexp``
    f(t) = a·exp(−λ t), unweighted non-linear least squares on f, started from the
    log-linear fit, λ ≥ λ_phys. TIAC = a/λ. A grid search of the profile cost over
    λ ∈ [λ_phys, 5 /h] guards against a local minimum (LM is restarted from the grid
    where it is lower).
``loglinear``
    Ordinary least squares of ln f on t (points with f > 0), λ ≥ λ_phys
    (when the free slope is below the bound, ln a is refitted with λ = λ_phys).
``trapezoid``
    Trapezoids from t = 0 holding f(0) = f(t_first), plus a tail f(t_last)/λ_tail
    with λ_tail from the last two points, bounded below by λ_phys.
``auto``
    Mono- or bi-exponential by AICc for patients with ≥ 4 points, mono-exponential
    otherwise. AICc of the 4-parameter bi-exponential is finite only with ≥ 6
    points, so with 4–5 points the mono-exponential is always kept. The
    bi-exponential f = a1·exp(−λ1 t) + a2·exp(−λ2 t) has λ1 ≥ λ2 ≥ λ_phys, a2 > 0
    and f(0) ≥ 0 (a1 < 0 describes an uptake phase); its effective λ is the
    terminal λ2. It is fitted per patient (scipy least squares, variable projection),
    which is only done for the rare patients with ≥ 6 points.

Flags (short codes, per patient)
--------------------------------
``few_points`` (fewer than 2 usable points), ``fit_failed`` (no finite positive
TIAC), ``fit_not_converged``, ``lambda_at_physical_bound``, ``uptake_rising``
(fraction increases between consecutive points), ``low_r2`` (r² < 0.9 with ≥ 3 points).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TacFit", "fit_tacs", "FIT_METHODS", "LOW_R2"]

log = logging.getLogger(__name__)

FIT_METHODS = ("monoexp", "loglinear", "trapezoid", "auto")

#: r² below which a fit is flagged ``low_r2``.
LOW_R2 = 0.9

_BOUND_RTOL = 1e-9


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
        """Fitted fraction at times ``t_h`` (patients × times, or times broadcast to all patients).

        Defined for exponential models only (NaN for trapezoid patients).
        """
        t = np.atleast_2d(np.asarray(t_h, dtype=float))
        a = self.params["a"][:, None]
        lam = self.params["lambda_per_h"][:, None]
        out = a * np.exp(-lam * t)
        bi = self.model == "biexp"
        if bi.any():
            p = self.params
            tb = t if t.shape[0] == 1 else t[bi]
            out[bi] = (p["a1"][bi, None] * np.exp(-p["lambda1_per_h"][bi, None] * tb)
                       + p["a2"][bi, None] * np.exp(-p["lambda2_per_h"][bi, None] * tb))
        out[self.model == "trapezoid"] = np.nan
        return out


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


def _loglinear(t, y, valid, lam_phys):
    """Batched (bounded) OLS of ln y on t. Returns a, lam, ok."""
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


def _a_given_lambda(t, y, valid, lam):
    e = np.where(valid, np.exp(-lam[:, None] * t), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (e * y).sum(axis=1) / (e * e).sum(axis=1)


def _cost(t, y, valid, a, lam):
    r = np.where(valid, a[:, None] * np.exp(-lam[:, None] * t) - y, 0.0)
    return (r * r).sum(axis=1)


def _monoexp(t, y, valid, lam_phys, a0, lam0, max_iter=200, xtol=1e-12):
    """Batched projected Levenberg–Marquardt for y ≈ a·exp(−λ t), λ ≥ λ_phys.

    Times are shifted to each patient's first scan time t0 (the model is fitted as
    b·exp(−λ (t − t0)), a = b·exp(λ t0)), which keeps the 2×2 normal equations well
    conditioned when the first scan is late and the clearance fast.

    Returns a, lam, converged.
    """
    n = t.shape[0]
    cnt = valid.sum(1)
    t0 = np.where(cnt > 0, np.where(valid, t, np.inf).min(1), 0.0)
    t = np.where(valid, t - t0[:, None], 0.0)
    lam = np.maximum(lam0.copy(), lam_phys)
    with np.errstate(over="ignore", invalid="ignore"):
        a = a0 * np.exp(-lam * t0)
    cost = _cost(t, y, valid, a, lam)
    mu = np.full(n, 1e-3)
    active = np.isfinite(a) & np.isfinite(lam) & np.isfinite(cost)
    converged = ~active
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        tt, yy, vv = t[idx], y[idx], valid[idx]
        aa, ll, cc, mm = a[idx], lam[idx], cost[idx], mu[idx]
        e = np.where(vv, np.exp(-ll[:, None] * tt), 0.0)
        r = aa[:, None] * e - yy * vv
        ja = e
        jl = -aa[:, None] * tt * e
        g11 = (ja * ja).sum(1)
        g12 = (ja * jl).sum(1)
        g22 = (jl * jl).sum(1)
        b1 = -(ja * r).sum(1)
        b2 = -(jl * r).sum(1)
        h11 = g11 * (1.0 + mm)
        h22 = g22 * (1.0 + mm)
        det = h11 * h22 - g12 * g12
        with np.errstate(divide="ignore", invalid="ignore"):
            da = (h22 * b1 - g12 * b2) / det
            dl = (h11 * b2 - g12 * b1) / det
        bad = ~(np.isfinite(da) & np.isfinite(dl))
        da = np.where(bad, 0.0, da)
        dl = np.where(bad, 0.0, dl)
        l_new = ll + dl
        proj = l_new < lam_phys
        l_new = np.where(proj, lam_phys, l_new)
        a_new = np.where(proj, _a_given_lambda(tt, yy, vv, l_new), aa + da)
        c_new = _cost(tt, yy, vv, a_new, l_new)
        accept = np.isfinite(c_new) & (c_new <= cc) & ~bad
        small = (np.abs(a_new - aa) <= xtol * np.maximum(np.abs(aa), 1e-300)) & \
                (np.abs(l_new - ll) <= xtol * np.maximum(ll, lam_phys))
        a[idx] = np.where(accept, a_new, aa)
        lam[idx] = np.where(accept, l_new, ll)
        cost[idx] = np.where(accept, c_new, cc)
        mu[idx] = np.where(accept, np.maximum(mm / 3.0, 1e-15), mm * 4.0)
        done = (accept & small) | (cc == 0) | (mu[idx] > 1e12)
        converged[idx[done]] = True
        active[idx[done]] = False
    # polish a exactly for the final λ (optimal a is linear in the data)
    a_opt = _a_given_lambda(t, y, valid, lam)
    better = np.isfinite(a_opt) & (_cost(t, y, valid, a_opt, lam) <= cost)
    a = np.where(better, a_opt, a)
    with np.errstate(over="ignore", invalid="ignore"):
        a = a * np.exp(lam * t0)
    return a, lam, converged


#: Grid of the profile search for the mono-exponential, 1/h: from λ_phys to this.
_GRID_LAMBDA_MAX = 5.0
_GRID_POINTS = 64


def _profile_cost(t, y, valid, lam):
    """Least-squares cost at λ with the optimal a (variable projection), for a (patients × grid) λ."""
    e = np.where(valid[:, None, :], np.exp(-lam[:, :, None] * t[:, None, :]), 0.0)
    sey = (e * y[:, None, :]).sum(-1)
    see = (e * e).sum(-1)
    syy = ((y * valid) ** 2).sum(-1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(see > 0, syy - sey * sey / see, np.inf)


def _monoexp_global(t, y, valid, lam_phys, a0, lam0, max_iter=200):
    """Mono-exponential least squares from the log-linear start, guarded against local minima.

    The LM solution is compared with a log-spaced grid of λ in [λ_phys, 5 /h] on the
    profile cost (a eliminated in closed form); where a grid point is lower, LM is
    restarted from it and the better of the two solutions is kept.
    """
    a, lam, conv = _monoexp(t, y, valid, lam_phys, a0, lam0, max_iter=max_iter)
    if t.shape[0] == 0:
        return a, lam, conv
    grid = np.geomspace(lam_phys, max(_GRID_LAMBDA_MAX, 2 * lam_phys), _GRID_POINTS)
    prof = _profile_cost(t, y, valid, np.broadcast_to(grid, (t.shape[0], grid.size)))
    j = np.argmin(prof, axis=1)
    best_grid = prof[np.arange(t.shape[0]), j]
    cost = _cost(t, y, valid, a, lam)
    scale = ((y * valid) ** 2).sum(1)
    redo = np.flatnonzero(np.isfinite(best_grid) & (best_grid < cost - 1e-12 * scale))
    if redo.size:
        lg = grid[j[redo]]
        ag = _a_given_lambda(t[redo], y[redo], valid[redo], lg)
        a2, l2, c2 = _monoexp(t[redo], y[redo], valid[redo], lam_phys, ag, lg, max_iter=max_iter)
        better = _cost(t[redo], y[redo], valid[redo], a2, l2) < cost[redo]
        a[redo] = np.where(better, a2, a[redo])
        lam[redo] = np.where(better, l2, lam[redo])
        conv[redo] = np.where(better, c2, conv[redo])
        log.debug("monoexp: %d of %d fits restarted from the λ grid, %d improved", redo.size, t.shape[0],
                  int(better.sum()))
    return a, lam, conv


def _biexp_one(t, y, lam_phys, lam_mono):
    """Bi-exponential fit of one patient (variable projection), λ1 ≥ λ2 ≥ λ_phys.

    Returns (a1, l1, a2, l2, rss) or None.
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


def _aicc(rss, n, k):
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(n - k - 1 > 0, 2.0 * k * (k + 1) / (n - k - 1), np.inf)
        return n * np.log(rss / n) + 2 * k + corr


def _r2(y, valid, yhat):
    n = valid.sum(1)
    ym = np.where(n > 0, (y * valid).sum(1) / np.maximum(n, 1), np.nan)
    tss = (np.where(valid, y - ym[:, None], 0.0) ** 2).sum(1)
    rss = (np.where(valid, y - yhat, 0.0) ** 2).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - rss / tss
    return np.where((n >= 2) & (tss > 0), r2, np.nan), rss


def _trapezoid(t, y, valid, lam_phys):
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
    method : {"monoexp", "loglinear", "trapezoid", "auto"}
        Curve model (module docstring).
    lambda_phys_per_h : float or None
        Physical decay constant, 1/h, lower bound of λ_eff; ``None`` uses I-131
        from :func:`onescan.dosimetry._physics.lambda_phys_per_h`.
    max_iter : int
        Iteration limit of the Levenberg–Marquardt fit.

    Returns
    -------
    TacFit
        Arrays with one entry per patient.
    """
    if method not in FIT_METHODS:
        raise ValueError(f"fit method must be one of {', '.join(FIT_METHODS)}, not {method!r}")
    if lambda_phys_per_h is None:
        from onescan.dosimetry._physics import lambda_phys_per_h as _lp

        lambda_phys_per_h = _lp("I-131")
    lam_phys = float(lambda_phys_per_h)
    if not (math.isfinite(lam_phys) and lam_phys > 0):
        raise ValueError("lambda_phys_per_h must be a positive number (1/h)")
    t, y, valid = _prepare(t_h, f)
    n_pat = t.shape[0]
    n = valid.sum(1)
    nan = np.full(n_pat, np.nan)
    params = {"a": nan.copy(), "lambda_per_h": nan.copy(), "a1": nan.copy(), "lambda1_per_h": nan.copy(),
              "a2": nan.copy(), "lambda2_per_h": nan.copy(), "n_points": n.copy()}
    flags: list[list[str]] = [[] for _ in range(n_pat)]
    converged = np.ones(n_pat, dtype=bool)
    at_bound = np.zeros(n_pat, dtype=bool)
    r2 = nan.copy()

    if method == "trapezoid":
        tiac, lam, a, at_bound = _trapezoid(t, y, valid, lam_phys)
        model = np.full(n_pat, "trapezoid", dtype=object)
        params["a"], params["lambda_per_h"] = a, lam
    else:
        a, lam, ok = _loglinear(t, y, valid, lam_phys)
        if method in ("monoexp", "auto"):
            a, lam, converged = _monoexp_global(t, y, valid, lam_phys, a, lam, max_iter=max_iter)
            converged &= ok
        model = np.full(n_pat, "loglinear" if method == "loglinear" else "monoexp", dtype=object)
        yhat = a[:, None] * np.exp(-lam[:, None] * t)
        r2, rss = _r2(y, valid, yhat)
        with np.errstate(divide="ignore", invalid="ignore"):
            tiac = a / lam
        at_bound = lam <= lam_phys * (1.0 + _BOUND_RTOL)
        params["a"], params["lambda_per_h"] = a.copy(), lam.copy()
        if method == "auto":
            # bi-exponential candidates: AICc is finite for k = 4 only with n >= 6
            cand = np.flatnonzero((n >= 6) & np.isfinite(tiac))
            for i in cand:
                m = valid[i]
                res = _biexp_one(t[i, m], y[i, m], lam_phys, float(lam[i]))
                if res is None:
                    continue
                a1, l1, a2, l2, rss_b = res
                tiac_b = a1 / l1 + a2 / l2
                # a curve that stays non-negative for t >= 0: a2 > 0 and f(0) = a1 + a2 >= 0
                if not (np.isfinite(tiac_b) and tiac_b > 0 and a2 > 0 and a1 + a2 >= 0):
                    continue
                floor = 1e-24 * float((y[i, m] ** 2).sum())
                aic_m = _aicc(max(float(rss[i]), floor), int(n[i]), 2)
                aic_b = _aicc(max(rss_b, floor), int(n[i]), 4)
                if aic_b < aic_m:
                    model[i] = "biexp"
                    tiac[i] = tiac_b
                    a[i] = a1 + a2
                    lam[i] = l2
                    at_bound[i] = l2 <= lam_phys * (1.0 + _BOUND_RTOL)
                    params["a1"][i], params["lambda1_per_h"][i] = a1, l1
                    params["a2"][i], params["lambda2_per_h"][i] = a2, l2
                    yh = a1 * np.exp(-l1 * t[i, m]) + a2 * np.exp(-l2 * t[i, m])
                    r2i, _ = _r2(y[i, m][None], np.ones((1, m.sum()), bool), yh[None])
                    r2[i] = r2i[0]
        params["a"] = np.where(model == "biexp", params["a"], a)
        params["lambda_per_h"] = np.where(model == "biexp", params["lambda_per_h"], lam)

    with np.errstate(divide="ignore", invalid="ignore"):
        t_half = np.log(2.0) / lam
    ok_fit = np.isfinite(tiac) & (tiac > 0)
    rising = (valid[:, 1:] & valid[:, :-1] & (y[:, 1:] > y[:, :-1] * (1.0 + 1e-9))).any(1)
    # flags, built column-wise then joined per patient
    codes = [
        ("few_points", n < 2),
        ("fit_failed", ~ok_fit),
        ("fit_not_converged", ok_fit & ~converged),
        ("lambda_at_physical_bound", ok_fit & at_bound),
        ("uptake_rising", rising),
        ("low_r2", ok_fit & (n >= 3) & np.isfinite(r2) & (r2 < LOW_R2)),
    ]
    for code, mask in codes:
        for i in np.flatnonzero(mask):
            flags[i].append(code)
    tiac = np.where(ok_fit, tiac, np.nan)
    n_failed = int((~ok_fit).sum())
    if n_failed:
        log.info("TAC fit (%s): %d of %d curves failed", method, n_failed, n_pat)
    return TacFit(model=model.astype(str), tiac_h=tiac, lambda_eff_per_h=lam,
                  effective_half_life_h=t_half, a=a, r2=r2, flags=flags, params=params)
