"""Benchmark: vectorised ``compute_dose`` against a per-patient lmfit reference.

Simulates N patients' scans in the SPEC §1 format (3 conjugate-view scans of
``whole_body``, ``liver`` and ``spleen`` with background, acquisition time,
thickness and Poisson noise; mono-exponential liver kinetics), then times

* ``load_cohort`` (validation + normalisation) of the CSV files,
* ``compute_dose`` (quantification, batched LM fits, S-values, prescription),
* the reference: a plain per-patient loop (pandas selection, conjugate-view
  arithmetic, ``lmfit`` bounded fit started from the log-linear fit) on a subset,
  scaled per patient to N,

all in the same run, and prints the times, the ratio and the largest relative
difference of the prescribed activity between the two on the subset.

Run::

    python benchmarks/bench_dose.py            # N = 10,000, reference on 300
    python benchmarks/bench_dose.py --n 2000 --n-ref 100
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import tempfile
import time
from pathlib import Path

import lmfit
import numpy as np
import pandas as pd

from onescan.contract._cohort import load_cohort
from onescan.dosimetry._dose import DoseSettings, compute_dose
from onescan.dosimetry._physics import lambda_phys_per_h, load_s_values, s_value_mgy_per_mbq_s


def simulate(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """N patients × 3 scan times × {whole_body, liver, spleen} in the SPEC §1 format."""
    rng = np.random.default_rng(seed)
    lp = lambda_phys_per_h()
    mu = 0.110
    ids = np.array([f"B{i:05d}" for i in range(n)])
    mass = rng.lognormal(math.log(1800), 0.2, n)
    patients = pd.DataFrame({"patient_id": ids, "dosimetric_activity_mci": rng.uniform(9, 11, n),
                             "liver_mass_g": mass.round(1)})
    times = np.column_stack([rng.uniform(0.5, 2.5, n), rng.uniform(20, 28, n), rng.uniform(68, 100, n)])
    a_liv = rng.uniform(0.10, 0.30, n)
    lam_liv = np.log(2) / rng.uniform(25, 120, n)
    thick_wb = rng.uniform(18, 30, n)
    rows = []
    k = 3000.0  # attenuation-corrected counts/s per unit fraction
    for j in range(3):
        t = times[:, j]
        acq = (900.0, 1200.0, 1800.0)[j]
        fr = {"whole_body": np.exp(-lp * t) * (1.0 if j == 0 else 0.9),
              "liver": a_liv * np.exp(-lam_liv * t),
              "spleen": 0.03 * np.exp(-np.log(2) / 50 * t)}
        thick = {"whole_body": thick_wb, "liver": thick_wb * 0.85, "spleen": thick_wb * 0.7}
        for region, f in fr.items():
            gm = f * k * np.sqrt(np.exp(-mu * thick[region])) * acq
            bg = 3.0 * acq
            rows.append(pd.DataFrame({
                "patient_id": ids, "time_h": t.round(2), "region": region,
                "counts_anterior": rng.poisson(gm * 1.2 + bg), "counts_posterior": rng.poisson(gm / 1.2 + bg),
                "background_anterior": bg, "background_posterior": bg, "acquisition_s": acq,
                "thickness_cm": thick[region].round(1)}))
    scans = pd.concat(rows, ignore_index=True).sort_values(["patient_id", "time_h", "region"], kind="stable")
    return patients, scans.reset_index(drop=True)


def reference_dose(patients: pd.DataFrame, scans: pd.DataFrame, settings: DoseSettings) -> np.ndarray:
    """Per-patient reference: one patient at a time, lmfit bounded least squares."""
    lp = lambda_phys_per_h(settings.nuclide)
    table = load_s_values(settings.s_values, settings.nuclide)
    out = np.full(len(patients), np.nan)
    groups = dict(tuple(scans.groupby("patient_id", sort=False)))
    for i, (pid, mass) in enumerate(zip(patients["patient_id"], patients["liver_mass_g"])):
        g = groups[pid]
        net_a = np.maximum(g["counts_anterior"] - g["background_anterior"], 0) / g["acquisition_s"]
        net_p = np.maximum(g["counts_posterior"] - g["background_posterior"], 0) / g["acquisition_s"]
        gm = np.sqrt(net_a * net_p) / np.sqrt(np.exp(-settings.mu_per_cm * g["thickness_cm"].fillna(0.0)))
        wb = g["region"] == "whole_body"
        t_first = g.loc[wb, "time_h"].min()
        gm_first = gm[wb & (g["time_h"] == t_first)].iloc[0]
        liv = g["region"] == "liver"
        t = g.loc[liv, "time_h"].to_numpy(float)
        f = (gm[liv] / gm_first * math.exp(-lp * t_first)).to_numpy(float)
        slope, icpt = np.polyfit(t, np.log(f), 1)
        params = lmfit.Parameters()
        params.add("a", value=math.exp(icpt))
        params.add("lam", value=max(-slope, lp * 1.0001), min=lp)
        res = lmfit.minimize(lambda p: p["a"].value * np.exp(-p["lam"].value * t) - f, params,
                             method="least_squares", xtol=1e-12, ftol=1e-12, gtol=1e-12)
        tiac = res.params["a"].value / res.params["lam"].value
        s = float(s_value_mgy_per_mbq_s(mass, settings.mass_scaling, table))
        d_mci = tiac * 3600.0 * s / 1000.0 * 37.0
        out[i] = settings.target_gy / d_mci
    return out


def machine() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"CPU: {model}; cores: {os.cpu_count()} (usable {usable}); "
            f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; "
            f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
            f"lmfit {lmfit.__version__}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="patients for compute_dose")
    ap.add_argument("--n-ref", type=int, default=300, help="patients for the per-patient lmfit reference")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="timing repeats of compute_dose (best is reported)")
    args = ap.parse_args()

    print(machine())
    patients, scans = simulate(args.n, args.seed)
    settings = DoseSettings()
    with tempfile.TemporaryDirectory() as d:
        pp, sp = Path(d) / "patients.csv", Path(d) / "scans.csv"
        patients.to_csv(pp, index=False)
        scans.to_csv(sp, index=False)
        t0 = time.perf_counter()
        cohort = load_cohort(pp, sp)
        t_load = time.perf_counter() - t0

    best = math.inf
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        result = compute_dose(cohort.patients, cohort.scans, settings)
        best = min(best, time.perf_counter() - t0)
    per_fast = best / args.n

    sub_ids = cohort.patients["patient_id"].iloc[: args.n_ref]
    sub_p = cohort.patients.iloc[: args.n_ref]
    sub_s = cohort.scans[cohort.scans["patient_id"].isin(set(sub_ids))]
    t0 = time.perf_counter()
    ref = reference_dose(sub_p, sub_s, settings)
    t_ref = time.perf_counter() - t0
    per_ref = t_ref / args.n_ref

    fast_sub = result["prescribed_activity_mci"].to_numpy()[: args.n_ref]
    max_rel = float(np.nanmax(np.abs(fast_sub / ref - 1.0)))
    print(f"patients: {args.n} ({len(cohort.scans)} scan rows); reference subset: {args.n_ref}")
    print(f"load_cohort (CSV read + validation): {t_load:8.3f} s")
    print(f"compute_dose (vectorised, best of {args.repeats}): {best:8.3f} s  = {1e6 * per_fast:9.1f} µs/patient")
    print(f"reference per-patient lmfit loop:    {t_ref:8.3f} s  = {1e6 * per_ref:9.1f} µs/patient "
          f"(→ {per_ref * args.n:8.1f} s for {args.n})")
    print(f"speed-up (reference / compute_dose per patient): {per_ref / per_fast:8.1f}×")
    print(f"max relative difference of prescribed activity on the subset: {max_rel:.2e}")
    print(f"flagged patients: {(result['flags'] != '').sum()} of {args.n}")


if __name__ == "__main__":
    main()
