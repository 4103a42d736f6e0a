"""Tests for onescan.models._baselines: single-variable and single-time-point predictors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from onescan.models._baselines import LinearOnColumn, SingleTimePointDosimetry
from onescan.dosimetry._dose import DoseSettings, activity_for_target_mci


@parametrize_with_checks([LinearOnColumn(0), SingleTimePointDosimetry(columns=(0, 0, 0), half_life_column=0)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_clone_keeps_params():
    for est in (LinearOnColumn("weight_kg"), SingleTimePointDosimetry()):
        assert clone(est).get_params() == est.get_params()


def test_linear_on_column_recovers_line_and_ignores_other_columns():
    X = pd.DataFrame({"weight_kg": [50.0, 60, 70, 80, np.nan], "other": [1.0, -5, 3, 100, 7]})
    y = np.array([500.0, 600, 700, 800, 12345])        # the NaN row is ignored in fit
    m = LinearOnColumn("weight_kg").fit(X, y)
    assert m.slope_ == pytest.approx(10.0)
    assert m.intercept_ == pytest.approx(0.0, abs=1e-9)
    assert m.fill_value_ == pytest.approx(65.0)
    pred = m.predict(pd.DataFrame({"weight_kg": [90.0, np.nan], "other": [0.0, 0.0]}))
    np.testing.assert_allclose(pred, [900.0, 650.0])


def test_linear_on_column_errors():
    with pytest.raises(ValueError, match="no column"):
        LinearOnColumn("liver_mass_g").fit(pd.DataFrame({"a": [1.0, 2.0]}), [1.0, 2.0])
    with pytest.raises(ValueError, match="is a name"):
        LinearOnColumn("a").fit(np.ones((3, 1)), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="no training row"):
        LinearOnColumn("a").fit(pd.DataFrame({"a": [np.nan, np.nan]}), [1.0, 2.0])
    m = LinearOnColumn(1).fit(np.array([[0.0, 1.0], [0.0, 3.0]]), [10.0, 30.0])
    assert m.slope_ == pytest.approx(10.0)


def _stp_frame():
    return pd.DataFrame({
        "uptake_first_liver": [0.10, 0.15, 0.08],
        "first_scan_time_h": [1.0, 2.0, 0.5],
        "liver_mass_g": [1500.0, 1800.0, 2200.0],
        "liver_effective_half_life_h": [50.0, 70.0, 60.0],
    })


def test_stp_hand_values():
    X = _stp_frame()
    m = SingleTimePointDosimetry().fit(X, y=None)
    assert m.half_life_pop_h_ == 60.0
    lam = np.log(2) / 60.0
    tiac = X["uptake_first_liver"] * np.exp(lam * X["first_scan_time_h"]) / lam
    np.testing.assert_allclose(m.tiac_h(X), tiac)
    np.testing.assert_allclose(m.predict(X), activity_for_target_mci(tiac.to_numpy(), X["liver_mass_g"].to_numpy(),
                                                                    DoseSettings()))


def test_stp_is_exact_for_a_monoexponential_patient_with_population_half_life():
    # f(t) = a exp(-λ t): the STP TIAC from any one point is a/λ when λ = λ_pop
    lam, a = np.log(2) / 60.0, 0.12
    X = pd.DataFrame({"uptake_first_liver": [a * np.exp(-lam * 3.0)], "first_scan_time_h": [3.0],
                      "liver_mass_g": [1800.0], "liver_effective_half_life_h": [60.0]})
    m = SingleTimePointDosimetry().fit(X)
    assert m.tiac_h(X)[0] == pytest.approx(a / lam)


def test_stp_predict_does_not_read_the_half_life_column():
    X = _stp_frame()
    m = SingleTimePointDosimetry().fit(X)
    p1 = m.predict(X)
    p2 = m.predict(X.assign(liver_effective_half_life_h=[1e6, -1, np.nan]))
    np.testing.assert_array_equal(p1, p2)
    assert np.isnan(m.predict(X.assign(uptake_first_liver=[np.nan, 0.1, 0.1]))[0])


def test_stp_scales_with_target_dose_and_is_uncapped():
    X = _stp_frame()
    a24 = SingleTimePointDosimetry(target_gy=24).fit(X).predict(X)
    a48 = SingleTimePointDosimetry(target_gy=48).fit(X).predict(X)
    assert "max_activity_mci" not in SingleTimePointDosimetry().get_params()  # no cap to give
    np.testing.assert_allclose(a48, 2 * a24)


def test_stp_needs_a_half_life():
    X = _stp_frame().assign(liver_effective_half_life_h=np.nan)
    with pytest.raises(ValueError, match="half-life"):
        SingleTimePointDosimetry().fit(X)
