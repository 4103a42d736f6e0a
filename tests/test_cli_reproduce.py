"""``onescan reproduce`` through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from _h5_cohort import make_tables


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cohort")
    p, s = make_tables(26, seed=4)
    p.to_csv(d / "patients.csv", index=False)
    s.to_csv(d / "scans.csv", index=False)
    return d


def onescan(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "onescan", "reproduce", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def test_reproduce_end_to_end(cohort_dir, tmp_path):
    out = tmp_path / "results"
    r = onescan(cohort_dir, "--out", out, "--repeats", "2", "--folds", "3", "--seed", "1", "--k-features", "3",
                "--jobs", "1")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    for name in ("report.html", "metrics.json", "predictions.csv", "figures/predicted_vs_prescribed.png",
                 "figures/bland_altman.png", "figures/error_distribution.png", "figures/selection_frequency.png",
                 "figures/example_tac.png"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["seed"] == 1 and m["cv"]["folds"] == 3 and m["cv"]["repeats"] == 2
    assert m["inputs"]["patients"]["sha256"] and m["inputs"]["scans"]["sha256"]
    assert m["settings"]["pipeline"]["k_features"] == 3
    pred = pd.read_csv(out / "predictions.csv")
    assert {"patient_id", "actual_mci", "predicted_mci", "predicted_clipped_mci", "error_pct", "body_mass_mci",
            "liver_mass_mci", "stp_mci", "hybrid_mci", "hybrid_interval_low_mci"} <= set(pred.columns)
    assert "hybrid" in m["split"]["metrics"] and "hybrid" in m["cv"]["summary"]
    assert "LASSO r²" in r.stderr and "paper" in r.stderr
    assert "hybrid model (onescan's addition)" in r.stderr
    # the findings are worded by their paired 95% interval
    from onescan.report._reproduce_report import finding

    pairs = {(p["a"], p["b"], p["scale"]): p for p in m["comparison"]["pairs"]}
    err = " ".join(r.stderr.split())
    for key in (("lasso", m["comparison"]["best_baseline"], "raw"), ("hybrid", "lasso", "clinical"),
                ("hybrid", "lasso", "raw")):
        assert finding(pairs[key], m["method_short"]) in err
    assert "nested cross-validation interval" in err
    assert "(onescan&#39;s addition)" in (out / "report.html").read_text()
    # the input files are untouched
    assert sorted(x.name for x in cohort_dir.iterdir()) == ["patients.csv", "scans.csv"]


def test_no_hybrid(cohort_dir, tmp_path):
    out = tmp_path / "results"
    r = onescan(cohort_dir, "--out", out, "--repeats", "1", "--folds", "3", "--k-features", "2", "--jobs", "1",
                "--no-hybrid")
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["split"]["metrics"]) == {"lasso", "body_mass", "liver_mass", "stp"}
    assert not any(c.startswith("hybrid") for c in pd.read_csv(out / "predictions.csv").columns)
    assert "hybrid model" not in r.stderr


def test_bad_input_exits_2_lists_every_problem_and_writes_nothing(cohort_dir, tmp_path):
    p = pd.read_csv(cohort_dir / "patients.csv").drop(columns="liver_mass_g")
    p["weight_kg"] = p["weight_kg"].astype(object)
    p.loc[3, "weight_kg"] = "heavy"
    p.to_csv(tmp_path / "patients.csv", index=False)
    out = tmp_path / "results"
    r = onescan("--patients", tmp_path / "patients.csv", "--scans", cohort_dir / "scans.csv", "--out", out,
                "--alpha", "-1", "--k-features", "many", "--target-gy", "0")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    for needle in ("liver_mass_g", "--alpha", "--k-features", "--target-gy"):
        assert needle in r.stderr, needle
    assert not out.exists()


def test_usage_errors_exit_2(tmp_path):
    r = onescan("--folds", "1", "--out", tmp_path / "o")
    assert r.returncode == 2
    r = onescan("--selector", "genetic", "--out", tmp_path / "o")
    assert r.returncode == 2
    assert not (tmp_path / "o").exists()


def test_help():
    r = onescan("--help")
    assert r.returncode == 0
    for opt in ("--out", "--seed", "--jobs", "--repeats", "--folds", "--selector", "--patients", "--scans",
                "--fit", "--target-gy", "--no-hybrid"):
        assert opt in r.stdout
