"""Headers as people type them (contract._headers, SPEC §1.2)."""

from __future__ import annotations

import pytest

from onescan.contract._headers import columns_found, did_you_mean, fold_header, fold_headers


@pytest.mark.parametrize("typed, folded", [
    ("Patient ID", "patient_id"),
    ("Liver mass (g)", "liver_mass_g"),
    ("Dosimetric activity (mCi)", "dosimetric_activity_mci"),
    ("  Weight [kg] ", "weight_kg"),
    ("AST (U/L) pre", "ast_u_per_l_pre"),
    ("Blasts (%)", "blasts_pct"),
    ("Height (cm)", "height_cm"),
    ("Größe (cm)", "grosse_cm"),
    ("PatientID", "patient_id"),
    ("liver_mass_g", "liver_mass_g"),
    ("time-h", "time_h"),
])
def test_fold_header(typed, folded):
    assert fold_header(typed) == folded


def test_fold_headers_reports_renamings_and_same_names():
    folded, renamed, problems = fold_headers(["Patient ID", "liver_mass_g", "Age (y)"], "p.csv")
    assert folded == ["patient_id", "liver_mass_g", "age_y"]
    assert renamed == {"Patient ID": "patient_id", "Age (y)": "age_y"}
    assert problems == []
    _, _, problems = fold_headers(["patient_id", "Liver mass (g)", "liver_mass_g"], "p.csv")
    (pr,) = problems
    assert "'Liver mass (g)' (column B)" in pr.message and "'liver_mass_g' (column C)" in pr.message
    assert "after folding to 'liver_mass_g'" in pr.message and pr.file == "p.csv"


def test_did_you_mean_and_columns_found():
    assert did_you_mean("patient_id", ["patientid", "liver_mass_g"]) == " (did you mean 'patientid'?)"
    assert did_you_mean("patient_id", ["PatientNo", "x"]) == " (did you mean 'PatientNo'?)"  # by its folded form
    assert did_you_mean("patient_id", ["weight_kg", "x"]) == ""
    assert columns_found(["a", "b"]) == "columns found: a, b"
    assert columns_found([f"c{i}" for i in range(40)], limit=3) == "columns found: c0, c1, c2, … (37 more)"
