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
import warnings
from itertools import combinations

import numpy as np
import scipy.stats
from sklearn.base import BaseEstimator, MetaEstimatorMixin, is_classifier
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from onescan.models.selection._evaluators import _merge_lists, make_evaluator
from onescan.models.selection._params import check_params, resolve_scoring

__all__ = ["SequentialFeatureSelector"]

logger = logging.getLogger(__name__)


def _tie_rule(tie_tol):
    """``better(a, b)``: is score ``a`` better than ``b`` (beyond the evaluator's tie tolerance)?"""
    if tie_tol is None:
        return lambda a, b: a > b  # noqa: E731
    rtol, atol = tie_tol

    def better(a, b):
        if not (np.isfinite(a) and np.isfinite(b)):
            return a > b
        return a > b + rtol * max(abs(a), abs(b)) + atol

    return better


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
        space = check_params(self, n_features, names)
        scoring = resolve_scoring(self.scoring, self.estimator)
        self._fgroups = space.groups
        ev = make_evaluator(self, X_, y_, groups, scoring, fit_params, space.groups)
        self.solver_ = ev.name
        self._ev = ev
        self._better = _tie_rule(ev.tie_tol)
        subsets = self._search(ev, space, n_features)
        self._finalize(subsets, space.min_k, space.max_k, space.parsimonious, names, n_features)
        del self._ev, self._better, self._fgroups
        return self

    def _search(self, ev, space, n_features):
        """mlxtend's search loop: ``{k: {"feature_idx", "cv_scores", "avg_score"}}`` per size visited."""
        better = self._better
        fixed_groups = space.fixed_groups
        subsets = {}
        if self.forward:
            k_idx = tuple(sorted(fixed_groups))
            k_stop = space.max_k
        else:
            k_idx = tuple(range(len(space.groups)))
            k_stop = space.min_k
        k = len(k_idx)
        if k > 0:
            (cv0,) = ev.scores([k_idx], base=None)
            subsets[k] = {"feature_idx": k_idx, "cv_scores": cv0, "avg_score": np.nanmean(cv0)}

        orig_set = set(range(len(space.groups)))
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
                k_idx, k_score, cv_scores = self._float(
                    ev, subsets, (k_idx, k_score, cv_scores), prev_subset, orig_set, fixed_groups, n_features
                )
                k = len(k_idx)

            if self.verbose:
                logger.info("Features: %d/%s -- score: %s", len(k_idx), k_stop, k_score)
        return subsets

    def _float(self, ev, subsets, current, prev_subset, orig_set, fixed_groups, n_features):
        """mlxtend's conditional exclusion (forward) / inclusion (backward) after a step.

        ``current`` is the step's ``(k_idx, k_score, cv_scores)``; returns it, improved.
        """
        better = self._better
        k_idx, k_score, cv_scores = current
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
        return k_idx, k_score, cv_scores

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
