"""Tests for onescan.contract._cohort: every data-contract rule of SPEC §1 and the canonical form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_tiny_cohort
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onescan.contract._cohort import (
    MAX_PROBLEMS_PER_RULE,
    Cohort,
    load_cohort,
    normalise_patients,
    normalise_scans,
    rules_for,
    validate_cohort,
)
from onescan.contract._errors import InputError
from onescan.contract._io import write_table


def problems(p, s, **kw):
    """Problems that load_cohort reports (empty list when valid)."""
    try:
        load_cohort(p, s, **kw)
    except InputError as e:
        return e.problems
    return []


def one(probs, text):
    """The single problem whose message contains ``text``."""
    hits = [p for p in probs if text in p.message]
    assert len(hits) == 1, (text, [str(p) for p in probs])
    return hits[0]


def scan_row(s, pid, t, region):
    """0-based index of a scan row."""
    m = (s["patient_id"] == pid) & (s["time_h"] == t) & (s["region"] == region)
    (i,) = np.flatnonzero(m.to_numpy())
    return int(i)


def as_object(df, col):
    df[col] = df[col].astype(object)
    return df


# --------------------------------------------------------------------------- valid input


def test_tiny_cohort_is_valid_and_canonical(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    c = load_cohort(p, s)
    assert isinstance(c, Cohort)
    assert c.sources == {"patients": "<patients>", "scans": "<scans>"}
    assert c.patients["patient_id"].tolist() == ["001", "002", "010"]
    assert c.patient_ids == ["001", "002", "010"]
    assert "dosimetric_activity_mci" not in c.patients.columns
    np.testing.assert_allclose(c.patients["dosimetric_activity_mbq"], np.array([5.0, 6.0, 5.5]) * 37.0)
    assert list(c.scans.columns[:10]) == ["patient_id", "time_h", "region", "counts_anterior",
                                          "counts_posterior", "background_anterior", "background_posterior",
                                          "acquisition_s", "thickness_cm", "fraction_injected"]
    assert (c.scans["background_anterior"] == 0).all() and (c.scans["acquisition_s"] == 1).all()
    assert c.scans["thickness_cm"].isna().all() and c.scans["fraction_injected"].isna().all()
    assert len(c.scans) == 27 and c.scans.index.equals(pd.RangeIndex(27))
    # inputs are not modified
    assert "dosimetric_activity_mci" in p.columns


def test_scans_sorted_by_patients_file_order_then_time_then_region(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p = p.iloc[[2, 0, 1]].reset_index(drop=True)
    s = s.sample(frac=1.0, random_state=3).reset_index(drop=True)
    c = load_cohort(p, s)
    assert c.patients["patient_id"].tolist() == ["010", "001", "002"]
    got = list(zip(c.scans["patient_id"], c.scans["time_h"], c.scans["region"]))
    order = {"010": 0, "001": 1, "002": 2}
    assert got == sorted(got, key=lambda k: (order[k[0]], k[1], k[2]))


def test_region_lower_cased_and_stripped_extra_columns_kept(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    s["region"] = s["region"].map(lambda r: f" {r.upper()} ")
    s["camera"] = "A"
    p["marrow_blasts_pct"] = [5.0, 20.0, 40.0]
    p["diagnosis"] = ["AML", "MDS", "AML"]
    c = load_cohort(p, s)
    assert set(c.scans["region"]) == {"whole_body", "liver", "spleen"}
    assert c.scans["camera"].eq("A").all()
    assert c.patients["diagnosis"].tolist() == ["AML", "MDS", "AML"]
    assert c.patients["marrow_blasts_pct"].tolist() == [5.0, 20.0, 40.0]


def test_mci_and_mbq_inputs_are_equivalent(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    a = load_cohort(p.assign(prescribed_activity_mci=[600.0, 700.0, 800.0]), s)
    q = p.drop(columns="dosimetric_activity_mci")
    q["dosimetric_activity_mbq"] = p["dosimetric_activity_mci"] * 37.0
    q["prescribed_activity_mbq"] = np.array([600.0, 700.0, 800.0]) * 37.0
    b = load_cohort(q, s)
    for col in ("dosimetric_activity_mbq", "prescribed_activity_mci"):
        np.testing.assert_allclose(a.patients[col], b.patients[col], rtol=1e-12)
    assert "prescribed_activity_mbq" not in b.patients.columns
    assert sorted(a.patients.columns) == sorted(b.patients.columns)
    # both units given and agreeing (within 0.1 %) is fine; the canonical value wins
    both = p.assign(dosimetric_activity_mbq=p["dosimetric_activity_mci"] * 37.0 * 1.0005)
    c = load_cohort(both, s)
    np.testing.assert_allclose(c.patients["dosimetric_activity_mbq"], both["dosimetric_activity_mbq"])
    assert "dosimetric_activity_mci" not in c.patients.columns


def test_liver_volume_gives_mass(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    q = p.drop(columns="liver_mass_g").assign(liver_volume_ml=[1000.0, 1500.0, 2000.0])
    c = load_cohort(q, s)
    np.testing.assert_allclose(c.patients["liver_mass_g"], [1050.0, 1575.0, 2100.0])
    assert "liver_volume_ml" not in c.patients.columns
    # with both given, mass is kept as given and the CT volume stays beside it
    both = p.assign(liver_volume_ml=p["liver_mass_g"] / 1.05)
    c = load_cohort(both, s)
    np.testing.assert_allclose(c.patients["liver_mass_g"], p["liver_mass_g"])
    assert "liver_volume_ml" in c.patients.columns


def test_sex_codes_normalised(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p["sex"] = ["female", " m", None]
    c = load_cohort(p, s)
    assert c.patients["sex"].iloc[:2].tolist() == ["F", "M"] and pd.isna(c.patients["sex"].iloc[2])


def test_fraction_injected_input_needs_no_counts(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    s = s[s["region"] != "whole_body"].drop(columns=["counts_anterior", "counts_posterior"])
    s["fraction_injected"] = 0.1
    c = load_cohort(p, s)
    assert c.scans["counts_anterior"].isna().all() and (c.scans["fraction_injected"] == 0.1).all()


def test_empty_cells_in_feature_columns_are_gaps_not_errors(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p = as_object(p, "ast_pre_u_per_l")
    p.loc[0, "ast_pre_u_per_l"] = "  "
    p.loc[1, "ast_pre_u_per_l"] = "41"
    c = load_cohort(p, s)
    v = c.patients["ast_pre_u_per_l"]
    assert v.dtype == np.float64 and v.isna().tolist() == [True, False, True] and v[1] == 41.0


def test_csv_files_and_folder(tmp_path, tiny_cohort_frames):
    p, s = tiny_cohort_frames
    write_table(p, tmp_path / "patients.csv")
    write_table(s, tmp_path / "scans.parquet")
    c = load_cohort(folder=tmp_path)
    assert c.patients["patient_id"].tolist() == ["001", "002", "010"]  # leading zeros kept
    assert c.sources == {"patients": str(tmp_path / "patients.csv"), "scans": str(tmp_path / "scans.parquet")}
    # an explicit file overrides the folder's
    write_table(s.assign(extra=1), tmp_path / "other_scans.xlsx")
    c2 = load_cohort(scans=tmp_path / "other_scans.xlsx", folder=tmp_path)
    assert "extra" in c2.scans.columns
    pd.testing.assert_frame_equal(c.scans, c2.scans.drop(columns="extra"))


def test_scans_not_needed(tmp_path, tiny_cohort_frames):
    p, _ = tiny_cohort_frames
    c = load_cohort(p, None, need_scans=False, need_dosimetry=False)
    assert len(c.scans) == 0 and "region" in c.scans.columns
    write_table(p, tmp_path / "patients.csv")
    c = load_cohort(folder=tmp_path, need_scans=False, need_dosimetry=False)
    assert len(c.patients) == 3
    with pytest.raises(InputError, match="no scans table"):
        load_cohort(folder=tmp_path)


def test_nothing_given():
    with pytest.raises(InputError, match="no patients table given"):
        load_cohort()


# --------------------------------------------------------------------------- column-level rules


def test_missing_patient_id_column(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    pr = one(problems(p.drop(columns="patient_id"), s), "missing required column")
    assert pr.file == "<patients>" and pr.column == "patient_id" and pr.row is None


@pytest.mark.parametrize("col", ["time_h", "region", "patient_id", "counts_anterior", "counts_posterior"])
def test_missing_scan_column(tiny_cohort_frames, col):
    p, s = tiny_cohort_frames
    probs = problems(p, s.drop(columns=col))
    pr = [x for x in probs if "missing required column" in x.message]
    assert len(pr) == 1 and pr[0].column == col and pr[0].file == "<scans>"


@pytest.mark.parametrize("drop,accepted", [
    ("dosimetric_activity_mci", ("dosimetric_activity_mbq", "dosimetric_activity_mci")),
    ("liver_mass_g", ("liver_mass_g", "liver_volume_ml")),
])
def test_unit_family_missing(tiny_cohort_frames, drop, accepted):
    p, s = tiny_cohort_frames
    pr = one(problems(p.drop(columns=drop), s), "missing")
    assert all(a in pr.message for a in accepted)


def test_missing_target_column_only_when_needed(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    assert problems(p, s) == []
    pr = one(problems(p, s, need_target=True), "missing prescribed activity")
    assert "prescribed_activity_mci" in pr.message and "prescribed_activity_mbq" in pr.message
    q = p.assign(prescribed_activity_mci=[700.0, np.nan, 650.0])
    pr = one(problems(q, s, need_target=True), "no prescribed activity value")
    assert pr.row == 3 and pr.patient_id == "002"


def test_missing_activity_or_mass_value(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p.loc[2, "dosimetric_activity_mci"] = np.nan
    p.loc[0, "liver_mass_g"] = np.nan
    probs = problems(p, s)
    a = one(probs, "no dosimetric activity value")
    m = one(probs, "no liver mass value")
    assert (a.row, a.patient_id) == (4, "010") and (m.row, m.patient_id) == (2, "001")


def test_units_disagree(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p["dosimetric_activity_mbq"] = p["dosimetric_activity_mci"] * 37.0
    p.loc[1, "dosimetric_activity_mbq"] *= 1.01
    pr = one(problems(p, s), "disagree")
    assert pr.row == 3 and pr.patient_id == "002"
    assert "dosimetric_activity_mbq" in pr.message and "dosimetric_activity_mci" in pr.message


def test_non_numeric_value_is_named(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p = as_object(p, "liver_mass_g")
    p.loc[1, "liver_mass_g"] = "1.8 kg"
    s = as_object(s, "counts_posterior")
    i = scan_row(s, "010", 24.0, "liver")
    s.loc[i, "counts_posterior"] = "n.d."
    probs = problems(p, s)
    a = one(probs, "'1.8 kg'")
    assert (a.file, a.row, a.column, a.patient_id) == ("<patients>", 3, "liver_mass_g", "002")
    assert "non-numeric" in a.message
    b = one(probs, "'n.d.'")
    assert (b.file, b.row, b.column, b.patient_id) == ("<scans>", i + 2, "counts_posterior", "010")


PATIENT_RANGE_CASES = [
    ("dosimetric_activity_mci", 0.0, "> 0"),
    ("dosimetric_activity_mbq", -1.0, "> 0"),
    ("liver_mass_g", -5.0, "> 0"),
    ("liver_volume_ml", 0.0, "> 0"),
    ("prescribed_activity_mci", 0.0, "> 0"),
    ("prescribed_activity_mbq", -3.0, "> 0"),
    ("weight_kg", 0.0, "> 0"),
    ("height_cm", -170.0, "> 0"),
    ("age_y", -1.0, "≥ 0"),
]


@pytest.mark.parametrize("col,bad,expect", PATIENT_RANGE_CASES)
def test_patient_value_out_of_range(tiny_cohort_frames, col, bad, expect):
    p, s = tiny_cohort_frames
    if col not in p.columns:
        p[col] = 100.0
    p[col] = p[col].astype(float)
    p.loc[2, col] = bad
    pr = one(problems(p, s), f"must be {expect}")
    assert (pr.row, pr.column, pr.patient_id) == (4, col, "010")


SCAN_RANGE_CASES = [
    ("counts_anterior", -1.0, "≥ 0"),
    ("counts_posterior", -0.5, "≥ 0"),
    ("background_anterior", -2.0, "≥ 0"),
    ("background_posterior", -2.0, "≥ 0"),
    ("acquisition_s", 0.0, "> 0"),
    ("thickness_cm", -20.0, "> 0"),
    ("time_h", -1.0, "≥ 0"),
    ("fraction_injected", 1.6, "≤ 1.5"),
    ("fraction_injected", -0.1, "≥ 0"),
]


@pytest.mark.parametrize("col,bad,expect", SCAN_RANGE_CASES)
def test_scan_value_out_of_range(tiny_cohort_frames, col, bad, expect):
    p, s = tiny_cohort_frames
    if col not in s.columns:
        s[col] = {"acquisition_s": 600.0, "thickness_cm": 22.0}.get(col, np.nan)
    i = scan_row(s, "002", 72.0, "spleen")
    s[col] = s[col].astype(float)
    s.loc[i, col] = bad
    pr = one(problems(p, s), f"must be {expect}")
    assert (pr.file, pr.row, pr.column, pr.patient_id) == ("<scans>", i + 2, col, "002")


def test_boundaries_are_allowed(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p["age_y"] = [0, 61, 67]
    s["counts_anterior"] = s["counts_anterior"].astype(float)
    i = scan_row(s, "001", 72.0, "spleen")
    s.loc[i, "counts_anterior"] = 0.0
    s["fraction_injected"] = np.nan
    s.loc[scan_row(s, "002", 72.0, "spleen"), "fraction_injected"] = 1.5
    s.loc[scan_row(s, "010", 72.0, "spleen"), "fraction_injected"] = 0.0
    assert problems(p, s) == []
    # the contract's bounds allow age 0; plausibility (SPEC §1.3) does not when it is to stop
    assert [(q.column, q.patient_id) for q in problems(p, s, allow_implausible=False)] == [("age_y", "001")]


def test_infinite_value(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p.loc[0, "weight_kg"] = np.inf
    pr = one(problems(p, s), "finite")
    assert pr.column == "weight_kg" and pr.row == 2


def test_bad_sex(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p["sex"] = ["F", "X", "m"]
    pr = one(problems(p, s), "sex must be F or M")
    assert (pr.row, pr.column, pr.patient_id) == (3, "sex", "002") and "'X'" in pr.message


def test_empty_and_duplicate_patient_id(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p = pd.concat([p, p.iloc[[0]], p.iloc[[1]].assign(patient_id="  ")], ignore_index=True)
    probs = problems(p, s)
    d = one(probs, "duplicate patient_id")
    assert (d.row, d.patient_id) == (5, "001") and "row 2" in d.message
    e = one(probs, "empty patient_id")
    assert (e.file, e.row, e.column) == ("<patients>", 6, "patient_id")


def test_empty_patient_id_in_scans(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    s = as_object(s, "patient_id")
    s.loc[4, "patient_id"] = None
    pr = one(problems(p, s), "empty patient_id")
    assert pr.file == "<scans>" and pr.row == 6


def test_duplicate_scan(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    i = scan_row(s, "002", 24.0, "liver")
    dup = s.iloc[[i]].assign(region=" Liver")  # same after lower-casing and stripping
    s = pd.concat([s, dup], ignore_index=True)
    pr = one(problems(p, s), "duplicate scan")
    assert (pr.row, pr.patient_id) == (len(s) + 1, "002") and f"row {i + 2}" in pr.message


def test_scans_for_unknown_patient(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    extra = s[s["patient_id"] == "001"].assign(patient_id="1")  # "1" is not "001"
    s = pd.concat([s, extra], ignore_index=True)
    pr = one(problems(p, s), "not in the patients table")
    assert pr.patient_id == "1" and pr.row == 29 and "9 rows" in pr.message


def test_numeric_looking_column_with_bad_entries(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p = pd.concat([p] + [p.assign(patient_id=p["patient_id"] + f"-{k}") for k in range(3)], ignore_index=True)
    s = pd.concat([s] + [s.assign(patient_id=s["patient_id"] + f"-{k}") for k in range(3)], ignore_index=True)
    p["ldh_u_per_l"] = ["210", "180", "<5", "250", "", "300", "199", "abc", "222", "205", "190", "260"]
    p["diagnosis"] = ["AML", "MDS", "AML", "ALL"] * 3  # categorical text: fine
    probs = problems(p, s)
    assert len(probs) == 2, [str(x) for x in probs]
    a, b = one(probs, "'<5'"), one(probs, "'abc'")
    assert (a.row, a.column) == (4, "ldh_u_per_l") and b.row == 9


def test_need_dosimetry_patient_without_scans(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    s = s[s["patient_id"] != "002"]
    pr = one(problems(p, s), "no scans")
    assert (pr.file, pr.row, pr.patient_id) == ("<patients>", 3, "002")
    assert problems(p, s, need_dosimetry=False) == []


def test_need_dosimetry_first_whole_body(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    s2 = s.drop(index=scan_row(s, "010", 1.0, "whole_body"))
    pr = one(problems(p, s2), "no whole_body row at the first scan time")
    assert pr.patient_id == "010" and "1 h" in pr.message
    # a later whole-body scan does not replace the first one
    assert len(problems(p, s2)) == 1
    # fine when every other row carries fraction_injected
    s3 = s2.copy()
    s3["fraction_injected"] = np.where((s3["patient_id"] == "010"), 0.05, np.nan)
    assert problems(p, s3) == []


def test_need_dosimetry_liver_points(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    s = s.drop(index=[scan_row(s, "001", 24.0, "liver"), scan_row(s, "001", 72.0, "liver")])
    pr = one(problems(p, s), "liver time point")
    assert pr.patient_id == "001" and "1 liver time point," in pr.message and "at least 2" in pr.message
    assert problems(p, s, min_liver_points=1) == []
    pr = one(problems(p, s, min_liver_points=3), "liver time point")  # others have 3 points
    assert pr.patient_id == "001"


def test_need_dosimetry_row_without_counts_or_fraction(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    i = scan_row(s, "002", 24.0, "spleen")
    s.loc[i, "counts_posterior"] = np.nan
    pr = one(problems(p, s), "neither counts")
    assert (pr.row, pr.patient_id) == (i + 2, "002")
    s["fraction_injected"] = np.nan
    s.loc[i, "fraction_injected"] = 0.02
    assert problems(p, s) == []


def test_predict_rules(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p = p.drop(columns="dosimetric_activity_mci")
    s = s[s["time_h"] == 1.0]
    assert len(problems(p, s)) == 4  # activity column + 3 patients with one liver point
    assert problems(p, s, **rules_for("predict")) == []


def test_rules_for():
    assert rules_for("dose")["min_liver_points"] == 2 and rules_for("dose")["need_activity"]
    assert rules_for("predict") == dict(need_dosimetry=True, min_liver_points=1, need_target=False,
                                        need_activity=False, need_scans=True)
    assert rules_for("train", ["patient_id"]) == rules_for("dose")
    t = rules_for("train", ["patient_id", "prescribed_activity_mbq"])
    assert t["need_target"] and t["min_liver_points"] == 1
    with pytest.raises(ValueError):
        rules_for("evaluate")


def test_all_problems_reported_at_once(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p = as_object(p, "weight_kg")
    p.loc[0, "weight_kg"] = "heavy"
    p["sex"] = ["F", "Q", "M"]
    s.loc[0, "counts_anterior"] = -1.0
    s = pd.concat([s, s.iloc[[3]]], ignore_index=True)
    s = s.drop(index=scan_row(s, "002", 72.0, "liver"))
    probs = problems(p, s, min_liver_points=3)
    kinds = ["non-numeric", "sex must be", "must be ≥ 0", "duplicate scan", "liver time point"]
    for k in kinds:
        one(probs, k)
    assert len(probs) == len(kinds)


def test_problem_list_is_capped_per_rule(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    n = MAX_PROBLEMS_PER_RULE + 7
    big = pd.concat([p.assign(patient_id=[f"{k}-{j}" for j in range(3)]) for k in range(n // 3 + 1)],
                    ignore_index=True)
    big["sex"] = "?"
    probs = validate_cohort(big, None, patients_label="P", scans_label="S", need_dosimetry=False,
                            need_scans=False)
    sex = [x for x in probs if "sex must be" in x.message]
    assert len(sex) == MAX_PROBLEMS_PER_RULE
    more = [x for x in probs if x.message.startswith("… and")]
    assert len(more) == 1 and f"{len(big) - MAX_PROBLEMS_PER_RULE} more" in more[0].message


def test_file_labels_and_rows_from_files(tmp_path, tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p["sex"] = ["F", "unknown", "M"]
    write_table(p, tmp_path / "patients.xlsx")
    write_table(s, tmp_path / "scans.csv")
    with pytest.raises(InputError) as e:
        load_cohort(folder=tmp_path)
    (pr,) = e.value.problems
    assert pr.file == str(tmp_path / "patients.xlsx") and pr.row == 3 and pr.patient_id == "002"
    assert str(pr).startswith(f"{tmp_path / 'patients.xlsx'}, row 3, patient 002, column 'sex':")


def test_read_errors_for_both_files_reported_together(tmp_path):
    (tmp_path / "p.csv").write_text("")
    with pytest.raises(InputError) as e:
        load_cohort(tmp_path / "p.csv", tmp_path / "s.json")
    assert len(e.value.problems) == 2


def test_normalise_functions_do_not_modify_input(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p0, s0 = p.copy(), s.copy()
    normalise_patients(p)
    normalise_scans(s)
    pd.testing.assert_frame_equal(p, p0)
    pd.testing.assert_frame_equal(s, s0)


def test_empty_background_and_acquisition_cells_get_defaults(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    s["background_anterior"] = 10.0
    s["acquisition_s"] = 300.0
    s.loc[0, "background_anterior"] = np.nan
    s.loc[0, "acquisition_s"] = np.nan
    c = load_cohort(p, s)
    r = c.scans[(c.scans["patient_id"] == "001") & (c.scans["time_h"] == 1.0)
                & (c.scans["region"] == s.loc[0, "region"])].iloc[0]
    assert r["background_anterior"] == 0.0 and r["acquisition_s"] == 1.0


def test_region_spelling_variants(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    s["region"] = s["region"].replace({"whole_body": "Whole Body", "liver": "LIVER"})
    c = load_cohort(p, s)
    assert set(c.scans["region"]) == {"whole_body", "liver", "spleen"}


def test_numeric_patient_ids_in_dataframes(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p["patient_id"] = [1, 2, 10]
    s["patient_id"] = s["patient_id"].astype(int).astype(float)  # 1.0 → "1"
    c = load_cohort(p, s)
    assert c.patients["patient_id"].tolist() == ["1", "2", "10"]
    assert c.scans["patient_id"].unique().tolist() == ["1", "2", "10"]


def test_empty_scans_table(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    probs = problems(p, s.iloc[0:0])
    assert [x.message for x in probs] == ["the scans table has no rows"]


def test_rows_are_positions_whatever_the_index(tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p = p.set_index(pd.Index([10, 20, 30]))
    p["weight_kg"] = pd.Series([" 72 ", "1,5", "80.0 "], index=p.index, dtype=object)
    s = s.iloc[::-1]  # index 26..0
    s.loc[26, "counts_anterior"] = -1.0  # first data row of the reversed table
    probs = problems(p, s)
    w = one(probs, "'1,5'")
    assert (w.row, w.patient_id) == (3, "002")
    c = one(probs, "must be ≥ 0")
    assert (c.file, c.row, c.patient_id) == ("<scans>", 2, "010")


@pytest.mark.parametrize("ext", [".csv", ".xlsx", ".parquet"])
def test_files_give_the_same_cohort_as_frames(tmp_path, tiny_cohort_frames, ext):
    p, s = tiny_cohort_frames
    s = s.assign(thickness_cm=21.5, background_anterior=3.0)
    ref = load_cohort(p, s)
    write_table(p, tmp_path / f"patients{ext}")
    write_table(s, tmp_path / f"scans{ext}")
    c = load_cohort(folder=tmp_path)
    pd.testing.assert_frame_equal(c.patients, ref.patients, check_dtype=False)
    pd.testing.assert_frame_equal(c.scans, ref.scans, check_dtype=False)
    for col in ("time_h", "counts_anterior", "acquisition_s", "thickness_cm", "fraction_injected"):
        assert c.scans[col].dtype == np.float64


def test_non_numeric_cell_in_xlsx(tmp_path, tiny_cohort_frames):
    p, s = tiny_cohort_frames
    s = as_object(s, "time_h")
    s.loc[7, "time_h"] = "24 h"
    write_table(p, tmp_path / "patients.xlsx")
    write_table(s, tmp_path / "scans.xlsx")
    with pytest.raises(InputError) as e:
        load_cohort(folder=tmp_path)
    (pr,) = e.value.problems
    assert pr.file == str(tmp_path / "scans.xlsx") and pr.row == 9 and pr.column == "time_h"
    assert "'24 h'" in pr.message


# --------------------------------------------------------------------------- properties

_SCAN_NUMERIC = ["time_h", "counts_anterior", "counts_posterior"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 26), col=st.sampled_from(_SCAN_NUMERIC),
       junk=st.text(alphabet="abcxyz<>?,;# ", min_size=1, max_size=6).filter(lambda t: t.strip()))
def test_any_bad_cell_is_reported_exactly_there(row, col, junk):
    p, s = make_tiny_cohort()
    s = as_object(s, col)
    s.loc[row, col] = junk
    probs = problems(p, s, need_dosimetry=False)
    assert len(probs) == 1
    (pr,) = probs
    assert (pr.file, pr.row, pr.column, pr.patient_id) == ("<scans>", row + 2, col, s.loc[row, "patient_id"])
    assert "non-numeric" in pr.message


@settings(max_examples=25, deadline=None)
@given(mci=st.lists(st.floats(0.01, 5000.0), min_size=3, max_size=3),
       vol=st.lists(st.floats(100.0, 5000.0), min_size=3, max_size=3))
def test_unit_conversions_are_exact(mci, vol):
    p, s = make_tiny_cohort()
    p = p.drop(columns=["liver_mass_g"]).assign(dosimetric_activity_mci=mci, liver_volume_ml=vol,
                                                prescribed_activity_mbq=np.array(mci) * 37.0 * 100)
    c = load_cohort(p, s)
    np.testing.assert_allclose(c.patients["dosimetric_activity_mbq"], np.array(mci) * 37.0, rtol=1e-12)
    np.testing.assert_allclose(c.patients["liver_mass_g"], np.array(vol) * 1.05, rtol=1e-12)
    np.testing.assert_allclose(c.patients["prescribed_activity_mci"], np.array(mci) * 100, rtol=1e-12)
