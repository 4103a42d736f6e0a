"""Scans tables as clinics keep them (SPEC §1.2), converted to the long form.

* **Session form**: one row per patient × scan time with a column per region and per-row
  quantity, ``<region>_<column>`` (``liver_counts_anterior``, ``whole_body_background_posterior``,
  ``spleen_fraction_injected`` …); ``acquisition_s`` (or any per-row column) may be one shared
  column. Each row becomes one long row per region with a value.
* **Date-times**: ``scan_datetime`` (ISO 8601 text, a spreadsheet date-time cell, or a
  spreadsheet serial day number) with ``infusion_end_datetime`` in the patients table gives
  ``time_h``, the hours between them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from onescan.contract._cells import as_id, fmt_value, is_missing, patient_at, sheet_row
from onescan.contract._columns import SCAN_SPECS
from onescan.contract._errors import Problem

__all__ = ["ROW_COLUMN", "SCAN_DATETIME", "INFUSION_END_DATETIME", "is_session_form", "session_to_long",
           "datetimes_to_hours"]

#: Hidden column carrying the source row (0-based) of a converted scans row, for the messages.
ROW_COLUMN = "_source_row"
#: Scan date-time column (instead of ``time_h``).
SCAN_DATETIME = "scan_datetime"
#: End of the dosimetric infusion, in the patients table (with ``scan_datetime``).
INFUSION_END_DATETIME = "infusion_end_datetime"
#: Spreadsheet day 0 (Excel and LibreOffice serial date-times count days from it).
_SPREADSHEET_EPOCH = pd.Timestamp("1899-12-30")

#: The per-row quantities of a scan (every scans column except the keys), longest first so
#: ``x_source_thickness_cm`` is not read as region ``x_source`` of ``thickness_cm``.
_KEYS = ("patient_id", "time_h", "region")
_PER_ROW = sorted((c.name for c in SCAN_SPECS if c.name not in _KEYS), key=len, reverse=True)


def _split(column: str) -> tuple[str, str] | None:
    """``"whole_body_counts_anterior"`` → ``("whole_body", "counts_anterior")``; None otherwise."""
    for q in _PER_ROW:
        if column.endswith("_" + q) and len(column) > len(q) + 1:
            return column[: -len(q) - 1], q
    return None


def is_session_form(columns) -> bool:
    """True for a scans table without ``region`` and with ``<region>_<column>`` columns."""
    cols = [str(c) for c in columns]
    return "region" not in cols and any(_split(c) for c in cols)


def session_to_long(sc: pd.DataFrame) -> pd.DataFrame:
    """One long row per session row × region that has a value (SPEC §1.2).

    Parameters
    ----------
    sc : pandas.DataFrame
        Session-form scans table (index 0..n-1).

    Returns
    -------
    pandas.DataFrame
        Long form: ``patient_id``, ``time_h`` (and/or ``scan_datetime``), ``region``, the
        per-row columns, the other (shared) columns, and :data:`ROW_COLUMN` (source row).
    """
    by_region: dict[str, dict[str, str]] = {}
    for c in sc.columns:
        hit = _split(str(c))
        if hit:
            by_region.setdefault(hit[0], {})[hit[1]] = c
    region_cols = {c for cols in by_region.values() for c in cols.values()}
    shared = [c for c in sc.columns if c not in region_cols]
    parts = []
    for region, cols in by_region.items():
        block = sc[shared].copy()
        for q, c in cols.items():
            block[q] = sc[c]
        has_value = sc[list(cols.values())].apply(lambda s: ~s.map(is_missing)).any(axis=1)
        block = block[has_value.to_numpy()]
        block.insert(min(2, len(block.columns)), "region", region)
        block[ROW_COLUMN] = block.index
        parts.append(block)
    out = pd.concat(parts, ignore_index=False) if parts else sc.assign(region=pd.Series(dtype=object))
    out = out.sort_values(ROW_COLUMN, kind="mergesort") if ROW_COLUMN in out.columns else out
    return out.reset_index(drop=True)


def _parse_datetimes(s: pd.Series) -> pd.Series:
    """Date-times from ISO 8601 text, date-time cells or spreadsheet serial days; NaT when bad."""
    def one(v):
        if is_missing(v):
            return pd.NaT
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            return _SPREADSHEET_EPOCH + pd.to_timedelta(float(v), unit="D") if np.isfinite(v) else pd.NaT
        try:
            t = pd.Timestamp(str(v).strip()) if isinstance(v, str) else pd.Timestamp(v)
        except (ValueError, TypeError, OverflowError):
            return pd.NaT
        if t is pd.NaT:
            return pd.NaT
        return t.tz_convert(None) if t.tzinfo is not None else t

    return pd.Series([one(v) for v in s.tolist()], index=s.index, dtype="datetime64[ns]")


def datetimes_to_hours(pat: pd.DataFrame, sc: pd.DataFrame, P: str, S: str) -> tuple[pd.DataFrame, list[Problem]]:
    """``time_h`` from ``scan_datetime`` and the patient's ``infusion_end_datetime``.

    Parameters
    ----------
    pat, sc : pandas.DataFrame
        Patients and scans tables (long form), headers folded.
    P, S : str
        File names used in the messages.

    Returns
    -------
    (pandas.DataFrame, list of Problem)
        The scans table with ``time_h`` (hours, float) where it was absent, and the problems
        (a bad date-time, no ``infusion_end_datetime`` column or value).
    """
    if SCAN_DATETIME not in sc.columns or "time_h" in sc.columns:
        return sc, []
    problems: list[Problem] = []
    if INFUSION_END_DATETIME not in pat.columns:
        return sc, [Problem(P, f"{SCAN_DATETIME} in the scans needs the column {INFUSION_END_DATETIME} "
                               "(end of the dosimetric infusion) in the patients table",
                            column=INFUSION_END_DATETIME)]
    end_raw = pat[INFUSION_END_DATETIME]
    end = _parse_datetimes(end_raw)
    for i in np.flatnonzero((end.isna() & ~end_raw.map(is_missing)).to_numpy()):
        problems.append(Problem(P, f"not a date-time: {fmt_value(end_raw.iloc[i])} (ISO 8601 such as "
                                   "2024-03-05 14:30, or a spreadsheet date-time)", row=sheet_row(i),
                                column=INFUSION_END_DATETIME, patient_id=patient_at(pat, i)))
    ids = pat["patient_id"].map(as_id) if "patient_id" in pat.columns else pd.Series([None] * len(pat))
    end_by_id = dict(zip(ids.tolist(), end.tolist()))
    scan_raw = sc[SCAN_DATETIME]
    scan_t = _parse_datetimes(scan_raw)
    pids = sc["patient_id"].map(as_id) if "patient_id" in sc.columns else pd.Series([None] * len(sc))
    hours = []
    for i, (pid, t) in enumerate(zip(pids.tolist(), scan_t.tolist())):
        t0 = end_by_id.get(pid, pd.NaT)
        if pd.isna(t) and not is_missing(scan_raw.iloc[i]):
            problems.append(Problem(S, f"not a date-time: {fmt_value(scan_raw.iloc[i])} (ISO 8601 such as "
                                       "2024-03-06 09:00, or a spreadsheet date-time)", row=sheet_row(i),
                                    column=SCAN_DATETIME, patient_id=pid))
        elif not pd.isna(t) and pd.isna(t0) and pid in end_by_id:
            problems.append(Problem(P, f"no {INFUSION_END_DATETIME} for a patient whose scans give "
                                       f"{SCAN_DATETIME}", column=INFUSION_END_DATETIME, patient_id=pid))
        hours.append((t - t0) / pd.Timedelta(hours=1) if not (pd.isna(t) or pd.isna(t0)) else np.nan)
    out = sc.copy()
    pos = list(out.columns).index(SCAN_DATETIME)
    out.insert(pos, "time_h", np.asarray(hours, dtype=float))
    return out, list(dict.fromkeys(problems))
