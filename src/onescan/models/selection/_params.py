"""Checks of a :class:`~onescan.models.selection._selector.SequentialFeatureSelector`'s parameters.

Done in ``fit`` (scikit-learn convention), against the data's number of features and
column names; errors are ``ValueError`` / ``TypeError`` (mlxtend raises
``AttributeError`` for some of them).
"""

from __future__ import annotations

import numbers
import types
from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import get_tags

from onescan.models.selection._evaluators import _merge_lists


@dataclass(frozen=True)
class SearchSpace:
    """What the search may visit, from the checked parameters.

    Attributes
    ----------
    fixed : tuple of int
        Indices of the features always kept.
    groups : list of list of int
        Feature indices of each group (one feature per group without ``feature_groups``).
    fixed_groups : set of int
        Groups holding the fixed features.
    min_k, max_k : int
        Range of subset sizes (in groups) the result may have.
    parsimonious : bool
        ``k_features="parsimonious"``.
    """

    fixed: tuple
    groups: list
    fixed_groups: set
    min_k: int
    max_k: int
    parsimonious: bool


def resolve_scoring(scoring, estimator):
    """The scorer name or callable: ``scoring``, or ``"r2"``/``"accuracy"`` by estimator type."""
    if scoring is not None:
        return scoring
    if is_classifier(estimator):
        return "accuracy"
    try:
        est_type = get_tags(estimator).estimator_type
    except Exception:
        est_type = getattr(estimator, "_estimator_type", None)
    if est_type == "regressor":
        return "r2"
    raise ValueError(
        "scoring=None needs a classifier or a regressor to infer the metric; "
        f"got {type(estimator).__name__}. Pass scoring explicitly."
    )


def _to_indices(values, what, name_to_idx):
    """Column indices of ``values`` (indices or column names, all of one type)."""
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


def _groups(feature_groups, n_features, name_to_idx):
    if feature_groups is None:
        return [[i] for i in range(n_features)]
    groups = []
    for g in feature_groups:
        if len(g) == 0:
            raise ValueError("Each list in feature_groups must be non-empty.")
        groups.append(_to_indices(g, "feature_groups", name_to_idx))
    if sorted(_merge_lists(groups)) != list(range(n_features)):
        raise ValueError(
            "feature_groups must contain every feature of X exactly once."
        )
    return groups


def _fixed_groups(fixed, groups, n_features):
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
    return fixed_groups


def _k_range(kf, k_lb, k_ub):
    """(min_k, max_k, parsimonious) of ``k_features`` within [k_lb, k_ub]."""
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
    return int(min_k), int(max_k), parsimonious


def check_params(sfs, n_features, names) -> SearchSpace:
    """Check ``sfs``'s parameters against data with ``n_features`` columns named ``names``.

    Parameters
    ----------
    sfs : SequentialFeatureSelector
    n_features : int
    names : list of str or None
        Column names of X (None for an array).

    Returns
    -------
    SearchSpace
    """
    if isinstance(sfs.cv, types.GeneratorType):
        raise TypeError(
            "cv is a generator object, which is not supported; pass a list of "
            "(train, test) splits instead, e.g. cv=list(splitter.split(X, y))."
        )
    name_to_idx = None if names is None else {nm: i for i, nm in enumerate(names)}
    fixed = tuple(_to_indices(sfs.fixed_features or (), "fixed_features", name_to_idx))
    if not set(fixed).issubset(range(n_features)):
        raise ValueError("fixed_features contains a feature that is not in X.")
    groups = _groups(sfs.feature_groups, n_features, name_to_idx)
    fixed_groups = _fixed_groups(fixed, groups, n_features)
    min_k, max_k, parsimonious = _k_range(sfs.k_features, max(1, len(fixed_groups)), len(groups))
    return SearchSpace(fixed, groups, fixed_groups, min_k, max_k, parsimonious)
