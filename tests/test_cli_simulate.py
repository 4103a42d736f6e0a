"""`onescan simulate` through the real entry point (subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest


def run(*args):
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    env.pop("ONESCAN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "onescan", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=180)


def test_simulate_writes_a_cohort_that_validates(tmp_path):
    out = tmp_path / "cohort"
    r = run("simulate", "--n", 12, "--seed", 4, "--out", out)
    assert r.returncode == 0, r.stderr
    for name in ("patients.csv", "scans.csv", "truth.csv"):
        assert (out / name).is_file()
    p = pd.read_csv(out / "patients.csv")
    assert len(p) == 12 and "prescribed_activity_mci" in p.columns
    v = run("validate", out)
    assert v.returncode == 0, v.stderr
    assert "valid" in v.stdout


def test_simulate_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run("simulate", "--n", 8, "--seed", 9, "--out", a).returncode == 0
    assert run("simulate", "--n", 8, "--seed", 9, "--out", b).returncode == 0
    for name in ("patients.csv", "scans.csv", "truth.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_simulate_other_formats(tmp_path, fmt):
    out = tmp_path / fmt
    r = run("simulate", "--n", 5, "--seed", 1, "--out", out, "--format", fmt)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.{fmt}" for n in ("patients", "scans", "truth"))
    assert run("validate", out).returncode == 0


def test_simulate_refuses_non_empty_out_without_force(tmp_path):
    out = tmp_path / "c"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    r = run("simulate", "--n", 5, "--out", out)
    assert r.returncode == 2
    assert "--force" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    r = run("simulate", "--n", 5, "--out", out, "--force")
    assert r.returncode == 0, r.stderr
    assert (out / "patients.csv").is_file() and (out / "notes.txt").read_text() == "keep me"


def test_simulate_reports_every_bad_option(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    r = run("simulate", "--n", 0, "--seed", -3, "--out", f, "--target-gy", 0)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("  - ")]
    assert len(lines) == 4, r.stderr
    assert any("--n" in ln for ln in lines) and any("--seed" in ln for ln in lines)
    assert any("--target-gy" in ln for ln in lines) and any("is a file" in ln for ln in lines)
    assert "Traceback" not in r.stderr
    assert f.read_text() == "x"


def test_simulate_help():
    r = run("simulate", "--help")
    assert r.returncode == 0
    for opt in ("--n", "--seed", "--out", "--format", "--force", "--target-gy"):
        assert opt in r.stdout
