"""How a sequential search scores candidate subsets: batched (linear models) or generic.

:class:`_BatchedEvaluator` solves every candidate subset × fold of a step together with
the kernels of :mod:`onescan.models.selection._kernels`; :class:`_GenericEvaluator` calls
``cross_val_score`` per candidate, as mlxtend does. :func:`make_evaluator` picks one for a
:class:`~onescan.models.selection._selector.SequentialFeatureSelector` fit.
"""

from __future__ import annotations

import logging
import numbers

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.metrics import get_scorer
from sklearn.model_selection import check_cv, cross_val_score
from sklearn.utils.parallel import Parallel, delayed  # carries sklearn config and warning filters to workers

from onescan.models.selection import _kernels as _k

logger = logging.getLogger(__name__)

# Candidates per batched solve are chunked so that the gathered Gram blocks
# stay below this many float64 values (~32 MB).
_MAX_BATCH_VALUES = 4_000_000


def _merge_lists(nested_list, high_level_indices=None):
    """Feature indices of a set of feature groups, sorted (as mlxtend)."""
    if high_level_indices is None:
        high_level_indices = list(range(len(nested_list)))
    out = []
    for idx in high_level_indices:
        out.extend(nested_list[idx])
    return tuple(sorted(out))


def make_evaluator(sfs, X, y, groups, scoring, fit_params, fgroups):
    """The evaluator of a fit of ``sfs`` (a SequentialFeatureSelector) on ``X``, ``y``.

    The batched one when the estimator, the scoring and the folds allow it (see the
    selector's module docstring), else the generic one.
    """
    fast = _fast_model(sfs.estimator)
    splits = None
    if fast is not None and not fit_params and isinstance(scoring, str) and scoring in _k.SCORERS:
        splits = _fixed_splits(sfs.cv, X, y, groups, sfs.estimator)
    if fast is not None and splits is not None:
        kind, params = fast
        stats = _k.FoldStats(X, y, splits, fit_intercept=params["fit_intercept"])
        dimensionless = _k.SCORE_IS_DIMENSIONLESS.get(scoring, False)
        return _BatchedEvaluator(
            stats, fgroups, kind, params, scoring,
            tie_tol=(1e-9, 1e-9 if dimensionless else 0.0),
        )
    scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring
    est = clone(sfs.estimator) if sfs.clone_estimator else sfs.estimator
    return _GenericEvaluator(
        est, X, y, groups, sfs.cv, scorer, fgroups, sfs.n_jobs,
        sfs.pre_dispatch, sfs.verbose, fit_params,
    )


def _fast_model(est):
    """(kind, params) when ``est`` can be solved in batches, else None."""
    t = type(est)
    if t in (Lasso, ElasticNet):
        p = est.get_params()
        l1_ratio = 1.0 if t is Lasso else p["l1_ratio"]
        alpha = p["alpha"]
        if (
            not p["positive"]
            and isinstance(alpha, numbers.Real) and alpha > 0
            and isinstance(l1_ratio, numbers.Real) and 0 < l1_ratio <= 1
            and isinstance(p["fit_intercept"], (bool, np.bool_))
        ):
            return "enet", {"alpha": float(alpha), "l1_ratio": float(l1_ratio),
                            "fit_intercept": bool(p["fit_intercept"]),
                            "max_iter": max(int(p["max_iter"]), 100)}
    elif t is Ridge:
        p = est.get_params()
        alpha = p["alpha"]
        if (
            not p["positive"] and isinstance(alpha, numbers.Real) and alpha > 0
            and isinstance(p["fit_intercept"], (bool, np.bool_))
        ):
            return "ridge", {"alpha": float(alpha), "fit_intercept": bool(p["fit_intercept"])}
    elif t is LinearRegression:
        p = est.get_params()
        if not p["positive"] and isinstance(p["fit_intercept"], (bool, np.bool_)):
            return "ridge", {"alpha": 0.0, "fit_intercept": bool(p["fit_intercept"])}
    return None


def _fixed_splits(cv, X, y, groups, estimator):
    """The folds as a list, if they are the same at every call; else None.

    Mirrors mlxtend: a falsy ``cv`` means "fit and score on all rows".
    """
    n = X.shape[0]
    if not cv:
        idx = np.arange(n)
        return [(idx, idx)]
    if isinstance(cv, numbers.Integral):
        splitter = check_cv(cv, y, classifier=is_classifier(estimator))
    elif hasattr(cv, "split"):
        rs = getattr(cv, "random_state", None)
        shuffles = getattr(cv, "shuffle", None)
        if (shuffles or shuffles is None and hasattr(cv, "random_state")) and not isinstance(
            rs, numbers.Integral
        ):
            return None  # random folds change at every call in mlxtend too
        splitter = cv
    else:
        splitter = check_cv(cv, y, classifier=is_classifier(estimator))
    splits = [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, y, groups)]
    if not splits:
        return None
    return splits


