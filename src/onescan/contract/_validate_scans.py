"""Checks of the scans table: its columns, and the cross-table checks (plain pandas).

Unknown patients, duplicate scans and, for the dosimetry, usable rows, scans for every
patient, enough time points of the dose-limiting organ's region (from the organ
registry) and a whole-body reference image at the first scan time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from onescan.contract._cells import as_id, as_region, is_missing, patient_at, sheet_row, to_float
from onescan.contract._column_checks import id_problems, numeric_problems
from onescan.contract._columns import (
    SCAN_COUNT_COLUMNS,
    SCAN_NUMERIC_RULES,
    SCAN_REQUIRED,
    WHOLE_BODY_REGION,
    time_point_label,
    time_point_region,
)
from onescan.contract._errors import Problem
from onescan.contract._headers import columns_found, did_you_mean
from onescan.contract._problems import ProblemCollector

__all__ = ["check_scans"]


@dataclass(frozen=True)
class _ScanKeys:
    """The parsed key of every scan row (NaN/None where the cell is empty or bad)."""

    pid: pd.Series
    t: pd.Series
    region: pd.Series


def check_scans(pat: pd.DataFrame, sc: pd.DataFrame | None, probs: ProblemCollector, *, patients_label: str,
                scans_label: str, need_dosimetry: bool, min_points: int, need_scans: bool) -> None:
    """Every check of the scans table (see :func:`onescan.contract._validate.validate_cohort`).

    Parameters
    ----------
    pat : pandas.DataFrame
        Patients table as read, index 0..n-1.
    sc : pandas.DataFrame or None
        Scans table as read, index 0..n-1; None when absent.
    probs : ProblemCollector
        Receives the problems.
    patients_label, scans_label : str
        File names used in the messages.
    need_dosimetry : bool
        Check what the reference dosimetry needs.
    min_points : int
        Minimum distinct scan times (h) of the dose-limiting organ's region per patient.
    need_scans : bool
        Require a non-empty scans table.
    """
    S = scans_label
    if sc is None or (len(sc) == 0 and len(sc.columns) == 0):
        if need_scans:
            probs.add("s:empty", Problem(S, "no scans table given"))
        return
    if not _column_problems(sc, S, probs, need_dosimetry=need_dosimetry, need_scans=need_scans):
        return
    keys = _ScanKeys(pid=sc["patient_id"].map(as_id), t=to_float(sc["time_h"]),
                     region=sc["region"].map(as_region))
    _duplicate_problems(keys, S, probs)
    if "patient_id" in pat.columns:
        _unknown_patient_problems(pat, keys, patients_label, S, probs)
    if need_dosimetry:
        fi = _usable_row_problems(sc, keys, S, probs)
        _time_point_problems(pat, sc, keys, fi, patients_label, S, probs, min_points)
    elif need_scans:
        # the scans are read for first-scan features, whose reference is the first whole-body image:
        # the same check as the dosimetry's (``validate --for predict`` and ``predict`` agree)
        fi = to_float(sc["fraction_injected"]) if "fraction_injected" in sc.columns else pd.Series(np.nan, index=sc.index)
        _time_point_problems(pat, sc, keys, fi, patients_label, S, probs, min_points, whole_body_only=True)


def _column_problems(sc: pd.DataFrame, S: str, probs: ProblemCollector, *, need_dosimetry: bool,
                     need_scans: bool) -> bool:
    """Missing columns, empty table, ids, numbers, empty keys; True when the key columns exist."""
    has_fraction = "fraction_injected" in sc.columns
    for c in SCAN_REQUIRED:
        if c not in sc.columns:
            probs.add("s:missing-col", Problem(S, "missing required column" + did_you_mean(c, sc.columns) + "; "
                                               + columns_found(sc.columns), column=c))
    for c in SCAN_COUNT_COLUMNS:
        if c not in sc.columns and not has_fraction and (need_dosimetry or need_scans):
            probs.add("s:missing-col",
                      Problem(S, f"missing required column ({' and '.join(SCAN_COUNT_COLUMNS)} are needed "
                                 "unless fraction_injected is given)", column=c))
    if len(sc) == 0 and need_scans:
        probs.add("s:empty", Problem(S, "the scans table has no rows"))
    if "patient_id" in sc.columns:
        id_problems(sc, S, probs, unique=False)
    numeric_problems(sc, SCAN_NUMERIC_RULES, S, probs)
    if "time_h" in sc.columns:
        for i in np.flatnonzero(sc["time_h"].map(is_missing).to_numpy(dtype=bool)):
            probs.add("s:time-missing", Problem(S, "empty time_h", row=sheet_row(i), column="time_h",
                                                patient_id=patient_at(sc, i)))
    if "region" in sc.columns:
        for i in np.flatnonzero(sc["region"].map(is_missing).to_numpy(dtype=bool)):
            probs.add("s:region-missing", Problem(S, "empty region", row=sheet_row(i), column="region",
                                                  patient_id=patient_at(sc, i)))
    return all(c in sc.columns for c in SCAN_REQUIRED)


def _duplicate_problems(keys: _ScanKeys, S: str, probs: ProblemCollector) -> None:
    """Duplicate (patient, time, region)."""
    key = pd.DataFrame({"p": keys.pid, "t": keys.t, "r": keys.region})
    ok = key.notna().all(axis=1)
    dup = ok & key.duplicated(keep=False)
    seen: dict[tuple, int] = {}
    for i in np.flatnonzero(dup.to_numpy()):
        k = (key["p"].iloc[i], key["t"].iloc[i], key["r"].iloc[i])
        if k not in seen:
            seen[k] = sheet_row(i)
            continue
        probs.add("s:dup", Problem(S, f"duplicate scan: patient {k[0]}, time_h {k[1]:g}, region {k[2]!r} "
                                      f"(first seen in row {seen[k]})", row=sheet_row(i), column="region",
                                   patient_id=k[0]))


def _unknown_patient_problems(pat: pd.DataFrame, keys: _ScanKeys, P: str, S: str,
                              probs: ProblemCollector) -> None:
    """Scans of patients who are not in the patients table (one problem per patient)."""
    known_ids = set(pat["patient_id"].map(as_id)) - {None}
    unknown: dict[str, list[int]] = {}
    for i, p in enumerate(keys.pid.tolist()):
        if p is not None and p not in known_ids:
            unknown.setdefault(p, []).append(i)
    for p, rows in unknown.items():
        n = len(rows)
        probs.add("s:unknown", Problem(S, f"scans for patient {p!r} ({n} row{'s' if n != 1 else ''}), who is "
                                          f"not in the patients table ({P})", row=sheet_row(rows[0]),
                                       column="patient_id", patient_id=p))


def _usable_row_problems(sc: pd.DataFrame, keys: _ScanKeys, S: str, probs: ProblemCollector) -> pd.Series:
    """Rows with neither counts in both views nor ``fraction_injected``; returns ``fraction_injected``."""
    def col(c):
        return to_float(sc[c]) if c in sc.columns else pd.Series(np.nan, index=sc.index)

    fi, ca, cp = col("fraction_injected"), col("counts_anterior"), col("counts_posterior")
    has_counts = ca.notna() & cp.notna()
    usable = has_counts | fi.notna()
    if all(c in sc.columns for c in SCAN_COUNT_COLUMNS) or "fraction_injected" in sc.columns:
        for i in np.flatnonzero((~usable).to_numpy()):
            # a cell holding a bad value is already reported as non-numeric
            cells_bad = any(c in sc.columns and not is_missing(sc[c].iloc[i]) and np.isnan(v.iloc[i])
                            for c, v in (("counts_anterior", ca), ("counts_posterior", cp),
                                         ("fraction_injected", fi)))
            if not cells_bad:
                probs.add("s:unusable-row",
                          Problem(S, f"neither counts in both views ({', '.join(SCAN_COUNT_COLUMNS)}) "
                                     "nor fraction_injected", row=sheet_row(i), patient_id=keys.pid.iloc[i]))
    return fi


def _time_point_problems(pat: pd.DataFrame, sc: pd.DataFrame, keys: _ScanKeys, fi: pd.Series, P: str, S: str,
                         probs: ProblemCollector, min_points: int, whole_body_only: bool = False) -> None:
    """Per patient: scans at all, enough time points of the organ's region, a whole-body
    image at the first scan time (unless every row gives ``fraction_injected``); with
    ``whole_body_only`` only the last, for the patients that have scans."""
    frame = pd.DataFrame({"p": keys.pid, "t": keys.t, "r": keys.region, "fi": fi})
    uncertain = set(frame.loc[frame["t"].isna() | frame["r"].isna(), "p"].dropna())
    frame = frame[frame["p"].notna() & frame["t"].notna() & frame["r"].notna()]
    # per-patient aggregates, vectorised (cohorts of 10,000 patients validate in about a second)
    frame = frame.astype({"p": object, "r": object})
    by = frame.groupby("p", sort=False)
    t_first = by["t"].min()
    n_points = frame[frame["r"] == time_point_region()].groupby("p", sort=False)["t"].nunique()
    n_points = n_points.reindex(t_first.index, fill_value=0)
    needs_wb = (frame["fi"].isna() & (frame["r"] != WHOLE_BODY_REGION)).groupby(frame["p"], sort=False).any()
    at_first = frame["t"].to_numpy() == frame["p"].map(t_first).to_numpy(dtype=float)
    has_wb_first = pd.Series((frame["r"] == WHOLE_BODY_REGION).to_numpy() & at_first,
                             index=frame.index).groupby(frame["p"], sort=False).any()
    if "patient_id" not in pat.columns:
        return
    what = time_point_label()
    for i, p in enumerate(pat["patient_id"].map(as_id).tolist()):
        if p is None:
            continue
        if p not in t_first.index:
            if len(sc) == 0 or whole_body_only:
                continue  # already reported: the scans table has no rows
            probs.add("s:no-scans", Problem(P, f"patient has no scans in {S}", row=sheet_row(i),
                                            column="patient_id", patient_id=p))
            continue
        n = int(n_points[p])
        if n < min_points and not whole_body_only:
            probs.add("s:organ-points",
                      Problem(S, f"patient has {n} {what} time point{'s' if n != 1 else ''}, "
                                 f"at least {min_points} needed", column="region", patient_id=p))
        if whole_body_only and p in uncertain:
            continue  # a bad time or region cell (reported) leaves the first scan unknown
        if needs_wb[p] and not has_wb_first[p]:
            probs.add("s:no-wb",
                      Problem(S, f"no {WHOLE_BODY_REGION} row at the first scan time ({t_first[p]:g} h): it is "
                                 "the reference for the administered activity (or give "
                                 "fraction_injected on every row)", column="region", patient_id=p))
