"""Tests of the vectorised time–activity curve fits (onescan.dosimetry.tac)."""

from __future__ import annotations

import math
import warnings

import lmfit
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onescan.dosimetry.tac import fit_tacs
from onescan.dosimetry._physics import lambda_phys_per_h

LP = lambda_phys_per_h("I-131")


def _exact(a, lam, times):
    t = np.asarray(times, dtype=float)
    return t, np.asarray(a)[:, None] * np.exp(-np.asarray(lam)[:, None] * t)


# ----------------------------------------------------------------- closed-form reference values


@pytest.mark.parametrize("method", ["monoexp", "loglinear", "auto"])
def test_exact_monoexp_recovers_closed_form_tiac(method):
    a = np.array([0.2, 0.05, 0.31, 0.12])
    lam = np.array([math.log(2) / 60, math.log(2) / 20, math.log(2) / 150, math.log(2) / 90])
    t = np.tile([1.0, 24.0, 72.0, 96.0, 120.0, 144.0], (4, 1))
    t[1, 3:] = np.nan  # ragged: patient 1 has 3 points
    _, f = _exact(a, lam, np.where(np.isnan(t), 0, t))
    f[np.isnan(t)] = np.nan
    fit = fit_tacs(t, f, method, LP)
    np.testing.assert_allclose(fit.tiac_h, a / lam, rtol=1e-6)
    np.testing.assert_allclose(fit.effective_half_life_h, math.log(2) / lam, rtol=1e-6)
    np.testing.assert_allclose(fit.a, a, rtol=1e-6)
    np.testing.assert_allclose(fit.r2, 1.0, atol=1e-9)
    if method == "auto":  # the choice and its reason are flags (SPEC §2.2), nothing else
        assert fit.flags == [["auto_monoexp_by_aicc"], ["auto_monoexp_aicc_undefined"],
                             ["auto_monoexp_by_aicc"], ["auto_monoexp_by_aicc"]]
    else:
        assert all(fl == [] for fl in fit.flags)
    assert set(fit.model) == {"loglinear" if method == "loglinear" else "monoexp"}


def test_trapezoid_matches_hand_formula():
    # f(t) at 2, 24, 96 h; hold f(0) = f(2), trapezoids, tail f(96)/λ_tail
    t = np.array([[2.0, 24.0, 96.0]])
    f = np.array([[0.20, 0.16, 0.09]])
    lam_tail = math.log(0.16 / 0.09) / (96 - 24)
    hand = 0.20 * 2 + (0.20 + 0.16) / 2 * 22 + (0.16 + 0.09) / 2 * 72 + 0.09 / lam_tail
    fit = fit_tacs(t, f, "trapezoid", LP)
    assert fit.tiac_h[0] == pytest.approx(hand, rel=1e-12)
    assert fit.lambda_eff_per_h[0] == pytest.approx(lam_tail, rel=1e-12)
    assert fit.model[0] == "trapezoid" and np.isnan(fit.r2[0])
    assert fit.flags[0] == []


def test_trapezoid_tail_bounded_by_physical_decay():
    # last point higher than the previous: λ_tail would be negative → λ_phys
    t = np.array([[1.0, 24.0, 72.0]])
    f = np.array([[0.10, 0.12, 0.13]])
    hand = 0.10 * 1 + 0.11 * 23 + 0.125 * 48 + 0.13 / LP
    fit = fit_tacs(t, f, "trapezoid", LP)
    assert fit.tiac_h[0] == pytest.approx(hand, rel=1e-12)
    assert "lambda_at_physical_bound" in fit.flags[0] and "uptake_rising" in fit.flags[0]


def test_monoexp_bound_enforced_when_data_clear_slower_than_decay():
    lam_true = 0.5 * LP
    t, f = _exact([0.2], [lam_true], [1.0, 24.0, 72.0])
    for method in ("monoexp", "loglinear"):
        fit = fit_tacs(t, f, method, LP)
        assert fit.lambda_eff_per_h[0] == pytest.approx(LP, rel=1e-12)
        assert "lambda_at_physical_bound" in fit.flags[0]
    # constrained optimum of a at λ = λ_phys is the linear least-squares a
    e = np.exp(-LP * t)
    a_star = (e * f[0]).sum() / (e * e).sum()
    fit = fit_tacs(t, f, "monoexp", LP)
    assert fit.a[0] == pytest.approx(a_star, rel=1e-10)
    assert fit.tiac_h[0] == pytest.approx(a_star / LP, rel=1e-10)


