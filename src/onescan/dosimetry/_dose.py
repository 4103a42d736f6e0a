"""MIRD liver dosimetry and the prescribed therapeutic activity (SPEC §2).

Chain: scans → :func:`onescan.dosimetry._quantify.quantify` (fraction of administered
activity per region and time) → :func:`onescan.dosimetry.tac.fit_tacs` (liver
time–activity curve and TIAC, h) → S-value scaled to the patient's liver mass
(:mod:`onescan.dosimetry._physics`) → absorbed dose per administered activity

    D/A₀ [Gy/MBq] = TIAC [h] × 3600 s/h × S [mGy/(MBq·s)] / 1000 mGy/Gy

→ prescribed activity = target dose / (D/A₀), in mCi (1 mCi = 37 MBq) and GBq,
and the activity capped at the maximum manufactured activity.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from onescan.contract._errors import InputError, Problem
from onescan.dosimetry.tac import TacFit, fit_tacs
from onescan.dosimetry._physics import SValueTable, lambda_phys_per_h, load_s_values, s_value_mgy_per_mbq_s
from onescan.dosimetry._quantify import quantify
from onescan.contract._units import LIVER_DENSITY_G_PER_ML, MBQ_PER_MCI, SECONDS_PER_HOUR

__all__ = [
    "DoseSettings",
    "DOSE_COLUMNS",
    "make_dose_settings",
    "dose_gy_per_mbq",
    "dose_gy_per_mci",
    "activity_for_target_mci",
    "compute_dose",
    "tac_arrays",
]

log = logging.getLogger(__name__)

#: Output columns of :func:`compute_dose` / ``onescan dose`` (SPEC §2), in order.
DOSE_COLUMNS = (
    "patient_id",
    "liver_uptake_first",
    "liver_tiac_h",
    "liver_effective_half_life_h",
    "liver_s_value_mgy_per_mbq_s",
    "liver_dose_gy_per_mci",
    "prescribed_activity_mci",
    "prescribed_activity_capped_mci",
    "prescribed_activity_gbq",
    "fit_model",
    "fit_r2",
    "flags",
)

#: Command-line spelling of each setting (for error messages).
OPTION_NAMES = {
    "fit": "--fit",
    "mass_scaling": "--mass-scaling",
    "s_values": "--s-values",
    "mu_per_cm": "--mu-per-cm",
    "target_gy": "--target-gy",
    "max_activity_mci": "--max-activity-mci",
    "nuclide": "--nuclide",
}


class DoseSettings(BaseModel):
    """Settings of the reference dosimetry (the options of ``onescan dose``).

    Parameters
    ----------
    fit : {"monoexp", "loglinear", "trapezoid", "auto"}
        Liver time–activity curve model (SPEC §2.2).
    mass_scaling : {"split", "linear", "none"}
        S-value scaling to the patient's liver mass (SPEC §2.4).
    s_values : Path or None
        User S-value file; ``None`` uses the shipped ICRP 107 / ICRP 89 values.
    mu_per_cm : float
        Linear attenuation coefficient for the thickness correction, 1/cm (> 0).
    target_gy : float
        Target liver absorbed dose, Gy (> 0).
    max_activity_mci : float
        Maximum manufactured activity, mCi (> 0), for the capped prescription.
    nuclide : str
        Nuclide of the S-value table and the physical decay (radioactivedecay name).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    fit: Literal["monoexp", "loglinear", "trapezoid", "auto"] = "monoexp"
    mass_scaling: Literal["split", "linear", "none"] = "split"
    s_values: Path | None = None
    mu_per_cm: float = Field(0.110, gt=0, allow_inf_nan=False)
    target_gy: float = Field(24.0, gt=0, allow_inf_nan=False)
    max_activity_mci: float = Field(1030.0, gt=0, allow_inf_nan=False)
    nuclide: str = "I-131"

    @field_validator("nuclide")
    @classmethod
    def _known_nuclide(cls, v: str) -> str:
        from onescan.dosimetry._physics import half_life_h

        try:
            half_life_h(v)
        except InputError as exc:
            raise ValueError(exc.problems[0].message) from None
        return v

    def s_table(self) -> SValueTable:
        """The S-value table these settings select (InputError on a bad file)."""
        return load_s_values(self.s_values, nuclide=self.nuclide)

    def lambda_phys_per_h(self) -> float:
        """Physical decay constant of :attr:`nuclide`, 1/h."""
        return lambda_phys_per_h(self.nuclide)


def make_dose_settings(**kwargs) -> DoseSettings:
    """Build :class:`DoseSettings`, turning validation errors into one :class:`InputError`.

    Parameters
    ----------
    **kwargs
        Fields of :class:`DoseSettings`; ``None`` values are dropped (defaults apply).

    Returns
    -------
    DoseSettings

    Raises
    ------
    InputError
        With one problem per bad option, named as on the command line
        (``--target-gy`` …). A user S-value file is also loaded and checked.
    """
    kw = {k: v for k, v in kwargs.items() if v is not None}
    try:
        settings = DoseSettings(**kw)
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err.get("loc") else "settings"
            label = OPTION_NAMES.get(name, name)
            problems.append(Problem(label, f"invalid value {err.get('input')!r}: {err['msg']}"))
        raise InputError(problems) from None
    if settings.s_values is not None:
        settings.s_table()  # raises InputError listing the file's problems
    return settings


