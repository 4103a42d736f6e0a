"""Unit conversions at the edges of onescan.

Canonical internal units: activity in MBq inside the dosimetry, prescribed and
predicted activity in mCi (the unit of the seed study), time in hours, mass in g.
"""

from __future__ import annotations

#: 1 mCi = 37 MBq exactly (definition of the curie: 3.7e10 Bq).
MBQ_PER_MCI: float = 37.0

#: Liver density used to turn CT liver volume into mass (SPEC §1.1; ICRP 89 soft tissue ≈ 1.05 g/ml).
LIVER_DENSITY_G_PER_ML: float = 1.05

SECONDS_PER_HOUR: float = 3600.0


def mci_to_mbq(x):
    """Convert mCi to MBq."""
    return x * MBQ_PER_MCI


def mbq_to_mci(x):
    """Convert MBq to mCi."""
    return x / MBQ_PER_MCI
