"""``onescan train`` and ``onescan predict`` through the real entry point (``python -m onescan``)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from onescan.persistence._skops import card_path_for
from onescan.studies._clinic import OUTPUT_COLUMNS

KEEP = ["patient_id", "prescribed_activity_mci", "dosimetric_activity_mci", "liver_mass_g", "weight_kg",
        "height_cm", "sex", "age_y", "ast_u_per_l_pre", "ldh_u_per_l_pre"]


def run(*args, cwd=None):
    """A real ``python -m onescan`` process (used for the main paths)."""
    return subprocess.run([sys.executable, "-m", "onescan", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


class _Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def run_main(capsys, monkeypatch):
    """The console-script function ``onescan.cli:main`` in this process (same code, no start-up cost)."""
    from onescan.cli import main

    def _run(*args):
        monkeypatch.setattr(sys, "argv", ["onescan", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        cap = capsys.readouterr()
        return _Result(code, cap.out, cap.err)

    return _run


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Training cohort folder, a new cohort with all scans and with the first scan only."""
    from onescan.studies._simulate import simulate_cohort

    root = tmp_path_factory.mktemp("trainpredict")
    tr = simulate_cohort(50, 21)
    new = simulate_cohort(6, 22, id_prefix="NEW")
    (root / "train").mkdir()
    tr.patients[KEEP].to_csv(root / "train" / "patients.csv", index=False)
    tr.scans.to_csv(root / "train" / "scans.csv", index=False)
    (root / "new").mkdir()
    new.patients.drop(columns="prescribed_activity_mci").to_csv(root / "new" / "patients.csv", index=False)
    new.scans.to_csv(root / "new" / "scans.csv", index=False)
    t0 = new.scans.groupby("patient_id")["time_h"].transform("min")
    new.scans[new.scans["time_h"] == t0].to_csv(root / "new" / "scans_first.csv", index=False)
    new.scans[new.scans["time_h"] > 10].to_csv(root / "new" / "scans_later.csv", index=False)
    # --selector none: every feature is used, so the model reads the first scan
    r = run("train", root / "train", "--out", root / "model.skops", "--selector", "none", "--alpha", "1",
            "--cv-repeats", "1", "--interval-folds", "5", "--seed", "3")
    assert r.returncode == 0, r.stderr
    return root


