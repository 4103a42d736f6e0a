"""Per-column checks of an input table: identifiers, number types and ranges (pandera, lazy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from onescan.contract._cells import as_id, fmt_value, is_missing, numeric_share, patient_at, sheet_row, to_float
from onescan.contract._errors import Problem
from onescan.contract._problems import ProblemCollector

__all__ = ["numeric_problems", "numeric_text_columns", "id_problems", "NUMERIC_TEXT_SHARE"]

#: A text column whose non-empty cells are at least this share numbers is a numeric
#: column with a few bad entries: each bad entry is reported.
NUMERIC_TEXT_SHARE = 0.8

#: pandera check per :class:`~onescan.contract._columns.Bound` kind.
_BOUND_CHECKS = {"gt": pa.Check.gt, "ge": pa.Check.ge, "le": pa.Check.le}


def numeric_problems(df: pd.DataFrame, rules: dict[str, tuple], label: str, probs: ProblemCollector,
                     extra_numeric=()) -> None:
    """pandera: per-cell type (non-numeric value) and range checks, collected lazily.

    Parameters
    ----------
    df : pandas.DataFrame
        Table as read, index 0..n-1.
    rules : dict of str to tuple of Bound
        Range checks per known numeric column (checked in this order).
    label : str
        File name used in the messages.
    probs : ProblemCollector
        Receives the problems.
    extra_numeric : sequence of str
        Other columns checked for non-numeric and non-finite values (no range).
    """
    cols = [c for c in rules if c in df.columns] + [c for c in extra_numeric if c in df.columns]
    if not cols:
        return
    _type_problems(df, cols, label, probs)
    _range_problems(df, cols, rules, label, probs)


def _type_problems(df: pd.DataFrame, cols: list[str], label: str, probs: ProblemCollector) -> None:
    """Pass 1 — types. Blank text cells are missing values, not errors."""
    typed = pd.DataFrame({c: df[c].map(lambda v: np.nan if is_missing(v) else v) if df[c].dtype == object
                          or pd.api.types.is_string_dtype(df[c]) else df[c] for c in cols}, index=df.index)
    type_schema = pa.DataFrameSchema({c: pa.Column(float, coerce=True, nullable=True, required=False)
                                      for c in cols})
    try:
        type_schema.validate(typed, lazy=True)
    except SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["check"].astype(str).str.startswith("coerce_dtype")]
        for rec in fc.itertuples(index=False):
            i = rec.index
            probs.add(f"{label}:non-numeric:{rec.column}",
                      Problem(label, f"non-numeric value {fmt_value(rec.failure_case)} (a number is expected)",
                              row=sheet_row(i), column=str(rec.column), patient_id=patient_at(df, i)))


def _range_problems(df: pd.DataFrame, cols: list[str], rules: dict[str, tuple], label: str,
                    probs: ProblemCollector) -> None:
    """Pass 2 — ranges on the numbers (bad cells are NaN now and already reported)."""
    num = pd.DataFrame({c: to_float(df[c]) for c in cols}, index=df.index)
    schema_cols = {}
    for c in cols:
        checks = [pa.Check(lambda s: s.isna() | np.isfinite(s), error="must be a finite number",
                           ignore_na=False)]
        for bound in rules.get(c, ()):
            checks.append(_BOUND_CHECKS[bound.kind](bound.value, error=bound.message))
        schema_cols[c] = pa.Column(float, nullable=True, required=False, checks=checks)
    try:
        pa.DataFrameSchema(schema_cols).validate(num, lazy=True)
    except SchemaErrors as exc:
        for rec in exc.failure_cases.itertuples(index=False):
            i = rec.index
            if i is None or (isinstance(i, float) and np.isnan(i)):
                continue
            probs.add(f"{label}:range:{rec.column}",
                      Problem(label, f"{rec.check}, got {fmt_value(rec.failure_case)}", row=sheet_row(i),
                              column=str(rec.column), patient_id=patient_at(df, i)))


def numeric_text_columns(df: pd.DataFrame, skip: set[str]) -> list[str]:
    """Text columns that are mostly numbers (a numeric column with a few bad entries)."""
    out = []
    for c in df.columns:
        if c in skip:
            continue
        share = numeric_share(df[c])
        if share is not None and share >= NUMERIC_TEXT_SHARE:
            out.append(c)
    return out


def id_problems(df: pd.DataFrame, label: str, probs: ProblemCollector, unique: bool) -> None:
    """Empty ``patient_id`` cells and, with ``unique``, repeated identifiers.

    Parameters
    ----------
    df : pandas.DataFrame
        Table with a ``patient_id`` column, index 0..n-1.
    label : str
        File name used in the messages.
    probs : ProblemCollector
        Receives the problems.
    unique : bool
        Each identifier may appear once (the patients table).
    """
    ids = df["patient_id"]
    for i, v in enumerate(ids.tolist()):
        if is_missing(v):
            probs.add(f"{label}:empty-id", Problem(label, "empty patient_id", row=sheet_row(i), column="patient_id"))
    if unique:
        clean = ids.map(as_id)
        dup = clean.notna() & clean.duplicated(keep=False)
        first_row = {}
        for i in np.flatnonzero(dup.to_numpy()):
            pid = clean.iloc[i]
            if pid not in first_row:
                first_row[pid] = sheet_row(i)
                continue
            probs.add(f"{label}:dup-id",
                      Problem(label, f"duplicate patient_id (first seen in row {first_row[pid]})",
                              row=sheet_row(i), column="patient_id", patient_id=pid))
