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

Per-column checks (types and ranges) use pandera with ``lazy=True``; the
cross-table checks (unknown patients, duplicate scans, enough liver time points,
a whole-body reference image…) are plain pandas.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from onescan.contract._errors import InputError, Problem
from onescan.contract._io import find_cohort_files, read_table
from onescan.contract._units import LIVER_DENSITY_G_PER_ML, MBQ_PER_MCI

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

#: How many problems of one kind are listed before "… and N more".
MAX_PROBLEMS_PER_RULE = 50

#: Relative tolerance when the same quantity is given in two units.
UNIT_AGREEMENT_RTOL = 1e-3

#: Quantities that may be given in either of two units: name → (canonical column,
#: accepted columns with the factor that converts each to the canonical unit).
UNIT_FAMILIES: dict[str, tuple[str, dict[str, float]]] = {
    "dosimetric activity": ("dosimetric_activity_mbq",
                            {"dosimetric_activity_mbq": 1.0, "dosimetric_activity_mci": MBQ_PER_MCI}),
    "liver mass": ("liver_mass_g", {"liver_mass_g": 1.0, "liver_volume_ml": LIVER_DENSITY_G_PER_ML}),
    "prescribed activity": ("prescribed_activity_mci",
                            {"prescribed_activity_mci": 1.0, "prescribed_activity_mbq": 1.0 / MBQ_PER_MCI}),
}

# (check, message) pairs per numeric column; NaN (an empty cell) always passes.
_GT0 = ("gt", 0.0, "must be > 0")
_GE0 = ("ge", 0.0, "must be ≥ 0")
PATIENT_NUMERIC_RULES: dict[str, tuple] = {
    "dosimetric_activity_mci": (_GT0,),
    "dosimetric_activity_mbq": (_GT0,),
    "liver_mass_g": (_GT0,),
    "liver_volume_ml": (_GT0,),
    "prescribed_activity_mci": (_GT0,),
    "prescribed_activity_mbq": (_GT0,),
    "weight_kg": (_GT0,),
    "height_cm": (_GT0,),
    "age_y": (_GE0,),
}
SCAN_NUMERIC_RULES: dict[str, tuple] = {
    "time_h": (_GE0,),
    "counts_anterior": (_GE0,),
    "counts_posterior": (_GE0,),
    "background_anterior": (_GE0,),
    "background_posterior": (_GE0,),
    "acquisition_s": (_GT0,),
    "thickness_cm": (_GT0,),
    "fraction_injected": (_GE0, ("le", 1.5, "must be ≤ 1.5")),
}
SCAN_COLUMNS = ["patient_id", "time_h", "region", "counts_anterior", "counts_posterior",
                "background_anterior", "background_posterior", "acquisition_s", "thickness_cm",
                "fraction_injected"]
SCAN_DEFAULTS = {"background_anterior": 0.0, "background_posterior": 0.0, "acquisition_s": 1.0,
                 "thickness_cm": np.nan, "fraction_injected": np.nan}
SEX_CODES = {"f": "F", "female": "F", "m": "M", "male": "M"}

#: A text column whose non-empty cells are at least this share numbers is a numeric
#: column with a few bad entries: each bad entry is reported.
NUMERIC_TEXT_SHARE = 0.8


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


# --------------------------------------------------------------------------- problems


class _Problems:
    """Collect problems per rule, capping each rule at MAX_PROBLEMS_PER_RULE lines."""

    def __init__(self, cap: int = MAX_PROBLEMS_PER_RULE):
        self.cap = cap
        self._by_rule: dict[str, list[Problem]] = {}
        self._extra: dict[str, tuple[int, str]] = {}

    def add(self, rule: str, problem: Problem) -> None:
        lst = self._by_rule.setdefault(rule, [])
        if len(lst) < self.cap:
            lst.append(problem)
        else:
            n, f = self._extra.get(rule, (0, problem.file))
            self._extra[rule] = (n + 1, f)

    def __bool__(self) -> bool:
        return bool(self._by_rule)

    def to_list(self) -> list[Problem]:
        out: list[Problem] = []
        for rule, lst in self._by_rule.items():
            out.extend(lst)
            if rule in self._extra:
                n, f = self._extra[rule]
                out.append(Problem(f, f"… and {n} more problem{'s' if n != 1 else ''} of the same kind as "
                                      "the line above", column=lst[-1].column))
        return out


