"""``onescan schedule`` through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_schedule import make_kinetic_cohort  # noqa: E402

ONESCAN = [sys.executable, "-m", "onescan"]


def run(args, cwd):
    env = dict(os.environ, ONESCAN_LOGLEVEL="WARNING", OMP_NUM_THREADS="1")
    return subprocess.run(ONESCAN + [str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture
def cohort_dir(tmp_path):
    p, s, _ = make_kinetic_cohort(24, seed=7, noise=0.2)
    d = tmp_path / "cohort"
    d.mkdir()
    p.to_csv(d / "patients.csv", index=False)
    s.to_csv(d / "scans.csv", index=False)
    return d


def test_schedule_end_to_end(cohort_dir, tmp_path):
    out = tmp_path / "res"
    r = run(["schedule", cohort_dir, "--folds", 3, "--repeats", 2, "--selector", "none", "--out", out], tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("report.html", "metrics.json", "schedule_table.csv", "figures/schedule_cv.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["folds"] == 3
    assert "hybrid_first" in metrics["cohort_cv"]["summary"]
    assert "sha256" in metrics["cohort_cv"]["inputs"]["patients"]
    table = pd.read_csv(out / "schedule_table.csv")
    assert {"overdose_pct_mean", "within10_pct_mean", "rmse_mci_low"} <= set(table.columns)
    assert "hybrid_first_24h" in r.stdout
    assert "Traceback" not in r.stderr


def test_schedule_with_files_and_dose_options(cohort_dir, tmp_path):
    out = tmp_path / "res2"
    r = run(["schedule", "--patients", cohort_dir / "patients.csv", "--scans", cohort_dir / "scans.csv",
             "--folds", 2, "--repeats", 1, "--selector", "none", "--target-gy", 20, "--mass-scaling", "linear",
             "--out", out], tmp_path)
    assert r.returncode == 0, r.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dose_settings"]["target_gy"] == 20.0
    assert metrics["dose_settings"]["mass_scaling"] == "linear"


def test_bad_input_lists_every_problem_and_writes_nothing(cohort_dir, tmp_path):
    out = tmp_path / "never"
    r = run(["schedule", cohort_dir, "--sizes", "74,abc,5", "--jobs", 0, "--target-gy", -1, "--out", out], tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "abc" in r.stderr and "at least 10" in r.stderr
    assert "--jobs" in r.stderr and "--target-gy" in r.stderr
    assert not out.exists()


def test_bad_cohort_exits_2(tmp_path):
    p, s, _ = make_kinetic_cohort(12, seed=2)
    s = s[~((s["patient_id"] == "P003") & (s["region"] == "liver") & (s["time_h"] > 10))]
    p.loc[4, "liver_mass_g"] = -5
    d = tmp_path / "bad"
    d.mkdir()
    p.to_csv(d / "patients.csv", index=False)
    s.to_csv(d / "scans.csv", index=False)
    out = tmp_path / "out"
    r = run(["schedule", d, "--folds", 2, "--repeats", 1, "--out", out], tmp_path)
    assert r.returncode == 2
    assert "P003" in r.stderr and "liver_mass_g" in r.stderr
    assert not out.exists()


def test_help():
    r = subprocess.run(ONESCAN + ["schedule", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for opt in ("--virtual-cohorts", "--sizes", "--repeats", "--folds", "--jobs", "--out"):
        assert opt in r.stdout
