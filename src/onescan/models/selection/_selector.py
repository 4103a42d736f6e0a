"""Sequential feature selection with mlxtend's results, solved in batches.

:class:`SequentialFeatureSelector` is a drop-in replacement for
``mlxtend.feature_selection.SequentialFeatureSelector`` (mlxtend 0.25): same
constructor, same search (forward/backward, floating, ``fixed_features``,
``feature_groups``, ``k_features`` as int, ``(min, max)``, ``"best"`` or
``"parsimonious"``), same fitted attributes (``k_feature_idx_``,
``k_feature_names_``, ``k_score_``, ``subsets_``), and it is also a proper
scikit-learn transformer (``SelectorMixin``: ``get_feature_names_out``,
``set_output(transform="pandas")``, ``get_support``).

How it is fast
--------------
When the wrapped estimator is scikit-learn's ``Lasso`` or ``ElasticNet``
(``positive=False``, ``alpha > 0``), ``Ridge`` or ``LinearRegression``, the
scoring is one of ``r2``, ``explained_variance``, ``neg_mean_squared_error``,
``neg_root_mean_squared_error``, ``neg_mean_absolute_error``,
``neg_median_absolute_error``, ``max_error`` (or ``None``, i.e. ``r2``), and
the folds are fixed (``cv`` an int → ``KFold(cv)`` without shuffling as
scikit-learn's ``check_cv`` gives a regressor, a splitter whose splits do not
change between calls, an iterable of splits, or no CV), every candidate
subset × fold of a step is solved together: the Gram matrix of each training
fold is computed once over all features, each candidate is an index into it,
and a batched coordinate descent (elastic net) or a batched linear solve
(Ridge/OLS) fits all of them at once, warm-started from the previous step's
solution (see :mod:`onescan.models.selection._kernels`).  For the elastic net, the
optimality system is also solved exactly on a guessed support (the previous
solution's plus the features that violate optimality, with the sign of
their gradient); a solution is accepted only when scikit-learn's duality gap
certifies it to ``1e-12·||y||²`` (scikit-learn's default stops at
``1e-4·||y||²``).  Most candidates are solved this way without a single
sweep; coordinate descent does the rest.  The estimator's ``tol`` is not
used (the solver is always tighter); its ``max_iter`` bounds the sweeps.  The attribute ``solver_`` says
which path a fit used.  Anything else (other estimators, callable scorers,
``fit_params``, shuffling splitters without a fixed seed) takes the generic
path, which calls ``cross_val_score`` per candidate exactly as mlxtend does.

Exact ties
----------
mlxtend keeps the first candidate with the highest mean CV score, in the
order in which it enumerates candidates (``list(set)`` order of the feature
indices; ascending for forward steps).  Mathematically equal scores occur,
e.g. when the Lasso gives the added feature a zero weight: every such
candidate then yields the same model.  scikit-learn's solver usually
reproduces such models bit for bit, so mlxtend keeps the first one; the
batched solver is exact to rounding, so on the batched path two scores that
differ by less than ``1e-9`` relative (plus ``1e-9`` absolute for ``r2`` and
``explained_variance``) are treated as equal, and every comparison of the
search ("is this subset better?") uses the same rule.  The first candidate
in mlxtend's order wins a tie: the choice mlxtend makes in exact
arithmetic.  The tolerance sits between the solver's accuracy and the score
differences that mean something: tied candidates solved by the batched path
agree to ~1e-15 relative (the solutions are certified to a duality gap of
``1e-12·||y||²`` and usually follow bit-identical arithmetic), while two
different models of a real selection problem differ by orders of magnitude
more than ``1e-9``.  mlxtend itself compares raw floats, so among tied
candidates it keeps whichever a BLAS kernel happened to round highest (this
changes with the CPU); onescan's choice does not.  The tests compare with
mlxtend run in exact arithmetic (tied scores made equal), not with its
rounding.

Differences from mlxtend
------------------------
* Parameters are checked in ``fit`` (scikit-learn convention) and raise
  ``ValueError`` / ``TypeError`` rather than ``AttributeError``; ``fit``
  does not modify ``k_features`` or ``scoring``.
* Progress is reported through :mod:`logging` (``verbose >= 1``), not stderr.
* There is no KeyboardInterrupt recovery (``finalize_fit``).
* The batched path computes in float64 also for float32 input.
"""

from __future__ import annotations

import logging
import numbers
import types
import warnings
from itertools import combinations

