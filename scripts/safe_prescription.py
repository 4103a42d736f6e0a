#!/usr/bin/env python
"""Measure onescan's safe one-scan prescription on virtual cohorts.

For each seed: simulate a training cohort (74 patients by default) and an independent
cohort of new patients (1000 by default) from the same generator, train the published
model (``onescan.train``, default interval method), and predict every new patient from
the **first scan only** (no ``prescribed_activity_mci`` given) with
``max_overdose_risk=R`` (0.05 by default). Against each new patient's

* reference activity ``prescribed_activity_mci`` (what the model is trained on: the
  three-scan dosimetry from noisy scans, capped), and
* ideal activity ``prescribed_activity_true_kinetics_mci`` of the ``truth`` table (the
  activity that gives the liver exactly the target dose under the true kinetics, uncapped),

it reports: negative activities or bounds (must be 0), the coverage of the reference by
the interval at ``--level``, the share of patients whose **safe activity overdoses**
(safe > 1.1 × ideal: the liver gets more than 1.1 × the target dose), the share whose
lower bound misses the reference (safe/1.1 > reference: the event the conformal rule
bounds by ⌊R(n+1)⌋/(n+1)), the same overdose share had the capped point prediction been
given instead, and the median safe/ideal and safe/predicted ratios. Pooled shares come
with 95 % Clopper–Pearson intervals (patients treated as independent; the per-seed
min–max shows the spread between training cohorts).

Usage::

    python scripts/safe_prescription.py                  # 5 seeds, 74 train, 1000 new, R = 0.05
    python scripts/safe_prescription.py --seeds 10 --risk 0.1 --out safe.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings

import numpy as np
from scipy.stats import binomtest

OVERDOSE_IDEAL = "prescribed_activity_true_kinetics_mci"


def _parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5, help="number of training cohorts (default 5)")
    ap.add_argument("--first-seed", type=int, default=2000, help="seed of the first training cohort")
    ap.add_argument("--n-train", type=int, default=74, help="patients per training cohort (default 74)")
    ap.add_argument("--n-test", type=int, default=1000, help="new patients per seed (default 1000)")
    ap.add_argument("--risk", type=float, default=0.05, help="maximum overdose risk R (default 0.05)")
    ap.add_argument("--level", type=float, default=0.9, help="interval level (default 0.9)")
    ap.add_argument("--interval-method", default="log", help="interval method of the model (default log)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel fold fits")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    return ap.parse_args(argv)


def _first_scan_only(scans):
    t0 = scans.groupby("patient_id")["time_h"].transform("min")
    return scans[scans["time_h"] == t0].reset_index(drop=True)


def _one_seed(seed: int, args) -> dict:
    import onescan
    from onescan.contract._cohort import load_cohort
    from onescan.studies._clinic_safe import OVERDOSE_FACTOR
    from onescan.studies._simulate import simulate_cohort

    tr = simulate_cohort(args.n_train, seed)
    te = simulate_cohort(args.n_test, seed + 100_000, id_prefix="NEW")
    model = onescan.train(load_cohort(tr.patients, tr.scans, need_dosimetry=False), seed=seed, cv_repeats=0,
                          interval_method=args.interval_method, n_jobs=args.jobs)
    out = model.predict(te.patients.drop(columns="prescribed_activity_mci"), _first_scan_only(te.scans),
                        level=args.level, max_overdose_risk=args.risk)
    ref = te.patients.set_index("patient_id").loc[out["patient_id"], "prescribed_activity_mci"].to_numpy(float)
    ideal = te.truth.set_index("patient_id").loc[out["patient_id"], OVERDOSE_IDEAL].to_numpy(float)
    safe = out["safe_activity_mci"].to_numpy(float)
    cols = ["predicted_activity_mci", "interval_low_mci", "interval_high_mci", "safe_activity_mci"]
    return {
        "seed": seed,
        "negative": int((out[cols].to_numpy(float) < 0).sum()),
        "covered": (out["interval_low_mci"] <= ref) & (ref <= out["interval_high_mci"]),
        "overdosed": safe > OVERDOSE_FACTOR * ideal,
        "bound_misses_reference": safe / OVERDOSE_FACTOR > ref,
        "point_overdosed": out["predicted_activity_capped_mci"].to_numpy(float) > OVERDOSE_FACTOR * ideal,
        "safe_over_ideal": safe / ideal,
        "safe_over_predicted": out["safe_fraction_of_predicted"].to_numpy(float),
        "width": (out["interval_high_mci"] - out["interval_low_mci"]).to_numpy(float),
    }


def _share(rows, key):
    allv = np.concatenate([np.asarray(r[key]) for r in rows])
    k, n = int(allv.sum()), int(allv.size)
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    per = [float(np.mean(r[key])) for r in rows]
    return {"share": k / n, "k": k, "n": n, "ci_low": ci.low, "ci_high": ci.high, "per_seed_min": min(per),
            "per_seed_max": max(per)}


def main(argv=None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", message="Objective did not converge")
    rows, t0 = [], time.time()
    for i in range(args.seeds):
        r = _one_seed(args.first_seed + i, args)
        rows.append(r)
        print(f"seed {r['seed']}: coverage {np.mean(r['covered']):.3f}  overdosed {np.mean(r['overdosed']):.3f}  "
              f"median safe/ideal {np.median(r['safe_over_ideal']):.3f}  ({time.time() - t0:.0f} s)",
              file=sys.stderr, flush=True)
    shares = {key: _share(rows, key) for key in ("covered", "overdosed", "bound_misses_reference", "point_overdosed")}
    med = {key: float(np.median(np.concatenate([r[key] for r in rows])))
           for key in ("safe_over_ideal", "safe_over_predicted", "width")}
    per_seed_med = [float(np.median(r["safe_over_ideal"])) for r in rows]
    negative = sum(r["negative"] for r in rows)
    print(f"\nSafe one-scan prescription, R = {args.risk:g} ({args.interval_method} intervals at {args.level:g}): "
          f"{args.seeds} training cohorts of {args.n_train} virtual patients, {args.n_test} new patients each "
          "(first scan only).")
    print(f"  negative activities or bounds:                 {negative}")
    labels = {"covered": f"interval coverage of the reference (nominal {args.level:g})",
              "overdosed": "safe activity overdoses (> 1.1 × ideal, truth)",
              "bound_misses_reference": "lower bound above the reference (conformal event)",
              "point_overdosed": "capped point prediction overdoses (for comparison)"}
    for key, label in labels.items():
        s = shares[key]
        print(f"  {label:<52} {s['share']:.3f}  (95% CI {s['ci_low']:.3f}–{s['ci_high']:.3f}; per seed "
              f"{s['per_seed_min']:.3f}–{s['per_seed_max']:.3f})")
    print(f"  median safe / ideal activity                       {med['safe_over_ideal']:.3f}  (per seed "
          f"{min(per_seed_med):.3f}–{max(per_seed_med):.3f})")
    print(f"  median safe / capped predicted activity            {med['safe_over_predicted']:.3f}")
    print(f"  median interval width                              {med['width']:.0f} mCi")
    if args.out:
        from onescan.contract._io import atomic_write_text

        res = {"settings": vars(args), "negative": negative, "shares": shares, "medians": med,
               "per_seed_median_safe_over_ideal": per_seed_med}
        atomic_write_text(args.out, json.dumps(res, indent=2) + "\n")
        print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
