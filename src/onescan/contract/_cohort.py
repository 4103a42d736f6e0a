"""The data contract of SPEC §1: a cohort is a ``patients`` table and a ``scans`` table.

:func:`load_cohort` reads both tables (or takes DataFrames), checks them with
:func:`validate_cohort` — which reports **every** problem at once, each with file,
spreadsheet row, patient id and column — and returns a :class:`Cohort` whose
tables are in canonical form (:func:`normalise_patients`, :func:`normalise_scans`):

* ``patients``: ``patient_id`` (str), ``dosimetric_activity_mbq`` (MBq),
  ``liver_mass_g`` (g), ``prescribed_activity_mci`` (mCi, when given), ``sex``
  (``"F"``/``"M"``), every other column unchanged (numeric text becomes float).
* ``scans``: ``patient_id``, ``time_h`` (h), ``region`` (lower case, ``_`` for blanks),
  ``counts_anterior``/``counts_posterior`` (counts), ``background_*`` (counts, 0
  when absent), ``acquisition_s`` (s, 1 when absent), ``thickness_cm`` (cm, NaN
  when absent), ``fraction_injected`` (NaN when absent); sorted by patient (in
  patients-file order), time and region.

The known columns are declared once in :mod:`onescan.contract._columns`; the checks
live in :mod:`onescan.contract._validate` (per-column checks with pandera,
cross-table checks of the scans in plain pandas), the canonical form in
:mod:`onescan.contract._normalise`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from onescan.contract._columns import UNIT_FAMILIES, families_required_by
from onescan.contract._errors import InputError, Problem
from onescan.contract._io import find_cohort_files, read_table
from onescan.contract._normalise import empty_scans, normalise_patients, normalise_scans, sort_scans
from onescan.contract._problems import MAX_PROBLEMS_PER_RULE
from onescan.contract._validate import validate_cohort

__all__ = [
    "Cohort",
    "load_cohort",
    "validate_cohort",
    "normalise_patients",
    "normalise_scans",
    "UNIT_FAMILIES",
    "MAX_PROBLEMS_PER_RULE",
    "PURPOSES",
    "rules_for",
]

logger = logging.getLogger(__name__)


@dataclass
class Cohort:
    """A validated cohort in canonical form.

    Attributes
    ----------
    patients : pandas.DataFrame
        One row per patient, file order, index 0..n-1 (canonical columns, see module doc).
    scans : pandas.DataFrame
        One row per patient × time (h) × region, canonical columns; empty only when
        scans were not needed.
    sources : dict of str to str
        ``{"patients": path-or-label, "scans": path-or-label}``.
    """

    patients: pd.DataFrame
    scans: pd.DataFrame
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def patient_ids(self) -> list[str]:
        """Patient identifiers in file order."""
        return self.patients["patient_id"].tolist()


# --------------------------------------------------------------------------- loading


_DOSE_RULES = dict(need_dosimetry=True, min_liver_points=2, need_target=False, need_activity=True,
                   need_scans=True)
_FIRST_SCAN_RULES = dict(_DOSE_RULES, min_liver_points=1, need_activity=False)


def _train_rules(columns: set[str]) -> dict:
    """With a prescribed activity column the target is given (first-scan rules); else as ``dose``."""
    if columns & set(families_required_by("target")[0].columns):
        return dict(_FIRST_SCAN_RULES, need_target=True)
    return dict(_DOSE_RULES)


#: What a cohort is checked for → its rules from the patients columns: ``dose`` (full
#: reference dosimetry), ``train`` (a target: prescribed activity, or full dosimetry to
#: compute it), ``predict`` (first-scan features only).
_PURPOSE_RULES = {
    "dose": lambda columns: dict(_DOSE_RULES),
    "train": _train_rules,
    "predict": lambda columns: dict(_FIRST_SCAN_RULES),
}

#: What a cohort is checked for: ``dose``, ``train``, ``predict`` (see :func:`rules_for`).
PURPOSES = tuple(_PURPOSE_RULES)


def rules_for(purpose: str, patient_columns=()) -> dict:
    """Keyword arguments of :func:`load_cohort` for a purpose.

    Parameters
    ----------
    purpose : {"dose", "train", "predict"}
        ``dose``: dosimetric activity, the dose-limiting organ's (liver) mass and ≥ 2 time
        points of its region per patient.
        ``train``: with a ``prescribed_activity_mci``/``_mbq`` column, the target is
        required and one time point of the organ suffices (the features come from the
        first scan); without it the target is computed by the dosimetry, so as ``dose``.
        ``predict``: one time point of the organ, no dosimetric activity needed.
    patient_columns : iterable of str
        Column names of the patients table (used by ``train``).

    Returns
    -------
    dict
        ``need_dosimetry``, ``min_liver_points``, ``need_target``, ``need_activity``,
        ``need_scans``.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}")
    return _PURPOSE_RULES[purpose]({str(c).strip() for c in patient_columns})


