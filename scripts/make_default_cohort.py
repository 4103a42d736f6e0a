#!/usr/bin/env python
"""Regenerate onescan's built-in 74-patient virtual SIERRA cohort.

Writes ``src/onescan/data/cohort/{patients,scans,truth}.csv`` from
``simulate_cohort(DEFAULT_COHORT_N, seed=DEFAULT_COHORT_SEED)`` with the default
dosimetry settings. ``DEFAULT_COHORT_SEED`` is the first seed of 1, 2, … whose cohort
has a mean prescribed activity within 15 mCi of the published 716.4 mCi (``--find-seed``
repeats that search); the seed is chosen on the target's mean only, never on any model
result, so the built-in cohort is a typical draw at the paper's scale rather than a
lucky one for the LASSO. The result is deterministic: ``tests/test_simulate.py`` checks
that regenerating gives the shipped bytes. Run it again (and commit the CSVs) whenever
the generator or the dosimetry changes.

Usage::

    python scripts/make_default_cohort.py [--out FOLDER]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from onescan.contract._io import sha256_file
from onescan.studies.simulate import DEFAULT_COHORT_N, DEFAULT_COHORT_SEED, simulate_cohort, write_cohort

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "onescan" / "data" / "cohort"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="destination folder")
    ap.add_argument("--find-seed", action="store_true",
                    help="only search the seed rule (mean within 15 mCi of 716.4 mCi) and print it")
    args = ap.parse_args(argv)
    if args.find_seed:
        for seed in range(1, 1000):
            mean = simulate_cohort(DEFAULT_COHORT_N, seed=seed).patients["prescribed_activity_mci"].mean()
            if abs(mean - 716.4) < 15.0:
                print(f"seed {seed}: mean prescribed activity {mean:.1f} mCi (DEFAULT_COHORT_SEED = "
                      f"{DEFAULT_COHORT_SEED})")
                return 0 if seed == DEFAULT_COHORT_SEED else 1
        return 1
    sim = simulate_cohort(DEFAULT_COHORT_N, seed=DEFAULT_COHORT_SEED)
    for path in write_cohort(sim, args.out, "csv"):
        print(f"{path}  sha256 {sha256_file(path)[:16]}…")
    y = sim.patients["prescribed_activity_mci"]
    print(f"{len(sim.patients)} patients, {sim.patients.shape[1] - 2} candidate columns; prescribed activity "
          f"mean {y.mean():.1f} mCi, SD {y.std():.1f} mCi, {(y >= 1030 - 1e-9).mean():.1%} at the cap")
    return 0


if __name__ == "__main__":
    sys.exit(main())
