#!/usr/bin/env python
"""Regenerate onescan's built-in 74-patient virtual SIERRA cohort.

Writes ``src/onescan/data/cohort/{patients,scans,truth}.csv`` from
``simulate_cohort(DEFAULT_COHORT_N, seed=DEFAULT_COHORT_SEED)`` with the default
dosimetry settings. The result is deterministic: ``tests/test_simulate.py`` checks
that regenerating gives the shipped bytes. Run it again (and commit the CSVs) whenever
the generator or the dosimetry changes.

Usage::

    python scripts/make_default_cohort.py [--out FOLDER]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from onescan._io import sha256_file
from onescan._simulate import DEFAULT_COHORT_N, DEFAULT_COHORT_SEED, simulate_cohort, write_cohort

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "onescan" / "data" / "cohort"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="destination folder")
    args = ap.parse_args(argv)
    sim = simulate_cohort(DEFAULT_COHORT_N, seed=DEFAULT_COHORT_SEED)
    for path in write_cohort(sim, args.out, "csv"):
        print(f"{path}  sha256 {sha256_file(path)[:16]}…")
    y = sim.patients["prescribed_activity_mci"]
    print(f"{len(sim.patients)} patients, {sim.patients.shape[1] - 2} candidate columns; prescribed activity "
          f"mean {y.mean():.1f} mCi, SD {y.std():.1f} mCi, {(y >= 1030 - 1e-9).mean():.1%} at the cap")
    return 0


if __name__ == "__main__":
    sys.exit(main())
