"""From the files as clinics save them to the two tables the contract checks (SPEC §1.2).

:func:`read_cohort_tables` reads the patients and scans tables (a cohort folder, two files, or
one workbook with sheets ``patients`` and ``scans``); :func:`prepare_tables` folds the headers
people type to the contract's names, converts a session-form scans table to the long form and
scan date-times to hours. Everything detected is returned as notes, reported once.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd

from onescan.contract._errors import InputError, Problem
from onescan.contract._headers import fold_headers
from onescan.contract._io import find_cohort_files, read_table_noted, table_format
from onescan.contract._session import ROW_COLUMN, datetimes_to_hours, is_session_form, session_to_long

__all__ = ["WORKBOOK_SHEETS", "is_workbook", "read_cohort_tables", "prepare_tables", "source_rows", "derive_bsa", "patient_columns",
           "mosteller_bsa_m2"]

#: Sheets of a one-workbook cohort.
WORKBOOK_SHEETS: tuple[str, str] = ("patients", "scans")


def is_workbook(path) -> bool:
    """True for an existing ``.xlsx`` file (a one-workbook cohort when given as the cohort)."""
    return path is not None and table_format(path) == "xlsx" and Path(path).is_file()


def _resolve(src, which: str, notes: list[str], sheet: str | None = None):
    """A table given as None, a DataFrame (copied) or a path (read); its label; read from a file?"""
    if src is None:
        return None, f"<{which}>", False
    if isinstance(src, pd.DataFrame):
        return src.copy(), f"<{which}>", False
    p = Path(os.fspath(src))
    if sheet is None and table_format(p) == "xlsx" and p.is_file():
        sheets = {s.strip().lower() for s in _sheets(p)}
        sheet = which if which in sheets and len(sheets) > 1 else None
    df, found = read_table_noted(p, sheet=sheet)
    notes.extend(found)
    return df, (str(p) if sheet is None else f"{p} [{sheet}]"), True


def _sheets(p: Path) -> list[str]:
    from onescan.contract._io import workbook_sheets

    try:
        return workbook_sheets(p)
    except Exception:  # unreadable: read_table_noted reports it
        return []


def read_cohort_tables(patients, scans, folder, *, need_scans: bool):
    """The two tables as read, their labels, whether each came from a file, and notes.

    ``folder`` may be a cohort folder or a workbook with sheets ``patients`` and ``scans``.

    Returns
    -------
    tuple
        ``(patients_df, scans_df, patients_label, scans_label, from_file, notes)``;
        ``from_file`` maps ``"patients"``/``"scans"`` to bool.

    Raises
    ------
    InputError
        Listing every file problem.
    """
    problems: list[Problem] = []
    notes: list[str] = []
    sheets: dict[str, str | None] = {"patients": None, "scans": None}
    if folder is not None and (patients is None or scans is None):
        if is_workbook(folder):
            found = {s.strip().lower() for s in _sheets(Path(folder))}
            for which in WORKBOOK_SHEETS:
                if which == "patients" and patients is None or which == "scans" and scans is None:
                    if which in found or which == "patients" or need_scans:
                        sheets[which] = which
            patients = folder if patients is None else patients
            scans = folder if scans is None and sheets["scans"] else scans
        else:
            try:
                fp, fs = find_cohort_files(folder, require_scans=need_scans and scans is None)
            except InputError as exc:
                fp = fs = None
                problems.extend(exc.problems)
            patients = fp if patients is None else patients
            scans = fs if scans is None else scans
    if patients is None and not problems:
        problems.append(Problem("<patients>", "no patients table given (give a cohort folder or a patients file)"))
    if scans is None and need_scans and not problems:
        problems.append(Problem("<scans>", "no scans table given (give a cohort folder or a scans file)"))
    got: dict[str, tuple] = {}
    for which, src in (("patients", patients), ("scans", scans)):
        try:
            got[which] = _resolve(src, which, notes, sheets[which])
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    (pat, P, pf), (sc, S, sf) = got["patients"], got["scans"]
    return pat, sc, P, S, {"patients": pf, "scans": sf}, notes


def prepare_tables(pat: pd.DataFrame, sc: pd.DataFrame | None, P: str, S: str, from_file: dict[str, bool]):
    """Headers folded (tables read from files), session form and date-times converted.

    Parameters
    ----------
    pat, sc : pandas.DataFrame
        The tables as read (``sc`` may be None).
    P, S : str
        Their labels.
    from_file : dict of str to bool
        Which tables came from files (a DataFrame's headers are taken as they are).

    Returns
    -------
    tuple
        ``(patients_df, scans_df, scans_label, notes)``.

    Raises
    ------
    InputError
        Two headers that are the same name after folding; a bad date-time.
    """
    notes: list[str] = []
    problems: list[Problem] = []
    tables = {"patients": pat, "scans": sc}
    for which, label in (("patients", P), ("scans", S)):
        df = tables[which]
        if df is None or not from_file.get(which):
            continue
        folded, renamed, probs = fold_headers(list(df.columns), label)
        problems.extend(probs)
        if renamed and not probs:
            notes.append(f"{label}: columns renamed: " + ", ".join(f"{a!r} → {b}" for a, b in renamed.items()))
        if not probs:
            df = df.copy()
            df.columns = folded
            if "patient_id" in renamed.values():
                from onescan.contract._io import _as_text

                df["patient_id"] = _as_text(df["patient_id"])
        tables[which] = df
    if problems:
        raise InputError(problems)
    pat, sc = tables["patients"], tables["scans"]
    if sc is not None and is_session_form(sc.columns):
        sc = session_to_long(sc.reset_index(drop=True))
        notes.append(f"{S}: session form (one row per patient × scan time, a column per region) converted "
                     f"to {len(sc)} rows of one region each; rows in the messages are the file's")
    if sc is not None and pat is not None:
        had_datetime = "time_h" not in sc.columns and "scan_datetime" in sc.columns
        sc, probs = datetimes_to_hours(pat, sc, P, S)
        if probs:
            raise InputError(probs)
        if had_datetime:
            notes.append(f"{S}: time_h computed from scan_datetime − infusion_end_datetime (hours)")
    return pat, sc, notes


def source_rows(problems: list[Problem], sc: pd.DataFrame | None, S: str) -> list[Problem]:
    """Problems of a converted scans table pointing at the file's rows, not the converted ones."""
    if sc is None or ROW_COLUMN not in sc.columns:
        return problems
    src = sc[ROW_COLUMN].tolist()
    out = []
    for p in problems:
        if p.file == S and p.row is not None and 0 <= p.row - 2 < len(src):
            p = dataclasses.replace(p, row=int(src[p.row - 2]) + 2)
        out.append(p)
    return out


def mosteller_bsa_m2(height_cm, weight_kg):
    """Body surface area (m²) by Mosteller's formula, sqrt(height_cm × weight_kg / 3600).

    Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317:1098.
    """
    return np.sqrt(np.asarray(height_cm, dtype=float) * np.asarray(weight_kg, dtype=float) / 3600.0)


def derive_bsa(pats: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """``bsa_m2`` from ``height_cm`` and ``weight_kg`` when the table has no ``bsa_m2``; the note saying so."""
    if "bsa_m2" in pats.columns or not {"height_cm", "weight_kg"} <= set(pats.columns):
        return pats, None
    out = pats.copy()
    pos = list(out.columns).index("weight_kg") + 1
    out.insert(pos, "bsa_m2", mosteller_bsa_m2(out["height_cm"], out["weight_kg"]))
    return out, "bsa_m2 computed from height_cm and weight_kg (Mosteller: sqrt(height_cm × weight_kg / 3600))"


def patient_columns(folder, patients) -> list[str]:
    """Column names of the patients table (headers folded), or [] if it cannot be read
    (:func:`~onescan.contract._cohort.load_cohort` reports why)."""
    try:
        pat, _, P, _, from_file, _ = read_cohort_tables(patients, None, folder, need_scans=False)
        if pat is None:
            return []
        if from_file["patients"]:
            folded, _, probs = fold_headers(list(pat.columns), P)
            return [] if probs else folded
        return [str(c) for c in pat.columns]
    except InputError:
        return []
