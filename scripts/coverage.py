#!/usr/bin/env python
"""Measure the coverage of onescan's prediction intervals on virtual cohorts.

For each seed: simulate a training cohort (74 patients by default) and an independent
held-out cohort from the same generator, train the published model with its
cross-conformal intervals (``onescan.train``), build the held-out patients' features
from their **first scan only** (no ``prescribed_activity_mci`` given), and count how
many held-out patients' prescribed activity (the capped value the model is trained on)
falls inside their interval. Every interval method — on the log scale ``log`` (CV,
the default) and ``log-plus`` (CV+), positive and clipped to the maximum activity; on
the raw mCi scale CV+ ``plus``, CV ``base``, ``minmax`` — is computed from the same
fitted fold models, exactly as ``OnescanModel.predict`` does
(``OnescanModel.intervals``: interval widened to contain the point prediction). It
also counts negative lower bounds.
Prints, per method and nominal level, the measured coverage pooled over seeds with a
95 % Clopper–Pearson interval, the spread of the per-seed coverage, and the mean
interval width.

The binomial interval treats held-out patients as independent; they share one
training cohort per seed, so the spread over seeds (also printed) is the honest
measure of how much coverage varies from one 74-patient training set to the next.
CV+ guarantees at least 1 − 2α in theory and is usually close to 1 − α in practice.
A method is called calibrated here when its pooled coverage is within ±3 points of
nominal at every level.

Usage::

    python scripts/coverage.py                      # 10 seeds, 74 train, 200 held out
    python scripts/coverage.py --seeds 3 --n-test 100 --levels 0.8,0.9
    python scripts/coverage.py --out coverage.json  # also write the numbers as JSON
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


def _parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10, help="number of training cohorts (default 10)")
    ap.add_argument("--first-seed", type=int, default=1000, help="seed of the first training cohort")
    ap.add_argument("--n-train", type=int, default=74, help="patients per training cohort (default 74)")
    ap.add_argument("--n-test", type=int, default=200, help="held-out patients per seed (default 200)")
    ap.add_argument("--levels", default="0.8,0.9,0.95", help="nominal levels, comma-separated")
    ap.add_argument("--interval-folds", type=int, default=10,
                    help="cross-conformal folds (default 10; the training size gives the jackknife+)")
    ap.add_argument("--methods", default="log,log-plus,plus,base,minmax",
                    help="interval methods, comma-separated")
    ap.add_argument("--selector", default="fast", choices=["fast", "mlxtend", "none"])
    ap.add_argument("--k-features", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=1, help="parallel fold fits")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    return ap.parse_args(argv)


def _first_scan_only(scans):
    t0 = scans.groupby("patient_id")["time_h"].transform("min")
    return scans[scans["time_h"] == t0].reset_index(drop=True)


def main(argv=None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", message="Objective did not converge")

    import onescan
    from onescan.contract._cohort import load_cohort
    from onescan.models._pipeline import PipelineSettings
    from onescan.studies._simulate import simulate_cohort

    levels = [float(x) for x in args.levels.split(",")]
    methods = [m.strip() for m in args.methods.split(",")]
    settings = PipelineSettings(selector=args.selector, k_features=args.k_features)
    keys = [(m, lv) for m in methods for lv in levels]
    covered = {k: [] for k in keys}
    widths = {k: [] for k in keys}
    negative = {k: 0 for k in keys}
    t_start = time.time()
    for i in range(args.seeds):
        seed = args.first_seed + i
        tr = simulate_cohort(args.n_train, seed)
        te = simulate_cohort(args.n_test, seed + 100_000, id_prefix="HO")
        cohort = load_cohort(tr.patients, tr.scans, need_dosimetry=False)
        model = onescan.train(cohort, pipeline_settings=settings, seed=seed, cv_repeats=0,
                              interval_folds=args.interval_folds, n_jobs=args.jobs)
        y = te.patients["prescribed_activity_mci"].to_numpy(dtype=float)
        new_patients = te.patients.drop(columns="prescribed_activity_mci")
        first = _first_scan_only(te.scans)
        X = model.features(new_patients, first)
        line = [f"seed {seed}: features {len(model.used_features_)}"]
        for m, lv in keys:
            point, low, high = model.intervals(X, lv, method=m)  # as OnescanModel.predict
            negative[(m, lv)] += int((low < 0).sum())
            inside = (low <= y) & (y <= high)
            covered[(m, lv)].append(inside)
            widths[(m, lv)].append(high - low)
            line.append(f"{m} {lv:.2f}→{inside.mean():.3f}")
        print("  ".join(line), f"({time.time() - t_start:.0f} s)", file=sys.stderr, flush=True)

    print(f"\nCoverage of onescan's prediction intervals ({args.interval_folds} folds): {args.seeds} training "
          f"cohorts of {args.n_train} virtual patients, {args.n_test} held-out patients each (first scan only).")
    header = f"{'method':>7} {'nominal':>8} {'measured':>9} {'95% CI (Clopper-Pearson)':>26} {'per-seed min–max':>18} " \
             f"{'per-seed SD':>12} {'mean width mCi':>15} {'low<0':>6} {'±3 pts':>7}"
    print(header)
    print("-" * len(header))
    results = []
    for m, lv in keys:
        allin = np.concatenate(covered[(m, lv)])
        k, n = int(allin.sum()), int(allin.size)
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        per_seed = np.array([c.mean() for c in covered[(m, lv)]])
        width = float(np.mean(np.concatenate(widths[(m, lv)])))
        sd = float(per_seed.std(ddof=1)) if len(per_seed) > 1 else float("nan")
        print(f"{m:>7} {lv:>8.2f} {k / n:>9.3f} {f'{ci.low:.3f}–{ci.high:.3f}':>26} "
              f"{f'{per_seed.min():.3f}–{per_seed.max():.3f}':>18} {sd:>12.3f} {width:>15.1f} "
              f"{negative[(m, lv)]:>6d} {'yes' if abs(k / n - lv) <= 0.03 else 'no':>7}")
        results.append({"method": m, "nominal": lv, "measured": k / n, "covered": k, "n": n, "ci_low": ci.low,
                        "ci_high": ci.high, "per_seed": per_seed.tolist(), "mean_width_mci": width,
                        "negative_lower_bounds": negative[(m, lv)], "within_3_points": abs(k / n - lv) <= 0.03})
    if args.out:
        from onescan.contract._io import atomic_write_text

        atomic_write_text(args.out, json.dumps({"settings": vars(args), "results": results}, indent=2) + "\n")
        print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
