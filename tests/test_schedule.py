"""Tests of the imaging-schedule study, onescan.studies._schedule."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from onescan.contract._cohort import load_cohort
from onescan.dosimetry._dose import DoseSettings, activity_for_target_mci
from onescan.dosimetry._physics import lambda_phys_per_h
from onescan.models._pipeline import PipelineSettings
from onescan.report import write_schedule_outputs
from onescan.dosimetry._stp import hanscheid_tiac_h, population_half_life_h, stp_tiac_h, two_point_tiac_h
from onescan.studies._schedule import (
    METHODS,
    ScheduleSettings,
    cohort_cv,
    fit_predict_methods,
    prepare_study_data,
    schedule_metrics,
    schedule_study,
    virtual_cohort_study,
)

LAM_P = lambda_phys_per_h()
SMALL_PIPE = PipelineSettings(selector="none")


def make_kinetic_cohort(n=40, seed=0, noise=0.0):
    """A cohort whose liver curves are exact mono-exponentials (``fraction_injected`` input).

    The effective clearance is λ_phys + 0.008·(AST/30)·exp(noise·ε) per hour, so it is a
    known function of one clinical feature; scans at ~0.5–2 h, 20–28 h and 72–96 h.
    """
    rng = np.random.default_rng(seed)
    ids = [f"P{i:03d}" for i in range(n)]
    ast = rng.lognormal(math.log(30), 0.35, n)
    mass = rng.normal(1800, 300, n).clip(1000, 3000)
    patients = pd.DataFrame({
        "patient_id": ids,
        "dosimetric_activity_mci": rng.uniform(7, 20, n),
        "liver_mass_g": mass,
        "weight_kg": rng.normal(80, 12, n),
        "sex": rng.choice(["F", "M"], n),
        "age_y": rng.integers(55, 80, n),
        "ast_pre_u_per_l": ast,
        "ldh_u_per_l": rng.lognormal(math.log(250), 0.3, n),
    })
    lam = LAM_P + 0.008 * (ast / 30.0) * np.exp(noise * rng.normal(size=n))
    a = 0.3 * (mass / 1800.0) ** 0.5 * rng.uniform(0.85, 1.15, n)
    rows = []
    for i, pid in enumerate(ids):
        times = (rng.uniform(0.5, 2.0), rng.uniform(20, 28), rng.uniform(72, 96))
        for t in times:
            rows.append({"patient_id": pid, "time_h": t, "region": "whole_body",
                         "fraction_injected": math.exp(-LAM_P * t) * (1.0 if t == times[0] else 0.85)})
            rows.append({"patient_id": pid, "time_h": t, "region": "liver",
                         "fraction_injected": a[i] * math.exp(-lam[i] * t)})
    truth = pd.DataFrame({"patient_id": ids, "a": a, "lambda_eff_per_h": lam})
    return patients, pd.DataFrame(rows), truth


@pytest.fixture(scope="module")
def study_data():
    p, s, truth = make_kinetic_cohort(30, seed=1, noise=0.1)
    return prepare_study_data(load_cohort(patients=p, scans=s)), truth


# ----------------------------------------------------------------------------- physics


def test_two_point_fit_equals_the_closed_form():
    a, lam = np.array([0.3, 0.2, 0.25]), np.array([0.02, 0.05, LAM_P * 1.5])
    t1, t2 = np.array([1.0, 0.5, 2.0]), np.array([24.0, 26.0, 22.0])
    f1, f2 = a * np.exp(-lam * t1), a * np.exp(-lam * t2)
    np.testing.assert_allclose(two_point_tiac_h(f1, t1, f2, t2, LAM_P), a / lam, rtol=1e-12)


def test_two_point_rising_uptake_falls_back_to_physical_decay():
    got = two_point_tiac_h(np.array([0.2]), np.array([1.0]), np.array([0.25]), np.array([24.0]), LAM_P)
    assert got[0] == pytest.approx(0.2 * math.exp(LAM_P * 1.0) / LAM_P, rel=1e-12)
    assert np.isnan(two_point_tiac_h(np.array([0.2]), np.array([1.0]), np.array([np.nan]), np.array([24.0]),
                                     LAM_P))[0]


def test_stp_and_hanscheid():
    a, lam, t = 0.3, 0.015, 24.0
    f = a * math.exp(-lam * t)
    assert stp_tiac_h(f, t, lam) == pytest.approx(a / lam, rel=1e-12)
    # Hänscheid = STP with T_eff equal to the scan time; exact for such a patient
    lam_t = math.log(2) / t
    f_t = a * math.exp(-lam_t * t)
    assert hanscheid_tiac_h(f_t, t) == pytest.approx(a / lam_t, rel=1e-12)
    assert hanscheid_tiac_h(f, t) == pytest.approx(stp_tiac_h(f, t, lam_t), rel=1e-12)


def test_population_half_life_is_the_median_of_usable_values():
    assert population_half_life_h([30.0, np.nan, 50.0, -1.0, 40.0]) == 40.0
    with pytest.raises(ValueError):
        population_half_life_h([np.nan, 0.0])


# ----------------------------------------------------------------------------- metrics


def test_schedule_metrics_on_hand_data():
    ref = np.array([500.0, 1000.0, 1500.0, 400.0, 600.0])  # uncapped reference
    pred = np.array([560.0, 1050.0, 1200.0, 300.0, np.nan])
    m = schedule_metrics(pred, ref, cap_mci=1030.0, margin=0.10)
    # the NaN prediction is excluded
    assert m["n"] == 4
    adm = np.array([560.0, 1030.0, 1030.0, 300.0])  # clipped to the cap
    rc = np.array([500.0, 1000.0, 1030.0, 400.0])
    err = adm - rc
    assert m["rmse_mci"] == pytest.approx(math.sqrt(np.mean(err**2)))
    assert m["bias_mci"] == pytest.approx(np.mean(err))
    # patient 1: 560 > 1.1·500 = 550 → overdose; patient 2: 1030 < 1100; patient 3: ref 1500,
    # capped prediction is not an overdose; patient 4 under-dosed.
    assert m["overdose_pct"] == pytest.approx(25.0)
    assert m["underdose_pct"] == pytest.approx(25.0)  # 300 < 0.9·400
    # |err|/rc = 0.12, 0.03, 0, 0.25
    assert m["within10_pct"] == pytest.approx(50.0)
    assert m["within20_pct"] == pytest.approx(75.0)
    assert m["within30_pct"] == pytest.approx(100.0)
    raw_err = np.array([560.0, 1050.0, 1200.0, 300.0]) - ref[:4]
    assert m["rmse_raw_mci"] == pytest.approx(math.sqrt(np.mean(raw_err**2)))


def test_overdose_uses_the_uncapped_reference():
    # the given activity (capped at 1030) exceeds 1.1 × a reference of 900 → overdose,
    # but a reference of 2000 (capped to 1030) is never overdosed by the cap itself
    m = schedule_metrics(np.array([1500.0, 1500.0]), np.array([900.0, 2000.0]), cap_mci=1030.0)
    assert m["overdose_pct"] == pytest.approx(50.0)


# ----------------------------------------------------------------------------- data and methods


def test_prepare_study_data(study_data):
    data, truth = study_data
    k = data.kin
    np.testing.assert_allclose(k["f1"], truth["a"] * np.exp(-truth["lambda_eff_per_h"] * k["t1_h"]), rtol=1e-9)
    assert np.all((k["t24_h"] > 19) & (k["t24_h"] < 29))
    # the reference is the full dosimetry; the two-point feature is exact for these curves
    np.testing.assert_allclose(k["half_life_full_h"], np.log(2) / truth["lambda_eff_per_h"], rtol=1e-6)
    np.testing.assert_allclose(np.exp(data.X_24["liver_two_point_ln_tiac_per_uptake"].to_numpy()) * k["f1"].to_numpy(),
                               truth["a"] / truth["lambda_eff_per_h"], rtol=1e-9)
    assert "uptake_24h_liver" not in data.X_first.columns
    assert np.all(data.y == np.minimum(k["ref_mci"], 1030.0))


def test_population_half_life_is_fitted_on_training_rows_only(study_data):
    data, _ = study_data
    tr, te = np.arange(20), np.arange(20, 30)
    methods = ["stp_first", "stp_24h"]
    base = fit_predict_methods(data.take(tr), data.take(te), methods)
    # the expected prediction uses the median half-life of the 20 training patients
    lam_pop = math.log(2) / np.median(data.kin["half_life_full_h"].to_numpy()[tr])
    k = data.kin.iloc[te]
    expect = activity_for_target_mci(stp_tiac_h(k["f1"], k["t1_h"], lam_pop), k["liver_mass_g"], DoseSettings())
    np.testing.assert_allclose(base["stp_first"], expect, rtol=1e-12)
    # changing the test patients' own full-dosimetry half-lives changes nothing
    test = data.take(te)
    test.kin["half_life_full_h"] = 1000.0
    again = fit_predict_methods(data.take(tr), test, methods)
    for mth in methods:
        np.testing.assert_array_equal(again[mth], base[mth])
    # changing the training patients' half-lives does
    train = data.take(tr)
    train.kin["half_life_full_h"] *= 2.0
    moved = fit_predict_methods(train, data.take(te), methods)
    assert not np.allclose(moved["stp_first"], base["stp_first"])


def test_ml_methods_never_see_test_targets(study_data):
    data, _ = study_data
    tr, te = np.arange(20), np.arange(20, 30)
    methods = ["lasso_first", "hybrid_first", "lasso_first_24h", "hybrid_first_24h"]
    base = fit_predict_methods(data.take(tr), data.take(te), methods, SMALL_PIPE)
    test = data.take(te)
    test.y = test.y * 3.0  # test targets are not used
    again = fit_predict_methods(data.take(tr), test, methods, SMALL_PIPE)
    for mth in methods:
        np.testing.assert_array_equal(again[mth], base[mth])


def test_cohort_cv(study_data):
    data, _ = study_data
    cv = cohort_cv(data, folds=3, repeats=2, seed=0, pipeline_settings=SMALL_PIPE)
    s = cv.summary
    assert set(s) == set(METHODS)
    assert s["all_scans"]["rmse_mci"]["mean"] == 0.0
    assert s["all_scans"]["overdose_pct"]["mean"] == 0.0
    # exact mono-exponential curves: the two-point fit is the full dosimetry
    assert s["two_point"]["rmse_mci"]["high"] < 1e-6
    # the hybrid model with the first + 24 h scans has the exact two-point clearance as a feature
    assert s["hybrid_first_24h"]["rmse_mci"]["mean"] < 0.05 * s["stp_first"]["rmse_mci"]["mean"]
    # out-of-fold predictions: every patient predicted once per repeat
    assert np.all(np.isfinite(cv.oof["lasso_first"]))
    assert cv.per_repeat.shape[0] == 2 * len(METHODS)
    for mth, met in s.items():
        assert met["rmse_mci"]["low"] <= met["rmse_mci"]["mean"] <= met["rmse_mci"]["high"]


def test_virtual_cohort_study_with_a_stand_in_simulator(monkeypatch):
    """The sample-size machinery (seeds, aggregation, test cohort) with a fast stand-in simulator."""
    import onescan.studies.schedule._runs as sch

    calls = []

    def fake(n, seed, ds):
        calls.append((n, seed))
        p, s, _ = make_kinetic_cohort(n, seed=seed % 10_000, noise=0.2)
        return prepare_study_data(load_cohort(patients=p, scans=s), ds)

    monkeypatch.setattr(sch, "_simulated_study_data", fake)
    out = virtual_cohort_study(sizes=(20, 40), n_cohorts=2, test_patients=30, seed=3,
                               methods=["stp_first", "two_point", "hybrid_first"], pipeline_settings=SMALL_PIPE)
    assert out.sizes == [20, 40]
    assert len(out.per_cohort) == 2 * 2 * 3
    # test cohort first, then 4 distinct training cohorts
    assert calls[0][0] == 30
    assert len({c[1] for c in calls[1:]}) == 4
    assert set(out.summary[20]) == {"stp_first", "two_point", "hybrid_first"}
    assert out.summary[40]["two_point"]["rmse_mci"]["mean"] < 1e-6
    assert out.summary[20]["hybrid_first"]["overdose_pct"]["mean"] >= 0.0


# ----------------------------------------------------------------------------- outputs


def test_schedule_study_and_outputs(tmp_path):
    p, s, _ = make_kinetic_cohort(25, seed=5, noise=0.2)
    p.loc[0, "patient_id"] = "<b>x</b>"
    s.loc[s["patient_id"] == "P000", "patient_id"] = "<b>x</b>"
    cohort = load_cohort(patients=p, scans=s)
    settings = ScheduleSettings(folds=3, repeats=2, methods=("all_scans", "stp_first", "two_point", "hybrid_first"))
    res = schedule_study(cohort, settings, pipeline_settings=SMALL_PIPE)
    paths = write_schedule_outputs(res, tmp_path / "out")
    for key in ("report", "metrics", "table", "figure_schedule_cv", "cv_per_repeat"):
        assert paths[key].is_file(), key
    metrics = json.loads(paths["metrics"].read_text())
    assert metrics["cohort_cv"]["n_patients"] == 25
    assert set(metrics["cohort_cv"]["summary"]) == set(settings.methods)
    table = pd.read_csv(paths["table"])
    assert list(table["method"]) == list(settings.methods)
    # the table and metrics.json agree number for number
    row = table.set_index("method").loc["stp_first"]
    assert row["rmse_mci_mean"] == pytest.approx(metrics["cohort_cv"]["summary"]["stp_first"]["rmse_mci"]["mean"])
    html = paths["report"].read_text()
    assert "data:image/png;base64," in html
    # DataFrame sources are labelled "<patients>": autoescaped in the report
    assert "&lt;patients&gt;" in html and "<patients>" not in html
    assert f"{metrics['cohort_cv']['summary']['stp_first']['rmse_mci']['mean']:.1f}" in html
    assert not list((tmp_path / "out").glob("*.tmp*"))


@pytest.mark.parametrize("backend", ["multiprocessing"])
def test_cohort_cv_is_the_same_in_parallel(study_data, backend):
    """Results do not depend on workers or completion order; backends that cannot stream
    results (multiprocessing, like Ray's) fall back to collecting them at the end. (loky,
    the default, streams; it is left out here only because its worker start-up is slow.)"""
    from joblib import parallel_config

    data, _ = study_data
    methods = ["stp_first", "two_point", "hybrid_first"]
    serial = cohort_cv(data, methods, folds=3, repeats=2, pipeline_settings=SMALL_PIPE)
    with parallel_config(backend=backend):
        par = cohort_cv(data, methods, folds=3, repeats=2, n_jobs=2, pipeline_settings=SMALL_PIPE)
    for mth in methods:
        np.testing.assert_allclose(par.oof[mth], serial.oof[mth], rtol=1e-12)


def test_cv_figure_copes_with_a_mean_outside_its_interval():
    from onescan.report._schedule_report import _cv_figure

    cell = {"mean": 10.0, "low": 10.5, "high": 30.0}  # skewed: mean below the 2.5th percentile
    summary = {m: {"rmse_mci": cell, "overdose_pct": {"mean": 5.0, "low": 5.0000001, "high": 5.0}}
               for m in ("stp_first", "hybrid_first")}
    metrics = {"cohort_cv": {"summary": summary, "n_patients": 10},
               "methods": {m: {"label": m, "kind": METHODS[m].kind} for m in summary},
               "settings": {"folds": 2, "repeats": 2}}
    fig = _cv_figure(metrics)
    assert len(fig.axes) == 2


# ----------------------------------------------------------------------------- the method registry


def test_every_method_is_one_registry_entry():
    from onescan.studies.schedule._methods import KINDS

    for key, m in METHODS.items():
        assert m.key == key and m.kind in KINDS and m.colour.startswith("#")
        assert m.scans in ("all", "first", "24 h", "first + 24 h")
        assert (m.factory is not None) == (m.kind == "ml")
        assert m.linestyle == KINDS[m.kind].linestyle


def test_a_new_method_is_one_entry(study_data, monkeypatch):
    import dataclasses

    from onescan.studies.schedule import _methods

    data, _ = study_data
    half = dataclasses.replace(METHODS["two_point"], key="half_two_point", label="half of two-point",
                               predict=lambda c: 0.5 * METHODS["two_point"].predict(c))
    monkeypatch.setitem(_methods.METHODS, "half_two_point", half)
    tr, te = np.arange(20), np.arange(20, 30)
    out = fit_predict_methods(data.take(tr), data.take(te), ["two_point", "half_two_point"])
    np.testing.assert_allclose(out["half_two_point"], 0.5 * out["two_point"])


def test_size_figure_colours_come_from_the_registry():
    from onescan.report._schedule_report import _size_figure

    cell = {"mean": 10.0, "low": 5.0, "high": 20.0}
    methods = ["all_scans", "stp_first", "lasso_first"]
    metrics = {"methods": {m: {"label": METHODS[m].label, "kind": METHODS[m].kind} for m in methods},
               "virtual": {"sizes": [20, 40], "n_cohorts": 2, "test_patients": 30,
                           "summary": {s: {m: {"rmse_mci": cell, "overdose_pct": cell} for m in methods}
                                       for s in ("20", "40")}}}
    fig = _size_figure(metrics)
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == [METHODS["stp_first"].label, METHODS["lasso_first"].label]
    assert [ln.get_color() for ln in lines] == [METHODS["stp_first"].colour, METHODS["lasso_first"].colour]
    assert [ln.get_linestyle() for ln in lines] == ["--", "-"]