class _BatchedEvaluator:
    """CV scores of many subsets at once for linear least-squares models."""

    def __init__(self, stats, fgroups, kind, params, scoring, tie_tol):
        self.stats = stats
        self.fgroups = fgroups
        self.kind = kind
        self.params = params
        self.scoring = scoring
        self.tie_tol = tie_tol
        self.name = "batched-cd" if kind == "enet" else "batched-linear"
        self._coef = {}    # merged feature tuple -> (feature order, (n_folds, m) coefficients)
        self._scores = {}  # merged feature tuple -> cv scores

    def scores(self, cands, base):
        """Mean-ready CV scores (n_folds,) for each candidate group subset."""
        merged = [_merge_lists(self.fgroups, c) for c in cands]
        todo = [t for t in dict.fromkeys(merged) if t not in self._scores]
        if todo:
            base_m = None if base is None else _merge_lists(self.fgroups, base)
            self._solve(todo, base_m)
        return np.array([self._scores[t] for t in merged])

    def _solve(self, subsets, base):
        st = self.stats
        F = st.n_folds
        base_row, base_w = self._coef.get(base, (None, None)) if base is not None else (None, None)
        pos_in_base = {} if base_w is None else {f: i for i, f in enumerate(base_row)}
        m = max(len(s) for s in subsets)
        # Local order: features of the warm-start subset first (in its order),
        # then the others ascending, then padding.  Candidates that differ only
        # in a feature with zero weight then follow bit-identical arithmetic.
        order = []
        for s in subsets:
            inb = [f for f in s if f in pos_in_base]
            inb.sort(key=pos_in_base.__getitem__)
            rest = [f for f in s if f not in pos_in_base]
            order.append(inb + rest + [st.pad_index] * (m - len(s)))
        idx = np.array(order, dtype=np.intp)
        w0 = np.zeros((len(subsets), F, m))
        if base_w is not None:
            for c, row in enumerate(order):
                for i, f in enumerate(row):
                    j = pos_in_base.get(f)
                    if j is not None:
                        w0[c, :, i] = base_w[:, j]
        chunk = max(1, _MAX_BATCH_VALUES // max(1, F * m * m))
        for start in range(0, len(subsets), chunk):
            sl = slice(start, start + chunk)
            W = self._fit(idx[sl], w0[sl])
            sc = _k.fold_scores(st, idx[sl], W, self.scoring)
            for c, s in enumerate(subsets[sl]):
                # coefficients in the local order of this solve (for warm starts)
                self._coef[s] = (order[start + c][: len(s)], W[c][:, : len(s)])
                self._scores[s] = sc[c]

    def _fit(self, idx, w0):
        st = self.stats
        C, m = idx.shape
        F = st.n_folds
        G, b, yy, ntr = st.gather(idx)
        if self.kind == "enet":
            a, r = self.params["alpha"], self.params["l1_ratio"]
            # scikit-learn's budget is max_iter sweeps; spend up to as many,
            # accepting a gap of 1e-9·||y||² (vs sklearn's tol·||y||²) after half.
            mi = self.params["max_iter"]
            w, gap, sweeps = _k.enet_cd_batch(
                G, b, yy, ntr * a * r, ntr * a * (1.0 - r), w0.reshape(C * F, m),
                patience=max(1, mi // 2), max_sweeps=mi,
            )
            logger.debug("batched CD: %d problems of %d features, %d sweeps", C * F, m, sweeps)
        else:
            w = _k.ridge_batch(G, b, np.full(C * F, self.params["alpha"]))
        return w.reshape(C, F, m)


class _GenericEvaluator:
    """CV scores through ``cross_val_score``, one subset at a time (as mlxtend)."""

    name = "generic"
    tie_tol = None

    def __init__(self, est, X, y, groups, cv, scorer, fgroups, n_jobs, pre_dispatch, verbose, fit_params):
        self.est, self.X, self.y, self.groups = est, X, y, groups
        self.cv, self.scorer, self.fgroups = cv, scorer, fgroups
        self.n_jobs, self.pre_dispatch, self.verbose = n_jobs, pre_dispatch, verbose
        self.fit_params = fit_params

    def _one(self, cand):
        idx = list(_merge_lists(self.fgroups, cand))
        Xs = self.X[:, idx]
        if self.cv:
            return cross_val_score(
                self.est, Xs, self.y, groups=self.groups, cv=self.cv, scoring=self.scorer,
                n_jobs=1, pre_dispatch=self.pre_dispatch, params=self.fit_params,
            )
        self.est.fit(Xs, self.y, **self.fit_params)
        return np.array([self.scorer(self.est, Xs, self.y)])

    def scores(self, cands, base):
        if len(cands) > 1 and self.n_jobs not in (None, 1):
            n_jobs = min(self.n_jobs, len(cands)) if self.n_jobs > 0 else self.n_jobs
            par = Parallel(n_jobs=n_jobs, pre_dispatch=self.pre_dispatch)
            return list(par(delayed(self._one)(c) for c in cands))
        return [self._one(c) for c in cands]
