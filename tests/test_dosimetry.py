"""Reference-value and property tests of the MIRD liver dosimetry (onescan.dosimetry._dose, SPEC §2)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onescan.dosimetry._dose import (
    DOSE_COLUMNS,
    DoseSettings,
    activity_for_target_mci,
    compute_dose,
    compute_dose_details,
    dose_gy_per_mbq,
    dose_gy_per_mci,
    make_dose_settings,
    tac_arrays,
)
from onescan.contract._errors import InputError
from onescan.dosimetry._physics import lambda_phys_per_h

LP = lambda_phys_per_h("I-131")
MU = 0.110
# Hand values of SPEC §2.4 (ICRP 107 Δ, ICRP 89 mass, CODATA MeV→J), typed here as the test's reference
J_PER_MEV = 1.602176634e-13
S_NP_REF = 0.1919 * J_PER_MEV * 1e6 / 1.8 * 1e3   # mGy/(MBq s)
S_P_REF = 0.15 * 0.3828 * J_PER_MEV * 1e6 / 1.8 * 1e3

# two hand-made patients: (id, a, effective half-life h, liver mass g, liver thickness cm, wb thickness cm)
PATIENTS = [("P1", 0.18, 70.0, 1500.0, 20.0, 25.0),
            ("P2", 0.05, 20.0, 2500.0, 18.0, 24.0)]
TIMES = (1.5, 24.0, 72.0)
RATIO = 1.3  # anterior/posterior net count ratio


def hand_s(m, scaling):
    r = 1800.0 / m
    return {"split": S_NP_REF * r + S_P_REF * r ** (2 / 3), "linear": (S_NP_REF + S_P_REF) * r,
            "none": S_NP_REF + S_P_REF}[scaling]


def hand_expected(scaling, attenuation=True, target=24.0, cap=1030.0):
    out = []
    for pid, a, th, m, t_liv, t_wb in PATIENTS:
        lam = math.log(2) / th
        tiac = a / lam
        if not attenuation:  # thickness ignored: liver/wb ratio loses exp(μ(t_liv − t_wb)/2)
            tiac *= math.exp(-MU * t_liv / 2) / math.exp(-MU * t_wb / 2)
        s = hand_s(m, scaling)
        d_mci = tiac * 3600 * s / 1000 * 37
        act = target / d_mci
        out.append(dict(patient_id=pid, liver_uptake_first=(a * math.exp(-lam * TIMES[0]) * (
            1 if attenuation else math.exp(-MU * (t_liv - t_wb) / 2))),
            liver_tiac_h=tiac, liver_s_value_mgy_per_mbq_s=s, liver_dose_gy_per_mci=d_mci,
            prescribed_activity_mci=act, prescribed_activity_capped_mci=min(act, cap),
            prescribed_activity_gbq=act * 37 / 1000))
    return pd.DataFrame(out)


def counts_cohort(thickness=True):
    """Counts input: backgrounds, acquisition times, unequal views, thickness; exact mono-exp liver."""
    pats, rows = [], []
    wb_gm_corr_first = 2.0e4  # counts/s, attenuation-corrected
    for pid, a, th, m, t_liv, t_wb in PATIENTS:
        lam = math.log(2) / th
        pats.append(dict(patient_id=pid, dosimetric_activity_mbq=185.0, liver_mass_g=m))
        k = wb_gm_corr_first / math.exp(-LP * TIMES[0])  # GM_corr per unit fraction
        for t in TIMES:
            regions = {"liver": (a * math.exp(-lam * t), t_liv, 300.0),
                       "spleen": (0.01 * math.exp(-0.02 * t), 15.0, 300.0)}
            if t == TIMES[0]:
                regions["whole_body"] = (math.exp(-LP * t), t_wb, 600.0)
            else:  # after voiding
                regions["whole_body"] = (0.7 * math.exp(-LP * t), t_wb, 600.0)
            for region, (f, thick, acq) in regions.items():
                gm = f * k * math.sqrt(math.exp(-MU * thick))  # measured (attenuated) GM, counts/s
                bg_a, bg_p = 400.0, 250.0
                rows.append(dict(patient_id=pid, time_h=t, region=region,
                                 counts_anterior=gm * RATIO * acq + bg_a, counts_posterior=gm / RATIO * acq + bg_p,
                                 background_anterior=bg_a, background_posterior=bg_p, acquisition_s=acq,
                                 thickness_cm=thick if thickness else np.nan))
    return pd.DataFrame(pats), pd.DataFrame(rows)


def fraction_cohort():
    pats, rows = [], []
    for pid, a, th, m, *_ in PATIENTS:
        lam = math.log(2) / th
        pats.append(dict(patient_id=pid, dosimetric_activity_mbq=185.0, liver_mass_g=m))
        for t in TIMES:
            rows.append(dict(patient_id=pid, time_h=t, region="liver", counts_anterior=np.nan,
                             counts_posterior=np.nan, fraction_injected=a * math.exp(-lam * t)))
    return pd.DataFrame(pats), pd.DataFrame(rows)


CHECK = ["liver_uptake_first", "liver_tiac_h", "liver_s_value_mgy_per_mbq_s", "liver_dose_gy_per_mci",
         "prescribed_activity_mci", "prescribed_activity_capped_mci", "prescribed_activity_gbq"]


@pytest.mark.parametrize("scaling", ["split", "linear", "none"])
@pytest.mark.parametrize("source", ["counts", "counts_no_attenuation", "fraction_injected"])
def test_hand_computed_patients(scaling, source):
    if source == "fraction_injected":
        p, s = fraction_cohort()
    else:
        p, s = counts_cohort(thickness=(source == "counts"))
    got = compute_dose(p, s, DoseSettings(mass_scaling=scaling))
    exp = hand_expected(scaling, attenuation=(source != "counts_no_attenuation"))
    assert list(got.columns) == list(DOSE_COLUMNS)
    assert got["patient_id"].tolist() == ["P1", "P2"]
    for col in CHECK:
        np.testing.assert_allclose(got[col], exp[col], rtol=1e-3, err_msg=col)  # SPEC: 0.1 %
    np.testing.assert_allclose(got["liver_tiac_h"], exp["liver_tiac_h"], rtol=1e-6)
    assert got["prescribed_activity_capped_mci"].iloc[1] == 1030.0  # P2 above the cap
    assert got["flags"].tolist() == ["", ""]
    assert got["fit_model"].tolist() == ["monoexp", "monoexp"]
    np.testing.assert_allclose(got["fit_r2"], 1.0, atol=1e-9)
    np.testing.assert_allclose(got["liver_effective_half_life_h"], [70.0, 20.0], rtol=1e-6)


def test_target_and_cap_options():
    p, s = fraction_cohort()
    got = compute_dose(p, s, DoseSettings(target_gy=12.0, max_activity_mci=500.0))
    exp = hand_expected("split", target=12.0, cap=500.0)
    np.testing.assert_allclose(got["prescribed_activity_mci"], exp["prescribed_activity_mci"], rtol=1e-6)
    np.testing.assert_allclose(got["prescribed_activity_capped_mci"], exp["prescribed_activity_capped_mci"],
                               rtol=1e-6)


@pytest.mark.parametrize("fit", ["monoexp", "loglinear", "trapezoid", "auto"])
def test_every_fit_method_runs_through(fit):
    p, s = counts_cohort()
    got = compute_dose(p, s, DoseSettings(fit=fit))
    assert got["liver_tiac_h"].notna().all()
    if fit != "trapezoid":
        np.testing.assert_allclose(got["liver_tiac_h"], hand_expected("split")["liver_tiac_h"], rtol=1e-6)
    else:
        assert got["fit_model"].eq("trapezoid").all() and got["fit_r2"].isna().all()


def test_doubtful_patients_flagged_not_dropped():
    p, s = fraction_cohort()
    p = pd.concat([p, pd.DataFrame([dict(patient_id="P3", dosimetric_activity_mbq=185.0, liver_mass_g=1700.0),
                                    dict(patient_id="P4", dosimetric_activity_mbq=185.0, liver_mass_g=1700.0)])],
                  ignore_index=True)
    rising = pd.DataFrame([dict(patient_id="P3", time_h=t, region="liver", fraction_injected=f)
                           for t, f in ((1.0, 0.10), (24.0, 0.14), (72.0, 0.09))])
    s = pd.concat([rising, s], ignore_index=True)  # scans order differs from patients order
    got = compute_dose(p, s)
    assert got["patient_id"].tolist() == ["P1", "P2", "P3", "P4"]
    assert "uptake_rising" in got.loc[2, "flags"].split(";")
    assert np.isfinite(got.loc[2, "prescribed_activity_mci"])
    assert got.loc[3, "flags"].split(";")[0] == "no_liver_data"
    assert np.isnan(got.loc[3, "prescribed_activity_mci"])


def test_no_whole_body_reference_flagged():
    p, s = counts_cohort()
    s = s[~((s["patient_id"] == "P1") & (s["region"] == "whole_body"))]
    got = compute_dose(p, s)
    assert got["patient_id"].tolist() == ["P1", "P2"]
    assert "unquantified_liver_points" in got.loc[0, "flags"] and "fit_failed" in got.loc[0, "flags"]
    assert np.isnan(got.loc[0, "prescribed_activity_mci"]) and got.loc[1, "flags"] == ""


def test_liver_volume_fallback_and_missing_mass():
    p, s = fraction_cohort()
    p2 = p.drop(columns="liver_mass_g").assign(liver_volume_ml=p["liver_mass_g"] / 1.05)
    np.testing.assert_allclose(compute_dose(p2, s)["prescribed_activity_mci"],
                               compute_dose(p, s)["prescribed_activity_mci"], rtol=1e-12)
    with pytest.raises(InputError, match="liver_mass_g"):
        compute_dose(p.drop(columns="liver_mass_g"), s)
    p3 = p.copy()
    p3.loc[0, "liver_mass_g"] = np.nan
    got = compute_dose(p3, s)
    assert "no_liver_mass" in got.loc[0, "flags"] and np.isnan(got.loc[0, "prescribed_activity_mci"])


def test_details_and_tac_arrays():
    p, s = counts_cohort()
    out, fit = compute_dose_details(p, s)
    np.testing.assert_allclose(fit.tiac_h, out["liver_tiac_h"])
    q = pd.DataFrame(dict(patient_id=["b", "a", "a", "c"], time_h=[5.0, 9.0, 1.0, 2.0],
                          region=["liver", "liver", "liver", "spleen"], fraction=[0.5, 0.1, 0.2, 0.3]))
    t, f = tac_arrays(q, ["a", "b", "c"])
    np.testing.assert_array_equal(t[0], [1.0, 9.0])
    np.testing.assert_array_equal(f[1], [0.5, np.nan])
    assert np.isnan(t[2]).all()


def test_user_s_value_file_changes_dose(tmp_path):
    path = tmp_path / "olinda.csv"
    pd.DataFrame([dict(nuclide="I-131", source="liver", target="liver", reference_mass_g=1800.0,
                       s_np_mgy_per_mbq_s=2 * S_NP_REF, s_p_mgy_per_mbq_s=2 * S_P_REF)]).to_csv(path, index=False)
    p, s = fraction_cohort()
    base = compute_dose(p, s)
    doubled = compute_dose(p, s, DoseSettings(s_values=path))
    np.testing.assert_allclose(doubled["liver_dose_gy_per_mci"], 2 * base["liver_dose_gy_per_mci"], rtol=1e-12)


# ----------------------------------------------------------------- settings


def test_settings_defaults_and_validation():
    s = DoseSettings()
    assert (s.fit, s.mass_scaling, s.s_values, s.mu_per_cm, s.target_gy, s.max_activity_mci, s.nuclide) == (
        "monoexp", "split", None, 0.110, 24.0, 1030.0, "I-131")
    with pytest.raises(InputError) as ei:
        make_dose_settings(target_gy=-1.0, mu_per_cm=0.0, fit="spline", max_activity_mci=float("nan"))
    labels = {pr.file for pr in ei.value.problems}
    assert labels == {"--target-gy", "--mu-per-cm", "--fit", "--max-activity-mci"}
    with pytest.raises(InputError, match="nuclide"):
        make_dose_settings(nuclide="Zz-1")
    with pytest.raises(InputError):
        make_dose_settings(s_values="/nonexistent/s.csv")
    assert make_dose_settings(target_gy=None).target_gy == 24.0
    with pytest.raises(Exception):
        DoseSettings(unknown=1)


# ----------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(tiac=st.floats(0.1, 500.0), m=st.floats(300.0, 5000.0), k=st.floats(0.01, 100.0),
       scaling=st.sampled_from(["split", "linear", "none"]))
def test_dose_proportional_to_tiac(tiac, m, k, scaling):
    cfg = DoseSettings(mass_scaling=scaling)
    assert dose_gy_per_mbq(k * tiac, m, cfg) == pytest.approx(k * dose_gy_per_mbq(tiac, m, cfg), rel=1e-12)
    assert dose_gy_per_mci(tiac, m, cfg) == pytest.approx(37.0 * dose_gy_per_mbq(tiac, m, cfg), rel=1e-12)
    assert activity_for_target_mci(k * tiac, m, cfg) == pytest.approx(activity_for_target_mci(tiac, m, cfg) / k,
                                                                      rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(tiac=st.floats(0.1, 500.0), m=st.floats(300.0, 5000.0), k=st.floats(0.1, 10.0),
       target=st.floats(1.0, 100.0))
def test_activity_proportional_to_liver_mass_for_linear_scaling(tiac, m, k, target):
    cfg = DoseSettings(mass_scaling="linear", target_gy=target)
    assert activity_for_target_mci(tiac, k * m, cfg) == pytest.approx(k * activity_for_target_mci(tiac, m, cfg),
                                                                      rel=1e-12)
    # and the dose at that activity is the target
    assert activity_for_target_mci(tiac, m, cfg) * dose_gy_per_mci(tiac, m, cfg) == pytest.approx(target, rel=1e-12)


def test_nonpositive_tiac_gives_nan_activity():
    assert np.isnan(activity_for_target_mci(np.array([0.0, np.nan]), 1800.0)).all()


# ----------------------------------------------------------------- the organ is a parameter


def _spleen():
    from onescan.contract._organs import Organ

    return Organ(key="spleen", region="spleen", label="spleen", density_g_per_ml=1.04, reference_mass_g=150.0,
                 dose_limiting=False, source_text="test organ")


def _two_organ_s_values(tmp_path):
    path = tmp_path / "s.csv"
    pd.DataFrame([dict(nuclide="I-131", source="liver", target="liver", reference_mass_g=1800.0,
                       s_np_mgy_per_mbq_s=S_NP_REF, s_p_mgy_per_mbq_s=S_P_REF),
                  dict(nuclide="I-131", source="spleen", target="spleen", reference_mass_g=150.0,
                       s_np_mgy_per_mbq_s=12 * S_NP_REF, s_p_mgy_per_mbq_s=8 * S_P_REF)]).to_csv(path, index=False)
    return path


def test_default_organ_is_the_dose_limiting_organ():
    from onescan.contract._organs import limiting_organ
    from onescan.dosimetry._dose import dose_columns

    liver = limiting_organ()
    p, s = counts_cohort()
    default = compute_dose(p, s)
    for organs in (liver, liver.key, [liver.key]):
        pd.testing.assert_frame_equal(compute_dose(p, s, organs=organs), default)
    assert dose_columns() == DOSE_COLUMNS == dose_columns(liver)
    assert DOSE_COLUMNS[1:6] == tuple(liver.column(q) for q in ("uptake_first", "tiac_h", "effective_half_life_h",
                                                               "s_value_mgy_per_mbq_s", "dose_gy_per_mci"))
    with pytest.raises(KeyError, match="unknown organ"):
        compute_dose(p, s, organs="pancreas")


def test_other_organ_columns_mass_and_flags(tmp_path):
    from onescan.dosimetry._dose import dose_columns, organ_mass_g

    spleen = _spleen()
    p, s = counts_cohort()
    p = p.assign(spleen_volume_ml=[140.0, np.nan])
    np.testing.assert_array_equal(organ_mass_g(p, spleen), [140.0 * 1.04, np.nan])
    with pytest.raises(InputError, match="needs spleen_mass_g or spleen_volume_ml"):
        organ_mass_g(p.drop(columns="spleen_volume_ml"), spleen)
    cfg = DoseSettings(s_values=_two_organ_s_values(tmp_path))
    got = compute_dose(p, s, cfg, organs=spleen)
    assert list(got.columns) == list(dose_columns(spleen))
    assert "spleen_tiac_h" in got.columns and "liver_tiac_h" not in got.columns
    # spleen fraction 0.01·exp(−0.02 t): TIAC = 0.5 h
    assert got.loc[0, "spleen_tiac_h"] == pytest.approx(0.01 / 0.02, rel=1e-6)
    expect = activity_for_target_mci(0.5, 140.0 * 1.04, cfg, organ=spleen)
    assert got.loc[0, "prescribed_activity_mci"] == pytest.approx(float(expect), rel=1e-6)
    assert got.loc[1, "flags"] == "no_spleen_mass" and np.isnan(got.loc[1, "prescribed_activity_mci"])


def test_several_organs_prescription_limited_by_the_first_to_reach_target(tmp_path):
    from onescan.contract._organs import limiting_organ

    liver, spleen = limiting_organ(), _spleen()
    p, s = counts_cohort()
    p = p.assign(spleen_mass_g=[150.0, 150.0])
    cfg = DoseSettings(s_values=_two_organ_s_values(tmp_path), max_activity_mci=1e9)
    both = compute_dose(p, s, cfg, organs=[liver, spleen])
    one = {o.key: compute_dose(p, s, cfg, organs=o) for o in (liver, spleen)}
    for o in (liver, spleen):
        pd.testing.assert_series_equal(both[o.column("tiac_h")], one[o.key][o.column("tiac_h")])
        assert both[o.column("fit_model")].tolist() == one[o.key]["fit_model"].tolist()
    np.testing.assert_array_equal(both["prescribed_activity_mci"],
                                  np.minimum(one["liver"]["prescribed_activity_mci"],
                                             one["spleen"]["prescribed_activity_mci"]))
    assert "fit_model" not in both.columns
    with pytest.raises(ValueError, match="twice"):
        compute_dose(p, s, cfg, organs=[spleen, spleen])


def test_flags_are_built_from_the_organ_key():
    from onescan.contract._organs import limiting_organ

    key = limiting_organ().key
    p, s = fraction_cohort()
    s = s[~((s["patient_id"] == "P2") & (s["region"] == key))]
    got = compute_dose(p, s)
    assert got.loc[1, "flags"].split(";")[0] == f"no_{key}_data"
