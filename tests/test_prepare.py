"""Files, headers and table forms as clinics keep them (contract._prepare, _session; SPEC §1.2):
every accepted form gives the same canonical cohort as the long CSV form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from onescan.contract._cohort import load_cohort
from onescan.contract._errors import InputError
from onescan.contract._prepare import mosteller_bsa_m2
from onescan.contract._session import is_session_form, session_to_long

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "cohort"
INFUSION_END = pd.Timestamp("2024-03-05 08:00")


def example_frames():
    return (pd.read_csv(EXAMPLES / "patients.csv", dtype={"patient_id": str}),
            pd.read_csv(EXAMPLES / "scans.csv", dtype={"patient_id": str}))


def to_session(s: pd.DataFrame, shared=("acquisition_s",)) -> pd.DataFrame:
    """One row per patient × time, ``<region>_<column>`` columns; ``shared`` columns once per row
    where they are equal across the row's regions."""
    per_row = [c for c in s.columns if c not in ("patient_id", "time_h", "region")]
    rows = []
    for (pid, t), g in s.groupby(["patient_id", "time_h"], sort=False):
        r = {"patient_id": pid, "time_h": t}
        for c in per_row:
            if c in shared and g[c].nunique(dropna=False) == 1:
                r[c] = g[c].iloc[0]
                continue
            for rec in g.to_dict("records"):
                r[f"{rec['region']}_{c}"] = rec[c]
        rows.append(r)
    return pd.DataFrame(rows)


def with_datetimes(p: pd.DataFrame, s: pd.DataFrame):
    p = p.assign(infusion_end_datetime=INFUSION_END.isoformat())
    stamps = [(INFUSION_END + pd.Timedelta(seconds=round(t * 3600))).isoformat() for t in s["time_h"]]
    return p, s.drop(columns="time_h").assign(scan_datetime=stamps)


def same(a, b, rtol=0.0):
    for x, y in ((a.patients, b.patients), (a.scans, b.scans)):
        pd.testing.assert_frame_equal(x.drop(columns=["infusion_end_datetime", "scan_datetime"], errors="ignore"),
                                      y.drop(columns=["infusion_end_datetime", "scan_datetime"], errors="ignore"),
                                      check_exact=rtol == 0.0, rtol=rtol or 1e-5)


@pytest.fixture
def reference():
    return load_cohort(folder=EXAMPLES)


def _write(tmp_path, p, s, **kw):
    p.to_csv(tmp_path / "patients.csv", index=False, **kw)
    s.to_csv(tmp_path / "scans.csv", index=False, **kw)
    return tmp_path


@pytest.mark.parametrize("sep, decimal, encoding", [(";", ",", "utf-8"), ("\t", ",", "utf-8-sig"),
                                                     (";", ".", "cp1252"), (",", ".", "utf-8-sig")])
def test_csv_dialects_equal_long_csv(tmp_path, reference, sep, decimal, encoding):
    p, s = example_frames()
    c = load_cohort(folder=_write(tmp_path, p, s, sep=sep, decimal=decimal, encoding=encoding))
    same(c, reference)
    if sep != ",":
        assert any("separated" in n for n in c.notes)


def test_workbook_with_two_sheets_equals_long_csv(tmp_path, reference):
    p, s = example_frames()
    book = tmp_path / "cohort.xlsx"
    with pd.ExcelWriter(book) as w:
        s.to_excel(w, sheet_name="Scans", index=False)
        p.to_excel(w, sheet_name="patients", index=False)
    c = load_cohort(folder=book)
    same(c, reference, rtol=1e-12)
    assert c.sources == {"patients": f"{book} [patients]", "scans": f"{book} [scans]"}


def test_workbook_without_scans_sheet(tmp_path):
    p, _ = example_frames()
    book = tmp_path / "cohort.xlsx"
    with pd.ExcelWriter(book) as w:
        p.to_excel(w, sheet_name="patients", index=False)
    with pytest.raises(InputError, match="no sheet named 'scans'"):
        load_cohort(folder=book)
    assert len(load_cohort(folder=book, need_scans=False, need_dosimetry=False).patients) == 6


def test_typed_headers_equal_long_csv(tmp_path, reference):
    p, s = example_frames()
    p = p.rename(columns={"patient_id": "Patient ID", "liver_mass_g": "Liver mass (g)",
                          "dosimetric_activity_mci": "Dosimetric activity (mCi)", "age_y": "Age (y)"})
    s = s.rename(columns={"time_h": "Time (h)", "counts_anterior": "Counts anterior"})
    c = load_cohort(folder=_write(tmp_path, p, s))
    same(c, reference)
    (note,) = [n for n in c.notes if "patients.csv" in n]
    assert "'Patient ID' → patient_id" in note and "'Liver mass (g)' → liver_mass_g" in note


