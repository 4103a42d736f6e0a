"""Tests of the time–activity curve model registry (onescan.dosimetry.tac)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from onescan.dosimetry import tac
from onescan.dosimetry.tac import FIT_METHODS, TAC_MODELS, TacArrays, TacModel, fit_tacs, tac_model
from onescan.dosimetry.tac import _registry

LP = 0.0036


def test_registry_is_the_single_source_of_fit_choices():
    from typing import get_args

    from onescan.cli._options import FitMethod
    from onescan.dosimetry._dose import DoseSettings

    assert FIT_METHODS == tuple(TAC_MODELS) == ("monoexp", "loglinear", "trapezoid", "biexp_uptake", "biexp",
                                                "auto")
    assert tuple(m.value for m in FitMethod) == FIT_METHODS
    assert get_args(DoseSettings.model_fields["fit"].annotation) == FIT_METHODS
    import onescan.dosimetry as dosimetry

    assert dosimetry.FIT_METHODS is FIT_METHODS and dosimetry.fit_tacs is fit_tacs


@pytest.mark.parametrize("key", FIT_METHODS)
def test_every_model_follows_the_protocol(key):
    m = TAC_MODELS[key]
    assert isinstance(m, TacModel) and m.name == key and tac_model(key) is m
    assert isinstance(m.description, str) and m.description
    assert isinstance(m.n_params, int) and m.n_params >= 0
    assert set(m.param_names) >= {"a", "lambda_per_h"} and m.curves
    t = np.array([[1.0, 24.0, 72.0], [2.0, 48.0, np.nan]])
    f = 0.2 * np.exp(-0.02 * np.nan_to_num(t))
    res = m.fit(np.nan_to_num(t), np.where(np.isnan(t), 0.0, f), ~np.isnan(t), LP)
    assert isinstance(res, TacArrays)
    for arr in (res.model, res.tiac_h, res.lambda_per_h, res.a, res.r2, res.converged, res.at_bound):
        assert arr.shape == (2,)
    assert set(res.model) <= set(m.curves) and set(res.params) <= set(m.param_names)


def test_unknown_method_names_the_choices():
    with pytest.raises(ValueError, match="monoexp, loglinear, trapezoid, biexp_uptake, biexp, auto"):
        tac_model("spline")


def test_a_new_model_is_one_class_and_one_registry_entry(monkeypatch):
    class Constant(TacModel):
        name = "constant"
        description = "f held at its mean until the physical decay takes it"
        n_params = 1
        curves = {"constant": None}

        def fit(self, t, y, valid, lam_phys, *, max_iter=200):
            n = valid.sum(1)
            mean = (y * valid).sum(1) / n
            lam = np.full(t.shape[0], lam_phys)
            return TacArrays(model=np.full(t.shape[0], self.name, dtype=object), tiac_h=mean / lam_phys,
                             lambda_per_h=lam, a=mean, r2=np.full(t.shape[0], np.nan),
                             converged=np.ones(t.shape[0], bool), at_bound=np.ones(t.shape[0], bool),
                             params={"a": mean, "lambda_per_h": lam})

    monkeypatch.setitem(_registry.TAC_MODELS, "constant", Constant())
    fit = fit_tacs([[1.0, 3.0]], [[0.4, 0.2]], "constant", LP)
    assert fit.model.tolist() == ["constant"]
    assert fit.tiac_h[0] == pytest.approx(0.3 / LP)
    assert fit.flags == [["lambda_at_physical_bound"]]
    assert np.isnan(fit.predict([1.0, 2.0])).all()
    assert list(fit.params) == ["a", "lambda_per_h", "a1", "lambda1_per_h", "a2", "lambda2_per_h", "n_points"]


def test_tacfit_to_dict_is_json():
    fit = fit_tacs([[1.0, 24.0, 72.0]], [[0.2, 0.15, 0.1]], "auto", LP)
    d = fit.to_dict()
    assert json.loads(json.dumps(d))["model"] == ["monoexp"]
    assert d["tiac_h"] == fit.tiac_h.tolist() and d["params"]["n_points"] == [3]


def test_package_docstring_shows_how_to_add_a_model():
    assert "one registry line" in tac.__doc__.lower().replace("\n", " ")