# ----------------------------------------------------------------- against lmfit, per patient


def _lmfit_monoexp(t, f):
    """Bounded lmfit least squares from the log-linear start and a few more; the lowest cost wins."""
    slope, icpt = np.polyfit(t, np.log(f), 1)
    starts = [(math.exp(icpt), max(-slope, LP * 1.001))] + [(f.max(), lam) for lam in (LP * 1.01, 0.01, 0.05, 0.3)]
    best = None
    for a0, lam0 in starts:
        p = lmfit.Parameters()
        p.add("a", value=a0)
        p.add("lam", value=lam0, min=LP)
        with warnings.catch_warnings():  # lmfit's uncertainty estimate warns for 2-point fits
            warnings.simplefilter("ignore", RuntimeWarning)
            res = lmfit.minimize(lambda q: q["a"].value * np.exp(-q["lam"].value * t) - f, p,
                                 method="least_squares", xtol=1e-15, ftol=1e-15, gtol=1e-15, calc_covar=False)
        if best is None or res.chisqr < best.chisqr:
            best = res
    return best.params["a"].value, best.params["lam"].value


def test_monoexp_escapes_local_minimum():
    # two local minima of the least-squares cost; the log-linear start leads to the worse one
    t = np.array([[4.97, 8.15, 48.29, 60.08, 180.71]])
    f = np.array([[0.48856, 0.28048, 0.10684, 0.04521, 0.00044]])
    a_ref, lam_ref = _lmfit_monoexp(t[0], f[0])
    fit = fit_tacs(t, f, "monoexp", LP)
    assert fit.lambda_eff_per_h[0] == pytest.approx(lam_ref, rel=1e-6)
    assert fit.tiac_h[0] == pytest.approx(a_ref / lam_ref, rel=1e-6)


def test_batched_lm_matches_lmfit_on_noisy_data():
    rng = np.random.default_rng(20261125)
    n, width = 120, 5
    n_pts = rng.integers(2, width + 1, n)
    a = rng.uniform(0.05, 0.4, n)
    lam = rng.uniform(0.5 * LP, 0.05, n)  # some below the bound → constrained optima
    t = np.full((n, width), np.nan)
    f = np.full((n, width), np.nan)
    for i in range(n):
        ti = np.sort(rng.uniform(0.5, 150.0, n_pts[i]))
        t[i, : n_pts[i]] = ti
        f[i, : n_pts[i]] = np.abs(a[i] * np.exp(-lam[i] * ti) * (1 + 0.15 * rng.standard_normal(n_pts[i])))
    # shuffle columns to check the fit sorts points itself
    perm = rng.permutation(width)
    fit = fit_tacs(t[:, perm], f[:, perm], "monoexp", LP)
    n_bound = 0
    for i in range(n):
        m = np.isfinite(t[i])
        a_ref, lam_ref = _lmfit_monoexp(t[i, m], f[i, m])
        assert fit.tiac_h[i] == pytest.approx(a_ref / lam_ref, rel=1e-6), i
        assert fit.lambda_eff_per_h[i] == pytest.approx(lam_ref, rel=1e-6), i
        n_bound += "lambda_at_physical_bound" in fit.flags[i]
    assert n_bound >= 3  # the bound was exercised


