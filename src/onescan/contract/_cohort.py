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
from dataclasses import dataclass, field

import pandas as pd

from onescan.contract._columns import UNIT_FAMILIES, families_required_by
from onescan.contract._errors import InputError
from onescan.contract._normalise import empty_scans, normalise_patients, normalise_scans, sort_scans
from onescan.contract._plausible import implausible_values, problems_to_flags
from onescan.contract._prepare import derive_bsa as mosteller_bsa
from onescan.contract._prepare import prepare_tables, read_cohort_tables, source_rows
from onescan.contract._session import INFUSION_END_DATETIME, ROW_COLUMN
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
    notes : list of str
        What was detected while reading (separator, decimal comma, encoding, renamed headers,
        session form, date-times, derived columns), one sentence each, to report once.
    flags : dict of str to list of str
        Patient id → implausible values let through by ``allow_implausible`` (SPEC §1.3).
    """

    patients: pd.DataFrame
    scans: pd.DataFrame
    sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flags: dict[str, list[str]] = field(default_factory=dict)

    def flags_for(self, patient_id) -> str:
        """The patient's input flags (implausible values allowed with ``--allow-implausible``),
        ``"; "``-separated, ``""`` when none."""
        return "; ".join(self.flags.get(str(patient_id), []))

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


def load_cohort(patients=None, scans=None, folder=None, *, need_dosimetry: bool = True,
                min_liver_points: int = 2, need_target: bool = False, need_scans: bool = True,
                need_activity: bool | None = None, allow_implausible: bool = True,
                derive_bsa: bool = False) -> Cohort:
    """Read, validate and normalise a cohort (SPEC §1).

    Parameters
    ----------
    patients : path-like or pandas.DataFrame, optional
        Patients table (.csv/.xlsx/.parquet) or a DataFrame (labelled ``<patients>``
        in messages).
    scans : path-like or pandas.DataFrame, optional
        Scans table or DataFrame (labelled ``<scans>``), long or session form (SPEC §1.2).
    folder : path-like, optional
        Cohort folder holding ``patients.*`` and ``scans.*``, or one workbook (.xlsx) with
        sheets ``patients`` and ``scans``; used for whichever of ``patients``/``scans`` is
        not given.
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
    allow_implausible : bool, default True
        Implausible values (SPEC §1.3) are per-patient flags (``Cohort.flags``); False makes
        them problems (the command line's default: see
        :func:`onescan.cli._options.cohort_from_options`, ``--allow-implausible``).
    derive_bsa : bool, default False
        Without a ``bsa_m2`` column, add it from ``height_cm`` and ``weight_kg`` (Mosteller),
        with a note (the command line's default).

    Returns
    -------
    Cohort
        Canonical tables (see module doc), their sources, notes and flags.

    Raises
    ------
    InputError
        With every problem found (files missing or unreadable, or any data-contract
        violation, implausible values unless allowed).
    """
    pat_df, scan_df, P, S, from_file, notes = read_cohort_tables(patients, scans, folder, need_scans=need_scans)
    pat_df, scan_df, more = prepare_tables(pat_df, scan_df, P, S, from_file)
    notes += more
    problems = validate_cohort(pat_df, scan_df, patients_label=P, scans_label=S,
                               need_dosimetry=need_dosimetry, min_liver_points=min_liver_points,
                               need_target=need_target, need_activity=need_activity, need_scans=need_scans)
    doubtful = implausible_values(pat_df.reset_index(drop=True),
                                  None if scan_df is None else scan_df.reset_index(drop=True), P, S)
    if not allow_implausible:
        problems += doubtful
    problems = source_rows(problems, scan_df, S)
    if problems:
        logger.info("cohort validation failed with %d problems", len(problems))
        exc = InputError(problems)
        exc.notes = notes  # what was detected while reading helps reading the problems
        raise exc
    # the infusion's date-time only turns scan date-times into hours: it is not a patient feature
    pats, note = normalise_patients(pat_df.drop(columns=[INFUSION_END_DATETIME], errors="ignore")), None
    if derive_bsa:
        pats, note = mosteller_bsa(pats)
    notes += [note] if note else []
    if scan_df is None or len(scan_df.columns) == 0:
        scs = empty_scans()
    else:
        scs = sort_scans(normalise_scans(scan_df.drop(columns=[ROW_COLUMN], errors="ignore")),
                         list(pats["patient_id"]))
    flags = problems_to_flags(source_rows(doubtful, scan_df, S)) if allow_implausible else {}
    logger.debug("loaded cohort: %d patients, %d scan rows", len(pats), len(scs))
    return Cohort(patients=pats, scans=scs, sources={"patients": P, "scans": S}, notes=notes, flags=flags)
