"""Tests for onescan.models.selection._selector: equivalence with mlxtend 0.25 and sklearn conventions.

The reference is mlxtend's SequentialFeatureSelector around scikit-learn's
Lasso.  scikit-learn's solver stops at a duality gap of ``tol * ||y||²``
(``tol=1e-4`` by default), which moves fold scores by up to ~1e-4 relative;
the tight comparisons therefore use ``Lasso(tol=1e-10)`` inside mlxtend
(same objective, solved to rounding), and a separate test checks the default
``Lasso`` on well-separated problems with a tolerance of sklearn's precision.

Ties are tested as ties.  Candidates that give the same model (a feature with
zero weight, an exact duplicate of a selected column) have equal scores in
exact arithmetic, but the floating-point values scikit-learn returns for them
differ in the last bits depending on the BLAS kernel (OpenBLAS picks one per
CPU), so mlxtend's raw ``argmax`` among them is not reproducible.  The
reference here is mlxtend *in exact arithmetic*: every fold score mlxtend
computes is snapped to the first score seen within the tie tolerance
(``TIE_RTOL``, the same rule as the batched solver, see
:mod:`onescan.models.selection._selector`), so tied candidates compare bit-identical and
mlxtend's own code keeps the first one in its candidate order.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
import pytest
import mlxtend.feature_selection.sequential_feature_selector as mlxtend_sfs_module
from mlxtend.feature_selection import SequentialFeatureSelector as MlxtendSFS
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from onescan.models.selection._kernels import FoldStats, enet_cd_batch
from onescan.models.selection._selector import SequentialFeatureSelector


def _problem(seed, n=36, p=9, n_informative=4, noise=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, 1] += 0.5 * X[:, 0]  # some correlation
    coef = np.zeros(p)
    coef[rng.choice(p, n_informative, replace=False)] = rng.uniform(0.5, 2.0, n_informative) * rng.choice([-1, 1], n_informative)
    y = X @ coef + noise * rng.normal(size=n) + 3.0
    return X, y


def _tight(alpha):
    return Lasso(alpha=alpha, tol=1e-10, max_iter=200_000)


def _assert_same(ref, ours, rtol=1e-7, atol=1e-9):
    assert list(ours.subsets_) == list(ref.subsets_)
    for k, r in ref.subsets_.items():
        o = ours.subsets_[k]
        assert o["feature_idx"] == r["feature_idx"], k
        assert o["feature_names"] == r["feature_names"], k
        np.testing.assert_allclose(o["cv_scores"], r["cv_scores"], rtol=rtol, atol=atol)
        np.testing.assert_allclose(o["avg_score"], r["avg_score"], rtol=rtol, atol=atol)
    assert ours.k_feature_idx_ == ref.k_feature_idx_
    assert ours.k_feature_names_ == ref.k_feature_names_
    np.testing.assert_allclose(ours.k_score_, ref.k_score_, rtol=rtol, atol=atol)


# Relative tolerance within which two scores are one tie (the batched
# solver's rule, onescan.models.selection._selector); tied scores differ by ~1e-16 here, and
# distinct candidates of these problems by more than 1e-6.
TIE_RTOL = 1e-9


class _ScoreSnapper:
    """Maps each score to the first one seen within the tie tolerance."""

    def __init__(self, rtol=TIE_RTOL):
        self.rtol = rtol
        self.seen = []

    def __call__(self, value):
        v = float(value)
        if not np.isfinite(v):
            return v
        for s in self.seen:
            if abs(v - s) <= self.rtol * max(abs(v), abs(s)):
                return s
        self.seen.append(v)
        return v


@contextlib.contextmanager
def exact_arithmetic_mlxtend(jitter=None):
    """Run mlxtend with tied fold scores made bit-identical (see module doc).

    mlxtend scores every candidate through the module-level ``_calc_score``
    (in-process with its default ``n_jobs=1``); the wrapper snaps each fold
    score, so ``np.argmax`` and every ``>``/``<=`` of mlxtend's search see
    exact ties where exact arithmetic has them.  ``jitter`` (a numpy
    Generator) first moves every score by a few ulps at random, as another
    BLAS kernel would.
    """
    original = mlxtend_sfs_module._calc_score
    snap = _ScoreSnapper()

    def snapped(*args, **kwargs):
        subset, cv_scores = original(*args, **kwargs)
        scores = np.ravel(np.asarray(cv_scores, dtype=float))
        if jitter is not None:
            scores = scores * (1.0 + jitter.integers(-4, 5, size=scores.shape) * np.finfo(float).eps)
        return subset, np.array([snap(s) for s in scores])

    mlxtend_sfs_module._calc_score = snapped
    try:
        yield snap
    finally:
        mlxtend_sfs_module._calc_score = original


def _fit_both(X, y, alpha, ref_estimator=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with exact_arithmetic_mlxtend():
            ref = MlxtendSFS(ref_estimator if ref_estimator is not None else _tight(alpha), **kw).fit(X, y)
        ours = SequentialFeatureSelector(Lasso(alpha=alpha), **kw).fit(X, y)
    return ref, ours


CASES = [
    # (seed, n, p, alpha, kwargs).  Small alphas: every added feature gets a
    # non-zero weight, so no two candidates give the same model (see the
    # tie rule in onescan.models.selection._selector).
    (0, 36, 9, 0.02, dict(k_features=4)),
    (1, 50, 8, 0.01, dict(k_features="best")),
    (2, 30, 7, 0.02, dict(k_features=(2, 5))),
    (3, 40, 8, 0.02, dict(k_features=2, forward=False)),
    (4, 45, 7, 0.01, dict(k_features="parsimonious")),
    (5, 40, 8, 0.02, dict(k_features=5, floating=True)),
    (6, 36, 7, 0.02, dict(k_features=2, forward=False, floating=True)),
    (7, 40, 8, 0.02, dict(k_features=4, fixed_features=(2, 5))),
    (8, 40, 7, 0.01, dict(k_features=3, forward=False, fixed_features=(0,))),
    (9, 45, 8, 0.02, dict(k_features=4, scoring="neg_mean_squared_error", cv=4)),
    (10, 45, 8, 0.02, dict(k_features=3, scoring="neg_root_mean_squared_error", cv=3)),
    (11, 40, 7, 0.02, dict(k_features=3, scoring="neg_mean_absolute_error")),
    (12, 40, 6, 0.02, dict(k_features=3, cv=0)),
    (13, 40, 8, 0.02, dict(k_features=6, floating=True, scoring="neg_mean_squared_error")),
    (14, 34, 8, 0.05, dict(k_features="best", forward=False)),
    (15, 60, 10, 0.3, dict(k_features=3)),
]


@pytest.mark.parametrize("seed,n,p,alpha,kw", CASES)
def test_same_as_mlxtend(seed, n, p, alpha, kw):
    X, y = _problem(seed, n=n, p=p)
    ref, ours = _fit_both(X, y, alpha, **kw)
    assert ours.solver_ == "batched-cd"
    _assert_same(ref, ours)


def test_default_lasso_reference_within_sklearn_precision():
    # mlxtend around the default Lasso(tol=1e-4): same subsets; scores agree
    # to scikit-learn's own precision.
    X, y = _problem(21, n=52, p=12, n_informative=5, noise=0.5)
    ref, ours = _fit_both(X, y, 0.1, ref_estimator=Lasso(alpha=0.1), k_features=6)
    _assert_same(ref, ours, rtol=1e-4, atol=1e-5)


def test_no_intercept_and_elasticnet():
    X, y = _problem(31, n=40, p=7)
    kw = dict(k_features=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = MlxtendSFS(Lasso(alpha=0.1, fit_intercept=False, tol=1e-10, max_iter=100_000), **kw).fit(X, y)
        ours = SequentialFeatureSelector(Lasso(alpha=0.1, fit_intercept=False), **kw).fit(X, y)
        _assert_same(ref, ours)
        ref = MlxtendSFS(ElasticNet(alpha=0.1, l1_ratio=0.5, tol=1e-10, max_iter=100_000), **kw).fit(X, y)
        ours = SequentialFeatureSelector(ElasticNet(alpha=0.1, l1_ratio=0.5), **kw).fit(X, y)
        _assert_same(ref, ours)


@pytest.mark.parametrize("est", [Ridge(alpha=2.0), LinearRegression(), Ridge(alpha=0.5, fit_intercept=False)])
def test_linear_models_batched(est):
    X, y = _problem(41, n=40, p=7)
    kw = dict(k_features="best")
    ref = MlxtendSFS(est, **kw).fit(X, y)
    ours = SequentialFeatureSelector(est, **kw).fit(X, y)
    assert ours.solver_ == "batched-linear"
    _assert_same(ref, ours, rtol=1e-9)


def _constant_and_duplicated_problem():
    # a column constant everywhere, one constant within most training folds
    # (a single non-zero row), and an exact duplicate placed next to its twin.
    X, y = _problem(51, n=40, p=6)
    const = np.full((40, 1), 2.5)
    spike = np.zeros((40, 1))
    spike[3] = 1.0
    return np.hstack([X[:, :2], X[:, [2]], X[:, [2]], const, X[:, 3:], spike]), y


TIE_CASES = (dict(k_features=4), dict(k_features=6, forward=False), dict(k_features=4, floating=True))


@pytest.mark.parametrize("kw", TIE_CASES)
def test_constant_and_duplicated_columns(kw):
    # Dropping the constant column, a zero-weight feature or one of the twins
    # gives the same model: exact ties, broken by mlxtend's candidate order.
    X, y = _constant_and_duplicated_problem()
    ref, ours = _fit_both(X, y, 0.02, **kw)
    _assert_same(ref, ours)


def test_tie_reference_is_independent_of_rounding():
    # The backward search meets exact ties (the test above can only fail on
    # them if they are there); whichever few-ulp values a BLAS returns for the
    # tied candidates, the exact-arithmetic reference and onescan agree.
    X, y = _constant_and_duplicated_problem()
    kw = dict(k_features=6, forward=False)
    ours = SequentialFeatureSelector(Lasso(alpha=0.02), **kw).fit(X, y)
    for seed in range(4):
        with warnings.catch_warnings(), exact_arithmetic_mlxtend(jitter=np.random.default_rng(seed)):
            warnings.simplefilter("ignore")
            ref = MlxtendSFS(_tight(0.02), **kw).fit(X, y)
        _assert_same(ref, ours)
    # the search did meet ties: consecutive subsets with equal scores
    scores = [ours.subsets_[k]["avg_score"] for k in sorted(ours.subsets_, reverse=True)]
    assert any(abs(a - b) <= TIE_RTOL * abs(a) for a, b in zip(scores, scores[1:]))


def test_zero_weight_ties_pick_first_candidate():
    # With a large alpha most added features get a zero weight, so many
    # candidates give the same model and exactly the score of the previous
    # subset; the documented rule keeps the first one in mlxtend's order
    # (ascending index for a forward step).
    X, y = _problem(61, n=40, p=8, n_informative=2)
    sfs = SequentialFeatureSelector(Lasso(alpha=0.8), k_features=6).fit(X, y)
    ks = sorted(sfs.subsets_)
    tied_steps = 0
    for k in ks[1:]:
        prev, cur = sfs.subsets_[k - 1], sfs.subsets_[k]
        (added,) = set(cur["feature_idx"]) - set(prev["feature_idx"])
        if cur["avg_score"] == pytest.approx(prev["avg_score"], rel=1e-12, abs=1e-12):
            tied_steps += 1
            # every lower-index candidate must have scored worse
            lower = [j for j in range(added) if j not in prev["feature_idx"]]
            for j in lower:
                sub = tuple(sorted(prev["feature_idx"] + (j,)))
                other = SequentialFeatureSelector(Lasso(alpha=0.8), k_features=k, fixed_features=sub).fit(X, y)
                assert other.k_score_ < cur["avg_score"] - 1e-9
    assert tied_steps >= 1


def test_dataframe_names_fixed_features_by_name_and_groups():
    X, y = _problem(71, n=40, p=7)
    cols = [f"f{i}" for i in range(7)]
    df = pd.DataFrame(X, columns=cols)
    kw = dict(k_features=3, fixed_features=("f1",), feature_groups=[["f0"], ["f1"], ["f2", "f3"], ["f4"], ["f5"], ["f6"]])
    ref = MlxtendSFS(_tight(0.1), **kw).fit(df, y)
    ours = SequentialFeatureSelector(Lasso(alpha=0.1), **kw).fit(df, y)
    _assert_same(ref, ours)
    assert all(isinstance(n, str) for n in ours.k_feature_names_)
    np.testing.assert_array_equal(ours.feature_names_in_, cols)
    assert list(ours.get_feature_names_out()) == list(ours.k_feature_names_)


def test_shuffled_kfold_and_split_list():
    X, y = _problem(81, n=42, p=7)
    cv = KFold(4, shuffle=True, random_state=3)
    for c in (cv, list(cv.split(X))):
        ref, ours = _fit_both(X, y, 0.1, k_features=3, cv=c)
        assert ours.solver_ == "batched-cd"
        _assert_same(ref, ours)


def test_generic_path_is_mlxtend():
    X, y = _problem(91, n=40, p=6)
    est = KNeighborsRegressor(n_neighbors=4)
    ref = MlxtendSFS(est, k_features=3, floating=True).fit(X, y)
    ours = SequentialFeatureSelector(est, k_features=3, floating=True).fit(X, y)
    assert ours.solver_ == "generic"
    _assert_same(ref, ours, rtol=0, atol=0)
    # a callable scorer or a shuffling splitter without a seed also go generic
    ours = SequentialFeatureSelector(Lasso(alpha=0.1), k_features=2, cv=KFold(3, shuffle=True)).fit(X, y)
    assert ours.solver_ == "generic"


def test_transform_and_pandas_output():
    X, y = _problem(101, n=40, p=6)
    df = pd.DataFrame(X, columns=list("abcdef"))
    sfs = SequentialFeatureSelector(Lasso(alpha=0.1), k_features=3).set_output(transform="pandas")
    out = sfs.fit_transform(df, y)
    assert isinstance(out, pd.DataFrame)
    assert tuple(out.columns) == sfs.k_feature_names_
    np.testing.assert_array_equal(out.to_numpy(), X[:, list(sfs.k_feature_idx_)])
    # inside a Pipeline
    pipe = make_pipeline(SequentialFeatureSelector(Lasso(alpha=0.1), k_features=2), Lasso(alpha=0.1))
    assert pipe.fit(df, y).predict(df).shape == (40,)


def test_metric_dict():
    X, y = _problem(111, n=40, p=5)
    ref, ours = _fit_both(X, y, 0.1, k_features=3)
    a, b = ref.get_metric_dict(), ours.get_metric_dict()
    for k in a:
        for key in ("std_dev", "std_err", "ci_bound"):
            np.testing.assert_allclose(b[k][key], a[k][key], rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize(
    "kw,exc",
    [
        (dict(k_features=0), ValueError),
        (dict(k_features=20), ValueError),
        (dict(k_features="most"), ValueError),
        (dict(k_features=(3, 2)), ValueError),
        (dict(k_features=2.5), ValueError),
        (dict(fixed_features=(99,)), ValueError),
        (dict(fixed_features=("a",)), ValueError),
        (dict(feature_groups=[[0, 1]]), ValueError),
    ],
)
def test_bad_parameters(kw, exc):
    X, y = _problem(0, n=30, p=5)
    with pytest.raises(exc):
        SequentialFeatureSelector(Lasso(alpha=0.1), **kw).fit(X, y)


def test_generator_cv_rejected():
    X, y = _problem(0, n=30, p=5)
    gen = KFold(3).split(X)
    with pytest.raises(TypeError, match="generator"):
        SequentialFeatureSelector(Lasso(alpha=0.1), cv=gen).fit(X, y)


def test_cd_kernel_matches_sklearn_and_certifies_gap():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(45, 12))
    X[:, 3] = X[:, 2] + 0.01 * rng.normal(size=45)  # badly conditioned pair
    y = X[:, :4] @ [1.0, -2.0, 0.5, 0.5] + rng.normal(size=45)
    splits = list(KFold(5).split(X))
    st = FoldStats(X, y, splits)
    idx = np.array([list(range(12)), [0, 2, 3, 5, 7, 8, 9, 10, 11, 12, 12, 12]])
    G, b, yy, ntr = st.gather(idx)
    for alpha, ratio, guess in ((0.05, 1.0, True), (0.05, 1.0, False), (0.2, 0.3, True), (0.2, 0.3, False)):
        w, gap, sweeps = enet_cd_batch(G, b, yy, ntr * alpha * ratio, ntr * alpha * (1 - ratio), np.zeros(b.shape),
                                       guess_support=guess)
        assert np.all(gap <= 1e-9 * yy)
        if not guess:
            assert sweeps > 1  # plain coordinate descent did the work
        for c in range(2):
            cols = [j for j in idx[c] if j < 12]
            for f, (tr, _) in enumerate(splits):
                ref = ElasticNet(alpha=alpha, l1_ratio=ratio, tol=1e-14, max_iter=10**6).fit(X[tr][:, cols], y[tr])
                np.testing.assert_allclose(X[tr][:, cols] @ w[c * 5 + f][: len(cols)], X[tr][:, cols] @ ref.coef_, atol=1e-6)


@parametrize_with_checks([SequentialFeatureSelector(Lasso(alpha=0.1), k_features=1)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)