def _resolve(src, label_default: str) -> tuple[pd.DataFrame | None, str]:
    """A table given as None, a DataFrame (copied) or a path (read), and its label."""
    if src is None:
        return None, label_default
    if isinstance(src, pd.DataFrame):
        return src.copy(), label_default
    p = Path(os.fspath(src))
    return read_table(p), str(p)


def load_cohort(patients=None, scans=None, folder=None, *, need_dosimetry: bool = True,
                min_liver_points: int = 2, need_target: bool = False, need_scans: bool = True,
                need_activity: bool | None = None) -> Cohort:
    """Read, validate and normalise a cohort (SPEC §1).

    Parameters
    ----------
    patients : path-like or pandas.DataFrame, optional
        Patients table (.csv/.xlsx/.parquet) or a DataFrame (labelled ``<patients>``
        in messages).
    scans : path-like or pandas.DataFrame, optional
        Scans table or DataFrame (labelled ``<scans>``).
    folder : path-like, optional
        Cohort folder holding ``patients.*`` and ``scans.*``; used for whichever of
        ``patients``/``scans`` is not given.
    need_dosimetry : bool, default True
        Require what the reference dosimetry needs (see :func:`validate_cohort`).
    min_liver_points : int, default 2
        Minimum distinct scan times of the dose-limiting organ's (liver) region per
        patient (with ``need_dosimetry``).
    need_target : bool, default False
        Require the prescribed activity (mCi or MBq) for every patient.
    need_scans : bool, default True
        Require a scans table; when False and none is given, ``Cohort.scans`` is an
        empty canonical frame.
    need_activity : bool or None, default None
        Require the dosimetric activity; None means ``need_dosimetry``.

    Returns
    -------
    Cohort
        Canonical tables (see module doc) and their sources.

    Raises
    ------
    InputError
        With every problem found (files missing or unreadable, or any data-contract
        violation).
    """
    pat_df, scan_df, P, S = _read_sources(patients, scans, folder, need_scans=need_scans)
    problems = validate_cohort(pat_df, scan_df, patients_label=P, scans_label=S,
                               need_dosimetry=need_dosimetry, min_liver_points=min_liver_points,
                               need_target=need_target, need_activity=need_activity, need_scans=need_scans)
    if problems:
        logger.info("cohort validation failed with %d problems", len(problems))
        raise InputError(problems)
    pats = normalise_patients(pat_df)
    if scan_df is None or len(scan_df.columns) == 0:
        scs = empty_scans()
    else:
        scs = sort_scans(normalise_scans(scan_df), list(pats["patient_id"]))
    logger.debug("loaded cohort: %d patients, %d scan rows", len(pats), len(scs))
    return Cohort(patients=pats, scans=scs, sources={"patients": P, "scans": S})


def _read_sources(patients, scans, folder, *, need_scans: bool):
    """The two tables as read and their labels; InputError listing every file problem."""
    problems: list[Problem] = []
    if folder is not None and (patients is None or scans is None):
        try:
            fp, fs = find_cohort_files(folder, require_scans=need_scans and scans is None)
        except InputError as exc:
            fp = fs = None
            problems.extend(exc.problems)
        if patients is None:
            patients = fp
        if scans is None:
            scans = fs
    if patients is None and not problems:
        problems.append(Problem("<patients>", "no patients table given (give a cohort folder or a patients file)"))
    if scans is None and need_scans and not problems:
        problems.append(Problem("<scans>", "no scans table given (give a cohort folder or a scans file)"))
    pat_df = scan_df = None
    P, S = "<patients>", "<scans>"
    for which in ("patients", "scans"):
        src = patients if which == "patients" else scans
        try:
            df, label = _resolve(src, f"<{which}>")
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if which == "patients":
            pat_df, P = df, label
        else:
            scan_df, S = df, label
    if problems:
        raise InputError(problems)
    return pat_df, scan_df, P, S
