"""Plausibility (SPEC §1.3): valid numbers that cannot be right.

The ranges and their reasons are in :data:`onescan.contract._columns.PLAUSIBLE`; each value
outside its range is one :class:`~onescan.contract._errors.Problem` with the value, the range
and, where a unit conversion would make it plausible, a hint ("1.62 looks like kilograms").
Per patient, from the scans: an organ's first-scan count rate above 1.05 × the whole body's, a
first whole-body scan later than 6 h, and scan times that look like days. Negative lab values.
The command stops on them, or (``--allow-implausible``) reports them as per-patient flags.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from onescan.contract._cells import as_id, as_region, patient_at, sheet_row, to_float
from onescan.contract._columns import (
    FIRST_SCAN_ORGAN_TO_WB_MAX,
    FIRST_WB_SCAN_MAX_H,
    LAB_UNIT_PATTERN,
    LAST_SCAN_MIN_H,
    PATIENT_SPECS,
    PLAUSIBLE,
    WHOLE_BODY_REGION,
)
from onescan.contract._errors import Problem

__all__ = ["implausible_values", "problems_to_flags"]


def implausible_values(pat: pd.DataFrame, sc: pd.DataFrame | None, P: str, S: str) -> list[Problem]:
    """Every implausible value of a patients and a scans table (as read, headers folded).

    Cells that are empty or not numbers are skipped (the validation reports those).

    Parameters
    ----------
    pat, sc : pandas.DataFrame
        Patients and scans (long form) tables, index 0..n-1; ``sc`` may be None.
    P, S : str
        File names used in the messages.

    Returns
    -------
    list of Problem
        One per implausible value or patient, each naming the patient when known.
    """
    out = _range_problems(pat, P) + _lab_problems(pat, P)
    if sc is not None and len(sc) and {"patient_id", "time_h", "region"} <= set(sc.columns):
        out += _range_problems(sc, S) + _scan_problems(sc, S)
    return out


def _range_problems(df: pd.DataFrame, label: str) -> list[Problem]:
    out = []
    for col, rng in PLAUSIBLE.items():
        if col not in df.columns:
            continue
        v = to_float(df[col]).to_numpy()
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(v) & ((v < rng.low) | (v > rng.high))
        for i in np.flatnonzero(bad):
            out.append(Problem(label, f"implausible value {v[i]:g} {rng.unit}: plausible {rng.low:g}–{rng.high:g} "
                                      f"{rng.unit} ({rng.reason}){rng.hint(float(v[i]))}", row=sheet_row(i),
                               column=col, patient_id=patient_at(df, i)))
    return out


def _lab_problems(pat: pd.DataFrame, label: str) -> list[Problem]:
    known = {c.name for c in PATIENT_SPECS}
    out = []
    for col in pat.columns:
        if col in known or not re.search(LAB_UNIT_PATTERN, str(col)):
            continue
        v = to_float(pat[col]).to_numpy()
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(v) & (v < 0)
        for i in np.flatnonzero(bad):
            out.append(Problem(label, f"implausible value {v[i]:g}: a lab value is never negative",
                               row=sheet_row(i), column=str(col), patient_id=patient_at(pat, i)))
    return out


def _net_rate(sc: pd.DataFrame) -> pd.Series:
    """Geometric mean of the net count rates (counts − background, per s), NaN without counts."""
    def col(c, default):
        return to_float(sc[c]).fillna(default) if c in sc.columns else pd.Series(default, index=sc.index)

    acq = col("acquisition_s", 1.0)
    ant = (col("counts_anterior", np.nan) - col("background_anterior", 0.0)).clip(lower=0) / acq
    post = (col("counts_posterior", np.nan) - col("background_posterior", 0.0)).clip(lower=0) / acq
    return np.sqrt(ant * post)


def _scan_problems(sc: pd.DataFrame, S: str) -> list[Problem]:
    """Per patient: organ above the whole body at the first scan, late first whole-body scan,
    times that look like days (vectorised over patients; problems in patient order)."""
    f = pd.DataFrame({"p": sc["patient_id"].map(as_id), "t": to_float(sc["time_h"]),
                      "r": sc["region"].map(as_region), "gm": _net_rate(sc),
                      "fi": to_float(sc["fraction_injected"]) if "fraction_injected" in sc.columns else np.nan})
    f = f[f["p"].notna() & f["t"].notna() & f["r"].notna()].astype({"p": object, "r": object})
    if f.empty:
        return []
    by = f.groupby("p", sort=False)["t"]
    t_first, t_last, n_times = by.min(), by.max(), by.nunique()
    wb_first = f[f["r"] == WHOLE_BODY_REGION].groupby("p", sort=False)["t"].min()
    late = wb_first[(wb_first > FIRST_WB_SCAN_MAX_H) & (wb_first == t_first.reindex(wb_first.index))]
    days = t_last[(n_times >= 2) & (t_last < LAST_SCAN_MIN_H)]
    ratios = _first_scan_ratios(f, t_first)
    flagged = set(late.index) | set(days.index) | set(ratios)
    out = []
    for pid in pd.unique(f["p"]):
        if pid not in flagged:
            continue
        if pid in late.index:
            out.append(Problem(S, f"implausible first {WHOLE_BODY_REGION} scan at {late[pid]:g} h (plausible "
                                  f"0–{FIRST_WB_SCAN_MAX_H:g} h): no first scan? The reference image of the "
                                  "administered activity is taken before the patient voids", column="time_h",
                               patient_id=pid))
        if pid in days.index:
            lo, hi = t_first[pid], t_last[pid]
            out.append(Problem(S, f"implausible scan times {lo:g}–{hi:g} h: the last scan is "
                                  f"expected at least {LAST_SCAN_MIN_H:g} h after the infusion "
                                  f"({lo:g}–{hi:g} looks like days)", column="time_h", patient_id=pid))
        out += [Problem(S, msg, column="region", patient_id=pid) for msg in ratios.get(pid, [])]
    return out


def _first_scan_ratios(f: pd.DataFrame, t_first: pd.Series) -> dict[str, list[str]]:
    """Each organ's first-scan fraction (or else count rate) against the whole body's, by patient.

    The fraction is compared first (against the whole body's, or 1 when it has none); only
    patients with no fraction above the limit are then compared by count rate.
    """
    first = f[f["t"] == f["p"].map(t_first)]
    is_wb = first["r"] == WHOLE_BODY_REGION
    wb = first[is_wb].groupby("p", sort=False)
    refs = {"fi": first["p"].map(wb["fi"].max()).fillna(1.0), "gm": first["p"].map(wb["gm"].max())}
    found: dict[str, list[str]] = {}
    for use in ("fi", "gm"):
        ref = refs[use].to_numpy(dtype=float)
        val = first[use].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = val / ref
        bad = (np.isfinite(ref) & (ref > 0) & ~is_wb.to_numpy() & ~np.isnan(val)
               & (ratio > FIRST_SCAN_ORGAN_TO_WB_MAX))
        if use == "gm":
            bad &= ~first["p"].isin(list(found)).to_numpy()
        what = "fraction_injected" if use == "fi" else "count rate"
        for pid, r, t, q in zip(first["p"].to_numpy()[bad], first["r"].to_numpy()[bad],
                                first["t"].to_numpy()[bad], ratio[bad]):
            found.setdefault(pid, []).append(
                f"implausible first-scan {r} {what}: {q:.3g} × the {WHOLE_BODY_REGION}'s at {t:g} h, at most "
                f"{FIRST_SCAN_ORGAN_TO_WB_MAX:g} × is possible (the whole body holds every organ: counts too "
                "high, or regions swapped?)")
    return found


def problems_to_flags(problems: list[Problem]) -> dict[str, list[str]]:
    """Per-patient flags (``--allow-implausible``): patient id → messages (column named)."""
    flags: dict[str, list[str]] = {}
    for p in problems:
        key = p.patient_id if p.patient_id is not None else ""
        message = p.message
        for rng in PLAUSIBLE.values():  # the reason is in the documentation; the flag stays short
            message = message.replace(f" ({rng.reason})", "")
        text = (f"{p.column}: " if p.column and p.column not in ("region", "time_h") else "") + message
        flags.setdefault(key, []).append(text)
    return flags
