"""Stage 7a of the virtual cohort: the clinical and CT columns of the patients table."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._body import Body, CtVolumes
from ._defaults import CLINICAL, CT, CT_COLUMNS, GENETIC_FLAGS, HISTORY_FLAGS, LIVER, SPLEEN_VOLUME_COLUMN
from ._draws import round_to, with_missing


def flags(rng: np.random.Generator, cols: dict[str, Any], table, n: int) -> None:
    """Add 0/1 flag columns ``(column, prevalence, missing share)`` of ``table`` to ``cols``."""
    for column, prevalence, missing in table:
        cols[column] = with_missing(rng, (rng.random(n) < prevalence).astype(float), missing)


def _scores(rng: np.random.Generator, cols: dict[str, Any], body: Body, burden: np.ndarray) -> None:
    """Performance status, comorbidity index, time since diagnosis, prior therapy lines."""
    c, age, n = CLINICAL, body.age_y, body.age_y.shape[0]
    frail = (c.frail_per_age * (age - c.frail_age_ref_y) / c.frail_age_scale_y + c.frail_burden * burden
             + c.frail_noise * rng.standard_normal(n))
    cols["ecog_score"] = np.clip(np.round(c.ecog_intercept + c.ecog_per_frail * frail), *c.ecog_range)
    cols["karnofsky_pct"] = with_missing(rng, np.clip(
        np.round((c.karnofsky_intercept - c.karnofsky_per_frail * frail) / 10) * 10, *c.karnofsky_range),
        c.karnofsky_missing)
    cols["hct_ci_score"] = with_missing(rng, np.clip(np.round(
        c.hct_ci_intercept + c.hct_ci_scale * (c.hct_ci_frail * frail + rng.standard_normal(n))),
        *c.hct_ci_range) + 0.0, c.hct_ci_missing)
    cols["months_since_diagnosis"] = with_missing(
        rng, round_to(c.months_median * np.exp(c.months_sigma * rng.standard_normal(n)), 1), c.months_missing)
    cols["prior_therapy_lines_n"] = np.clip(rng.poisson(c.prior_lines_rate, n) + 1, *c.prior_lines_range).astype(float)


def _ct_columns(rng: np.random.Generator, cols: dict[str, Any], body: Body, ct: CtVolumes) -> None:
    """CT volumes as measured (rounded, some missing) and the L3 bone density."""
    c, n = CLINICAL, body.age_y.shape[0]
    column, dec, missing = SPLEEN_VOLUME_COLUMN
    cols[column] = with_missing(rng, round_to(ct.spleen_ml, dec), missing)
    cols["spleen_length_cm"] = with_missing(rng, round_to(c.spleen_length_cm * (ct.spleen_ml / CT.spleen_ml) ** (1 / 3)
                                                          * np.exp(c.spleen_length_sigma * rng.standard_normal(n)), 1),
                                            c.spleen_length_missing)
    for column, quantity, dec, missing in CT_COLUMNS:
        cols[column] = with_missing(rng, round_to(getattr(ct, quantity), dec), missing)
    cols["l3_bone_density_hu"] = with_missing(rng, round_to(
        c.l3_hu - c.l3_per_age_hu * (body.age_y - c.frail_age_ref_y) + c.l3_sd_hu * rng.standard_normal(n), 0),
        c.l3_missing)


def clinical_columns(rng: np.random.Generator, ids: np.ndarray, body: Body, burden: np.ndarray,
                     ct: CtVolumes, dosimetric_mci: np.ndarray) -> dict[str, Any]:
    """The first columns of the patients table: id, demographics, clinical history, CT.

    Parameters
    ----------
    rng : numpy.random.Generator
        The cohort's generator.
    ids : numpy.ndarray
        Patient ids.
    body : Body
        Demographics and body size.
    burden : numpy.ndarray
        Latent leukaemic burden (standard normal).
    ct : CtVolumes
        True CT sizes.
    dosimetric_mci : numpy.ndarray
        Administered tracer activity, mCi.

    Returns
    -------
    dict
        Column name → values, in table order.
    """
    c, n = CLINICAL, len(ids)
    cols: dict[str, Any] = {"patient_id": ids, "age_y": body.age_y, "sex": np.where(body.male, "M", "F"),
                            "height_cm": body.height_cm, "weight_kg": body.weight_kg,
                            "bsa_m2": round_to(body.bsa_m2, 3), "bmi_kg_m2": round_to(body.bmi_kg_m2, 1)}
    _scores(rng, cols, body, burden)
    flags(rng, cols, HISTORY_FLAGS, n)
    cols["eln_risk_category"] = with_missing(rng, np.clip(np.round(
        c.eln_intercept + c.eln_burden * burden + c.eln_noise * rng.standard_normal(n)), *c.eln_range),
        c.eln_missing)
    flags(rng, cols, GENETIC_FLAGS, n)
    cols["dosimetric_activity_mci"] = dosimetric_mci
    cols[LIVER.mass_column] = ct.liver_mass_g
    _ct_columns(rng, cols, body, ct)
    return cols
