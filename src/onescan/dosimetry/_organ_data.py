"""Per-organ building blocks of the dosimetry: output quantities, masses, TAC arrays, flags.

Shared by :mod:`onescan.dosimetry._dose` (the target organ's table) and
:mod:`onescan.dosimetry._organ_doses` (organ doses, limits, uncertainties).
"""

from __future__ import annotations

from typing import Union

import numpy as np
import pandas as pd

from onescan.contract._errors import InputError, Problem
from onescan.contract._organs import Organ, limiting_organ
from onescan.contract._organs import organ as organ_by_key

__all__ = ["ORGAN_QUANTITIES", "FIT_COLUMNS", "pivot_region", "organ_mass_g", "organ_flags"]

OrganLike = Union[Organ, str]


#: Per-organ output quantities, in column order (column ``<organ>_<quantity>``).
ORGAN_QUANTITIES = (
    "uptake_first",
    "tiac_h",
    "effective_half_life_h",
    "s_value_mgy_per_mbq_s",
    "dose_gy_per_mci",
)

#: Fit columns (one organ: as named; several: ``<organ>_fit_model`` …).
FIT_COLUMNS = ("fit_model", "fit_r2")


def pivot_region(q: pd.DataFrame, patient_ids, region: str | None, columns) -> dict[str, np.ndarray]:
    """Pivot numeric ``columns`` of one region's rows into NaN-padded (patients × points) arrays.

    Points are sorted by time per patient (the layout of :func:`tac_arrays`).
    """
    if region is None:
        region = limiting_organ().region
    ids = pd.Index(pd.Series(patient_ids, dtype=str))
    sub = q[(q["region"] == region) & np.isfinite(q["time_h"].to_numpy(dtype=float))]
    code = ids.get_indexer(sub["patient_id"].astype(str))
    keep = code >= 0
    code = code[keep]
    t = sub["time_h"].to_numpy(dtype=float)[keep]
    vals = {c: sub[c].to_numpy(dtype=float)[keep] for c in columns}
    order = np.lexsort((t, code))
    code = code[order]
    n = len(ids)
    if code.size == 0:
        return {c: np.full((n, 1), np.nan) for c in columns}
    start = np.searchsorted(code, np.arange(n), side="left")
    pos = np.arange(code.size) - start[code]
    width = int(pos.max()) + 1
    out = {}
    for c in columns:
        arr = np.full((n, width), np.nan)
        arr[code, pos] = vals[c][order]
        out[c] = arr
    return out


def organ_mass_g(patients: pd.DataFrame, organ: OrganLike | None = None) -> np.ndarray:
    """The organ mass of every patient, g.

    Parameters
    ----------
    patients : pandas.DataFrame
        Patients table with the organ's mass column (``<organ>_mass_g``, g) and/or volume
        column (``<organ>_volume_ml``, ml; mass = volume × the organ's density in g/ml
        where the mass is missing).
    organ : Organ, str or None
        ``None``: the dose-limiting organ.

    Returns
    -------
    numpy.ndarray
        Mass in g (NaN where unknown).

    Raises
    ------
    InputError
        When the table has neither column.
    """
    o = limiting_organ() if organ is None else (organ if isinstance(organ, Organ) else organ_by_key(str(organ)))
    mass_col, vol_col = o.mass_column, o.volume_column
    if mass_col in patients.columns:
        m = pd.to_numeric(patients[mass_col], errors="coerce").to_numpy(dtype=float)
        if vol_col in patients.columns:
            v = pd.to_numeric(patients[vol_col], errors="coerce").to_numpy(dtype=float)
            m = np.where(np.isnan(m), v * o.density_g_per_ml, m)
        return m
    if vol_col in patients.columns:
        v = pd.to_numeric(patients[vol_col], errors="coerce").to_numpy(dtype=float)
        return v * o.density_g_per_ml
    raise InputError(Problem("<patients>", f"needs {mass_col} or {vol_col} for the dosimetry",
                             column=mass_col))


def organ_flags(o: Organ, fit, t, f, mass, prefix_fit_flags: bool) -> list[list[str]]:
    """Flag codes per patient of one organ: the fit's (prefixed ``<organ>:`` if asked), no data, no mass."""
    flags = [[f"{o.key}:{c}" for c in x] if prefix_fit_flags else list(x) for x in fit.flags]
    for i in np.flatnonzero(~np.isfinite(t).any(axis=1)):
        flags[i].insert(0, f"no_{o.key}_data")
    for i in np.flatnonzero(~(mass > 0)):
        flags[i].append(f"no_{o.key}_mass")
    # organ rows whose fraction could not be computed (no usable first whole-body scan)
    for i in np.flatnonzero((np.isfinite(t) & ~np.isfinite(f)).any(axis=1)):
        flags[i].append(f"unquantified_{o.key}_points")
    return flags
