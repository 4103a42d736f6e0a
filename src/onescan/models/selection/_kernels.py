"""Batched solvers behind :class:`onescan.selection.SequentialFeatureSelector`.

A step of sequential feature selection cross-validates many small linear
models: every candidate subset × every fold.  Each fit is a few thousand
multiply-adds, so fitting them one by one (as mlxtend does through
``cross_val_score``) is almost all Python overhead.  This module solves all
of them together with numpy:

* :class:`FoldStats` centres each training fold exactly as scikit-learn's
  ``_preprocess_data`` does and stores the fold's Gram matrix ``Xcᵀ Xc``,
  ``Xcᵀ yc`` and ``ycᵀ yc`` over *all* features once, so a candidate subset is
  only an index into them.
* :func:`enet_cd_batch` runs cyclic coordinate descent on the elastic-net
  objective (Lasso is ``l1_ratio = 1``) for a whole batch of problems in the
  covariance ("Gram") formulation, with scikit-learn's duality gap as the
  stopping rule (a much tighter tolerance than scikit-learn's default) and an
  exact active-set polish: once the signs of the coefficients are right the
  KKT system is solved directly and accepted only if its duality gap is
  below the tolerance.  Converged problems leave the batch.
* :func:`ridge_batch` solves Ridge / ordinary least squares in closed form.
* :func:`fold_scores` predicts the held-out fold and scores it with the
  scikit-learn formula of the requested metric.

Objective (scikit-learn's, for one fold with ``n`` training rows)::

    (1 / (2 n)) ||yc - Xc w||² + α ρ ||w||₁ + (α (1 - ρ) / 2) ||w||²

which the solver handles in scikit-learn's ``n``-scaled form
``½||yc - Xc w||² + l1 ||w||₁ + (l2 / 2) ||w||²`` with ``l1 = n α ρ`` and
``l2 = n α (1 - ρ)``.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "FoldStats",
    "enet_cd_batch",
    "ridge_batch",
    "fold_scores",
    "SCORERS",
    "SCORE_IS_DIMENSIONLESS",
]

logger = logging.getLogger(__name__)


class FoldStats:
    """Sufficient statistics of every training fold, over all features.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Feature matrix (any units; converted to float64).
    y : ndarray of shape (n_samples,)
        Target (same units as the predictions that are scored).
    splits : list of (train_idx, test_idx)
        Row indices of each fold.
    fit_intercept : bool
        Centre ``X`` and ``y`` on the training rows (scikit-learn's
        ``fit_intercept=True``) or not.

    Attributes
    ----------
    G : ndarray of shape (n_folds, n_features + 1, n_features + 1)
        ``Xcᵀ Xc`` of each training fold.  The extra last feature is an
        all-zero padding column used to give candidate subsets of different
        sizes a common width.
    b : ndarray of shape (n_folds, n_features + 1)
        ``Xcᵀ yc``.
    yy : ndarray of shape (n_folds,)
        ``ycᵀ yc``.
    n_train : ndarray of shape (n_folds,)
        Training rows per fold.
    x_mean, y_mean : ndarray
        Training-fold means (zero when ``fit_intercept`` is False).
    X_test : list of ndarray
        Held-out rows of each fold, centred with the training mean; columns
        that are constant on the training rows are zeroed (their coefficient
        is zero, as in scikit-learn).
    y_test : list of ndarray
        Held-out targets.
    """

    def __init__(self, X, y, splits, fit_intercept=True):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n, p = X.shape
        Xa = np.zeros((n, p + 1))
        Xa[:, :p] = X
        F = len(splits)
        self.n_features = p
        self.pad_index = p
        self.G = np.empty((F, p + 1, p + 1))
        self.b = np.empty((F, p + 1))
        self.yy = np.empty(F)
        self.n_train = np.empty(F)
        self.x_mean = np.zeros((F, p + 1))
        self.y_mean = np.zeros(F)
        self.X_test = []
        self.y_test = []
        for f, (tr, te) in enumerate(splits):
            Xtr = Xa[tr]
            ytr = y[tr]
            if fit_intercept:
                xm = Xtr.mean(axis=0)
                ym = ytr.mean()
                # A column constant on the training rows has a zero centred
                # column; scikit-learn's solver then leaves its weight at 0.
                const = Xtr.max(axis=0) == Xtr.min(axis=0)
            else:
                xm = np.zeros(p + 1)
                ym = 0.0
                const = ~np.any(Xtr != 0, axis=0)
            Xc = Xtr - xm
            Xc[:, const] = 0.0
            yc = ytr - ym
            self.G[f] = Xc.T @ Xc
            self.b[f] = Xc.T @ yc
            self.yy[f] = yc @ yc
            self.n_train[f] = len(tr)
            self.x_mean[f] = xm
            self.y_mean[f] = ym
            Xte = Xa[te] - xm
            Xte[:, const] = 0.0
            self.X_test.append(np.ascontiguousarray(Xte))
            self.y_test.append(y[te])

    @property
    def n_folds(self):
        """Number of folds (int)."""
        return self.G.shape[0]

    def gather(self, idx):
        """Gram blocks of candidate subsets in every fold.

        Parameters
        ----------
        idx : ndarray of int, shape (n_candidates, m)
            Feature indices of each candidate (``pad_index`` for padding).

        Returns
        -------
        G : ndarray, shape (n_candidates * n_folds, m, m)
        b : ndarray, shape (n_candidates * n_folds, m)
        yy, n_train : ndarray, shape (n_candidates * n_folds,)
            Problems are ordered candidate-major: problem ``c * n_folds + f``.
        """
        C, m = idx.shape
        F = self.n_folds
        fold = np.tile(np.arange(F), C)
        rows = np.repeat(idx, F, axis=0)
        G = self.G[fold[:, None, None], rows[:, :, None], rows[:, None, :]]
        b = self.b[fold[:, None], rows]
        return G, b, self.yy[fold], self.n_train[fold]


def _gap(G, b, yy, l1, l2, w, return_xta=False):
    """scikit-learn's elastic-net duality gap in the Gram formulation.

    All arguments are batched on axis 0; returns the gap of the ``n``-scaled
    objective (same units as ``yy``), and ``Xᵀ(y - Xw) - l2 w`` if asked.
    """
    Gw = np.einsum("bjk,bk->bj", G, w)
    bw = np.einsum("bj,bj->b", b, w)
    R2 = np.maximum(yy - 2.0 * bw + np.einsum("bj,bj->b", w, Gw), 0.0)
    Ry = yy - bw
    w2 = np.einsum("bj,bj->b", w, w)
    XtA = b - Gw - l2[:, None] * w
    dual_norm = np.abs(XtA).max(axis=1)
    primal = 0.5 * (R2 + l2 * w2) + l1 * np.abs(w).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(dual_norm > l1, l1 / dual_norm, 1.0)
    dual = -0.5 * scale**2 * (R2 + l2 * w2) + scale * Ry
    if return_xta:
        return primal - dual, XtA
    return primal - dual


def _solve_signed(G, b, l1, l2, s):
    """Solve ``(G_AA + l2 I) w_A = b_A - l1 s_A`` with ``A = {s != 0}``, ``w = 0`` elsewhere."""
    m = G.shape[1]
    act = s != 0.0
    both = act[:, :, None] & act[:, None, :]
    M = np.where(both, G, 0.0)
    diag = np.arange(m)
    M[:, diag, diag] += np.where(act, l2[:, None], 1.0)
    rhs = np.where(act, b - l1[:, None] * s, 0.0)
    return np.where(act, _solve_robust(M, rhs), 0.0)


def _solve_robust(M, rhs):
    """Batched ``M x = rhs``; exactly singular systems get the minimum-norm solution.

    ``np.linalg.solve`` fails for the whole batch if one matrix is singular
    (exactly collinear active columns, e.g. duplicated features, whose
    minimum-norm solution gives the same fitted values); the batch is then
    halved until the singular problems are isolated.
    """
    try:
        return np.linalg.solve(M, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        if M.shape[0] == 1:
            return (np.linalg.pinv(M[0], hermitian=True) @ rhs[0])[None, :]
        h = M.shape[0] // 2
        return np.concatenate([_solve_robust(M[:h], rhs[:h]), _solve_robust(M[h:], rhs[h:])])


def _polish(G, b, yy, l1, l2, w, gap_tol, signs=None, refine=4):
    """Exact elastic-net solution from a guess of the active set and signs.

    Solves the optimality (KKT) system on the support ``A`` with signs ``s``
    (default: those of ``w``).  Where the solution's signs disagree with
    ``s``, or a coordinate outside ``A`` violates ``|x_jᵀ r| <= l1``, the
    guess is corrected (drop the former, add the latter with the sign of its
    gradient) and solved again, up to ``refine`` times.  A solution is kept
    only where its duality gap is ``<= gap_tol * yy``, so a wrong guess can
    never be accepted.

    Returns
    -------
    w_new : ndarray, like ``w``
    ok : ndarray of bool, shape (batch,)
    gap : ndarray, shape (batch,)
    """
    s = np.sign(w) if signs is None else np.asarray(signs, dtype=np.float64)
    zero_col = np.einsum("bjj->bj", G) <= 0.0
    s = np.where(zero_col, 0.0, s)
    w_best = np.array(w, dtype=np.float64, copy=True)
    ok = np.zeros(G.shape[0], dtype=bool)
    gap_best = np.full(G.shape[0], np.inf)
    todo = np.arange(G.shape[0])
    for _ in range(refine + 1):
        Gs, bs, yys, l1s, l2s, ss = G[todo], b[todo], yy[todo], l1[todo], l2[todo], s[todo]
        wp = _solve_signed(Gs, bs, l1s, l2s, ss)
        finite = np.all(np.isfinite(wp), axis=1)
        wp = np.where(finite[:, None], wp, 0.0)
        act = ss != 0.0
        signs_ok = np.all(~act | (wp * ss > 0.0), axis=1)
        gap, xta = _gap(Gs, bs, yys, l1s, l2s, wp, return_xta=True)
        good = signs_ok & finite & (gap <= gap_tol * yys)
        w_best[todo[good]] = wp[good]
        gap_best[todo[good]] = gap[good]
        ok[todo[good]] = True
        # corrected guess for the others
        viol = ~act & ~zero_col[todo] & (np.abs(xta) > l1s[:, None])
        s_new = np.where(act & (wp * ss <= 0.0), 0.0, ss)
        s_new = np.where(viol, np.sign(xta), s_new)
        changed = np.any(s_new != ss, axis=1)
        nxt = ~good & changed & finite
        if not nxt.any():
            break
        s[todo[nxt]] = s_new[nxt]
        todo = todo[nxt]
    return w_best, ok, gap_best


def enet_cd_batch(
    G, b, yy, l1, l2, w0, *, gap_tol=1e-12, loose_tol=1e-9, patience=2_000, max_sweeps=20_000,
    guess_support=True,
):
    """Solve a batch of elastic-net problems by cyclic coordinate descent.

    Parameters
    ----------
    G : ndarray of shape (batch, m, m)
        ``Xcᵀ Xc`` of each problem (centred training features).
    b : ndarray of shape (batch, m)
        ``Xcᵀ yc``.
    yy : ndarray of shape (batch,)
        ``ycᵀ yc`` (squared target units).
    l1, l2 : ndarray of shape (batch,)
        ``n α ρ`` and ``n α (1 - ρ)`` (scikit-learn's ``n``-scaled penalties).
    w0 : ndarray of shape (batch, m)
        Starting coefficients (warm start).
    gap_tol : float
        Stop when the duality gap is ``<= gap_tol * yy``.  scikit-learn stops
        at ``tol * yy`` with ``tol = 1e-4`` by default; the default here is
        eight orders of magnitude tighter, and problems whose active set is
        identified are solved exactly (machine precision).
    loose_tol : float
        After ``patience`` sweeps, problems with a gap ``<= loose_tol * yy``
        are accepted (badly conditioned ones converge slowly).
    patience, max_sweeps : int
        Sweep counts, see above; at ``max_sweeps`` the remaining problems
        are returned as they are with a ``ConvergenceWarning``.
    guess_support : bool
        Before any sweep, solve the optimality system exactly on a guessed
        support (the warm start's non-zeros plus the coordinates violating
        the optimality condition, with corrections, see :func:`_polish`);
        accepted only where the duality gap certifies it.  During the sweeps
        the same exact solve is tried regularly.  False runs plain CD (the
        exact solve is then only used to refine converged problems).

    Returns
    -------
    w : ndarray of shape (batch, m)
        Coefficients.
    gap : ndarray of shape (batch,)
        Final duality gap (squared target units).
    n_sweeps : int
        Sweeps done for the slowest problem.

    Notes
    -----
    Coordinates are visited in order, but only those in each problem's
    working set: non-zero at the warm start or violating the optimality
    condition ``|x_jᵀ r| <= l1`` at the latest gap check (the gap is always
    computed over all coordinates, so the result is the full problem's
    optimum).  A problem whose warm start is already optimal (e.g. the added
    feature would get a zero weight) is returned unchanged.  Columns with
    ``G_jj == 0`` (constant on the training fold, or padding) keep a zero
    weight, as in scikit-learn.
    """
    G = np.asarray(G, dtype=np.float64)
    B = G.shape[0]
    w_out = np.array(w0, dtype=np.float64, copy=True)
    gap_out = np.full(B, np.inf)
    if B == 0:
        return w_out, gap_out, 0
    norm2 = np.einsum("bjj->bj", G).copy()
    zero_col = norm2 <= 0.0
    w_out[zero_col] = 0.0
    act = _Active(G, np.asarray(b, np.float64), yy, l1, l2, w_out.copy(), norm2, zero_col)
    _start(act, gap_tol, guess_support, w_out, gap_out)
    sweeps = 0
    while act.ids.size and sweeps < max_sweeps:
        sweeps += 1
        act.sweep()
        tol_now = gap_tol if sweeps < patience else loose_tol
        _after_sweep(act, sweeps, tol_now, gap_tol, guess_support, w_out, gap_out)
    if act.ids.size:
        warnings.warn(
            f"Batched coordinate descent stopped after {sweeps} sweeps with {act.ids.size} of "
            f"{B} problems above the duality-gap tolerance (largest gap/||y||²: "
            f"{np.max(act.gap() / act.yy):.1e}); increase the "
            "estimator's max_iter or alpha.",
            ConvergenceWarning,
            stacklevel=3,
        )
        w_out[act.ids] = act.w
        gap_out[act.ids] = act.gap()
    return w_out, gap_out, sweeps


class _Active:
    """The unfinished problems of an :func:`enet_cd_batch` call; shrinks as problems converge.

    Holds each problem's ``G``, ``b``, ``yy``, ``l1``, ``l2``, current coefficients ``w``,
    ``G_jj`` (``n2``), the zero-column mask ``zc``, ``1/(G_jj + l2)`` (``inv``), the
    rows of ``G`` and ``b`` by coordinate (``Gt``, ``bt``, for the sweeps), the working set
    ``work`` and the problem's position ``ids`` in the batch.
    """

    def __init__(self, G, b, yy, l1, l2, w, norm2, zero_col):
        self.ids = np.arange(G.shape[0])
        self.G, self.b, self.yy, self.l1, self.l2 = G, b, yy, l1, l2
        self.w = w
        self.n2, self.zc = norm2, zero_col
        with np.errstate(divide="ignore", invalid="ignore"):
            self.inv = np.where(zero_col, 0.0, 1.0 / (norm2 + l2[:, None]))
        self.Gt = np.ascontiguousarray(G.transpose(1, 0, 2))  # (m, batch, m): row j of every G
        self.bt = np.ascontiguousarray(b.T)
        self.work = None

    def gap(self, return_xta=False):
        """Duality gap of the current coefficients (see :func:`_gap`)."""
        return _gap(self.G, self.b, self.yy, self.l1, self.l2, self.w, return_xta=return_xta)

    def violators(self, xta):
        """Coordinates violating the optimality condition ``|x_jᵀ r| <= l1``."""
        return ~self.zc & (np.abs(xta) > self.l1[:, None])

    def polish(self, rows, gap_tol, signs=None):
        """:func:`_polish` on the problems ``rows`` (mask or indices)."""
        return _polish(self.G[rows], self.b[rows], self.yy[rows], self.l1[rows], self.l2[rows], self.w[rows],
                       gap_tol, signs=signs)

    def finish(self, mask, gap, w_out, gap_out):
        """Write the problems ``mask`` (with their ``gap``) to the outputs and drop them."""
        w_out[self.ids[mask]] = self.w[mask]
        gap_out[self.ids[mask]] = gap[mask]
        keep = ~mask
        self.ids, self.G, self.b = self.ids[keep], self.G[keep], self.b[keep]
        self.yy, self.l1, self.l2 = self.yy[keep], self.l1[keep], self.l2[keep]
        self.w, self.n2, self.zc = self.w[keep], self.n2[keep], self.zc[keep]
        self.inv, self.work = self.inv[keep], self.work[keep]
        self.Gt, self.bt = self.Gt[:, keep], self.bt[:, keep]

    def sweep(self):
        """One cyclic coordinate-descent sweep over the working set."""
        w, work = self.w, self.work
        for j in np.flatnonzero(work.any(axis=0)):
            tmp = self.bt[j] - np.einsum("am,am->a", self.Gt[j], w) + self.n2[:, j] * w[:, j]
            new = np.sign(tmp) * np.maximum(np.abs(tmp) - self.l1, 0.0) * self.inv[:, j]
            w[:, j] = np.where(work[:, j], new, w[:, j])


def _start(act, gap_tol, guess_support, w_out, gap_out):
    """Before any sweep: set the working set, finish problems already optimal or solved exactly.

    Guesses the support: the warm start's plus every coordinate violating the optimality
    condition, with the sign of its gradient.  For most candidates of a selection step this is
    the optimum's support, and the exact solve finishes the problem without any sweep.
    """
    gap, xta = act.gap(return_xta=True)
    viol = act.violators(xta)
    act.work = (act.w != 0.0) | viol
    done = gap <= gap_tol * act.yy
    guess = ~done if guess_support else np.zeros_like(done)
    if guess.any():
        sg = np.where(viol, np.sign(xta), np.sign(act.w))[guess]
        wp, ok, gp = act.polish(guess, gap_tol, signs=sg)
        sel = np.flatnonzero(guess)[ok]
        act.w[sel] = wp[ok]
        gap[sel] = gp[ok]
        done[sel] = True
    if done.any():
        act.finish(done, gap, w_out, gap_out)


def _after_sweep(act, sweeps, tol_now, gap_tol, guess_support, w_out, gap_out):
    """After sweep number ``sweeps``: grow the working sets, polish, finish converged problems."""
    gap, xta = act.gap(return_xta=True)
    act.work |= act.violators(xta)
    done = gap <= tol_now * act.yy
    polished = np.zeros_like(done)
    # Try the exact active-set solution where CD is close, and on every
    # unfinished problem every 16 sweeps: slow (ill-conditioned) problems
    # often have the right signs long before CD reaches the tolerance.
    near = ~done & (gap <= 1e-6 * act.yy)
    if guess_support and sweeps % 16 == 0:
        near = ~done
    if near.any():
        wp, ok, gp = act.polish(near, gap_tol)
        sel = np.flatnonzero(near)[ok]
        act.w[sel] = wp[ok]
        gap[sel] = gp[ok]
        done[sel] = True
        polished[sel] = True
    if done.any():
        # Polish problems converged by the gap alone too, for full precision.
        cand = np.flatnonzero(done & ~polished)
        if cand.size:
            wp, ok, gp = act.polish(cand, gap_tol)
            better = ok & (gp <= gap[cand])
            act.w[cand[better]] = wp[better]
            gap[cand[better]] = gp[better]
        act.finish(done, gap, w_out, gap_out)


def ridge_batch(G, b, l2):
    """Closed-form Ridge / least-squares coefficients for a batch.

    Parameters
    ----------
    G : ndarray of shape (batch, m, m)
        ``Xcᵀ Xc``.
    b : ndarray of shape (batch, m)
        ``Xcᵀ yc``.
    l2 : ndarray of shape (batch,)
        Ridge penalty on the unscaled objective ``||yc - Xc w||² + l2 ||w||²``
        (scikit-learn's ``Ridge(alpha)``); 0 for least squares, which is
        solved by the minimum-norm pseudo-inverse like ``lstsq``.

    Returns
    -------
    w : ndarray of shape (batch, m)
    """
    B, m, _ = G.shape
    M = G.copy()
    diag = np.arange(m)
    M[:, diag, diag] += l2[:, None]
    zero_col = np.einsum("bjj->bj", G) <= 0.0
    w = np.zeros((B, m))
    pos = l2 > 0
    if pos.any():
        Mp = M[pos]
        zc = zero_col[pos]
        # Ridge keeps an exactly-zero column at zero weight (its equation is l2 w = 0).
        w[pos] = np.linalg.solve(Mp, np.where(zc, 0.0, b[pos])[:, :, None])[:, :, 0]
    if (~pos).any():
        w[~pos] = np.einsum("bjk,bk->bj", np.linalg.pinv(M[~pos], hermitian=True), b[~pos])
    return w


def _r2(y, e):
    # sklearn.metrics.r2_score with force_finite=True, one output.
    if y.shape[-1] < 2:
        return np.full(e.shape[0], np.nan)
    num = np.einsum("cn,cn->c", e, e)
    den = ((y - y.mean()) ** 2).sum()
    if den == 0.0:
        return np.where(num == 0.0, 1.0, 0.0)
    return 1.0 - num / den


def _explained_variance(y, e):
    if y.shape[-1] < 2:
        return np.full(e.shape[0], np.nan)
    num = e.var(axis=1)
    den = y.var()
    if den == 0.0:
        return np.where(num == 0.0, 1.0, 0.0)
    return 1.0 - num / den


SCORERS = {
    "r2": _r2,
    "explained_variance": _explained_variance,
    "neg_mean_squared_error": lambda y, e: -np.mean(e * e, axis=1),
    "neg_root_mean_squared_error": lambda y, e: -np.sqrt(np.mean(e * e, axis=1)),
    "neg_mean_absolute_error": lambda y, e: -np.mean(np.abs(e), axis=1),
    "neg_median_absolute_error": lambda y, e: -np.median(np.abs(e), axis=1),
    "max_error": lambda y, e: -np.max(np.abs(e), axis=1),
}
"""Scikit-learn scorer names handled by the batched path, as functions of the
held-out targets ``y`` (n_test,) and residuals ``e = y - ŷ`` (n_candidates, n_test)."""

SCORE_IS_DIMENSIONLESS = {"r2": True, "explained_variance": True}
"""Scores on a fixed scale (ties are judged with an absolute tolerance too)."""


def fold_scores(stats, idx, W, scoring):
    """Score candidate models on the held-out rows of each fold.

    Parameters
    ----------
    stats : FoldStats
    idx : ndarray of int, shape (n_candidates, m)
        Feature indices of each candidate.
    W : ndarray, shape (n_candidates, n_folds, m)
        Coefficients on the centred features.
    scoring : str
        A key of :data:`SCORERS`.

    Returns
    -------
    scores : ndarray, shape (n_candidates, n_folds)
    """
    fn = SCORERS[scoring]
    C = idx.shape[0]
    out = np.empty((C, stats.n_folds))
    for f in range(stats.n_folds):
        Xte = stats.X_test[f][:, idx]  # (n_test, C, m)
        pred = stats.y_mean[f] + np.einsum("ncm,cm->cn", Xte, W[:, f, :])
        yte = stats.y_test[f]
        out[:, f] = fn(yte, yte[None, :] - pred)
    return out