def test_auto_chooses_biexp_on_clear_two_phase_data():
    t = np.array([[0.5, 2.0, 6.0, 24.0, 48.0, 72.0, 120.0, 168.0]])
    a1, l1, a2, l2 = 0.15, 0.3, 0.10, 0.01
    f = a1 * np.exp(-l1 * t) + a2 * np.exp(-l2 * t)
    fit = fit_tacs(t, f, "auto", LP)
    assert fit.model[0] == "biexp"
    assert fit.tiac_h[0] == pytest.approx(a1 / l1 + a2 / l2, rel=1e-5)
    assert fit.params["lambda2_per_h"][0] == pytest.approx(l2, rel=1e-4)
    mono = fit_tacs(t, f, "monoexp", LP)
    assert mono.model[0] == "monoexp" and abs(mono.tiac_h[0] / fit.tiac_h[0] - 1) > 0.05


def test_auto_keeps_monoexp_with_few_points():
    t = np.array([[0.5, 6.0, 24.0, 72.0, 120.0]])  # 5 points: AICc of 4 params undefined
    f = 0.15 * np.exp(-0.3 * t) + 0.10 * np.exp(-0.01 * t)
    assert fit_tacs(t, f, "auto", LP).model[0] == "monoexp"


# ----------------------------------------------------------------- flags and edge cases


def test_flags_rising_failed_few_points_low_r2():
    t = np.array([[1.0, 24.0, 72.0, np.nan],
                  [1.0, 24.0, 72.0, np.nan],
                  [5.0, np.nan, np.nan, np.nan],
                  [np.nan] * 4,
                  [1.0, 24.0, 48.0, 72.0]])
    f = np.array([[0.10, 0.14, 0.08, np.nan],
                  [0.0, 0.0, 0.0, np.nan],
                  [0.2, np.nan, np.nan, np.nan],
                  [np.nan] * 4,
                  [0.10, 0.02, 0.12, 0.03]])
    fit = fit_tacs(t, f, "monoexp", LP)
    assert "uptake_rising" in fit.flags[0]
    assert "fit_failed" in fit.flags[1] and np.isnan(fit.tiac_h[1])
    assert "few_points" in fit.flags[2] and "lambda_at_physical_bound" in fit.flags[2]
    assert fit.tiac_h[2] == pytest.approx(0.2 * math.exp(LP * 5.0) / LP, rel=1e-9)
    assert "fit_failed" in fit.flags[3] and "few_points" in fit.flags[3]
    assert "low_r2" in fit.flags[4]
    assert fit.flag_strings()[3] == "few_points;fit_failed"


def test_one_dimensional_input_is_one_patient():
    fit = fit_tacs([1.0, 24.0, 72.0], 0.2 * np.exp(-0.02 * np.array([1.0, 24.0, 72.0])))
    assert fit.tiac_h.shape == (1,)
    assert fit.tiac_h[0] == pytest.approx(10.0, rel=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="fit method"):
        fit_tacs([[1.0]], [[0.1]], "spline")
    with pytest.raises(ValueError, match="same shape"):
        fit_tacs([[1.0, 2.0]], [[0.1]])
    with pytest.raises(ValueError, match="positive"):
        fit_tacs([[1.0]], [[0.1]], "monoexp", -1.0)


