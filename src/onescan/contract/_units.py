"""Unit conversions at the edges of onescan.

Canonical internal units: activity in MBq inside the dosimetry, prescribed and
predicted activity in mCi (the unit of the seed study), time in hours, mass in g.
"""

from __future__ import annotations

from onescan.contract._organs import limiting_organ

#: 1 mCi = 37 MBq exactly (definition of the curie: 3.7e10 Bq).
MBQ_PER_MCI: float = 37.0

#: Density (g/ml) of the dose-limiting organ, turning its CT volume into mass (SPEC §1.1). The
#: number lives in the organ registry (``data/organs.csv``: ICRP 89 soft tissue ≈ 1.05 g/ml);
#: this name is kept for the modules that import it.
LIVER_DENSITY_G_PER_ML: float = limiting_organ().density_g_per_ml

SECONDS_PER_HOUR: float = 3600.0


def mci_to_mbq(x):
    """Convert mCi to MBq."""
    return x * MBQ_PER_MCI


def mbq_to_mci(x):
    """Convert MBq to mCi."""
    return x / MBQ_PER_MCI
