"""The model matrix of the seed study (SPEC §3): clinical columns plus first-scan uptakes.

A one-scan model may only read the first gamma-camera image of each patient. The
guarantee is structural: :func:`first_scan_features` keeps each patient's scan rows
at the first scan time (and, for ``schedule="first+24h"``, the scan nearest 24 h)
*before* quantifying anything, so a later image cannot influence a feature value,
not even through the normalisation to the first whole-body scan.

Feature names are kept end to end: the columns of :func:`build_features` are the
``patients`` column names (``sex`` becomes ``sex_male``; other text columns become
``<column>_<level>`` indicator columns) plus ``uptake_first_<region>`` and
``first_scan_time_h``.
"""

from __future__ import annotations

import logging
import re
from typing import Iterable, Literal

import numpy as np
import pandas as pd

from onescan.contract._errors import InputError, Problem

__all__ = [
    "SCHEDULES",
    "TARGET_COLUMN",
    "first_scan_features",
    "schedule_scans",
    "build_features",
    "get_target",
]

logger = logging.getLogger(__name__)

#: Imaging schedules a model can be built for, and the scans each one reads.
SCHEDULES: dict[str, str] = {
    "first": "the first scan only (the seed study's one-scan model)",
    "first+24h": "the first scan and the scan nearest 24 h after it was taken",
}

#: The training / evaluation target column (mCi).
TARGET_COLUMN = "prescribed_activity_mci"

#: Nominal time of the second image of the ``first+24h`` schedule (h after infusion).
SECOND_SCAN_NOMINAL_H = 24.0

# Patients columns that are never features: the identifier, the target and anything
# derived from the prescription (a capped or GBq copy of the target would leak it).
_NEVER_FEATURES_RE = re.compile(r"^(patient_id|prescribed_activity(_.*)?)$")

Schedule = Literal["first", "first+24h"]


def _check_schedule(schedule: str) -> None:
    if schedule not in SCHEDULES:
        raise InputError(Problem(
            file="--schedule",
            message=f"unknown imaging schedule {schedule!r}; valid: {', '.join(SCHEDULES)}",
        ))


def schedule_scans(scans: pd.DataFrame, schedule: Schedule = "first") -> pd.DataFrame:
    """Keep only the scan rows a model built for ``schedule`` may read.

    Parameters
    ----------
    scans : pandas.DataFrame
        Canonical scans table (``patient_id``, ``time_h`` in hours, ``region``, counts ...).
    schedule : {"first", "first+24h"}
        ``"first"``: every row at each patient's earliest scan time. ``"first+24h"``: those
        rows plus every row at the later scan time nearest 24 h (ties: the earlier one).

    Returns
    -------
    pandas.DataFrame
        The subset of ``scans`` rows (original order and index), with an extra column
        ``scan_slot`` (``"first"`` or ``"24h"``).
    """
    _check_schedule(schedule)
    t = scans["time_h"].astype(float)
    t_first = t.groupby(scans["patient_id"]).transform("min")
    is_first = np.isclose(t, t_first, rtol=0, atol=1e-9)
    out = scans.loc[is_first].copy()
    out["scan_slot"] = "first"
    if schedule == "first+24h":
        later = scans.loc[~is_first, ["patient_id", "time_h"]].drop_duplicates()
        if len(later):
            later = later.assign(_d=(later["time_h"] - SECOND_SCAN_NOMINAL_H).abs())
            later = later.sort_values(["patient_id", "_d", "time_h"], kind="mergesort")
            chosen = later.drop_duplicates("patient_id")[["patient_id", "time_h"]]
            key = pd.MultiIndex.from_frame(scans[["patient_id", "time_h"]])
            ckey = pd.MultiIndex.from_frame(chosen)
            second = scans.loc[key.isin(ckey) & ~is_first].copy()
            second["scan_slot"] = "24h"
            out = pd.concat([out, second]).sort_index()
    return out


