"""Checking a patients and a scans table against the data contract (SPEC §1).

:func:`validate_cohort` reports **every** problem at once, each with file, spreadsheet
row, patient id and column. The known columns, their units and ranges come from
:mod:`onescan.contract._columns`. Per-column checks (types and ranges) use pandera with
``lazy=True`` (:mod:`onescan.contract._column_checks`); the cross-table checks of the scans (unknown
patients, duplicate scans, enough time points of the dose-limiting organ, a whole-body
reference image…) are plain pandas (:mod:`onescan.contract._validate_scans`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from onescan.contract._cells import fmt_value, is_missing, patient_at, sheet_row, to_float
from onescan.contract._column_checks import id_problems, numeric_problems, numeric_text_columns
from onescan.contract._columns import FAMILIES, PATIENT_NUMERIC_RULES, PATIENT_SPECS, SEX_CODES, UnitFamily
from onescan.contract._errors import Problem
from onescan.contract._headers import columns_found, did_you_mean
from onescan.contract._problems import MAX_PROBLEMS_PER_RULE, ProblemCollector
from onescan.contract._validate_scans import check_scans

__all__ = ["validate_cohort", "check_patients", "UNIT_AGREEMENT_RTOL"]

#: Relative tolerance when the same quantity is given in two units.
UNIT_AGREEMENT_RTOL = 1e-3


def validate_cohort(patients_df: pd.DataFrame, scans_df: pd.DataFrame | None, *, patients_label: str,
                    scans_label: str, need_dosimetry: bool = True, min_liver_points: int = 2,
                    need_target: bool = False, need_activity: bool | None = None,
                    need_scans: bool = True) -> list[Problem]:
    """Check a patients and a scans table against the data contract (SPEC §1).

    Parameters
    ----------
    patients_df : pandas.DataFrame
        Patients table as read (one row per patient).
    scans_df : pandas.DataFrame or None
        Scans table as read (one row per patient × time × region); None when absent.
    patients_label, scans_label : str
        File names (or labels) used in the messages.
    need_dosimetry : bool, default True
        Require what the reference dosimetry needs: the dose-limiting organ's (liver) mass
        (g) for every patient, dosimetric activity (see ``need_activity``), scans for
        every patient, a whole-body image at the first scan time, ``min_liver_points``
        time points of the organ's region and, on every scan row, counts in both views
        or ``fraction_injected``.
    min_liver_points : int, default 2
        Minimum number of distinct scan times (h) of the dose-limiting organ's region per
        patient (with ``need_dosimetry``).
    need_target : bool, default False
        Require ``prescribed_activity_mci`` (or ``_mbq``) for every patient.
    need_activity : bool or None, default None
        Require the dosimetric activity (mCi or MBq); None means ``need_dosimetry``.
    need_scans : bool, default True
        Require a non-empty scans table.

    Returns
    -------
    list of Problem
        Every problem found (empty when the input is valid), at most
        :data:`~onescan.contract._problems.MAX_PROBLEMS_PER_RULE` listed per kind of problem.
    """
    if need_activity is None:
        need_activity = need_dosimetry
    # Row numbers are positions in the file (header = row 1), whatever the index.
    patients_df = patients_df.reset_index(drop=True)
    if scans_df is not None:
        scans_df = scans_df.reset_index(drop=True)
    probs = ProblemCollector(MAX_PROBLEMS_PER_RULE)
    needs = {"activity": need_activity, "dosimetry": need_dosimetry, "target": need_target}
    check_patients(patients_df, patients_label, probs, needs)
    check_scans(patients_df, scans_df, probs, patients_label=patients_label, scans_label=scans_label,
                need_dosimetry=need_dosimetry, min_points=min_liver_points, need_scans=need_scans)
    return probs.to_list()


# --------------------------------------------------------------------------- patients


def check_patients(pat: pd.DataFrame, label: str, probs: ProblemCollector, needs: dict[str, bool]) -> None:
    """Every check of the patients table.

    Parameters
    ----------
    pat : pandas.DataFrame
        Patients table as read, index 0..n-1.
    label : str
        File name used in the messages.
    probs : ProblemCollector
        Receives the problems.
    needs : dict of str to bool
        Which quantities are required (``activity``, ``dosimetry``, ``target``; see
        :attr:`onescan.contract._columns.UnitFamily.required_by`).
    """
    has_pid = "patient_id" in pat.columns
    if not has_pid:
        probs.add("p:missing-col", Problem(label, "missing required column (accepted: patient_id)"
                                           + did_you_mean("patient_id", pat.columns) + "; "
                                           + columns_found(pat.columns), column="patient_id"))
    if len(pat) == 0:
        probs.add("p:empty", Problem(label, "the patients table has no rows"))
    if has_pid:
        id_problems(pat, label, probs, unique=True)
    known = {c.name for c in PATIENT_SPECS}
    extra_numeric = numeric_text_columns(pat, skip=known)
    numeric_problems(pat, PATIENT_NUMERIC_RULES, label, probs, extra_numeric=extra_numeric)
    for fam in FAMILIES:
        required = bool(fam.required_by and needs[fam.required_by])
        _family_problems(pat, fam, required, label, probs)
    if "sex" in pat.columns:
        _sex_problems(pat, label, probs)


def _family_problems(pat: pd.DataFrame, fam: UnitFamily, required: bool, label: str,
                     probs: ProblemCollector) -> None:
    """A quantity given in either of several units: present when required, units agreeing."""
    units = fam.columns
    present = [c for c in units if c in pat.columns]
    if not present:
        if required:
            probs.add(f"p:unit:{fam.name}",
                      Problem(label, f"missing {fam.name}: give one of the columns " + " or ".join(units)
                              + fam.hint + _closest(units, pat.columns), column=fam.canonical))
        return
    conv = {c: to_float(pat[c]) * f for c, f in units.items() if c in present}
    if len(present) == 2:
        a, b = (conv[c] for c in present)
        both = a.notna() & b.notna() & (a > 0) & (b > 0)
        bad = both & ((a - b).abs() > UNIT_AGREEMENT_RTOL * np.maximum(a.abs(), b.abs()))
        for i in np.flatnonzero(bad.to_numpy()):
            va, vb = pat[present[0]].iloc[i], pat[present[1]].iloc[i]
            probs.add(f"p:unit-disagree:{fam.name}",
                      Problem(label, f"{present[0]} = {fmt_value(va)} and {present[1]} = {fmt_value(vb)} "
                                     f"disagree (by more than {UNIT_AGREEMENT_RTOL:.1%}); give one or make "
                                     "them agree", row=sheet_row(i), column=present[0],
                              patient_id=patient_at(pat, i)))
    if required:
        raw_missing = np.ones(len(pat), dtype=bool)
        for c in present:
            raw_missing &= pat[c].map(is_missing).to_numpy(dtype=bool)
        for i in np.flatnonzero(raw_missing):
            probs.add(f"p:unit-missing-value:{fam.name}",
                      Problem(label, f"no {fam.name} value (needed; columns " + " or ".join(present) + ")",
                              row=sheet_row(i), column=present[0], patient_id=patient_at(pat, i)))


def _closest(wanted, found) -> str:
    """The first "did you mean" of any of the ``wanted`` names among the columns ``found``."""
    for w in wanted:
        hint = did_you_mean(w, found)
        if hint:
            return hint
    return ""


def _sex_problems(pat: pd.DataFrame, label: str, probs: ProblemCollector) -> None:
    for i, v in enumerate(pat["sex"].tolist()):
        if is_missing(v):
            continue
        if str(v).strip().lower() not in SEX_CODES:
            probs.add("p:sex", Problem(label, f"sex must be F or M (also accepted: f, m, female, male), "
                                              f"got {fmt_value(v)}", row=sheet_row(i), column="sex",
                                       patient_id=patient_at(pat, i)))
