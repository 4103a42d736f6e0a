"""MIRD dosimetry from planar conjugate-view scans: quantification, time–activity fits, S-values, dose."""

from onescan._lazy import lazy_exports

__all__ = ["DoseSettings", "DOSE_COLUMNS", "make_dose_settings", "compute_dose", "dose_gy_per_mci", "activity_for_target_mci", "TacFit", "fit_tacs", "FIT_METHODS", "TAC_MODELS", "TacModel", "dose_columns", "organ_mass_g", "half_life_h", "lambda_phys_per_h", "load_s_values", "s_value_mgy_per_mbq_s", "MASS_SCALINGS", "quantify", "DEFAULT_MU_PER_CM"]

__getattr__ = lazy_exports(__name__, {
    "DoseSettings": "onescan.dosimetry._dose",
    "DOSE_COLUMNS": "onescan.dosimetry._dose",
    "make_dose_settings": "onescan.dosimetry._dose",
    "compute_dose": "onescan.dosimetry._dose",
    "dose_gy_per_mci": "onescan.dosimetry._dose",
    "activity_for_target_mci": "onescan.dosimetry._dose",
    "TacFit": "onescan.dosimetry.tac",
    "fit_tacs": "onescan.dosimetry.tac",
    "FIT_METHODS": "onescan.dosimetry.tac",
    "TAC_MODELS": "onescan.dosimetry.tac",
    "TacModel": "onescan.dosimetry.tac",
    "dose_columns": "onescan.dosimetry._dose",
    "organ_mass_g": "onescan.dosimetry._dose",
    "half_life_h": "onescan.dosimetry._physics",
    "lambda_phys_per_h": "onescan.dosimetry._physics",
    "load_s_values": "onescan.dosimetry._physics",
    "s_value_mgy_per_mbq_s": "onescan.dosimetry._physics",
    "MASS_SCALINGS": "onescan.dosimetry._physics",
    "quantify": "onescan.dosimetry._quantify",
    "DEFAULT_MU_PER_CM": "onescan.dosimetry._quantify",
})
