"""Tests for onescan.contract._io: table reading/writing, atomic writes, cohort folders."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pandas as pd
import pytest

from onescan.contract._errors import InputError
from onescan.contract._io import (
    atomic_write_bytes,
    atomic_write_text,
    find_cohort_files,
    read_table,
    sha256_file,
    write_table,
)


def _frame():
    return pd.DataFrame({
        "patient_id": ["007", "010", "A3"],
        "liver_mass_g": [1500.5, 1800.0, np.nan],
        "sex": ["F", "M", None],
        "age_y": [54, 61, 70],
    })


@pytest.mark.parametrize("ext", [".csv", ".xlsx", ".parquet", ".CSV", ".Xlsx", ".PARQUET"])
def test_round_trip_by_extension(tmp_path, ext):
    df = _frame()
    path = tmp_path / f"patients{ext}"
    write_table(df, path)
    back = read_table(path)
    assert list(back.columns) == list(df.columns)
    assert back["patient_id"].tolist() == ["007", "010", "A3"]  # ids stay text, leading zeros kept
    np.testing.assert_allclose(back["liver_mass_g"].to_numpy(dtype=float), df["liver_mass_g"], equal_nan=True)
    np.testing.assert_array_equal(back["age_y"].to_numpy(dtype=float), [54, 61, 70])
    assert back["sex"].iloc[:2].tolist() == ["F", "M"] and pd.isna(back["sex"].iloc[2])


def test_formats_are_really_different(tmp_path):
    df = _frame()
    for ext in (".csv", ".xlsx", ".parquet"):
        write_table(df, tmp_path / f"t{ext}")
    assert (tmp_path / "t.csv").read_bytes().startswith(b"patient_id,")
    assert (tmp_path / "t.xlsx").read_bytes()[:2] == b"PK"  # zip container
    assert (tmp_path / "t.parquet").read_bytes()[:4] == b"PAR1"


def test_numeric_patient_ids_in_xlsx_and_parquet_become_text(tmp_path):
    df = pd.DataFrame({"patient_id": [7, 10], "x": [1.0, 2.0]})
    for ext in (".xlsx", ".parquet"):
        write_table(df, tmp_path / f"t{ext}")
        assert read_table(tmp_path / f"t{ext}")["patient_id"].tolist() == ["7", "10"]
    # a float column of whole numbers (e.g. from Excel) loses the ".0"
    write_table(pd.DataFrame({"patient_id": [7.0, 12.0]}), tmp_path / "f.parquet")
    assert read_table(tmp_path / "f.parquet")["patient_id"].tolist() == ["7", "12"]


def test_csv_header_whitespace_is_stripped(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text(" patient_id , liver_mass_g\n007, 1500\n")
    df = read_table(p)
    assert list(df.columns) == ["patient_id", "liver_mass_g"]
    assert df["patient_id"].tolist() == ["007"]


def test_unknown_extension(tmp_path):
    p = tmp_path / "patients.txt"
    p.write_text("patient_id\n1\n")
    with pytest.raises(InputError) as e:
        read_table(p)
    msg = str(e.value)
    assert "unsupported file type '.txt'" in msg and ".csv" in msg and ".parquet" in msg
    with pytest.raises(InputError, match="unsupported output file type"):
        write_table(_frame(), tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found") as e:
        read_table(tmp_path / "nope.csv")
    assert e.value.problems[0].file.endswith("nope.csv")


def test_directory_is_not_a_file(tmp_path):
    d = tmp_path / "dir.csv"
    d.mkdir()
    with pytest.raises(InputError, match="not a file"):
        read_table(d)


@pytest.mark.parametrize("ext,content", [(".xlsx", b"this is not a zip"), (".parquet", b"nope nope"),
                                         (".csv", b"")])
def test_unreadable_file(tmp_path, ext, content):
    p = tmp_path / f"bad{ext}"
    p.write_bytes(content)
    with pytest.raises(InputError, match="cannot read this") as e:
        read_table(p)
    assert len(e.value.problems) == 1


def test_atomic_write_text_and_bytes(tmp_path):
    p = tmp_path / "sub" / "a.txt"
    atomic_write_text(p, "héllo")
    assert p.read_text(encoding="utf-8") == "héllo"
    atomic_write_bytes(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert sorted(os.listdir(p.parent)) == ["a.txt"]  # no temp file left


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    p = tmp_path / "out.csv"
    p.write_text("old content\n")

    def boom(self, *a, **k):
        with open(a[0], "w") as fh:  # write something partial to the temp file, then fail
            fh.write("partial")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError, match="disk full"):
        write_table(_frame(), p)
    assert p.read_text() == "old content\n"
    assert sorted(os.listdir(tmp_path)) == ["out.csv"]


def test_failed_parquet_conversion_does_not_clobber(tmp_path):
    p = tmp_path / "out.parquet"
    write_table(_frame(), p)
    before = p.read_bytes()
    bad = pd.DataFrame({"x": [object(), object()]})  # pyarrow cannot convert arbitrary objects
    with pytest.raises(Exception):
        write_table(bad, p)
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["out.parquet"]


def test_write_replaces_existing(tmp_path):
    p = tmp_path / "o.csv"
    write_table(pd.DataFrame({"a": [1]}), p)
    write_table(pd.DataFrame({"b": [2, 3]}), p)
    assert read_table(p).columns.tolist() == ["b"] and len(read_table(p)) == 2


def test_sha256_file(tmp_path):
    p = tmp_path / "x.bin"
    data = os.urandom(3 * 1024 + 17)
    p.write_bytes(data)
    assert sha256_file(p) == hashlib.sha256(data).hexdigest()
    assert sha256_file(p, chunk_size=100) == hashlib.sha256(data).hexdigest()


def test_find_cohort_files(tmp_path):
    write_table(_frame(), tmp_path / "patients.xlsx")
    write_table(pd.DataFrame({"patient_id": ["007"]}), tmp_path / "Scans.CSV")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "scans.txt").write_text("x")  # unsupported extension: ignored
    p, s = find_cohort_files(tmp_path)
    assert p.name == "patients.xlsx" and s.name == "Scans.CSV"


def test_find_cohort_files_missing_and_ambiguous(tmp_path):
    write_table(_frame(), tmp_path / "patients.csv")
    write_table(_frame(), tmp_path / "patients.parquet")
    with pytest.raises(InputError) as e:
        find_cohort_files(tmp_path)
    msgs = [p.message for p in e.value.problems]
    assert len(msgs) == 2  # both problems reported at once
    assert any("ambiguous patients table" in m and "patients.csv" in m and "patients.parquet" in m for m in msgs)
    assert any("no scans table" in m and "scans.xlsx" in m for m in msgs)


def test_find_cohort_files_scans_optional(tmp_path):
    write_table(_frame(), tmp_path / "patients.csv")
    p, s = find_cohort_files(tmp_path, require_scans=False)
    assert p.name == "patients.csv" and s is None


def test_find_cohort_files_not_a_folder(tmp_path):
    with pytest.raises(InputError, match="cohort folder not found"):
        find_cohort_files(tmp_path / "nope")
    f = tmp_path / "f.csv"
    f.write_text("a\n1\n")
    with pytest.raises(InputError, match="not a folder"):
        find_cohort_files(f)


def test_csv_encodings(tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfpatient_id,x\n007,1\n")  # UTF-8 with BOM (Excel "CSV UTF-8")
    df = read_table(bom)
    assert df.columns.tolist() == ["patient_id", "x"] and df["patient_id"].tolist() == ["007"]
    win = tmp_path / "win.csv"
    win.write_bytes("patient_id,comment\n007,café ±5\n".encode("cp1252"))  # Windows spreadsheet export
    assert read_table(win)["comment"].tolist() == ["café ±5"]


def test_atomic_write_gives_umask_permissions(tmp_path):
    import os
    import stat

    from onescan.contract._io import atomic_write_text

    old = os.umask(0o022)
    try:
        out = atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o644


# --------------------------------------------------------------------------- files as clinics save them

def _european(tmp_path, sep=";", encoding="utf-8"):
    p = tmp_path / "t.csv"
    text = sep.join(["patient_id", "liver_mass_g", "Größe (cm)"]) + "\n" \
        + sep.join(["007", "1620,5", "172"]) + "\n" + sep.join(["008", "1380", "160,5"]) + "\n"
    p.write_bytes(text.encode(encoding))
    return p


@pytest.mark.parametrize("sep", [";", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_separator_decimal_comma_and_encoding_detected(tmp_path, sep, encoding):
    from onescan.contract._io import read_table_noted

    df, notes = read_table_noted(_european(tmp_path, sep, encoding))
    assert list(df.columns) == ["patient_id", "liver_mass_g", "Größe (cm)"]
    assert df["patient_id"].tolist() == ["007", "008"]
    assert df["liver_mass_g"].tolist() == [1620.5, 1380.0]
    assert df["Größe (cm)"].tolist() == [172.0, 160.5]
    said = " ".join(notes)
    assert ("semicolon" if sep == ";" else "tab") in said and "decimal commas" in said
    assert ("cp1252" in said) == (encoding == "cp1252")


def test_semicolons_with_decimal_points_keep_points(tmp_path):
    from onescan.contract._io import read_table_noted

    p = tmp_path / "t.csv"
    p.write_text("patient_id;x;y\nA;1.5;2\nB;1,5;3\n")  # mixed marks: points win, '1,5' stays text
    df, notes = read_table_noted(p)
    assert df["x"].tolist() == ["1.5", "1,5"] and "decimal commas" not in " ".join(notes)


def test_plain_csv_has_no_notes(tmp_path):
    from onescan.contract._io import read_table_noted

    p = tmp_path / "t.csv"
    _frame().to_csv(p, index=False)
    assert read_table_noted(p)[1] == []


@pytest.mark.parametrize("header", ["patient_id,x,x", "patient_id,x, x", "patient_id,x ,x"])
def test_same_name_columns_are_an_error_naming_both(tmp_path, header):
    p = tmp_path / "t.csv"
    p.write_text(header + "\nA,1,2\n")
    with pytest.raises(InputError) as e:
        read_table(p)
    (pr,) = e.value.problems
    assert "(column B)" in pr.message and "(column C)" in pr.message and "same name" in pr.message


def test_workbook_sheet_by_name(tmp_path):
    p = tmp_path / "c.xlsx"
    with pd.ExcelWriter(p) as w:
        pd.DataFrame({"a": [1]}).to_excel(w, sheet_name="other", index=False)
        pd.DataFrame({"patient_id": [7], "b": [2.5]}).to_excel(w, sheet_name=" Patients ", index=False)
    df = read_table(p, sheet="patients")
    assert df["patient_id"].tolist() == ["7"] and df["b"].tolist() == [2.5]
    with pytest.raises(InputError, match="no sheet named 'scans'.*other"):
        read_table(p, sheet="scans")