def first_scan_features(
    scans: pd.DataFrame,
    mu_per_cm: float = 0.110,
    schedule: Schedule = "first",
) -> pd.DataFrame:
    """Uptake features from the scans a ``schedule`` allows, one row per patient.

    The scans are filtered to the schedule's rows (see :func:`schedule_scans`) *before*
    quantification, so no value of a later image can reach the features.

    Parameters
    ----------
    scans : pandas.DataFrame
        Canonical scans table (see ``docs/ARCHITECTURE.md``).
    mu_per_cm : float, default 0.110
        Linear attenuation coefficient for the conjugate-view correction (cm⁻¹).
    schedule : {"first", "first+24h"}, default "first"
        Which scans to read.

    Returns
    -------
    pandas.DataFrame
        Index ``patient_id``; columns ``uptake_first_<region>`` (fraction of the
        administered activity in the region at the first scan, not decay-corrected,
        dimensionless) for every region imaged at any patient's first scan (NaN where a
        patient's first scan lacks it) and ``first_scan_time_h`` (h). For ``"first+24h"``
        also ``uptake_24h_<region>`` and ``scan_24h_time_h`` (NaN without a later scan).
    """
    from onescan.dosimetry._quantify import quantify

    chosen = schedule_scans(scans, schedule)
    slots = chosen[["patient_id", "time_h", "scan_slot"]].drop_duplicates(["patient_id", "time_h"])
    q = quantify(chosen.drop(columns="scan_slot"), mu_per_cm=mu_per_cm)
    q = q.merge(slots, on=["patient_id", "time_h"], how="left", validate="many_to_one")
    patients = pd.Index(pd.unique(scans["patient_id"]), name="patient_id")
    parts = []
    for slot, prefix, time_col in (("first", "uptake_first_", "first_scan_time_h"),
                                   ("24h", "uptake_24h_", "scan_24h_time_h")):
        if slot == "24h" and schedule != "first+24h":
            continue
        qs = q[q["scan_slot"] == slot]
        wide = qs.pivot_table(index="patient_id", columns="region", values="fraction",
                              aggfunc="first", dropna=False)
        wide = wide.reindex(columns=sorted(wide.columns))
        wide.columns = [f"{prefix}{r}" for r in wide.columns]
        times = slots[slots["scan_slot"] == slot].set_index("patient_id")["time_h"].rename(time_col)
        parts.append(wide.reindex(patients))
        parts.append(times.reindex(patients).astype(float).to_frame())
    out = pd.concat(parts, axis=1)
    out.columns.name = None
    return out


def _encode_patients(patients: pd.DataFrame, exclude: Iterable[str]) -> pd.DataFrame:
    exclude = set(exclude)
    keep = [c for c in patients.columns if c not in exclude and not _NEVER_FEATURES_RE.match(str(c))]
    df = patients[keep]
    cols: dict[str, pd.Series] = {}
    for c in keep:
        s = df[c]
        if pd.api.types.is_bool_dtype(s):
            cols[c] = s.astype(float)
            continue
        if pd.api.types.is_numeric_dtype(s):
            cols[c] = s.astype(float)
            continue
        num = pd.to_numeric(s, errors="coerce")
        if num.notna().sum() == s.notna().sum():  # numbers stored as text
            cols[c] = num.astype(float)
            continue
        text = s.astype("string").str.strip()
        levels = sorted(text.dropna().unique())
        if c == "sex":
            up = text.str.upper()
            cols["sex_male"] = up.map({"M": 1.0, "F": 0.0}).astype(float)
        elif len(levels) == 2:
            cols[f"{c}_{levels[1]}"] = (text == levels[1]).astype(float).where(text.notna())
        else:
            for lev in levels:
                cols[f"{c}_{lev}"] = (text == lev).astype(float).where(text.notna())
    return pd.DataFrame(cols, index=patients.index)


