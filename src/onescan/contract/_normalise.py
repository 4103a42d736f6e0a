"""The canonical form of validated patients and scans tables (SPEC §1).

Which columns exist, their units and defaults come from :mod:`onescan.contract._columns`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from onescan.contract._cells import as_id, as_region, is_missing, numeric_share, to_float
from onescan.contract._columns import (
    FAMILIES,
    PATIENT_NUMERIC_RULES,
    SCAN_COLUMNS,
    SCAN_DEFAULTS,
    SCAN_NUMERIC_RULES,
    SEX_CODES,
    UnitFamily,
)

__all__ = ["normalise_patients", "normalise_scans", "empty_scans", "sort_scans"]


def normalise_patients(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical patients table (call on validated input).

    Converts ``dosimetric_activity_mci`` → ``dosimetric_activity_mbq`` (× 37), an organ's
    ``<organ>_volume_ml`` → ``<organ>_mass_g`` (× the organ's density, 1.05 g/ml for the
    liver, where no mass is given), ``prescribed_activity_mbq`` → ``prescribed_activity_mci``
    (÷ 37), ``sex`` to ``"F"``/``"M"``, numeric text columns to float; drops the replaced
    unit columns (the volume is kept when the mass was also given). Row order is kept; the
    index becomes 0..n-1.

    Parameters
    ----------
    df : pandas.DataFrame
        Patients table as read.

    Returns
    -------
    pandas.DataFrame
        A new DataFrame; ``df`` is not modified.
    """
    out = df.copy().reset_index(drop=True)
    out.columns = [str(c).strip() for c in out.columns]
    if "patient_id" in out.columns:
        out["patient_id"] = out["patient_id"].map(as_id).astype(object)
    for c in PATIENT_NUMERIC_RULES:
        if c in out.columns:
            out[c] = to_float(out[c])
    for fam in FAMILIES:
        out = _merge_family(out, fam)
    if "sex" in out.columns:
        out["sex"] = out["sex"].map(lambda v: np.nan if is_missing(v)
                                    else SEX_CODES.get(str(v).strip().lower(), str(v).strip())).astype(object)
    for c in out.columns:
        if c in ("patient_id", "sex"):
            continue
        if numeric_share(out[c]) == 1.0:  # numeric text: every non-empty cell a number
            out[c] = to_float(out[c])
    return out


def _merge_family(out: pd.DataFrame, fam: UnitFamily) -> pd.DataFrame:
    """One canonical column for a quantity given in one or more units, where the first one was."""
    canon, units = fam.canonical, fam.columns
    present = [c for c in units if c in out.columns]
    if not present:
        return out
    value = pd.Series(np.nan, index=out.index, dtype="float64")
    for c in sorted(present, key=lambda c: c != canon):  # canonical column first
        value = value.fillna(out[c] * units[c])
    pos = list(out.columns).index(present[0])
    drop = [c for c in present if c != canon]
    if fam.keep_alternates and canon in present:
        drop = []  # keep the CT volume beside a given mass
    out = out.drop(columns=[c for c in drop + [canon] if c in out.columns])
    out.insert(min(pos, len(out.columns)), canon, value.astype("float64"))
    return out


def normalise_scans(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical scans table (call on validated input).

    ``region`` stripped and lower-cased, blanks and hyphens inside as ``_``
    (``"Whole Body"`` → ``"whole_body"``); numeric columns float; absent optional
    columns filled with their defaults (background 0 counts, acquisition 1 s,
    thickness and fraction_injected NaN), empty background/acquisition cells too;
    canonical columns first, extra columns after; rows sorted by patient (order of
    first appearance, see :func:`~onescan.contract._cohort.load_cohort` for
    patients-file order), time, region.

    Parameters
    ----------
    df : pandas.DataFrame
        Scans table as read.

    Returns
    -------
    pandas.DataFrame
        A new DataFrame with index 0..n-1.
    """
    out = df.copy().reset_index(drop=True)
    out.columns = [str(c).strip() for c in out.columns]
    out["patient_id"] = out["patient_id"].map(as_id).astype(object)
    out["region"] = out["region"].map(as_region).astype(object)
    for c in SCAN_NUMERIC_RULES:
        if c in out.columns:
            out[c] = to_float(out[c])
    for c, default in SCAN_DEFAULTS.items():
        if c not in out.columns:
            out[c] = default
        elif not np.isnan(default):
            out[c] = out[c].fillna(default)
    extra = [c for c in out.columns if c not in SCAN_COLUMNS]
    out = out[SCAN_COLUMNS + extra]
    return sort_scans(out, list(dict.fromkeys(out["patient_id"])))


def sort_scans(scans: pd.DataFrame, patient_order: list) -> pd.DataFrame:
    """Scan rows sorted by patient (in ``patient_order``), time (h) and region; index 0..n-1."""
    order = {p: k for k, p in enumerate(patient_order)}
    return (scans.assign(_o=scans["patient_id"].map(order))
                 .sort_values(["_o", "time_h", "region"], kind="mergesort")
                 .drop(columns="_o").reset_index(drop=True))


def empty_scans() -> pd.DataFrame:
    """A canonical scans table without rows."""
    out = pd.DataFrame({c: pd.Series(dtype="float64") for c in SCAN_COLUMNS})
    out["patient_id"] = out["patient_id"].astype(object)
    out["region"] = out["region"].astype(object)
    return out
