"""Tests of onescan.persistence: the allow-list comes from the model registry; every model kind round-trips."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import onescan
from onescan.models._registry import MODELS
from onescan.persistence._skops import card_path_for, file_types, load_model, save_model
from onescan.persistence._trusted import BASE_TYPES, TRUSTED_TYPES


@pytest.fixture(scope="module")
def cohorts():
    """A 30-patient training cohort and 6 new patients, from the simulator."""
    from onescan.contract._cohort import load_cohort
    from onescan.studies._simulate import simulate_cohort

    tr = simulate_cohort(30, 21)
    new = simulate_cohort(6, 22, id_prefix="NEW")
    return load_cohort(tr.patients, tr.scans, need_dosimetry=False), new


def test_allow_list_is_base_plus_every_registry_kind():
    assert set(TRUSTED_TYPES) == set(BASE_TYPES).union(*(k.trusted_types for k in MODELS.values()))
    assert len(TRUSTED_TYPES) == len(set(TRUSTED_TYPES))
    for kind in MODELS.values():
        assert kind.trusted_types, f"{kind.key} lists no types"


def test_public_names_resolve():
    assert onescan.save_model is save_model
    assert onescan.load_model is load_model
    import onescan.persistence as persistence

    assert persistence.TRUSTED_TYPES == TRUSTED_TYPES


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_every_model_kind_round_trips(kind, cohorts, tmp_path):
    cohort, new = cohorts
    model = onescan.train(cohort, model=kind, cv_repeats=1, cv_folds=3, interval_folds=4, seed=0)
    assert model.card_["settings"]["pipeline"]["model"] == kind
    assert model.card_["coefficient_unit"] == MODELS[kind].coefficient_unit
    assert model.card_["coefficients_note"].startswith(MODELS[kind].coefficient_unit + " per unit")
    mpath, cpath = save_model(model, tmp_path / f"{kind}.skops")
    assert cpath == card_path_for(mpath)
    card = json.loads(cpath.read_text(encoding="utf-8"))
    assert set(card["types_in_file"]) <= set(TRUSTED_TYPES)
    assert set(MODELS[kind].trusted_types) & file_types(mpath.read_bytes())
    loaded = load_model(mpath)
    before = model.predict(new.patients, new.scans, max_overdose_risk=0.1)
    after = loaded.predict(new.patients, new.scans, max_overdose_risk=0.1)
    assert "safe_activity_mci" in after.columns
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    assert loaded.card["model_sha256"] == card["model_sha256"]


def test_hybrid_card_coefficients_in_log_hours(cohorts):
    cohort, new = cohorts
    model = onescan.train(cohort, model="hybrid", cv_repeats=0, interval_folds=4)
    est = model.pipeline_
    coefs = est.coefficients()
    assert model.card_["coefficients"] == {str(k): float(v) for k, v in coefs.drop("(intercept)").items()}
    assert model.card_["intercept"] == float(coefs["(intercept)"])
    assert "mCi" not in model.card_["coefficients_note"]
    # the columns the hybrid reads by name are required whatever the selector chose
    for col in (est.uptake_column, est.mass_column, est.time_column):
        assert col in model.used_features_
    assert est.uptake_column in model.scan_features_
    out = model.predict(new.patients, new.scans)
    assert out["predicted_activity_mci"].notna().all()


def test_train_model_keyword_validated(cohorts):
    cohort, _ = cohorts
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        onescan.train(cohort, model="forest", cv_repeats=0)


def test_round_trip_keeps_log_conformal_state(cohorts, tmp_path):
    """The log-ratio scores, floors and cap behind the positive intervals and the safe activity survive skops."""
    import numpy as np

    from onescan.models._log_conformal import LogCrossConformal

    cohort, new = cohorts
    model = onescan.train(cohort, cv_repeats=0, interval_folds=4, seed=1)
    assert "onescan.models._log_conformal.LogCrossConformal" in BASE_TYPES
    mpath, cpath = save_model(model, tmp_path / "log.skops")
    assert "onescan.models._log_conformal.LogCrossConformal" in file_types(mpath.read_bytes())
    loaded = load_model(mpath)
    conf, back = model.conformal_, loaded.conformal_
    assert isinstance(back, LogCrossConformal) and back.method == "log" and back.max_value == 1030.0
    np.testing.assert_array_equal(back.log_scores_, conf.log_scores_)
    np.testing.assert_array_equal(back.fold_floors_, conf.fold_floors_)
    assert back.floor_ == conf.floor_
    card = json.loads(cpath.read_text(encoding="utf-8"))
    assert card["safe_prescription"]["overdose_factor"] == 1.1
    assert card["intervals"]["max_value_mci"] == 1030.0
    X = loaded.features(new.patients, new.scans)
    np.testing.assert_array_equal(back.lower_bound(X, 0.05), conf.lower_bound(X, 0.05))