def test_train_writes_model_and_card(work):
    model, card = work / "model.skops", work / "model.card.json"
    assert model.is_file() and card.is_file()
    c = json.loads(card.read_text())
    assert c["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert c["n_patients"] == 50 and c["seed"] == 3
    assert c["inputs"]["patients"]["sha256"] == hashlib.sha256(
        (work / "train" / "patients.csv").read_bytes()).hexdigest()
    assert c["settings"]["pipeline"]["selector"] == "none"
    assert "uptake_first_liver" in c["used_features"]


def test_predict_first_scan_only_equals_all_scans(work):
    a, b = work / "a.csv", work / "b.csv"
    r1 = run("predict", "--model", work / "model.skops", "--patients", work / "new" / "patients.csv",
             "--scans", work / "new" / "scans.csv", "--out", a)
    r2 = run("predict", "--model", work / "model.skops", "--patients", work / "new" / "patients.csv",
             "--scans", work / "new" / "scans_first.csv", "--out", b)
    assert r1.returncode == 0, r1.stderr
    assert r2.returncode == 0, r2.stderr
    assert a.read_bytes() == b.read_bytes()
    out = pd.read_csv(a, keep_default_na=False)
    assert tuple(out.columns) == OUTPUT_COLUMNS
    assert len(out) == 6
    p = out["predicted_activity_mci"].to_numpy(dtype=float)
    assert np.all(out["interval_low_mci"] <= p) and np.all(p <= out["interval_high_mci"])


def test_predict_level_option(work, run_main):
    out = work / "l.csv"
    r = run_main("predict", "--model", work / "model.skops", work / "new", "--out", out, "--level", "0.8")
    assert r.returncode == 0, r.stderr
    assert (pd.read_csv(out)["interval_level"] == 0.8).all()


def _refused(run_main, work, model, out_name, *extra):
    out = work / out_name
    r = run_main("predict", "--model", model, "--patients", work / "new" / "patients.csv",
            "--scans", work / "new" / "scans_first.csv", "--out", out, *extra)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    assert not out.exists()
    return r.stderr


def test_tampered_model_exit_2(work):
    bad = work / "tampered.skops"
    data = bytearray((work / "model.skops").read_bytes())
    data[100] ^= 0xFF
    bad.write_bytes(bytes(data))
    card_path_for(bad).write_bytes((work / "model.card.json").read_bytes())
    out = work / "t.csv"
    r = run("predict", "--model", bad, "--patients", work / "new" / "patients.csv",
            "--scans", work / "new" / "scans_first.csv", "--out", out)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and not out.exists()
    assert "SHA-256 does not match" in r.stderr


def test_model_without_card_exit_2(work, run_main):
    lone = work / "lone.skops"
    lone.write_bytes((work / "model.skops").read_bytes())
    err = _refused(run_main, work, lone, "c.csv")
    assert "card" in err


def test_foreign_type_exit_2(work, run_main):
    from sklearn.ensemble import RandomForestRegressor

    from onescan.persistence._skops import load_model

    m = load_model(work / "model.skops")
    m.conformal_.estimators_[0] = RandomForestRegressor(n_estimators=2)
    bad = work / "foreign.skops"
    data = sio.dumps(m)
    bad.write_bytes(data)
    card = json.loads((work / "model.card.json").read_text())
    card["model_sha256"] = hashlib.sha256(data).hexdigest()
    card_path_for(bad).write_text(json.dumps(card))
    err = _refused(run_main, work, bad, "f.csv")
    assert "allow-list" in err and "RandomForestRegressor" in err


def test_missing_used_feature_exit_2(work, run_main):
    pats = pd.read_csv(work / "new" / "patients.csv").drop(columns="liver_mass_g")
    pats.to_csv(work / "no_liver.csv", index=False)
    out = work / "m.csv"
    r = run_main("predict", "--model", work / "model.skops", "--patients", work / "no_liver.csv",
            "--scans", work / "new" / "scans_first.csv", "--out", out)
    assert r.returncode == 2 and not out.exists()
    assert "liver_mass_g" in r.stderr


def test_scans_without_first_scan_exit_2(work, run_main):
    out = work / "s.csv"
    r = run_main("predict", "--model", work / "model.skops", "--patients", work / "new" / "patients.csv",
            "--scans", work / "new" / "scans_later.csv", "--out", out)
    assert r.returncode == 2 and not out.exists()
    assert "no first scan" in r.stderr and "NEW0001" in r.stderr


def test_bad_options_exit_2(work, run_main):
    r = run_main("train", work / "train", "--out", work / "model.pkl", "--level", "1.5")
    assert r.returncode == 2
    assert ".skops" in r.stderr and "--level" in r.stderr
    r = run_main("predict", "--model", work / "nope.skops", work / "new", "--out", work / "x.txt")
    assert r.returncode == 2
    assert "not found" in r.stderr and "x.txt" in r.stderr


def test_train_and_predict_hybrid(work, run_main):
    """``--model hybrid`` (a key of the model registry) trains, saves, loads and predicts."""
    model = work / "hybrid.skops"
    r = run_main("train", work / "train", "--out", model, "--model", "hybrid", "--cv-repeats", "0",
                 "--interval-folds", "4")
    assert r.returncode == 0, r.stderr
    card = json.loads((work / "hybrid.card.json").read_text())
    assert card["settings"]["pipeline"]["model"] == "hybrid"
    assert card["coefficient_unit"].startswith("ln(h)")
    out = work / "hybrid.csv"
    r = run_main("predict", "--model", model, "--patients", work / "new" / "patients.csv",
                 "--scans", work / "new" / "scans_first.csv", "--out", out)
    assert r.returncode == 0, r.stderr
    pred = pd.read_csv(out, keep_default_na=False)
    assert tuple(pred.columns) == OUTPUT_COLUMNS and len(pred) == 6
    assert np.isfinite(pred["predicted_activity_mci"].to_numpy(dtype=float)).all()


def test_predict_max_overdose_risk(work):
    """``--max-overdose-risk`` through the real entry point adds the safe activity columns."""
    from onescan.studies._clinic import SAFE_COLUMNS

    out = work / "safe.csv"
    r = run("predict", "--model", work / "model.skops", "--patients", work / "new" / "patients.csv",
            "--scans", work / "new" / "scans_first.csv", "--out", out, "--max-overdose-risk", "0.1")
    assert r.returncode == 0, r.stderr
    assert "max overdose risk" in r.stderr
    pred = pd.read_csv(out, keep_default_na=False)
    assert tuple(pred.columns) == OUTPUT_COLUMNS[:-1] + SAFE_COLUMNS + ("warnings",)
    safe = pred["safe_activity_mci"].to_numpy(dtype=float)
    assert np.all(safe > 0) and np.all(safe <= 1030)
    assert np.all(pred[["predicted_activity_mci", "interval_low_mci"]].to_numpy(dtype=float) >= 0)
    np.testing.assert_allclose(pred["safe_activity_gbq"], safe * 0.037, rtol=1e-9)
    np.testing.assert_allclose(pred["safe_fraction_of_predicted"], safe / pred["predicted_activity_capped_mci"],
                               rtol=1e-9)


@pytest.mark.parametrize("risk, words", [("1.5", "strictly between 0 and 1"), ("0", "strictly between 0 and 1"),
                                         ("0.001", "below 1/(n + 1)")])
def test_bad_max_overdose_risk_exit_2(work, run_main, risk, words):
    err = _refused(run_main, work, work / "model.skops", f"risk{risk}.csv", "--max-overdose-risk", risk)
    assert "--max-overdose-risk" in err and words in err