def _row(i) -> int | None:
    """Spreadsheet row of 0-based data row ``i`` (header is row 1)."""
    try:
        return int(i) + 2
    except (TypeError, ValueError):
        return None


def _pid(df: pd.DataFrame, i) -> str | None:
    if "patient_id" not in df.columns or i is None:
        return None
    try:
        v = df["patient_id"].iloc[int(i)]
    except (IndexError, ValueError, TypeError):
        return None
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    return _id(v)


def _fmt(v) -> str:
    s = repr(v) if isinstance(v, str) else str(v)
    return s if len(s) <= 40 else s[:37] + "…"


# --------------------------------------------------------------------------- per-column checks


def _is_missing(v) -> bool:
    if v is None or v is pd.NA:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""


def _id(v) -> str | None:
    """A patient identifier as stripped text (7 and 7.0 → "7"); None when empty."""
    if _is_missing(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (np.integer, int)):
        return str(int(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip() or None


def _region(v) -> str | None:
    """Region name: stripped, lower case, blanks and hyphens as "_" ("Whole Body" → "whole_body")."""
    if _is_missing(v):
        return None
    return re.sub(r"[\s\-]+", "_", str(v).strip().lower()) or None


def _to_float(s: pd.Series) -> pd.Series:
    """Numbers as float64; empty/blank cells NaN; unparsable cells NaN (reported elsewhere)."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(s):
        return pd.to_numeric(s, errors="coerce").astype("float64")
    vals = [np.nan if _is_missing(v) else (v.strip() if isinstance(v, str) else v) for v in s.tolist()]
    return pd.to_numeric(pd.Series(vals, index=s.index, dtype="object"), errors="coerce").astype("float64")


def _numeric_problems(df: pd.DataFrame, rules: dict[str, tuple], label: str, probs: _Problems,
                      extra_numeric: list[str] = ()) -> None:
    """pandera: per-cell type (non-numeric value) and range checks, collected lazily."""
    cols = [c for c in rules if c in df.columns] + [c for c in extra_numeric if c in df.columns]
    if not cols:
        return
    # Pass 1 — types. Blank text cells are missing values, not errors.
    typed = pd.DataFrame({c: df[c].map(lambda v: np.nan if _is_missing(v) else v) if df[c].dtype == object
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
                      Problem(label, f"non-numeric value {_fmt(rec.failure_case)} (a number is expected)",
                              row=_row(i), column=str(rec.column), patient_id=_pid(df, i)))
    # Pass 2 — ranges on the numbers (bad cells are NaN now and already reported).
    num = pd.DataFrame({c: _to_float(df[c]) for c in cols}, index=df.index)
    schema_cols = {}
    for c in cols:
        checks = [pa.Check(lambda s: s.isna() | np.isfinite(s), error="must be a finite number",
                           ignore_na=False)]
        for kind, value, msg in rules.get(c, ()):
            op = {"gt": pa.Check.gt, "ge": pa.Check.ge, "le": pa.Check.le}[kind]
            checks.append(op(value, error=msg))
        schema_cols[c] = pa.Column(float, nullable=True, required=False, checks=checks)
    try:
        pa.DataFrameSchema(schema_cols).validate(num, lazy=True)
    except SchemaErrors as exc:
        for rec in exc.failure_cases.itertuples(index=False):
            i = rec.index
            if i is None or (isinstance(i, float) and np.isnan(i)):
                continue
            probs.add(f"{label}:range:{rec.column}",
                      Problem(label, f"{rec.check}, got {_fmt(rec.failure_case)}", row=_row(i),
                              column=str(rec.column), patient_id=_pid(df, i)))


def _numeric_text_columns(df: pd.DataFrame, skip: set[str]) -> list[str]:
    """Text columns that are mostly numbers (a numeric column with a few bad entries)."""
    out = []
    for c in df.columns:
        if c in skip or pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            continue
        vals = [v for v in df[c].tolist() if not _is_missing(v)]
        if not vals:
            continue
        parsed = pd.to_numeric(pd.Series([v.strip() if isinstance(v, str) else v for v in vals], dtype="object"),
                               errors="coerce")
        share = float(parsed.notna().mean())
        if share >= NUMERIC_TEXT_SHARE:
            out.append(c)
    return out


def _id_problems(df: pd.DataFrame, label: str, probs: _Problems, unique: bool) -> None:
    ids = df["patient_id"]
    for i, v in enumerate(ids.tolist()):
        if _is_missing(v):
            probs.add(f"{label}:empty-id", Problem(label, "empty patient_id", row=_row(i), column="patient_id"))
    if unique:
        clean = ids.map(_id)
        dup = clean.notna() & clean.duplicated(keep=False)
        first_row = {}
        for i in np.flatnonzero(dup.to_numpy()):
            pid = clean.iloc[i]
            if pid not in first_row:
                first_row[pid] = _row(i)
                continue
            probs.add(f"{label}:dup-id",
                      Problem(label, f"duplicate patient_id (first seen in row {first_row[pid]})",
                              row=_row(i), column="patient_id", patient_id=pid))


# --------------------------------------------------------------------------- validation


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
        Require what the reference dosimetry needs: liver mass (g) for every patient,
        dosimetric activity (see ``need_activity``), scans for every patient, a
        whole-body image at the first scan time, ``min_liver_points`` liver time points
        and, on every scan row, counts in both views or ``fraction_injected``.
    min_liver_points : int, default 2
        Minimum number of distinct liver scan times (h) per patient (with ``need_dosimetry``).
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
        :data:`MAX_PROBLEMS_PER_RULE` listed per kind of problem.
    """
    if need_activity is None:
        need_activity = need_dosimetry
    # Row numbers are positions in the file (header = row 1), whatever the index.
    patients_df = patients_df.reset_index(drop=True)
    if scans_df is not None:
        scans_df = scans_df.reset_index(drop=True)
    probs = _Problems()
    P, S = patients_label, scans_label

    # ---- patients
    pat = patients_df
    has_pid = "patient_id" in pat.columns
    if not has_pid:
        probs.add("p:missing-col", Problem(P, "missing required column (accepted: patient_id)", column="patient_id"))
    if len(pat) == 0:
        probs.add("p:empty", Problem(P, "the patients table has no rows"))
    if has_pid:
        _id_problems(pat, P, probs, unique=True)
    family_required = {"dosimetric activity": need_activity, "liver mass": need_dosimetry,
                       "prescribed activity": need_target}
    known = set(PATIENT_NUMERIC_RULES) | {"patient_id", "sex"}
    extra_numeric = _numeric_text_columns(pat, skip=known)
    _numeric_problems(pat, PATIENT_NUMERIC_RULES, P, probs, extra_numeric=extra_numeric)
    for fam, (canon, units) in UNIT_FAMILIES.items():
        present = [c for c in units if c in pat.columns]
        if not present:
            if family_required[fam]:
                probs.add(f"p:unit:{fam}",
                          Problem(P, f"missing {fam}: give one of the columns " + " or ".join(units)
                                  + ("" if fam != "liver mass" else
                                     f" (mass = volume × {LIVER_DENSITY_G_PER_ML} g/ml)"),
                                  column=canon))
            continue
        conv = {c: _to_float(pat[c]) * f for c, f in units.items() if c in present}
        if len(present) == 2:
            a, b = (conv[c] for c in present)
            both = a.notna() & b.notna() & (a > 0) & (b > 0)
            bad = both & ((a - b).abs() > UNIT_AGREEMENT_RTOL * np.maximum(a.abs(), b.abs()))
            for i in np.flatnonzero(bad.to_numpy()):
                va, vb = pat[present[0]].iloc[i], pat[present[1]].iloc[i]
                probs.add(f"p:unit-disagree:{fam}",
                          Problem(P, f"{present[0]} = {_fmt(va)} and {present[1]} = {_fmt(vb)} disagree "
                                     f"(by more than {UNIT_AGREEMENT_RTOL:.1%}); give one or make them agree",
                                  row=_row(i), column=present[0], patient_id=_pid(pat, i)))
        if family_required[fam]:
            raw_missing = np.ones(len(pat), dtype=bool)
            for c in present:
                raw_missing &= pat[c].map(_is_missing).to_numpy(dtype=bool)
            for i in np.flatnonzero(raw_missing):
                probs.add(f"p:unit-missing-value:{fam}",
                          Problem(P, f"no {fam} value (needed; columns " + " or ".join(present) + ")",
                                  row=_row(i), column=present[0], patient_id=_pid(pat, i)))
    if "sex" in pat.columns:
        for i, v in enumerate(pat["sex"].tolist()):
            if _is_missing(v):
                continue
            if str(v).strip().lower() not in SEX_CODES:
                probs.add("p:sex", Problem(P, f"sex must be F or M (also accepted: f, m, female, male), "
                                              f"got {_fmt(v)}", row=_row(i), column="sex",
                                           patient_id=_pid(pat, i)))

    # ---- scans
    sc = scans_df
    if sc is None or (len(sc) == 0 and len(sc.columns) == 0):
        if need_scans:
            probs.add("s:empty", Problem(S, "no scans table given"))
        return probs.to_list()
    required = ["patient_id", "time_h", "region"]
    has_fraction = "fraction_injected" in sc.columns
    count_cols = ["counts_anterior", "counts_posterior"]
    for c in required:
        if c not in sc.columns:
            probs.add("s:missing-col", Problem(S, "missing required column", column=c))
    for c in count_cols:
        if c not in sc.columns and not has_fraction and (need_dosimetry or need_scans):
            probs.add("s:missing-col",
                      Problem(S, "missing required column (counts_anterior and counts_posterior are needed "
                                 "unless fraction_injected is given)", column=c))
    if len(sc) == 0 and need_scans:
        probs.add("s:empty", Problem(S, "the scans table has no rows"))
    if "patient_id" in sc.columns:
        _id_problems(sc, S, probs, unique=False)
    _numeric_problems(sc, SCAN_NUMERIC_RULES, S, probs)
    if "time_h" in sc.columns:
        for i in np.flatnonzero(sc["time_h"].map(_is_missing).to_numpy(dtype=bool)):
            probs.add("s:time-missing", Problem(S, "empty time_h", row=_row(i), column="time_h",
                                                patient_id=_pid(sc, i)))
    if "region" in sc.columns:
        for i in np.flatnonzero(sc["region"].map(_is_missing).to_numpy(dtype=bool)):
            probs.add("s:region-missing", Problem(S, "empty region", row=_row(i), column="region",
                                                  patient_id=_pid(sc, i)))
    if not all(c in sc.columns for c in required):
        return probs.to_list()

    pid = sc["patient_id"].map(_id)
    region = sc["region"].map(_region)
    t = _to_float(sc["time_h"])
    # duplicate (patient, time, region)
    key = pd.DataFrame({"p": pid, "t": t, "r": region})
    ok = key.notna().all(axis=1)
    dup = ok & key.duplicated(keep=False)
    seen: dict[tuple, int] = {}
    for i in np.flatnonzero(dup.to_numpy()):
        k = (key["p"].iloc[i], key["t"].iloc[i], key["r"].iloc[i])
        if k not in seen:
            seen[k] = _row(i)
            continue
        probs.add("s:dup", Problem(S, f"duplicate scan: patient {k[0]}, time_h {k[1]:g}, region {k[2]!r} "
                                      f"(first seen in row {seen[k]})", row=_row(i), column="region",
                                   patient_id=k[0]))
    # unknown patients
    if has_pid:
        known_ids = set(pat["patient_id"].map(_id)) - {None}
        unknown: dict[str, list[int]] = {}
        for i, p in enumerate(pid.tolist()):
            if p is not None and p not in known_ids:
                unknown.setdefault(p, []).append(i)
        for p, rows in unknown.items():
            n = len(rows)
            probs.add("s:unknown", Problem(S, f"scans for patient {p!r} ({n} row{'s' if n != 1 else ''}), who is "
                                              f"not in the patients table ({P})", row=_row(rows[0]),
                                           column="patient_id", patient_id=p))

    if need_dosimetry:
        def col(c):
            return _to_float(sc[c]) if c in sc.columns else pd.Series(np.nan, index=sc.index)

        fi, ca, cp = col("fraction_injected"), col("counts_anterior"), col("counts_posterior")
        has_counts = ca.notna() & cp.notna()
        usable = has_counts | fi.notna()
        if all(c in sc.columns for c in count_cols) or has_fraction:
            for i in np.flatnonzero((~usable).to_numpy()):
                # a cell holding a bad value is already reported as non-numeric
                cells_bad = any(c in sc.columns and not _is_missing(sc[c].iloc[i]) and np.isnan(v.iloc[i])
                                for c, v in (("counts_anterior", ca), ("counts_posterior", cp),
                                             ("fraction_injected", fi)))
                if not cells_bad:
                    probs.add("s:unusable-row",
                              Problem(S, "neither counts in both views (counts_anterior, counts_posterior) "
                                         "nor fraction_injected", row=_row(i), patient_id=pid.iloc[i]))
        frame = pd.DataFrame({"p": pid, "t": t, "r": region, "fi": fi})
        frame = frame[frame["p"].notna() & frame["t"].notna() & frame["r"].notna()]
        # per-patient aggregates, vectorised (cohorts of 10,000 patients validate in about a second)
        frame = frame.astype({"p": object, "r": object})
        by = frame.groupby("p", sort=False)
        t_first = by["t"].min()
        n_liver = frame[frame["r"] == "liver"].groupby("p", sort=False)["t"].nunique()
        n_liver = n_liver.reindex(t_first.index, fill_value=0)
        needs_wb = (frame["fi"].isna() & (frame["r"] != "whole_body")).groupby(frame["p"], sort=False).any()
        at_first = frame["t"].to_numpy() == frame["p"].map(t_first).to_numpy(dtype=float)
        has_wb_first = pd.Series((frame["r"] == "whole_body").to_numpy() & at_first,
                                 index=frame.index).groupby(frame["p"], sort=False).any()
        if has_pid:
            for i, p in enumerate(pat["patient_id"].map(_id).tolist()):
                if p is None:
                    continue
                if p not in t_first.index:
                    if len(sc) == 0:
                        continue  # already reported: the scans table has no rows
                    probs.add("s:no-scans", Problem(P, f"patient has no scans in {S}", row=_row(i),
                                                    column="patient_id", patient_id=p))
                    continue
                nl = int(n_liver[p])
                if nl < min_liver_points:
                    probs.add("s:liver-points",
                              Problem(S, f"patient has {nl} liver time point{'s' if nl != 1 else ''}, "
                                         f"at least {min_liver_points} needed", column="region", patient_id=p))
                if needs_wb[p] and not has_wb_first[p]:
                    probs.add("s:no-wb",
                              Problem(S, f"no whole_body row at the first scan time ({t_first[p]:g} h): it is "
                                         "the reference for the administered activity (or give "
                                         "fraction_injected on every row)", column="region", patient_id=p))
    return probs.to_list()


# --------------------------------------------------------------------------- normalisation


def _numeric_like(s: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False
    vals = [v for v in s.tolist() if not _is_missing(v)]
    if not vals:
        return False
    parsed = pd.to_numeric(pd.Series([v.strip() if isinstance(v, str) else v for v in vals], dtype="object"),
                           errors="coerce")
    return bool(parsed.notna().all())


def normalise_patients(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical patients table (call on validated input).

    Converts ``dosimetric_activity_mci`` → ``dosimetric_activity_mbq`` (× 37),
    ``liver_volume_ml`` → ``liver_mass_g`` (× 1.05 g/ml, where no mass is given),
    ``prescribed_activity_mbq`` → ``prescribed_activity_mci`` (÷ 37), ``sex`` to
    ``"F"``/``"M"``, numeric text columns to float; drops the replaced unit columns
    (``liver_volume_ml`` is kept when ``liver_mass_g`` was also given). Row order is
    kept; the index becomes 0..n-1.

    Parameters
    ----------
    df : pandas.DataFrame
        Patients table as read.

    Returns
    -------
    pandas.DataFrame
        A new DataFrame; ``df`` is not modified.
    """
    out = df.copy().reset_index(drop=True)
    out.columns = [str(c).strip() for c in out.columns]
    if "patient_id" in out.columns:
        out["patient_id"] = out["patient_id"].map(_id).astype(object)
    for c in PATIENT_NUMERIC_RULES:
        if c in out.columns:
            out[c] = _to_float(out[c])
    for fam, (canon, units) in UNIT_FAMILIES.items():
        present = [c for c in units if c in out.columns]
        if not present:
            continue
        value = pd.Series(np.nan, index=out.index, dtype="float64")
        for c in sorted(present, key=lambda c: c != canon):  # canonical column first
            value = value.fillna(out[c] * units[c])
        pos = list(out.columns).index(present[0])
        drop = [c for c in present if c != canon]
        if fam == "liver mass" and canon in present:
            drop = []  # keep the CT volume beside a given mass
        out = out.drop(columns=[c for c in drop + [canon] if c in out.columns])
        out.insert(min(pos, len(out.columns)), canon, value.astype("float64"))
    if "sex" in out.columns:
        out["sex"] = out["sex"].map(lambda v: np.nan if _is_missing(v)
                                    else SEX_CODES.get(str(v).strip().lower(), str(v).strip())).astype(object)
    for c in out.columns:
        if c in ("patient_id", "sex"):
            continue
        if _numeric_like(out[c]):
            out[c] = _to_float(out[c])
    return out


def normalise_scans(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical scans table (call on validated input).

    ``region`` stripped and lower-cased, blanks and hyphens inside as ``_``
    (``"Whole Body"`` → ``"whole_body"``); numeric columns float; absent optional
    columns filled with their defaults (background 0 counts, acquisition 1 s,
    thickness and fraction_injected NaN), empty background/acquisition cells too;
    canonical columns first, extra columns after; rows sorted by patient (order of
    first appearance, see :func:`load_cohort` for patients-file order), time, region.

    Parameters
    ----------
    df : pandas.DataFrame
        Scans table as read.

    Returns
    -------
    pandas.DataFrame
        A new DataFrame with index 0..n-1.
    """
    out = df.copy().reset_index(drop=True)
    out.columns = [str(c).strip() for c in out.columns]
    out["patient_id"] = out["patient_id"].map(_id).astype(object)
    out["region"] = out["region"].map(_region).astype(object)
    for c in SCAN_NUMERIC_RULES:
        if c in out.columns:
            out[c] = _to_float(out[c])
        elif c in ("counts_anterior", "counts_posterior"):
            out[c] = np.nan
    for c, default in SCAN_DEFAULTS.items():
        if c not in out.columns:
            out[c] = default
        elif not np.isnan(default):
            out[c] = out[c].fillna(default)
    extra = [c for c in out.columns if c not in SCAN_COLUMNS]
    out = out[SCAN_COLUMNS + extra]
    order = {p: k for k, p in enumerate(dict.fromkeys(out["patient_id"]))}
    out = (out.assign(_o=out["patient_id"].map(order))
              .sort_values(["_o", "time_h", "region"], kind="mergesort")
              .drop(columns="_o").reset_index(drop=True))
    return out


def _empty_scans() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="float64") for c in SCAN_COLUMNS})
    out["patient_id"] = out["patient_id"].astype(object)
    out["region"] = out["region"].astype(object)
    return out


# --------------------------------------------------------------------------- loading


#: What a cohort is checked for: ``dose`` (full reference dosimetry), ``train``
#: (a target: prescribed activity, or full dosimetry to compute it), ``predict``
#: (first-scan features only).
PURPOSES = ("dose", "train", "predict")


def rules_for(purpose: str, patient_columns=()) -> dict:
    """Keyword arguments of :func:`load_cohort` for a purpose.

    Parameters
    ----------
    purpose : {"dose", "train", "predict"}
        ``dose``: dosimetric activity, liver mass and ≥ 2 liver time points per patient.
        ``train``: with a ``prescribed_activity_mci``/``_mbq`` column, the target is
        required and one liver time point suffices (the features come from the first
        scan); without it the target is computed by the dosimetry, so as ``dose``.
        ``predict``: one liver time point, no dosimetric activity needed.
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
    dose = dict(need_dosimetry=True, min_liver_points=2, need_target=False, need_activity=True,
                need_scans=True)
    if purpose == "dose":
        return dose
    if purpose == "predict":
        return dict(dose, min_liver_points=1, need_activity=False)
    cols = {str(c).strip() for c in patient_columns}
    if cols & set(UNIT_FAMILIES["prescribed activity"][1]):
        return dict(dose, min_liver_points=1, need_activity=False, need_target=True)
    return dose



def _resolve(src, label_default: str) -> tuple[pd.DataFrame | None, str]:
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
        Minimum distinct liver scan times per patient (with ``need_dosimetry``).
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
    problems = validate_cohort(pat_df, scan_df, patients_label=P, scans_label=S,
                               need_dosimetry=need_dosimetry, min_liver_points=min_liver_points,
                               need_target=need_target, need_activity=need_activity, need_scans=need_scans)
    if problems:
        logger.info("cohort validation failed with %d problems", len(problems))
        raise InputError(problems)
    pats = normalise_patients(pat_df)
    if scan_df is None or len(scan_df.columns) == 0:
        scs = _empty_scans()
    else:
        scs = normalise_scans(scan_df)
        order = {p: k for k, p in enumerate(pats["patient_id"])}
        scs = (scs.assign(_o=scs["patient_id"].map(order))
                  .sort_values(["_o", "time_h", "region"], kind="mergesort")
                  .drop(columns="_o").reset_index(drop=True))
    logger.debug("loaded cohort: %d patients, %d scan rows", len(pats), len(scs))
    return Cohort(patients=pats, scans=scs, sources={"patients": P, "scans": S})
