"""Compatibility face of the virtual-cohort generator, now the package :mod:`onescan.studies.simulate`.

``from onescan.studies._simulate import simulate_cohort`` (and the other names below)
keeps working; new code imports from ``onescan.studies.simulate``.
"""

from __future__ import annotations

from onescan.studies.simulate import (
    DEFAULT_COHORT_N,
    DEFAULT_COHORT_SEED,
    REGIONS,
    KineticParams,
    SimulatedCohort,
    default_cohort,
    default_cohort_paths,
    simulate_cohort,
    write_cohort,
)

__all__ = [
    "KineticParams",
    "SimulatedCohort",
    "simulate_cohort",
    "default_cohort",
    "default_cohort_paths",
    "write_cohort",
    "DEFAULT_COHORT_SEED",
    "DEFAULT_COHORT_N",
    "REGIONS",
]
