"""Shared test fixtures for onescan (keep small; helpers may add fixtures)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import radioactivedecay as rd

#: I-131 physical decay constant (1/h) from radioactivedecay (ICRP 107 data).
LAMBDA_PHYS_PER_H = math.log(2) / rd.Nuclide("I-131").half_life("h")

#: The tiny cohort's ground truth: patient → (a, λ_eff [1/h]) of f_liver(t) = a·exp(−λ_eff·t).
TINY_TRUTH = {
    "001": (0.20, math.log(2) / 60.0),
    "002": (0.15, math.log(2) / 90.0),
    "010": (0.25, math.log(2) / 45.0),
}
TINY_TIMES_H = (1.0, 24.0, 72.0)
TINY_WB_FIRST_COUNTS = 2.0e6  # geometric-mean counts/s of the first (pre-void) whole-body image


def make_tiny_cohort() -> tuple[pd.DataFrame, pd.DataFrame]:
    """3 patients × 3 times × {whole_body, liver, spleen}, counts input, exact mono-exponential liver.

    Anterior = posterior counts, no background, acquisition 1 s, no thickness, so the
    geometric mean equals the counts and the liver fraction of the administered
    activity (not decay-corrected, SPEC §2.1) is exactly ``a·exp(−λ_eff·t)``.
    Patient ids have leading zeros ("001") to catch ids read as numbers.
    """
    patients = pd.DataFrame({
        "patient_id": list(TINY_TRUTH),
        "dosimetric_activity_mci": [5.0, 6.0, 5.5],
        "liver_mass_g": [1500.0, 1800.0, 2200.0],
        "weight_kg": [70.0, 82.5, 95.0],
        "height_cm": [165.0, 178.0, 185.0],
        "sex": ["F", "M", "M"],
        "age_y": [54, 61, 67],
        "ast_pre_u_per_l": [22.0, 35.0, np.nan],
    })
    rows = []
    t_first = TINY_TIMES_H[0]
    # counts of the first whole-body image correspond to fraction exp(-λ_phys t_first)
    scale = TINY_WB_FIRST_COUNTS / math.exp(-LAMBDA_PHYS_PER_H * t_first)
    for pid, (a, lam) in TINY_TRUTH.items():
        for t in TINY_TIMES_H:
            f = {
                "whole_body": math.exp(-LAMBDA_PHYS_PER_H * t) * (1.0 if t == t_first else 0.8),
                "liver": a * math.exp(-lam * t),
                "spleen": 0.3 * a * math.exp(-1.2 * lam * t),
            }
            for region, frac in f.items():
                c = frac * scale
                rows.append({"patient_id": pid, "time_h": t, "region": region,
                             "counts_anterior": c, "counts_posterior": c})
    return patients, pd.DataFrame(rows)


@pytest.fixture
def tiny_cohort_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(patients_df, scans_df) of :func:`make_tiny_cohort` (fresh copies per test)."""
    return make_tiny_cohort()


@pytest.fixture
def tiny_cohort_truth() -> dict[str, tuple[float, float]]:
    """patient_id → (a, λ_eff per h) of the tiny cohort's exact liver curves."""
    return dict(TINY_TRUTH)
