"""What the schedule methods read, one row per patient: features, first/24 h kinetics, the reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from onescan.contract._organs import limiting_organ
from onescan.dosimetry._stp import two_point_tiac_h

__all__ = ["StudyData", "prepare_study_data", "TWO_POINT_FEATURE"]

_ORGAN = limiting_organ()

#: Feature of the first + 24 h models: ln(TIAC/f₁) (h) of the two-point fit through the patient's own scans.
TWO_POINT_FEATURE = _ORGAN.column("two_point_ln_tiac_per_uptake")
_UPTAKE_24H = f"uptake_24h_{_ORGAN.region}"
_HALF_LIFE = _ORGAN.column("effective_half_life_h")


@dataclass
class StudyData:
    """Everything the methods need, one row per patient (same order everywhere).

    Attributes
    ----------
    ids : numpy.ndarray of str
    X_first : pandas.DataFrame
        Features of the one-scan models (SPEC §3).
    X_24 : pandas.DataFrame
        Features of the first + 24 h models (adds ``uptake_24h_*``, ``scan_24h_time_h``
        and the two-point feature).
    y : numpy.ndarray
        Training target of the ML models: the reference activity capped at the maximum
        activity as in the trial, mCi (the cohort's own ``prescribed_activity_mci``, if
        any, is kept in ``kin["prescribed_given_mci"]`` for comparison only).
    kin : pandas.DataFrame
        the organ mass (``<organ>_mass_g``, g), ``t1_h``, ``f1``, ``t24_h``, ``f24``,
        ``half_life_full_h`` (h), ``ref_mci`` (uncapped reference activity), ``ref_capped_mci``.
    """

    ids: np.ndarray
    X_first: pd.DataFrame
    X_24: pd.DataFrame
    y: np.ndarray
    kin: pd.DataFrame

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, idx) -> "StudyData":
        """Rows ``idx`` (positions)."""
        idx = np.asarray(idx)
        return StudyData(ids=self.ids[idx], X_first=self.X_first.iloc[idx], X_24=self.X_24.iloc[idx],
                         y=self.y[idx], kin=self.kin.iloc[idx].reset_index(drop=True))


def _reference_target(cohort, dose: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """The capped reference activity (mCi); InputError naming the patients whose dosimetry failed."""
    y = dose["prescribed_activity_capped_mci"].to_numpy(float)
    if not np.all(np.isfinite(y) & (y > 0)):
        from onescan.contract._errors import InputError, Problem

        bad = [str(i) for i, v in zip(ids, y) if not (np.isfinite(v) and v > 0)]
        raise InputError([Problem(str(cohort.sources.get("scans", "scans")), patient_id=pid,
                                  message="the reference dosimetry failed for this patient (see onescan dose)")
                          for pid in bad])
    return y


def prepare_study_data(cohort, dose_settings=None) -> StudyData:
    """Reference dosimetry, first-scan and first + 24 h features of a cohort.

    Parameters
    ----------
    cohort : onescan.contract._cohort.Cohort
        Canonical cohort with at least two time points of the dose-limiting organ per patient.
    dose_settings : onescan.dosimetry._dose.DoseSettings, optional

    Returns
    -------
    StudyData
    """
    from onescan.dosimetry._dose import DoseSettings, compute_dose
    from onescan.dosimetry._physics import lambda_phys_per_h
    from onescan.features._features import TARGET_COLUMN, build_features

    ds = dose_settings if dose_settings is not None else DoseSettings()
    mu = float(getattr(ds, "mu_per_cm", 0.110))
    ids = cohort.patients["patient_id"].astype(str).to_numpy()
    X1 = build_features(cohort, schedule="first", mu_per_cm=mu)
    X24 = build_features(cohort, schedule="first+24h", mu_per_cm=mu)
    dose = compute_dose(cohort.patients, cohort.scans, ds)
    dose = dose.set_index(dose["patient_id"].astype(str)).reindex(ids)
    # The ML models learn the reference itself (capped as in the trial), so that every method
    # is compared with the same quantity under the same dose settings.
    y = _reference_target(cohort, dose, ids)
    given = None
    if TARGET_COLUMN in cohort.patients.columns:
        given = pd.to_numeric(cohort.patients[TARGET_COLUMN], errors="coerce").to_numpy(float)
    lam_p = lambda_phys_per_h(getattr(ds, "nuclide", "I-131"))
    f1 = X24[_ORGAN.uptake_first_column].to_numpy(float)
    t1 = X24["first_scan_time_h"].to_numpy(float)
    f24 = X24[_UPTAKE_24H].to_numpy(float) if _UPTAKE_24H in X24 else np.full(len(ids), np.nan)
    t24 = X24["scan_24h_time_h"].to_numpy(float) if "scan_24h_time_h" in X24 else np.full(len(ids), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        X24 = X24.assign(**{TWO_POINT_FEATURE: np.log(two_point_tiac_h(f1, t1, f24, t24, lam_p) / f1)})
    kin = pd.DataFrame({
        _ORGAN.mass_column: cohort.patients[_ORGAN.mass_column].to_numpy(float),
        "t1_h": t1, "f1": f1, "t24_h": t24, "f24": f24,
        "half_life_full_h": dose[_HALF_LIFE].to_numpy(float),
        "ref_mci": dose["prescribed_activity_mci"].to_numpy(float),
        "ref_capped_mci": dose["prescribed_activity_capped_mci"].to_numpy(float),
    })
    if given is not None:
        kin["prescribed_given_mci"] = given
    return StudyData(ids=ids, X_first=X1, X_24=X24, y=y, kin=kin)
