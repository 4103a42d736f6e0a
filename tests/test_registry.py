"""Tests of the final-model registry, onescan.models._registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone

from onescan.dosimetry._dose import DoseSettings
from onescan.models._baselines import SingleTimePointDosimetry
from onescan.models._hybrid import HybridDosimetryRegressor
from onescan.models._pipeline import PipelineSettings
from onescan.persistence._skops import file_types as _schema_types
from onescan.models._registry import MODELS, build_model, hybrid_params, stp_params


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "uptake_first_liver": rng.uniform(0.15, 0.35, n),
        "liver_mass_g": rng.uniform(1200, 2600, n),
        "first_scan_time_h": rng.uniform(0.5, 2.0, n),
        "ast": rng.normal(30, 8, n),
        "noise": rng.normal(size=n),
    })
    X.loc[X.index[:3], "noise"] = np.nan
    y = 2000.0 * X["uptake_first_liver"].to_numpy() + 0.2 * X["liver_mass_g"].to_numpy() + rng.normal(0, 20, n)
    return X, y




@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("selector", ["fast", "mlxtend", "none"])
def test_trusted_types_cover_every_fitted_model(kind, selector):
    """Each kind declares every type its fitted model holds, whatever the pipeline options."""
    X, y = _data()
    trusted = set(MODELS[kind].trusted_types)
    for scaler in ("robust", "standard", "minmax", "none"):
        settings = PipelineSettings(model=kind, selector=selector, scaler=scaler, k_features=2, selector_cv=3,
                                    imputer="mean" if scaler == "minmax" else "median")
        model = build_model(settings).fit(X, y)
        data = sio.dumps(model)
        found = _schema_types(data) | set(sio.get_untrusted_types(data=data))
        assert found - trusted == set(), (kind, selector, scaler)
        loaded = sio.loads(data, trusted=sorted(trusted))
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_coefficient_units():
    assert MODELS["lasso"].coefficient_unit == "mCi"
    assert MODELS["hybrid"].coefficient_unit.startswith("ln(h)")
    assert "onescan.models._hybrid.HybridDosimetryRegressor" in MODELS["hybrid"].trusted_types
    assert "onescan.models._hybrid.HybridDosimetryRegressor" not in MODELS["lasso"].trusted_types


def test_settings_become_flat_parameters():
    ps = PipelineSettings(model="hybrid", alpha=0.7, k_features=3, selector="mlxtend", scaler="standard",
                          max_missing=0.1, imputer="mean", forward=False, floating=True, selector_cv=4,
                          scoring="neg_mean_squared_error")
    ds = DoseSettings(target_gy=20.0, max_activity_mci=900.0, mass_scaling="linear", nuclide="I-131",
                      s_values=Path("my_s.csv"), mu_per_cm=0.2, fit="trapezoid")
    est = build_model(ps, ds, censoring="drop")
    p = est.get_params()
    assert p["activity_alpha"] == 0.7 and p["alpha"] is None
    for name in ("k_features", "selector", "scaler", "max_missing", "imputer", "forward", "floating",
                 "selector_cv", "scoring"):
        assert p[name] == getattr(ps, name), name
    assert (p["target_gy"], p["max_activity_mci"], p["mass_scaling"], p["nuclide"]) == (20.0, 900.0, "linear", "I-131")
    assert p["s_values"] == "my_s.csv"
    assert p["censoring"] == "drop"
    assert clone(est).get_params() == p
    assert stp_params(ds) == {"target_gy": 20.0, "mass_scaling": "linear", "s_values": "my_s.csv",
                              "nuclide": "I-131"}
    assert hybrid_params() == {} and stp_params() == {}


def test_default_parameters_are_the_settings_defaults():
    """The estimators' own defaults equal the default settings (one published configuration)."""
    assert HybridDosimetryRegressor().get_params() == build_model(PipelineSettings(model="hybrid"),
                                                                  DoseSettings()).get_params()
    stp = SingleTimePointDosimetry(**stp_params(DoseSettings()))
    assert SingleTimePointDosimetry().get_params() == stp.get_params()


def test_bad_flat_parameters_are_refused_in_fit():
    X, y = _data()
    for bad in (dict(target_gy=-1.0), dict(mass_scaling="cubic"), dict(k_features=0), dict(scaler="log"),
                dict(nuclide="Xx-999")):
        est = HybridDosimetryRegressor(selector="none", **bad)  # __init__ only stores
        with pytest.raises(ValueError):
            est.fit(X, y)
    with pytest.raises(ValueError):
        SingleTimePointDosimetry(target_gy=0.0).fit(X.assign(liver_effective_half_life_h=50.0))
