"""Stage 8 of the virtual cohort: the target (onescan's own dosimetry of the noisy scans) and the hidden truth.

``prescribed_activity_mci`` in ``patients`` is the value capped at the maximum manufactured
activity, as in the trial; the uncapped value and every true kinetic parameter are in
``truth`` only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._defaults import AST_STEM, LDH_STEM, LIVER, LYMPHOCYTES_STEM, NEUTROPHILS_STEM, WBC_STEM
from ._kinetics import Kinetics


def _truth(ids, dose: pd.DataFrame, capped, uncapped, tiac_true, true_kinetics_mci, kin: Kinetics,
           cells: dict, lab_true: dict, z: np.ndarray) -> pd.DataFrame:
    """The hidden truth table: true kinetics, latent state and the dosimetry of the noisy scans."""
    truth = pd.DataFrame({
        "patient_id": ids,
        "prescribed_activity_uncapped_mci": np.round(uncapped, 2),
        "prescribed_activity_capped_mci": np.round(capped, 2),
        "prescribed_activity_true_kinetics_mci": np.round(true_kinetics_mci, 2),
        LIVER.column("tiac_true_h"): tiac_true,
        LIVER.column("tiac_measured_h"): dose[LIVER.column("tiac_h")].to_numpy(dtype=float),
        LIVER.column("uptake_first_measured"): dose[LIVER.column("uptake_first")].to_numpy(dtype=float),
        LIVER.column("effective_half_life_measured_h"):
            dose[LIVER.column("effective_half_life_h")].to_numpy(dtype=float),
        "dose_flags": dose["flags"].astype(str).to_numpy(),
        "lambda_phys_per_h": kin.lambda_phys_per_h,
        "wbc_true_1e9_per_l": cells[WBC_STEM],
        "neutrophils_true_1e9_per_l": cells[NEUTROPHILS_STEM],
        "lymphocytes_true_1e9_per_l": cells[LYMPHOCYTES_STEM],
        "ast_true_u_per_l": lab_true[AST_STEM],
        "ldh_true_u_per_l": lab_true[LDH_STEM],
        "burden_z": z[:, 0],
        "hepatic_z": z[:, 1],
        "inflammation_z": z[:, 2],
        "renal_z": z[:, 3],
    })
    lam_p = kin.lambda_phys_per_h
    for r, (a, lam_bio) in kin.organs.items():
        truth[f"{r}_uptake_initial"] = a
        truth[f"{r}_lambda_bio_per_h"] = lam_bio
        truth[f"{r}_lambda_eff_per_h"] = lam_bio + lam_p
        truth[f"{r}_effective_half_life_h"] = math.log(2.0) / (lam_bio + lam_p)
    truth["remainder_uptake_initial"] = kin.remainder_uptake
    truth["remainder_lambda_bio_per_h"] = kin.remainder_lambda_bio_per_h
    num = truth.select_dtypes("number").columns
    truth[num] = truth[num].apply(lambda s: s.map(lambda v: float(f"{v:.6g}")) if s.dtype.kind == "f" else s)
    return truth


def target(ids: np.ndarray, patients: pd.DataFrame, scans: pd.DataFrame, settings, liver_mass_g: np.ndarray, kin: Kinetics,
           cells: dict, lab_true: dict, z: np.ndarray) -> pd.DataFrame:
    """Insert the capped prescribed activity into ``patients`` (in place) and build the truth table.

    Parameters
    ----------
    ids : numpy.ndarray
        Patient ids.
    patients, scans : pandas.DataFrame
        The simulated tables (SPEC §1).
    settings : onescan.dosimetry._dose.DoseSettings
        Dosimetry that turns the scans into the prescribed activity.
    liver_mass_g : numpy.ndarray
        CT mass of the limiting organ, g.
    kin : Kinetics
        True kinetics.
    cells, lab_true : dict
        True white cells and labs by stem.
    z : numpy.ndarray
        Latent factors, shape (n, 4).

    Returns
    -------
    pandas.DataFrame
        The truth table (float values to 6 significant digits).
    """
    from onescan.contract._cohort import normalise_patients, normalise_scans
    from onescan.dosimetry._dose import activity_for_target_mci, compute_dose

    mass = LIVER.mass_column
    canon_p = normalise_patients(patients[["patient_id", "dosimetric_activity_mci", mass]])
    dose = compute_dose(canon_p, normalise_scans(scans), settings)
    capped = dose["prescribed_activity_capped_mci"].to_numpy(dtype=float)
    uncapped = dose["prescribed_activity_mci"].to_numpy(dtype=float)
    patients.insert(1, "prescribed_activity_mci", np.round(capped, 2))
    a_liver, lam_liver_bio = kin.organs[LIVER.region]
    tiac_true = a_liver / (lam_liver_bio + kin.lambda_phys_per_h)
    true_kinetics_mci = np.asarray(activity_for_target_mci(tiac_true, liver_mass_g, settings),
                                   dtype=float)
    return _truth(ids, dose, capped, uncapped, tiac_true, true_kinetics_mci,
                  kin, cells, lab_true, z)