def _settings(settings) -> DoseSettings:
    if settings is None:
        return DoseSettings()
    if isinstance(settings, DoseSettings):
        return settings
    if isinstance(settings, dict):
        return make_dose_settings(**settings)
    raise TypeError(f"settings must be DoseSettings, dict or None, not {type(settings).__name__}")


def dose_gy_per_mbq(tiac_h, liver_mass_g, settings: DoseSettings | None = None,
                    table: SValueTable | None = None) -> np.ndarray:
    """Liver absorbed dose per administered activity.

    Parameters
    ----------
    tiac_h : float or array-like
        Liver time-integrated activity coefficient, h.
    liver_mass_g : float or array-like
        Liver mass, g.
    settings : DoseSettings or None
        Mass scaling and S-value source.
    table : SValueTable or None
        Pre-loaded S-values (else ``settings.s_table()``).

    Returns
    -------
    numpy.ndarray
        D/A₀ in Gy/MBq = TIAC·3600·S/1000.
    """
    settings = _settings(settings)
    table = table if table is not None else settings.s_table()
    s = s_value_mgy_per_mbq_s(liver_mass_g, settings.mass_scaling, table)
    return np.asarray(tiac_h, dtype=float) * SECONDS_PER_HOUR * s / 1000.0


def dose_gy_per_mci(tiac_h, liver_mass_g, settings: DoseSettings | None = None,
                    table: SValueTable | None = None) -> np.ndarray:
    """Liver absorbed dose per administered activity in Gy/mCi (= Gy/MBq × 37).

    Parameters are those of :func:`dose_gy_per_mbq`.
    """
    return dose_gy_per_mbq(tiac_h, liver_mass_g, settings, table) * MBQ_PER_MCI


def activity_for_target_mci(tiac_h, liver_mass_g, settings: DoseSettings | None = None,
                            table: SValueTable | None = None) -> np.ndarray:
    """Administered activity that gives ``settings.target_gy`` to the liver, mCi (uncapped).

    Parameters are those of :func:`dose_gy_per_mbq`.

    Returns
    -------
    numpy.ndarray
        target_gy / (D/A₀ in Gy/mCi); NaN where the dose per activity is not positive.
    """
    settings = _settings(settings)
    d = dose_gy_per_mci(tiac_h, liver_mass_g, settings, table)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, settings.target_gy / d, np.nan)


def tac_arrays(q: pd.DataFrame, patient_ids, region: str = "liver") -> tuple[np.ndarray, np.ndarray]:
    """Pivot quantified rows of one region into NaN-padded (patients × points) arrays.

    Parameters
    ----------
    q : pandas.DataFrame
        Output of :func:`onescan.dosimetry._quantify.quantify` (``patient_id``, ``time_h``,
        ``region``, ``fraction``).
    patient_ids : sequence of str
        Row order of the result.
    region : str
        Region to pivot.

    Returns
    -------
    (t_h, f) : tuple of ndarray
        Times (h) and fractions sorted by time per patient, NaN padded; a patient
        without rows of ``region`` is all NaN.
    """
    ids = pd.Index(pd.Series(patient_ids, dtype=str))
    sub = q[(q["region"] == region) & np.isfinite(q["time_h"].to_numpy(dtype=float))]
    code = ids.get_indexer(sub["patient_id"].astype(str))
    keep = code >= 0
    code = code[keep]
    t = sub["time_h"].to_numpy(dtype=float)[keep]
    f = sub["fraction"].to_numpy(dtype=float)[keep]
    order = np.lexsort((t, code))
    code, t, f = code[order], t[order], f[order]
    n = len(ids)
    if code.size == 0:
        return np.full((n, 1), np.nan), np.full((n, 1), np.nan)
    start = np.searchsorted(code, np.arange(n), side="left")
    pos = np.arange(code.size) - start[code]
    width = int(pos.max()) + 1
    tt = np.full((n, width), np.nan)
    ff = np.full((n, width), np.nan)
    tt[code, pos] = t
    ff[code, pos] = f
    return tt, ff


def _liver_mass(patients: pd.DataFrame) -> np.ndarray:
    if "liver_mass_g" in patients.columns:
        m = pd.to_numeric(patients["liver_mass_g"], errors="coerce").to_numpy(dtype=float)
        if "liver_volume_ml" in patients.columns:
            v = pd.to_numeric(patients["liver_volume_ml"], errors="coerce").to_numpy(dtype=float)
            m = np.where(np.isnan(m), v * LIVER_DENSITY_G_PER_ML, m)
        return m
    if "liver_volume_ml" in patients.columns:
        v = pd.to_numeric(patients["liver_volume_ml"], errors="coerce").to_numpy(dtype=float)
        return v * LIVER_DENSITY_G_PER_ML
    raise InputError(Problem("<patients>", "needs liver_mass_g or liver_volume_ml for the dosimetry",
                             column="liver_mass_g"))


