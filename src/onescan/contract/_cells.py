"""Reading single cells of the input tables: missing values, identifiers, regions, numbers.

Shared by the checks (:mod:`onescan.contract._validate`) and the normalisation
(:mod:`onescan.contract._normalise`), so both read a cell the same way.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["is_missing", "as_id", "as_region", "to_float", "numeric_share", "fmt_value", "sheet_row",
           "patient_at"]


def is_missing(v) -> bool:
    """True for an empty cell: None, NA, NaN or blank text."""
    if v is None or v is pd.NA:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""


def as_id(v) -> str | None:
    """A patient identifier as stripped text (7 and 7.0 → "7"); None when empty."""
    if is_missing(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (np.integer, int)):
        return str(int(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip() or None


def as_region(v) -> str | None:
    """Region name: stripped, lower case, blanks and hyphens as "_" ("Whole Body" → "whole_body")."""
    if is_missing(v):
        return None
    return re.sub(r"[\s\-]+", "_", str(v).strip().lower()) or None


def to_float(s: pd.Series) -> pd.Series:
    """Numbers as float64; empty/blank cells NaN; unparsable cells NaN (reported elsewhere)."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(s):
        return pd.to_numeric(s, errors="coerce").astype("float64")
    vals = [np.nan if is_missing(v) else (v.strip() if isinstance(v, str) else v) for v in s.tolist()]
    return pd.to_numeric(pd.Series(vals, index=s.index, dtype="object"), errors="coerce").astype("float64")


def numeric_share(s: pd.Series) -> float | None:
    """Share of the non-empty cells of a text column that are numbers; None for a numeric or
    boolean column, or when every cell is empty."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return None
    vals = [v for v in s.tolist() if not is_missing(v)]
    if not vals:
        return None
    parsed = pd.to_numeric(pd.Series([v.strip() if isinstance(v, str) else v for v in vals], dtype="object"),
                           errors="coerce")
    return float(parsed.notna().mean())


def fmt_value(v) -> str:
    """A cell value for a message (text quoted, at most 40 characters)."""
    s = repr(v) if isinstance(v, str) else str(v)
    return s if len(s) <= 40 else s[:37] + "…"


def sheet_row(i) -> int | None:
    """Spreadsheet row of 0-based data row ``i`` (header is row 1)."""
    try:
        return int(i) + 2
    except (TypeError, ValueError):
        return None


def patient_at(df: pd.DataFrame, i) -> str | None:
    """The patient identifier of 0-based row ``i`` of ``df``, None when unknown or empty."""
    if "patient_id" not in df.columns or i is None:
        return None
    try:
        v = df["patient_id"].iloc[int(i)]
    except (IndexError, ValueError, TypeError):
        return None
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    return as_id(v)
