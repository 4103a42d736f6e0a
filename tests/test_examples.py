"""examples/cohort speaks the built-in cohort's column names: a model trained on it predicts the
built-in cohort with the same features (no feature missing, none imputed for the labs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "cohort"
BUILT_IN = ROOT / "src" / "onescan" / "data" / "cohort"


def test_example_columns_are_built_in_columns():
    example = set(pd.read_csv(EXAMPLES / "patients.csv", nrows=0).columns)
    built_in = set(pd.read_csv(BUILT_IN / "patients.csv", nrows=0).columns)
    # the CT volume is the alternative to the mass (SPEC §1.1); everything else is a built-in column
    assert example - built_in == {"liver_volume_ml"}
    assert {"ast_u_per_l_pre", "ldh_u_per_l_pre"} <= example


def test_model_trained_on_examples_predicts_built_in_cohort(tmp_path):
    model, out = tmp_path / "m.skops", tmp_path / "pred.csv"
    r = subprocess.run([sys.executable, "-m", "onescan", "train", EXAMPLES, "--out", model, "--selector", "none",
                        "--interval-folds", "3", "--level", "0.75", "--cv-repeats", "0"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "onescan", "predict", "--model", model, BUILT_IN, "--out", out],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    got = pd.read_csv(out, keep_default_na=False)
    built_in = pd.read_csv(BUILT_IN / "patients.csv")
    assert got["patient_id"].tolist() == built_in["patient_id"].tolist()
    for col in ("ast_u_per_l_pre", "ldh_u_per_l_pre"):  # imputed only where the built-in cell is empty
        assert (got["warnings"].str.contains(f"{col} missing")).tolist() == built_in[col].isna().tolist()