def compute_dose_details(patients: pd.DataFrame, scans: pd.DataFrame,
                         settings: DoseSettings | None = None) -> tuple[pd.DataFrame, TacFit]:
    """Like :func:`compute_dose`, also returning the :class:`~onescan.dosimetry.tac.TacFit` of the liver."""
    settings = _settings(settings)
    table = settings.s_table()
    lam_phys = settings.lambda_phys_per_h()
    ids = patients["patient_id"].astype(str).to_numpy()
    q = quantify(scans, mu_per_cm=settings.mu_per_cm, lambda_phys_per_h=lam_phys)
    t, f = tac_arrays(q, ids, "liver")
    fit = fit_tacs(t, f, method=settings.fit, lambda_phys_per_h=lam_phys)
    mass = _liver_mass(patients)
    s = s_value_mgy_per_mbq_s(mass, settings.mass_scaling, table)
    tiac = fit.tiac_h
    d_mci = tiac * SECONDS_PER_HOUR * s / 1000.0 * MBQ_PER_MCI
    with np.errstate(divide="ignore", invalid="ignore"):
        act = np.where(d_mci > 0, settings.target_gy / d_mci, np.nan)
    capped = np.minimum(act, settings.max_activity_mci)
    first = np.argmax(np.isfinite(t), axis=1)
    uptake_first = f[np.arange(len(ids)), first]
    flags = [list(x) for x in fit.flags]
    no_liver = ~np.isfinite(t).any(axis=1)
    bad_mass = ~(mass > 0)
    for i in np.flatnonzero(no_liver):
        flags[i].insert(0, "no_liver_data")
    for i in np.flatnonzero(bad_mass):
        flags[i].append("no_liver_mass")
    # liver rows whose fraction could not be computed (no usable first whole-body scan)
    for i in np.flatnonzero((np.isfinite(t) & ~np.isfinite(f)).any(axis=1)):
        flags[i].append("unquantified_liver_points")
    out = pd.DataFrame({
        "patient_id": ids,
        "liver_uptake_first": uptake_first,
        "liver_tiac_h": tiac,
        "liver_effective_half_life_h": fit.effective_half_life_h,
        "liver_s_value_mgy_per_mbq_s": s,
        "liver_dose_gy_per_mci": d_mci,
        "prescribed_activity_mci": act,
        "prescribed_activity_capped_mci": capped,
        "prescribed_activity_gbq": act * MBQ_PER_MCI / 1000.0,
        "fit_model": fit.model,
        "fit_r2": fit.r2,
        "flags": [";".join(x) for x in flags],
    }, columns=list(DOSE_COLUMNS))
    n_flag = int((out["flags"] != "").sum())
    log.info("dosimetry: %d patients, %d flagged, fit=%s, scaling=%s", len(out), n_flag, settings.fit,
             settings.mass_scaling)
    return out, fit


def compute_dose(patients: pd.DataFrame, scans: pd.DataFrame, settings: DoseSettings | None = None) -> pd.DataFrame:
    """Reference MIRD liver dosimetry for every patient (SPEC §2).

    Parameters
    ----------
    patients : pandas.DataFrame
        Canonical patients table (``patient_id``, ``liver_mass_g`` [g]).
    scans : pandas.DataFrame
        Canonical scans table (``patient_id``, ``time_h`` [h], ``region``, counts or
        ``fraction_injected``; ``whole_body`` rows for count normalisation).
    settings : DoseSettings or None
        Dosimetry settings (defaults: mono-exponential fit, split mass scaling,
        μ = 0.110 /cm, 24 Gy, 1030 mCi cap).

    Returns
    -------
    pandas.DataFrame
        One row per patient in ``patients`` order with exactly the columns
        :data:`DOSE_COLUMNS`: uptake (fraction), TIAC (h), effective half-life (h),
        S (mGy/(MBq·s)), dose (Gy/mCi), prescribed activity (mCi, capped mCi, GBq),
        fit model, r², and ``;``-joined flags. A doubtful patient is flagged, never dropped;
        activities are NaN where the dosimetry failed. Flags: those of
        :func:`onescan.dosimetry.tac.fit_tacs` (``few_points``, ``fit_failed``,
        ``fit_not_converged``, ``lambda_at_physical_bound``, ``uptake_rising``,
        ``low_r2``) and ``no_liver_data``, ``no_liver_mass``,
        ``unquantified_liver_points`` (liver counts without a usable first
        whole-body scan to normalise them).
    """
    return compute_dose_details(patients, scans, settings)[0]