def test_typed_identifier_header_keeps_leading_zeros(tmp_path):
    (tmp_path / "patients.csv").write_text("Patient ID;Liver mass (g)\n007;1620,5\n")
    c = load_cohort(folder=tmp_path, need_scans=False, need_dosimetry=False)
    assert c.patient_ids == ["007"] and c.patients["liver_mass_g"].tolist() == [1620.5]


def test_same_name_after_folding_is_an_error(tmp_path):
    p, s = example_frames()
    p["Liver mass (g)"] = p["liver_mass_g"]
    with pytest.raises(InputError) as e:
        load_cohort(folder=_write(tmp_path, p, s))
    (pr,) = e.value.problems
    assert "'liver_mass_g'" in pr.message and "'Liver mass (g)'" in pr.message


def test_session_form_equals_long_form(tmp_path, reference):
    p, s = example_frames()
    ses = to_session(s)
    assert is_session_form(ses.columns) and "acquisition_s" in ses.columns  # shared column
    assert "whole_body_background_posterior" in ses.columns and "liver_fraction_injected" in ses.columns
    c = load_cohort(folder=_write(tmp_path, p, ses))
    same(c, reference)
    assert any("session form" in n for n in c.notes)


def test_session_form_problem_points_at_the_file_row(tmp_path):
    p, s = example_frames()
    ses = to_session(s).astype({"liver_counts_anterior": object})
    ses.loc[4, "liver_counts_anterior"] = "lots"
    with pytest.raises(InputError) as e:
        load_cohort(folder=_write(tmp_path, p, ses))
    (pr,) = [q for q in e.value.problems if "non-numeric" in q.message]
    assert pr.row == 6 and pr.column == "counts_anterior"


def test_session_to_long_keeps_only_regions_with_values():
    ses = pd.DataFrame({"patient_id": ["A", "A"], "time_h": [1.0, 24.0],
                        "whole_body_counts_anterior": [10.0, np.nan], "liver_counts_anterior": [2.0, 1.0],
                        "spleen_source_thickness_cm": [np.nan, np.nan]})
    long = session_to_long(ses)
    assert long[["time_h", "region"]].values.tolist() == [[1.0, "whole_body"], [1.0, "liver"], [24.0, "liver"]]
    assert "source_thickness_cm" not in long.columns or long["region"].ne("spleen_source").all()


@pytest.mark.parametrize("form", ["iso", "cell", "serial"])
def test_datetimes_equal_hours(tmp_path, reference, form):
    p, s = example_frames()
    p2, s2 = with_datetimes(p, s)
    if form == "iso":
        c = load_cohort(folder=_write(tmp_path, p2, s2))
    else:
        book = tmp_path / "cohort.xlsx"
        p2["infusion_end_datetime"] = pd.to_datetime(p2["infusion_end_datetime"])
        s2["scan_datetime"] = pd.to_datetime(s2["scan_datetime"])
        if form == "serial":  # spreadsheet day numbers
            day0 = pd.Timestamp("1899-12-30")
            p2["infusion_end_datetime"] = (p2["infusion_end_datetime"] - day0) / pd.Timedelta(days=1)
            s2["scan_datetime"] = (s2["scan_datetime"] - day0) / pd.Timedelta(days=1)
        with pd.ExcelWriter(book) as w:
            p2.to_excel(w, sheet_name="patients", index=False)
            s2.to_excel(w, sheet_name="scans", index=False)
        c = load_cohort(folder=book)
    same(c, reference, rtol=0.0 if form == "iso" else 1e-9)
    assert any("scan_datetime" in n for n in c.notes)
    assert "infusion_end_datetime" not in c.patients.columns  # not a candidate feature


def test_datetime_problems(tmp_path):
    p, s = example_frames()
    p2, s2 = with_datetimes(p, s)
    s2.loc[3, "scan_datetime"] = "next Tuesday"
    with pytest.raises(InputError) as e:
        load_cohort(folder=_write(tmp_path, p2, s2))
    (pr,) = e.value.problems
    assert pr.row == 5 and pr.column == "scan_datetime" and "'next Tuesday'" in pr.message
    with pytest.raises(InputError, match="infusion_end_datetime"):
        load_cohort(folder=_write(tmp_path, p, with_datetimes(p, s)[1]))


def test_bsa_derived_when_absent_and_said():
    reference = load_cohort(folder=EXAMPLES, derive_bsa=True)
    pats = reference.patients
    np.testing.assert_allclose(pats["bsa_m2"], np.sqrt(pats["height_cm"] * pats["weight_kg"] / 3600.0), rtol=1e-15)
    assert mosteller_bsa_m2(180.0, 80.0) == pytest.approx(2.0)  # sqrt(180 × 80 / 3600) = 2
    assert any("bsa_m2" in n and "Mosteller" in n for n in reference.notes)
    p, s = example_frames()
    given = load_cohort(p.assign(bsa_m2=1.5), s, derive_bsa=True)
    assert (given.patients["bsa_m2"] == 1.5).all() and not any("bsa" in n for n in given.notes)
    assert "bsa_m2" not in load_cohort(p, s).patients.columns  # the library's default: tables as given
