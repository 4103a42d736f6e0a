"""A small synthetic cohort for the reproduce tests (H5's tests; independent of the simulator)."""

from __future__ import annotations

import numpy as np
import pandas as pd

LAMBDA_PHYS = np.log(2) / (8.0207 * 24)


def make_tables(n: int = 30, seed: int = 0, with_target: bool = False, extra_regions: bool = True):
    """Patients and scans DataFrames in SPEC §1 format (counts-based, three scan times)."""
    rng = np.random.default_rng(seed)
    ids = [f"P{i:03d}" for i in range(n)]
    weight = rng.normal(80, 15, n).clip(45, 140)
    liver = (weight * 22 + rng.normal(0, 150, n)).clip(900, 3000)
    ast = rng.lognormal(3.3, 0.4, n)
    ldh = rng.lognormal(5.5, 0.3, n)
    uptake = (0.125 + 0.0006 * (ast - 27) + rng.normal(0, 0.01, n)).clip(0.03, 0.3)
    t_eff = (60 + 0.03 * (ldh - 245) + rng.normal(0, 8, n)).clip(20, 150)
    patients = pd.DataFrame({
        "patient_id": ids,
        "dosimetric_activity_mci": rng.uniform(7, 20, n).round(2),
        "liver_mass_g": liver.round(1),
        "weight_kg": weight.round(1),
        "height_cm": rng.normal(172, 9, n).round(1),
        "sex": rng.choice(["F", "M"], n),
        "age_y": rng.integers(55, 80, n),
        "ast_pre_u_per_l": ast.round(1),
        "ldh_pre_u_per_l": ldh.round(0),
        "site": rng.choice(["A", "B", "C"], n),
        "mostly_missing": np.where(rng.random(n) < 0.5, np.nan, rng.normal(size=n)),
    })
    patients.loc[rng.random(n) < 0.08, "ldh_pre_u_per_l"] = np.nan
    rows = []
    for i, pid in enumerate(ids):
        times = [rng.uniform(0.5, 2.0), rng.uniform(20, 28), rng.uniform(72, 96)]
        lam = np.log(2) / t_eff[i]
        for t in times:
            fr = {"whole_body": np.exp(-LAMBDA_PHYS * t) * (0.6 + 0.4 * np.exp(-0.02 * t)),
                  "liver": uptake[i] * np.exp(-lam * t)}
            if extra_regions:
                fr["spleen"] = 0.02 * np.exp(-lam * t)
            for region, f in fr.items():
                c = 1e5 * f
                rows.append({"patient_id": pid, "time_h": round(t, 3), "region": region,
                             "counts_anterior": c * 1.1, "counts_posterior": c / 1.1})
    scans = pd.DataFrame(rows)
    if with_target:
        from onescan.contract._cohort import load_cohort
        from onescan.dosimetry._dose import compute_dose

        c = load_cohort(patients=patients, scans=scans)
        patients["prescribed_activity_mci"] = compute_dose(c.patients, c.scans)[
            "prescribed_activity_capped_mci"].to_numpy()
    return patients, scans


def make_cohort(n: int = 30, seed: int = 0, **kw):
    from onescan.contract._cohort import load_cohort

    p, s = make_tables(n, seed, **kw)
    return load_cohort(patients=p, scans=s)
