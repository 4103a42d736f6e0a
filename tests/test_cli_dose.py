"""``onescan dose`` through the real entry point (a subprocess running ``python -m onescan``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_dosimetry import CHECK, counts_cohort, fraction_cohort, hand_expected

from onescan.dosimetry._dose import DOSE_COLUMNS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "cohort"


def run_subprocess(*args, cwd=None):
    """``python -m onescan dose ARGS`` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "onescan", "dose", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture
def run(capsys, monkeypatch):
    """The console-script entry point ``onescan.cli.main`` in-process (fast), argv patched."""
    from onescan.cli import main

    def _run(*args, cwd=None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["onescan", "dose", *map(str, args)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        cap = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, cap.out, cap.err)

    return _run


def _mixed_cohort(tmp_path, thickness=True):
    """P1/P2 from counts, F1/F2 (same curves) from fraction_injected, written as CSV."""
    pc, sc = counts_cohort(thickness=thickness)
    pf, sf = fraction_cohort()
    pf["patient_id"] = pf["patient_id"].str.replace("P", "F")
    sf["patient_id"] = sf["patient_id"].str.replace("P", "F")
    p = pd.concat([pc, pf], ignore_index=True)
    s = pd.concat([sc, sf], ignore_index=True)
    p.to_csv(tmp_path / "patients.csv", index=False)
    s.to_csv(tmp_path / "scans.csv", index=False)
    return tmp_path / "patients.csv", tmp_path / "scans.csv"


@pytest.mark.parametrize("scaling", ["split", "linear", "none"])
def test_hand_computed_values_to_0p1_percent(run, tmp_path, scaling):
    p, s = _mixed_cohort(tmp_path)
    out = tmp_path / "d.csv"
    r = run("--patients", p, "--scans", s, "--out", out, "--mass-scaling", scaling)
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(out, dtype={"patient_id": str}, keep_default_na=False)
    assert list(got.columns) == list(DOSE_COLUMNS)
    assert got["patient_id"].tolist() == ["P1", "P2", "F1", "F2"]
    exp = hand_expected(scaling)
    for col in CHECK:
        vals = got[col].astype(float).to_numpy()
        np.testing.assert_allclose(vals[:2], exp[col], rtol=1e-3, err_msg=col)   # counts input
        np.testing.assert_allclose(vals[2:], exp[col], rtol=1e-3, err_msg=col)   # fraction_injected input
    assert (got["flags"] == "").all()


def test_without_attenuation_correction(run, tmp_path):
    p, s = _mixed_cohort(tmp_path, thickness=False)
    out = tmp_path / "d.csv"
    assert run("--patients", p, "--scans", s, "--out", out).returncode == 0
    got = pd.read_csv(out)
    exp = hand_expected("split", attenuation=False)
    np.testing.assert_allclose(got["prescribed_activity_mci"][:2], exp["prescribed_activity_mci"], rtol=1e-3)


def test_options_target_cap_mu(run, tmp_path):
    p, s = _mixed_cohort(tmp_path)
    out = tmp_path / "d.parquet"
    r = run("--patients", p, "--scans", s, "--out", out, "--target-gy", "12", "--max-activity-mci", "400",
            "--fit", "loglinear", "--mu-per-cm", "0.110")
    assert r.returncode == 0, r.stderr
    got = pd.read_parquet(out)
    exp = hand_expected("split", target=12.0, cap=400.0)
    np.testing.assert_allclose(got["prescribed_activity_capped_mci"][:2], exp["prescribed_activity_capped_mci"],
                               rtol=1e-3)
    assert (got["fit_model"] == "loglinear").all()


def test_example_cohort_folder_xlsx_output(tmp_path):
    out = tmp_path / "dose.xlsx"
    r = run_subprocess(EXAMPLES, "--out", out)
    assert r.returncode == 0, r.stderr
    got = pd.read_excel(out, dtype={"patient_id": str})
    assert got["patient_id"].tolist() == ["EX01", "EX02", "EX03", "EX04", "EX05", "EX06"]
    assert got["liver_tiac_h"].notna().all()
    assert (got["prescribed_activity_capped_mci"] <= 1030.0).all()
    assert (got["prescribed_activity_mci"] > 1030.0).any()  # EX03 is above the cap
    assert "onescan dose" in r.stdout and "EX03" in r.stdout


def test_stdout_csv_without_out(run, tmp_path):
    r = run(EXAMPLES, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first == ",".join(DOSE_COLUMNS)
    assert list(tmp_path.iterdir()) == []


def test_user_s_value_file(run, tmp_path):
    p, s = _mixed_cohort(tmp_path)
    sv = tmp_path / "svals.csv"
    pd.DataFrame([dict(nuclide="I-131", source="liver", target="liver", reference_mass_g=1800,
                       delta_np_mev=2 * 0.1919, delta_p_mev=2 * 0.3828, phi=0.15)]).to_csv(sv, index=False)
    out = tmp_path / "d.csv"
    assert run("--patients", p, "--scans", s, "--out", out, "--s-values", sv).returncode == 0
    got = pd.read_csv(out)
    np.testing.assert_allclose(got["prescribed_activity_mci"][:2], hand_expected("split")["prescribed_activity_mci"] / 2,
                               rtol=1e-3)


def _assert_input_error(r, out: Path, *needles):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert not out.exists()
    for n in needles:
        assert n in r.stderr, (n, r.stderr)


def test_bad_options_all_reported_no_output(run, tmp_path):
    p, s = _mixed_cohort(tmp_path)
    out = tmp_path / "d.csv"
    r = run("--patients", p, "--scans", s, "--out", out, "--target-gy", "-5", "--max-activity-mci", "0",
            "--mu-per-cm", "nan", "--s-values", tmp_path / "missing.csv")
    _assert_input_error(r, out, "--target-gy", "--max-activity-mci", "--mu-per-cm", "missing.csv")


def test_bad_s_value_file_content(run, tmp_path):
    p, s = _mixed_cohort(tmp_path)
    sv = tmp_path / "bad_s.csv"
    pd.DataFrame([dict(nuclide="I-131", source="liver", target="liver", reference_mass_g="heavy",
                       s_np_mgy_per_mbq_s=-1, s_p_mgy_per_mbq_s=1e-6)]).to_csv(sv, index=False)
    out = tmp_path / "d.csv"
    r = run("--patients", p, "--scans", s, "--out", out, "--s-values", sv)
    _assert_input_error(r, out, "bad_s.csv", "reference_mass_g", "s_np_mgy_per_mbq_s")


def test_bad_cohort_and_bad_out_extension_together(tmp_path):
    p, s = _mixed_cohort(tmp_path)
    scans = pd.read_csv(s)
    scans.loc[0, "counts_anterior"] = -10
    scans.loc[1, "patient_id"] = "NOBODY"
    scans.to_csv(s, index=False)
    out = tmp_path / "d.txt"
    r = run_subprocess("--patients", p, "--scans", s, "--out", out)
    _assert_input_error(r, out, "counts_anterior", "NOBODY", "d.txt")


def test_bad_choice_is_usage_error(run, tmp_path):
    r = run(EXAMPLES, "--fit", "spline", "--out", tmp_path / "d.csv")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert not (tmp_path / "d.csv").exists()


def test_no_input_named(run, tmp_path):
    r = run("--out", tmp_path / "d.csv")
    _assert_input_error(r, tmp_path / "d.csv", "--patients")


def test_help():
    r = run_subprocess("--help")
    assert r.returncode == 0
    for opt in ("--fit", "--mass-scaling", "--s-values", "--mu-per-cm", "--target-gy", "--max-activity-mci", "--out"):
        assert opt in r.stdout


# --------------------------------------------------------------------------- input as clinics keep it

def _forms(tmp_path):
    """The example cohort in each accepted form: name → the dose command's input arguments."""
    from test_prepare import example_frames, to_session, with_datetimes

    p, s = example_frames()
    forms = {}

    def folder(name, pp, ss, **kw):
        d = tmp_path / name
        d.mkdir()
        pp.to_csv(d / "patients.csv", index=False, **kw)
        ss.to_csv(d / "scans.csv", index=False, **kw)
        forms[name] = [d]

    folder("long", p, s)
    folder("european", p.assign(remark="Leber vergrößert"), s, sep=";", decimal=",", encoding="cp1252")
    folder("typed_headers", p.rename(columns={"patient_id": "Patient ID", "liver_mass_g": "Liver mass (g)",
                                              "dosimetric_activity_mci": "Dosimetric activity (mCi)"}), s)
    folder("session", p, to_session(s))
    folder("datetimes", *with_datetimes(p, s))
    book = tmp_path / "cohort.xlsx"
    with pd.ExcelWriter(book) as w:
        p.to_excel(w, sheet_name="patients", index=False)
        s.to_excel(w, sheet_name="scans", index=False)
    forms["workbook"] = [book]
    return forms


def test_every_accepted_form_gives_the_long_csv_result(run, tmp_path):
    forms = _forms(tmp_path)
    results = {}
    for name, args in forms.items():
        out = tmp_path / f"{name}.csv"
        # the workbook through a real `python -m onescan` process, the others in-process (same entry point)
        r = (run_subprocess if name == "workbook" else run)(*args, "--out", out)
        assert r.returncode == 0, (name, r.stderr)
        results[name] = pd.read_csv(out, dtype={"patient_id": str}, keep_default_na=False)
        if name == "european":
            assert "semicolon-separated, decimal commas" in r.stderr and "cp1252" in r.stderr
        if name == "typed_headers":
            assert r.stderr.count("'Patient ID' → patient_id") == 1
    for name, got in results.items():
        pd.testing.assert_frame_equal(got, results["long"], check_exact=name != "workbook", rtol=1e-12,
                                      obj=name)


def test_implausible_stops_then_flags_with_allow(run, tmp_path):
    from test_prepare import example_frames

    p, s = example_frames()
    p.loc[0, "liver_mass_g"] = 1.62      # kg typed as g
    p.loc[1, "age_y"] = 300
    (tmp_path / "c").mkdir()
    p.to_csv(tmp_path / "c" / "patients.csv", index=False)
    s.to_csv(tmp_path / "c" / "scans.csv", index=False)
    out = tmp_path / "dose.csv"
    r = run_subprocess(tmp_path / "c", "--out", out)
    assert r.returncode == 2 and not out.exists() and "Traceback" not in r.stderr
    assert "1.62 looks like kilograms" in r.stderr and "400–5000 g" in r.stderr and "EX02" in r.stderr
    r = run(tmp_path / "c", "--out", out, "--allow-implausible")
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(out, dtype={"patient_id": str}, keep_default_na=False).set_index("patient_id")
    assert "looks like kilograms" in got.loc["EX01", "flags"] and "months" in got.loc["EX02", "flags"]
    assert "implausible" not in got.loc["EX04", "flags"]
    assert "implausible values allowed" in r.stderr


def test_single_table_is_not_a_cohort(run, tmp_path):
    f = tmp_path / "patients.csv"
    f.write_text("patient_id\nA\n")
    r = run(f)
    assert r.returncode == 2 and "workbook" in r.stderr


def test_dose_organs_limits_and_uncertainty_options(tmp_path):
    """--organs, --limit and --uncertainty reach the dosimetry: organ columns, limiting organ, u_rel."""
    import pandas as pd

    from onescan.studies.simulate import default_cohort_paths

    patients, scans = default_cohort_paths()
    out = tmp_path / "dose.csv"
    r = subprocess.run([sys.executable, "-m", "onescan", "dose", "--patients", str(patients), "--scans", str(scans),
                        "--organs", "all", "--limit", "marrow=20", "--uncertainty", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    d = pd.read_csv(out)
    for col in ("spleen_dose_gy", "marrow_dose_gy", "total_body_dose_gy", "prescribed_activity_capped_gbq",
                "prescribed_activity_u_rel", "limiting_organ"):
        assert col in d.columns
    assert set(d["limiting_organ"].dropna()) <= {"liver", "marrow"}
    assert (d["marrow_dose_gy"] <= 20 * (1 + 1e-9)).all()
    assert (d["prescribed_activity_u_rel"] > 0).all()


def test_dose_bad_organ_options_exit_2_and_write_nothing(tmp_path):
    out = tmp_path / "dose.csv"
    r = subprocess.run([sys.executable, "-m", "onescan", "dose", str(tmp_path / "missing"), "--limit", "marrow",
                        "--organs", "kidneyz", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert "--limit" in r.stderr and "--organs" in r.stderr
    assert not out.exists()


def test_dose_report_option_writes_one_html_file(tmp_path):
    from onescan.studies.simulate import default_cohort_paths

    patients, scans = default_cohort_paths()
    out, rep = tmp_path / "dose.csv", tmp_path / "dose.html"
    r = subprocess.run([sys.executable, "-m", "onescan", "dose", "--patients", str(patients), "--scans", str(scans),
                        "--out", str(out), "--report", str(rep)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    html = rep.read_text()
    assert html.count("data:image/png;base64,") >= 74 and "VP0074" in html
    bad = subprocess.run([sys.executable, "-m", "onescan", "dose", "--patients", str(patients), "--scans",
                          str(scans), "--out", str(tmp_path / "x.csv"), "--report", str(tmp_path / "r.txt")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and not (tmp_path / "x.csv").exists()
