"""`onescan validate` through the real entry point (subprocess)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from onescan.contract._io import write_table


def run(*args, cwd=None):
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    env.pop("ONESCAN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "onescan", "validate", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def problem_lines(stderr):
    return [ln for ln in stderr.splitlines() if ln.startswith("  - ")]


def write_cohort(folder, p, s, ext=".csv"):
    folder.mkdir(parents=True, exist_ok=True)
    write_table(p, folder / f"patients{ext}")
    write_table(s, folder / f"scans{ext}")
    return folder


@pytest.mark.parametrize("ext", [".csv", ".xlsx", ".parquet"])
def test_valid_cohort_folder(tmp_path, tiny_cohort_frames, ext):
    d = write_cohort(tmp_path / "c", *tiny_cohort_frames, ext=ext)
    r = run(d)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.strip().endswith("valid")
    assert re.search(r"patients\s+3\b", out) and re.search(r"scan rows\s+27\b", out)
    assert "liver (9)" in out and "spleen (9)" in out and "whole_body (9)" in out
    assert "ast_pre_u_per_l 33%" in out  # missing share of a feature column
    assert r.stderr == ""


def test_valid_with_explicit_files_and_mbq_units(tmp_path, tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p = p.drop(columns="dosimetric_activity_mci").assign(dosimetric_activity_mbq=[185.0, 222.0, 203.5])
    write_table(p, tmp_path / "pts.xlsx")
    write_table(s, tmp_path / "sc.parquet")
    r = run("--patients", tmp_path / "pts.xlsx", "--scans", tmp_path / "sc.parquet")
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout


def test_every_problem_one_line_exit_2(tmp_path, tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p["weight_kg"] = p["weight_kg"].astype(object)
    p.loc[1, "weight_kg"] = "eighty"
    p["sex"] = ["F", "M", "X"]
    p = pd.concat([p, p.iloc[[0]]], ignore_index=True)  # duplicate id 001 in row 5
    s.loc[0, "counts_anterior"] = -10.0  # row 2
    s = pd.concat([s, s.iloc[[4]]], ignore_index=True)  # duplicate scan in row 29
    unknown = s.iloc[[1]].assign(patient_id="999")  # row 30
    s = pd.concat([s, unknown], ignore_index=True)
    d = write_cohort(tmp_path / "bad", p, s)
    out_file = tmp_path / "bad" / "should_not_exist.csv"
    r = run(d)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stdout == ""
    lines = problem_lines(r.stderr)
    pf, sf = str(d / "patients.csv"), str(d / "scans.csv")
    expected = [
        f"{pf}, row 3, patient 002, column 'weight_kg': non-numeric value 'eighty'",
        f"{pf}, row 5, patient 001, column 'patient_id': duplicate patient_id",
        f"{pf}, row 4, patient 010, column 'sex': sex must be F or M",
        f"{sf}, row 2, patient 001, column 'counts_anterior': must be ≥ 0",
        f"{sf}, row 29, patient 001, column 'region': duplicate scan",
        f"{sf}, row 30, patient 999, column 'patient_id': scans for patient '999'",
    ]
    for e in expected:
        assert sum(ln.startswith(f"  - {e}") for ln in lines) == 1, (e, r.stderr)
    assert len(lines) == len(expected), r.stderr
    assert f"{len(expected)} problems" in r.stderr
    assert not out_file.exists()


def test_missing_columns_and_units(tmp_path, tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p = p.drop(columns=["dosimetric_activity_mci", "liver_mass_g"])
    s = s.drop(columns=["time_h"])
    d = write_cohort(tmp_path / "c", p, s)
    r = run(d)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = problem_lines(r.stderr)
    assert len(lines) == 3, r.stderr
    assert any("column 'time_h': missing required column" in ln for ln in lines)
    assert any("dosimetric_activity_mbq or dosimetric_activity_mci" in ln for ln in lines)
    assert any("liver_mass_g or liver_volume_ml" in ln for ln in lines)


def test_for_predict_relaxes_dosimetry_rules(tmp_path, tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p = p.drop(columns="dosimetric_activity_mci")
    s = s[s["time_h"] == 1.0]
    d = write_cohort(tmp_path / "c", p, s)
    r = run(d)
    assert r.returncode == 2
    assert len(problem_lines(r.stderr)) == 4  # no activity + 3 patients × one liver point
    assert sum("at least 2 needed" in ln for ln in problem_lines(r.stderr)) == 3
    r = run(d, "--for", "predict")
    assert r.returncode == 0, r.stderr
    assert "rules: predict" in r.stdout


def test_for_train_requires_target_values_when_column_given(tmp_path, tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p["prescribed_activity_mci"] = [700.0, np.nan, 650.0]
    d = write_cohort(tmp_path / "c", p, s)
    r = run(d, "--for", "train")
    assert r.returncode == 2
    (ln,) = problem_lines(r.stderr)
    assert "row 3, patient 002" in ln and "no prescribed activity value" in ln


def test_no_input_and_bad_paths(tmp_path):
    r = run()
    assert r.returncode == 2 and "--patients FILE" in r.stderr and "Traceback" not in r.stderr
    r = run(tmp_path / "missing_dir")
    assert r.returncode == 2 and "cohort folder not found" in r.stderr
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "patients.csv").write_text("patient_id\n1\n")
    (tmp_path / "e" / "patients.xlsx").write_bytes(b"x")
    r = run(tmp_path / "e")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = problem_lines(r.stderr)
    assert len(lines) == 2 and any("ambiguous patients" in ln for ln in lines)
    assert any("no scans table" in ln for ln in lines)


def test_bad_option_value_is_usage_error(tmp_path):
    r = run("--for", "nonsense")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_help():
    r = run("--help")
    assert r.returncode == 0 and "--patients" in r.stdout and "--for" in r.stdout


# --------------------------------------------------------------------------- input as clinics keep it

def test_european_csv_and_workbook(tmp_path, tiny_cohort_frames):
    p, s = tiny_cohort_frames
    d = tmp_path / "eu"
    d.mkdir()
    p.to_csv(d / "patients.csv", sep=";", decimal=",", index=False)
    s.to_csv(d / "scans.csv", sep=";", decimal=",", index=False)
    r = run(d)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("semicolon-separated, decimal commas") == 2  # once per file
    book = tmp_path / "cohort.xlsx"
    with pd.ExcelWriter(book) as w:
        p.to_excel(w, sheet_name="patients", index=False)
        s.to_excel(w, sheet_name="scans", index=False)
    r = run(book)
    assert r.returncode == 0, r.stderr
    assert f"{book} [patients]" in r.stdout and "valid" in r.stdout


def test_missing_patient_id_suggests_and_lists_columns(tmp_path, tiny_cohort_frames):
    p, s = tiny_cohort_frames
    d = write_cohort(tmp_path / "c", p.rename(columns={"patient_id": "patientid"}), s)
    r = run(d)
    assert r.returncode == 2
    (line,) = [ln for ln in problem_lines(r.stderr) if "patients.csv" in ln and "'patient_id'" in ln]
    assert "did you mean 'patientid'?" in line and "columns found: patientid, dosimetric_activity_mci" in line


@pytest.mark.parametrize("header", ["patient_id,time_h,region,counts_anterior,counts_anterior",
                                    "patient_id,time_h,region,counts_anterior, counts_anterior",
                                    "patient_id,time_h,region,counts_anterior,Counts Anterior"])
def test_same_name_columns_exit_2(tmp_path, tiny_cohort_frames, header):
    p, s = tiny_cohort_frames
    d = write_cohort(tmp_path / "c", p, s)
    (d / "scans.csv").write_text(header + "\n001,1,liver,5,6\n")
    r = run(d)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (line,) = problem_lines(r.stderr)
    assert "(column D)" in line and "(column E)" in line and "same name" in line


def test_implausible_exit_2_and_allowed_listed(tmp_path, tiny_cohort_frames):
    p, s = tiny_cohort_frames
    p["ast_pre_u_per_l"] = [-31.0, 35.0, np.nan]
    d = write_cohort(tmp_path / "c", p, s)
    r = run(d)
    assert r.returncode == 2
    (line,) = problem_lines(r.stderr)
    assert "patient 001" in line and "-31" in line
    r = run(d, "--allow-implausible")
    assert r.returncode == 0, r.stderr
    assert "flag: patient 001: ast_pre_u_per_l" in r.stdout


def _main(monkeypatch, capsys, *args):
    """The console-script function ``onescan.cli:main`` in this process: (exit code, stdout, stderr)."""
    from onescan.cli import main

    monkeypatch.setattr(sys, "argv", ["onescan", *map(str, args)])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_validate_for_predict_and_predict_agree_on_a_first_scan_without_whole_body(tmp_path, monkeypatch, capsys):
    """SPEC §1.3: the first whole-body image is the reference of the first-scan uptake features."""
    from onescan.studies._simulate import simulate_cohort

    tr, new = simulate_cohort(24, 5), simulate_cohort(3, 6, id_prefix="NEW")
    keep = ["patient_id", "prescribed_activity_mci", "liver_mass_g", "weight_kg", "age_y"]
    train = write_cohort(tmp_path / "train", tr.patients[keep], tr.scans)
    model = tmp_path / "m.skops"
    code, _, err = _main(monkeypatch, capsys, "train", train, "--out", model, "--selector", "none",
                         "--interval-folds", "5", "--cv-repeats", "0")
    assert code == 0, err
    sc = new.scans
    first = sc[sc["time_h"] == sc.groupby("patient_id")["time_h"].transform("min")]
    no_wb = first[~((first["patient_id"] == "NEW0002") & (first["region"] == "whole_body"))]
    d = write_cohort(tmp_path / "new", new.patients[keep[:1] + keep[2:]], no_wb)
    v = run(d, "--for", "predict")
    out = tmp_path / "pred.csv"
    pr = subprocess.run([sys.executable, "-m", "onescan", "predict", "--model", model, d, "--out", out],
                        capture_output=True, text=True, timeout=300)
    assert v.returncode == pr.returncode == 2 and not out.exists()
    key = "no whole_body row at the first scan time"
    lines = [ln for ln in problem_lines(v.stderr) if key in ln]
    assert len(lines) == 1 and "NEW0002" in lines[0]
    assert lines == [ln for ln in problem_lines(pr.stderr) if key in ln]
    ok = write_cohort(tmp_path / "ok", new.patients[keep[:1] + keep[2:]], first)
    assert _main(monkeypatch, capsys, "validate", ok, "--for", "predict")[0] == 0
    code, _, err = _main(monkeypatch, capsys, "predict", "--model", model, ok, "--out", out)
    assert code == 0, err