def build_features(cohort, *, exclude: Iterable[str] = (), schedule: Schedule = "first",
                   mu_per_cm: float = 0.110) -> pd.DataFrame:
    """The model matrix X of the seed study (SPEC §3).

    Parameters
    ----------
    cohort : onescan.contract._cohort.Cohort
        Cohort with canonical ``patients`` and ``scans`` tables.
    exclude : iterable of str, default ()
        ``patients`` columns the user does not want as features.
    schedule : {"first", "first+24h"}, default "first"
        Which scans the uptake features may read (see :func:`first_scan_features`).
    mu_per_cm : float, default 0.110
        Attenuation coefficient for quantification (cm⁻¹).

    Returns
    -------
    pandas.DataFrame
        Index ``patient_id`` in patients-file order; float columns: every ``patients``
        column except the id, the target (``prescribed_activity*``) and ``exclude``
        (numeric kept with NaN; ``sex`` → ``sex_male`` 0/1; other two-level text → one
        0/1 column, more levels → one-hot), then the uptake columns and
        ``first_scan_time_h``.

    Raises
    ------
    InputError
        Unknown ``schedule`` or ``exclude`` naming a column that does not exist.
    """
    patients = cohort.patients
    exclude = list(exclude)
    missing = [c for c in exclude if c not in patients.columns]
    if missing:
        raise InputError([Problem(file=str(cohort.sources.get("patients", "patients")), column=c,
                                  message="--exclude names a column that is not in the patients table")
                          for c in missing])
    _check_schedule(schedule)
    clinical = _encode_patients(patients, exclude)
    clinical.index = pd.Index(patients["patient_id"].astype(str), name="patient_id")
    uptake = first_scan_features(cohort.scans, mu_per_cm=mu_per_cm, schedule=schedule)
    uptake.index = uptake.index.astype(str)
    clash = [c for c in uptake.columns if c in clinical.columns]
    if clash:
        logger.warning("patients columns %s are shadowed by scan-derived features", clash)
        clinical = clinical.drop(columns=clash)
    X = clinical.join(uptake, how="left")
    logger.info("feature matrix: %d patients x %d features (schedule %s)", X.shape[0], X.shape[1], schedule)
    return X


def get_target(cohort, dose_settings=None) -> pd.Series:
    """The training target y: the prescribed activity (mCi), one value per patient.

    Parameters
    ----------
    cohort : onescan.contract._cohort.Cohort
        Canonical cohort.
    dose_settings : onescan.dosimetry._dose.DoseSettings, optional
        Used only when ``patients`` has no ``prescribed_activity_mci``: the target is then
        the capped prescribed activity computed by the reference dosimetry (SPEC §2.5).

    Returns
    -------
    pandas.Series
        Name ``prescribed_activity_mci``, index ``patient_id`` (patients-file order), mCi.

    Raises
    ------
    InputError
        When the target is missing for some patient (with their ids) or not positive.
    """
    patients = cohort.patients
    ids = pd.Index(patients["patient_id"].astype(str), name="patient_id")
    src = str(cohort.sources.get("patients", "patients"))
    if TARGET_COLUMN in patients.columns:
        y = pd.to_numeric(patients[TARGET_COLUMN], errors="coerce").astype(float)
        y.index = ids
    else:
        from onescan.dosimetry._dose import DoseSettings, compute_dose

        settings = dose_settings if dose_settings is not None else DoseSettings()
        dose = compute_dose(patients, cohort.scans, settings)
        y = dose.set_index(dose["patient_id"].astype(str))["prescribed_activity_capped_mci"]
        y = y.reindex(ids).astype(float)
        logger.info("target computed from the scans by the reference dosimetry")
    problems = []
    for pos, (pid, v) in enumerate(y.items()):
        if not np.isfinite(v) or v <= 0:
            problems.append(Problem(file=src, row=pos + 2, patient_id=pid, column=TARGET_COLUMN,
                                    message="the prescribed activity (training target) is missing or not > 0"))
    if problems:
        raise InputError(problems)
    return y.rename(TARGET_COLUMN)