import numpy as np
import scipy.stats
from sklearn.utils.parallel import Parallel, delayed  # carries sklearn config and warning filters to workers
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.feature_selection import SelectorMixin
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.metrics import get_scorer
from sklearn.model_selection import check_cv, cross_val_score
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from onescan.models.selection import _kernels as _k

__all__ = ["SequentialFeatureSelector"]

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


class SequentialFeatureSelector(SelectorMixin, MetaEstimatorMixin, BaseEstimator):
    """Sequential feature selection (mlxtend-compatible, batched for linear models).

    Parameters
    ----------
    estimator : scikit-learn regressor or classifier
        Model whose cross-validated score drives the search.  ``Lasso``,
        ``ElasticNet``, ``Ridge`` and ``LinearRegression`` are solved in
        batches; any other estimator is fitted one subset × fold at a time.
    k_features : int, tuple of two ints, "best" or "parsimonious", default=1
        Number of features (or feature groups) to select; a ``(min, max)``
        range returns the best-scoring subset size within it; ``"best"`` is
        the whole range; ``"parsimonious"`` the smallest subset whose score
        is within mlxtend's standard-error rule of the best
        (``score_k >= best - std(cv_scores_k) / n_folds``).
    forward : bool, default=True
        Forward selection (add features) or backward elimination.
    floating : bool, default=False
        Add mlxtend's conditional exclusion (forward) / inclusion (backward).
    verbose : int, default=0
        ``>= 1`` logs one line per step at INFO level.
    scoring : str, callable or None, default=None
        scikit-learn scorer; ``None`` means ``"r2"`` for regressors and
        ``"accuracy"`` for classifiers.  Units are those of the scorer
        (e.g. squared target units for ``neg_mean_squared_error``).
    cv : int, cross-validation splitter, iterable of splits, or None/0, default=5
        Folds.  An int gives ``KFold(cv)`` (no shuffling) for regressors and
        ``StratifiedKFold(cv)`` for classifiers; ``None``, ``0`` or ``False``
        scores on the training data itself.
    n_jobs : int, default=1
        Processes for the generic path (joblib); the batched path is
        single-process numpy.
    pre_dispatch : int or str, default="2*n_jobs"
        joblib ``pre_dispatch`` of the generic path.
    clone_estimator : bool, default=True
        Clone the estimator before fitting (generic path).
    fixed_features : tuple of int or str, default=None
        Features (indices or column names) always kept.
    feature_groups : list of lists, default=None
        Features that are selected together.
    tol : float, default=None
        mlxtend's early stop: stop when adding (removing) a feature improves
        the score by less than ``tol`` (units of the score).

    Attributes
    ----------
    k_feature_idx_ : tuple of int
        Indices of the selected features (ascending).
    k_feature_names_ : tuple
        Their names: column names for a DataFrame, ``str(i)`` otherwise.
    k_score_ : float
        Mean CV score of the selected subset.
    subsets_ : dict
        ``{k: {"feature_idx", "cv_scores", "avg_score", "feature_names"}}``
        for every subset size visited, as in mlxtend.
    solver_ : str
        ``"batched-cd"`` (Lasso/ElasticNet), ``"batched-linear"``
        (Ridge/LinearRegression) or ``"generic"``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string column names.

    Examples
    --------
    >>> from sklearn.linear_model import Lasso
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=60, n_features=12, noise=5, random_state=0)
    >>> sfs = SequentialFeatureSelector(Lasso(alpha=0.3), k_features=3).fit(X, y)
    >>> len(sfs.k_feature_idx_)
    3
    """

    def __init__(
        self,
        estimator,
        k_features=1,
        forward=True,
        floating=False,
        verbose=0,
        scoring=None,
        cv=5,
        n_jobs=1,
        pre_dispatch="2*n_jobs",
        clone_estimator=True,
        fixed_features=None,
        feature_groups=None,
        tol=None,
    ):
        self.estimator = estimator
        self.k_features = k_features
        self.forward = forward
        self.floating = floating
        self.verbose = verbose
        self.scoring = scoring
        self.cv = cv
        self.n_jobs = n_jobs
        self.pre_dispatch = pre_dispatch
        self.clone_estimator = clone_estimator
        self.fixed_features = fixed_features
        self.feature_groups = feature_groups
        self.tol = tol

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            est_tags = get_tags(self.estimator)
            tags.input_tags.allow_nan = est_tags.input_tags.allow_nan
        except Exception:  # an estimator without tags: keep the defaults
            logger.debug("estimator has no scikit-learn tags")
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------ validation
    def _resolve_scoring(self):
        if self.scoring is not None:
            return self.scoring
        if is_classifier(self.estimator):
            return "accuracy"
        try:
            est_type = get_tags(self.estimator).estimator_type
        except Exception:
            est_type = getattr(self.estimator, "_estimator_type", None)
        if est_type == "regressor":
            return "r2"
        raise ValueError(
            "scoring=None needs a classifier or a regressor to infer the metric; "
            f"got {type(self.estimator).__name__}. Pass scoring explicitly."
        )

    def _check_params(self, n_features, names):
        if isinstance(self.cv, types.GeneratorType):
            raise TypeError(
                "cv is a generator object, which is not supported; pass a list of "
                "(train, test) splits instead, e.g. cv=list(splitter.split(X, y))."
            )
        name_to_idx = None if names is None else {nm: i for i, nm in enumerate(names)}

        def to_idx(values, what):
            values = list(values)
            types_ = {type(v) for v in values}
            if len(types_) > 1:
                raise ValueError(f"{what} values must have the same type. Found {types_}.")
            out = []
            for v in values:
                if isinstance(v, str):
                    if name_to_idx is None:
                        raise ValueError(
                            f"{what} names features ({v!r}) but X has no column names; "
                            "pass a DataFrame or use column indices."
                        )
                    if v not in name_to_idx:
                        raise ValueError(f"{what}: {v!r} is not a column of X.")
                    out.append(name_to_idx[v])
                elif isinstance(v, numbers.Integral) and not isinstance(v, bool):
                    out.append(int(v))
                else:
                    raise ValueError(f"{what} must hold column indices or names, got {v!r}.")
            return out

        fixed = tuple(to_idx(self.fixed_features or (), "fixed_features"))
        if not set(fixed).issubset(range(n_features)):
            raise ValueError("fixed_features contains a feature that is not in X.")
        if self.feature_groups is None:
            groups = [[i] for i in range(n_features)]
        else:
            groups = []
            for g in self.feature_groups:
                if len(g) == 0:
                    raise ValueError("Each list in feature_groups must be non-empty.")
                groups.append(to_idx(g, "feature_groups"))
            if sorted(_merge_lists(groups)) != list(range(n_features)):
                raise ValueError(
                    "feature_groups must contain every feature of X exactly once."
                )
        group_of = np.full(n_features, -1, dtype=np.int64)
        for gid, g in enumerate(groups):
            for i in g:
                group_of[i] = gid
        fixed_groups = {int(group_of[i]) for i in fixed}
        if sum(len(groups[g]) for g in fixed_groups) != len(fixed):
            raise ValueError(
                "For each feature in fixed_features, the other features of its group "
                "must be in fixed_features as well."
            )
        k_lb = max(1, len(fixed_groups))
        k_ub = len(groups)
        kf = self.k_features
        parsimonious = False
        if isinstance(kf, str):
            if kf not in ("best", "parsimonious"):
                raise ValueError('k_features as a string must be "best" or "parsimonious".')
            parsimonious = kf == "parsimonious"
            min_k, max_k = k_lb, k_ub
        elif isinstance(kf, tuple):
            if len(kf) != 2:
                raise ValueError("k_features tuple must be (min, max).")
            min_k, max_k = kf
            if min_k > max_k:
                raise ValueError("k_features: the min must not exceed the max.")
            for v in kf:
                if not isinstance(v, numbers.Integral) or not k_lb <= v <= k_ub:
                    raise ValueError(
                        f"k_features tuple values must be between {k_lb} and {k_ub} "
                        "(number of fixed groups .. number of features/groups)."
                    )
        elif isinstance(kf, numbers.Integral) and not isinstance(kf, bool):
            if not k_lb <= kf <= k_ub:
                raise ValueError(
                    f"k_features={kf} must be between {k_lb} and {k_ub} "
                    "(number of fixed groups .. number of features/groups)."
                )
            min_k = max_k = int(kf)
        else:
            raise ValueError("k_features must be a positive integer, a tuple or a string.")
        return fixed, groups, fixed_groups, int(min_k), int(max_k), parsimonious

    # ------------------------------------------------------------------- fit
    def fit(self, X, y, groups=None, **fit_params):
        """Run the sequential search.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features (any units; the estimator sees them unchanged).
        y : array-like of shape (n_samples,)
            Target (units of the estimator's predictions).
        groups : array-like of shape (n_samples,), optional
            Group labels passed to the CV splitter.
        **fit_params : dict
            Passed to the estimator's ``fit`` (forces the generic path).

        Returns
        -------
        self : SequentialFeatureSelector
        """
        names = None
        if hasattr(X, "columns") and getattr(X, "ndim", 2) == 2:
            names = list(X.columns)
        allow_nan = self.__sklearn_tags__().input_tags.allow_nan
        X_, y_ = validate_data(
            self,
            X,
            y,
            dtype="numeric",
            ensure_all_finite="allow-nan" if allow_nan else True,
            y_numeric=not is_classifier(self.estimator),
        )
        n_features = X_.shape[1]
        fixed, fgroups, fixed_groups, min_k, max_k, parsimonious = self._check_params(
            n_features, names
        )
        scoring = self._resolve_scoring()
        self._fgroups = fgroups
        ev = self._make_evaluator(X_, y_, groups, scoring, fit_params)
        self.solver_ = ev.name
        self._ev = ev
        if ev.tie_tol is None:
            better = lambda a, b: a > b  # noqa: E731
        else:
            rtol, atol = ev.tie_tol

            def better(a, b):
                if not (np.isfinite(a) and np.isfinite(b)):
                    return a > b
                return a > b + rtol * max(abs(a), abs(b)) + atol

        self._better = better

        subsets = {}
        if self.forward:
            k_idx = tuple(sorted(fixed_groups))
            k_stop = max_k
        else:
            k_idx = tuple(range(len(fgroups)))
            k_stop = min_k
        k = len(k_idx)
        if k > 0:
            (cv0,) = ev.scores([k_idx], base=None)
            subsets[k] = {"feature_idx": k_idx, "cv_scores": cv0, "avg_score": np.nanmean(cv0)}

        orig_set = set(range(len(fgroups)))
        while k != k_stop:
            prev_subset = set(k_idx)
            if self.forward:
                search_set, must_include_set = orig_set, prev_subset
            else:
                search_set, must_include_set = prev_subset, fixed_groups
            k_idx, k_score, cv_scores = self._step(
                ev, search_set, must_include_set, self.forward, base=tuple(prev_subset)
            )
            k = len(k_idx)
            if k not in subsets or better(k_score, subsets[k]["avg_score"]):
                k_idx = tuple(sorted(k_idx))
                subsets[k] = {"feature_idx": k_idx, "cv_scores": cv_scores, "avg_score": k_score}

            if self.tol is not None and k > 1:
                prev_k = k - 1 if self.forward else k + 1
                if prev_k in subsets:
                    if k_score - subsets[prev_k]["avg_score"] < self.tol:
                        k_stop = k

            if self.floating:
                is_float_forward = not self.forward
                (new_feature_idx,) = set(k_idx) ^ prev_subset
                for _ in range(n_features):
                    if self.forward and (len(k_idx) - len(fixed_groups)) <= 2:
                        break
                    if not self.forward and (len(orig_set) - len(k_idx) <= 2):
                        break
                    if is_float_forward:
                        search_set = orig_set - {new_feature_idx}
                        must_include_set = set(k_idx)
                    else:
                        search_set = set(k_idx)
                        must_include_set = fixed_groups | {new_feature_idx}
                    k_idx_c, k_score_c, cv_scores_c = self._step(
                        ev, search_set, must_include_set, is_float_forward, base=tuple(k_idx)
                    )
                    if not better(k_score_c, k_score):
                        break
                    if not better(k_score_c, subsets[len(k_idx_c)]["avg_score"]):
                        break
                    k_idx, k_score, cv_scores = k_idx_c, k_score_c, cv_scores_c
                    k_idx = tuple(sorted(k_idx))
                    k = len(k_idx)
                    subsets[k] = {"feature_idx": k_idx, "cv_scores": cv_scores, "avg_score": k_score}

            if self.verbose:
                logger.info("Features: %d/%s -- score: %s", len(k_idx), k_stop, k_score)

        self._finalize(subsets, min_k, max_k, parsimonious, names, n_features)
        del self._ev, self._better, self._fgroups
        return self

    def _step(self, ev, search_set, must_include_set, is_forward, base):
        """One round of mlxtend's ``_feature_selector`` (same candidate order)."""
        remaining = list(search_set - must_include_set)
        n = len(remaining)
        if n == 0:
            return None, None, None
        if is_forward:
            explorer = combinations(remaining, r=1)
        else:
            explorer = combinations(remaining, r=n - 1)
        cands = [tuple(set(p) | must_include_set) for p in explorer]
        cv_list = ev.scores(cands, base=base)
        cv_arr = np.asarray(cv_list, dtype=float).reshape(len(cands), -1)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN folds → NaN, as mlxtend
            avgs = np.nanmean(cv_arr, axis=1)
        if np.isnan(avgs).any():
            best = int(np.argmax(avgs))  # numpy (and so mlxtend) picks the first NaN
        else:
            # mlxtend keeps the first maximum (np.argmax); here the first
            # candidate not worse than the maximum under the tie rule.
            top = avgs.max()
            best = next(i for i in range(len(avgs)) if not self._better(top, avgs[i]))
        return cands[best], avgs[best], np.array(cv_list[best], copy=True)

    def _finalize(self, subsets, min_k, max_k, parsimonious, names, n_features):
        better = self._better
        max_score = -np.inf
        best_subset = None
        for k in subsets:
            if min_k <= k <= max_k and better(subsets[k]["avg_score"], max_score):
                max_score = subsets[k]["avg_score"]
                best_subset = k
        if best_subset is None:
            # no visited size in [min_k, max_k] (cannot happen after a full search)
            keys = list(subsets)
            arg = int(np.argmax([subsets[k]["avg_score"] for k in keys]))
            best_subset = keys[arg]
            max_score = subsets[best_subset]["avg_score"]
        k_score = max_score
        k_idx = subsets[best_subset]["feature_idx"]
        if parsimonious:
            for k in subsets:
                if k >= best_subset:
                    continue
                cvs = subsets[k]["cv_scores"]
                threshold = max_score - np.std(cvs) / cvs.shape[0]
                if not better(threshold, subsets[k]["avg_score"]):
                    max_score = subsets[k]["avg_score"]
                    best_subset = k
            k_score = max_score
            k_idx = subsets[best_subset]["feature_idx"]
        fg = self._fgroups
        for k in subsets:
            subsets[k]["feature_idx"] = _merge_lists(fg, subsets[k]["feature_idx"])
        self.k_feature_idx_ = _merge_lists(fg, k_idx)
        self.k_score_ = k_score
        if names is None:
            names = [str(i) for i in range(n_features)]
        for k in subsets:
            subsets[k]["feature_names"] = tuple(names[i] for i in subsets[k]["feature_idx"])
        self.k_feature_names_ = tuple(names[i] for i in self.k_feature_idx_)
        self.subsets_ = subsets

    # ------------------------------------------------------------ evaluators
    def _make_evaluator(self, X, y, groups, scoring, fit_params):
        fast = _fast_model(self.estimator)
        splits = None
        if fast is not None and not fit_params and isinstance(scoring, str) and scoring in _k.SCORERS:
            splits = _fixed_splits(self.cv, X, y, groups, self.estimator)
        if fast is not None and splits is not None:
            kind, params = fast
            stats = _k.FoldStats(X, y, splits, fit_intercept=params["fit_intercept"])
            dimensionless = _k.SCORE_IS_DIMENSIONLESS.get(scoring, False)
            return _BatchedEvaluator(
                stats, self._fgroups, kind, params, scoring,
                tie_tol=(1e-9, 1e-9 if dimensionless else 0.0),
            )
        scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring
        est = clone(self.estimator) if self.clone_estimator else self.estimator
        return _GenericEvaluator(
            est, X, y, groups, self.cv, scorer, self._fgroups, self.n_jobs,
            self.pre_dispatch, self.verbose, fit_params,
        )

    # ------------------------------------------------------------- transform
    def _get_support_mask(self):
        check_is_fitted(self, "k_feature_idx_")
        mask = np.zeros(self.n_features_in_, dtype=bool)
        mask[list(self.k_feature_idx_)] = True
        return mask

    def get_metric_dict(self, confidence_interval=0.95):
        """mlxtend's per-subset summary with spread of the CV scores.

        Parameters
        ----------
        confidence_interval : float, default=0.95
            Two-sided level of the ``ci_bound`` (Student t).

        Returns
        -------
        dict
            ``subsets_`` plus ``std_dev``, ``std_err`` and ``ci_bound`` (units
            of the score) for each subset size.
        """
        check_is_fitted(self, "subsets_")
        out = {}
        for k, v in self.subsets_.items():
            d = dict(v)
            std_err = scipy.stats.sem(v["cv_scores"])
            d["ci_bound"] = std_err * scipy.stats.t._ppf((1 + confidence_interval) / 2.0, len(v["cv_scores"]))
            d["std_dev"] = np.std(v["cv_scores"])
            d["std_err"] = std_err
            out[k] = d
        return out


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