def test_predict_reproduces_data():
    t, f = _exact([0.2, 0.1], [0.02, 0.05], [1.0, 24.0, 72.0])
    fit = fit_tacs(t, f)
    np.testing.assert_allclose(fit.predict(t), f, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(a=st.floats(0.01, 0.6), half_life=st.floats(5.0, 180.0),
       times=st.lists(st.floats(0.0, 200.0), min_size=2, max_size=6, unique=True),
       method=st.sampled_from(("monoexp", "loglinear", "trapezoid", "auto")), k=st.floats(0.1, 10.0))
def test_tiac_scales_with_fraction(a, half_life, times, method, k):
    """TIAC is linear in f for every method (fractions ×k → TIAC ×k)."""
    times = sorted(times)
    if times[-1] - times[0] < 1.0:
        return
    lam = max(math.log(2) / half_life, LP)
    t, f = _exact([a], [lam], times)
    f1 = fit_tacs(t, f, method, LP).tiac_h[0]
    f2 = fit_tacs(t, k * f, method, LP).tiac_h[0]
    assert f2 == pytest.approx(k * f1, rel=1e-6)
    if method != "trapezoid":
        assert f1 == pytest.approx(a / lam, rel=1e-6)


def test_auto_biexp_with_uptake_phase():
    t = np.array([[0.5, 2.0, 5.0, 12.0, 24.0, 72.0, 120.0]])
    f = 0.2 * (np.exp(-0.01 * t) - np.exp(-0.5 * t))
    fit = fit_tacs(t, f, "auto", LP)
    # both bi-exponentials fit exactly; the uptake form has one parameter fewer, so the lower AICc
    assert fit.model[0] == "biexp_uptake"
    assert "auto_biexp_uptake_by_aicc" in fit.flags[0]
    assert fit.tiac_h[0] == pytest.approx(0.2 / 0.01 - 0.2 / 0.5, rel=1e-5)
    assert fit.lambda_eff_per_h[0] == pytest.approx(0.01, rel=1e-5)  # terminal phase
    assert "uptake_rising" in fit.flags[0]


@settings(max_examples=25, deadline=None)
@given(a=st.floats(0.01, 0.6), lam_c=st.floats(0.004, 0.1), lam_u=st.floats(0.15, 3.0),
       method=st.sampled_from(("biexp_uptake", "biexp")), k=st.floats(0.1, 10.0))
def test_biexponential_models_are_linear_in_f(a, lam_c, lam_u, method, k):
    """The bi-exponential models also scale: fractions ×k → TIAC ×k (exact uptake data)."""
    t = np.array([[0.5, 2.0, 6.0, 24.0, 72.0, 120.0]])
    f = a * (np.exp(-lam_c * t) - np.exp(-lam_u * t))
    f1 = fit_tacs(t, f, method, LP).tiac_h[0]
    f2 = fit_tacs(t, k * f, method, LP).tiac_h[0]
    assert f1 == pytest.approx(a * (1 / lam_c - 1 / lam_u), rel=1e-4)
    assert f2 == pytest.approx(k * f1, rel=1e-5)


def test_uptake_model_by_hand_and_its_minimum_points():
    t = np.array([[1.0, 24.0, 72.0], [1.0, 24.0, np.nan]])
    f = 0.1 * (np.exp(-0.02 * t) - np.exp(-0.4 * t))
    fit = fit_tacs(t, f, "biexp_uptake", LP)
    assert fit.tiac_h[0] == pytest.approx(0.1 * (1 / 0.02 - 1 / 0.4), rel=1e-5)  # 3 points, 3 parameters
    assert fit.params["lambda1_per_h"][0] == pytest.approx(0.4, rel=1e-4)
    assert fit.lambda_eff_per_h[0] == pytest.approx(0.02, rel=1e-5)
    np.testing.assert_allclose(fit.predict([[0.0, 5.0]])[0], [0.0, 0.1 * (np.exp(-0.1) - np.exp(-2.0))], atol=1e-9)
    assert np.isnan(fit.tiac_h[1]) and "fit_failed" in fit.flags[1]


@pytest.mark.parametrize("n, reason", [(4, "auto_monoexp_aicc_undefined"), (5, "auto_monoexp_aicc_undefined"),
                                       (6, "auto_biexp_uptake_by_aicc")])
def test_auto_compares_only_where_aicc_is_defined(n, reason):
    """σ counted: monoexp k = 3 (n ≥ 5), biexp_uptake k = 4 (n ≥ 6), biexp k = 5 (n ≥ 7)."""
    from onescan.dosimetry.tac.auto import aicc, aicc_k
    from onescan.dosimetry.tac import TAC_MODELS

    assert [aicc_k(TAC_MODELS[m]) for m in ("monoexp", "biexp_uptake", "biexp")] == [3, 4, 5]
    assert np.isinf(aicc(1.0, 4, 3)) and np.isfinite(aicc(1.0, 5, 3))
    t = np.array([[0.5, 3.0, 12.0, 24.0, 72.0, 120.0][:n]])
    f = 0.2 * (np.exp(-0.01 * t) - np.exp(-0.3 * t))
    fit = fit_tacs(t, f, "auto", LP)
    assert fit.flags[0][-1] == reason
    assert fit.model[0] == ("monoexp" if "monoexp" in reason else "biexp_uptake")
