"""Stages 1–3 of the virtual cohort: demographics and body size, latent state, CT volumes, white cells.

Each stage draws from the cohort's one random generator; the draw order is part of the
cohort's definition (the same seed must give the same tables), so do not reorder the draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._defaults import CT, DEMOGRAPHICS, LIVER, WHITE_CELLS, KineticParams
from ._draws import round_to


@dataclass(frozen=True)
class Body:
    """Demographics and body size, one value per patient.

    Attributes
    ----------
    age_y : numpy.ndarray
        Whole years.
    male : numpy.ndarray of bool
    height_cm, weight_kg : numpy.ndarray
        Rounded to 0.1.
    bsa_m2 : numpy.ndarray
        Mosteller body-surface area, m².
    bmi_kg_m2 : numpy.ndarray
        Body-mass index, kg/m².
    """

    age_y: np.ndarray
    male: np.ndarray
    height_cm: np.ndarray
    weight_kg: np.ndarray
    bsa_m2: np.ndarray
    bmi_kg_m2: np.ndarray


@dataclass(frozen=True)
class CtVolumes:
    """CT organ sizes (ml; the limiting organ's mass in g) and the abdominal AP diameter (cm)."""

    liver_mass_g: np.ndarray
    liver_expected_g: np.ndarray      # mass expected from the BSA (Heinemann × density)
    spleen_ml: np.ndarray
    kidney_left_ml: np.ndarray
    kidney_right_ml: np.ndarray
    lungs_ml: np.ndarray
    heart_ml: np.ndarray
    ap_cm: np.ndarray

    @property
    def kidneys_ml(self) -> np.ndarray:
        """Both kidneys, ml."""
        return self.kidney_left_ml + self.kidney_right_ml


def demographics(rng: np.random.Generator, n: int) -> Body:
    """Age, sex, height, weight → BSA (Mosteller) and BMI of ``n`` patients."""
    d = DEMOGRAPHICS
    age = d.age_min_y + rng.gamma(d.age_gamma_shape, d.age_gamma_scale_y, n)
    age = np.where(age > d.age_max_y, d.age_min_y + rng.uniform(0, d.age_redraw_span_y, n), age)
    male = rng.random(n) < d.male_share
    zh = rng.standard_normal(n)
    zw = d.height_weight_corr * zh + math.sqrt(1 - d.height_weight_corr ** 2) * rng.standard_normal(n)
    height = np.where(male, d.height_male_cm + d.height_sd_cm * zh, d.height_female_cm + d.height_sd_cm * zh)
    weight = np.where(male, d.weight_male_kg + d.weight_sd_kg * zw, d.weight_female_kg + d.weight_sd_kg * zw)
    weight = np.clip(weight, d.weight_min_kg, d.weight_max_kg)
    height = round_to(height, 1)
    weight = round_to(weight, 1)
    bsa = np.sqrt(height * weight / 3600.0)
    bmi = weight / (height / 100.0) ** 2
    return Body(age_y=np.floor(age), male=male, height_cm=height, weight_kg=weight, bsa_m2=bsa, bmi_kg_m2=bmi)


def latent_factors(rng: np.random.Generator, n: int) -> np.ndarray:
    """Standard-normal latent state, shape (n, 4): burden, hepatic, inflammation, renal."""
    return rng.standard_normal((n, 4))


def ct_volumes(rng: np.random.Generator, body: Body, burden: np.ndarray, p: KineticParams) -> CtVolumes:
    """CT volumes from body size (Heinemann liver, ICRP 89 references) and leukaemic burden."""
    c, bsa, n = CT, body.bsa_m2, body.bsa_m2.shape[0]
    liver_ml = ((c.heinemann_slope_ml_per_m2 * bsa - c.heinemann_intercept_ml)
                * np.exp(p.liver_volume_sigma * rng.standard_normal(n))
                * np.exp(c.liver_infiltration * burden))
    liver_ml = np.maximum(liver_ml, c.liver_min_ml)
    liver_mass = round_to(liver_ml * LIVER.density_g_per_ml, 0)
    liver_expected_g = (c.heinemann_slope_ml_per_m2 * bsa - c.heinemann_intercept_ml) * LIVER.density_g_per_ml
    spleen_ml = (c.spleen_ml * np.exp(c.spleen_sigma * rng.standard_normal(n))
                 * np.exp(c.splenomegaly * np.maximum(burden, 0.0)))
    kid_l = c.kidney_ml * (bsa / c.bsa_ref_m2) * np.exp(c.kidney_sigma * rng.standard_normal(n))
    kid_r = kid_l * np.exp(c.kidney_right_sigma * rng.standard_normal(n)) * c.kidney_right_ratio
    lungs_ml = (c.lungs_ml * (body.height_cm / c.lungs_height_ref_cm) ** 3
                * np.exp(c.lungs_sigma * rng.standard_normal(n)))
    heart_ml = c.heart_ml * (bsa / c.bsa_ref_m2) * np.exp(c.heart_sigma * rng.standard_normal(n))
    ap_cm = c.ap_cm + c.ap_per_bmi_cm * (body.bmi_kg_m2 - c.ap_bmi_ref) + c.ap_sd_cm * rng.standard_normal(n)
    ap_cm = np.clip(ap_cm, c.ap_min_cm, c.ap_max_cm)
    return CtVolumes(liver_mass_g=liver_mass, liver_expected_g=liver_expected_g, spleen_ml=spleen_ml,
                     kidney_left_ml=kid_l, kidney_right_ml=kid_r, lungs_ml=lungs_ml, heart_ml=heart_ml,
                     ap_cm=ap_cm)


def white_cells(rng: np.random.Generator, z: np.ndarray) -> dict[str, np.ndarray]:
    """True absolute white-cell subsets (1e9/l) by column stem, in draw order (WBC = their sum, not included)."""
    burden, inflam = z[:, 0], z[:, 2]
    out: dict[str, np.ndarray] = {}
    for cell in WHITE_CELLS:
        u = None
        for coef, x in ((cell.burden, burden), (cell.inflam, inflam)):
            if coef is not None:
                u = coef * x if u is None else u + coef * x
        noise = cell.noise * rng.standard_normal(z.shape[0])
        u = noise if u is None else u + noise
        out[cell.stem] = cell.median * np.exp(cell.sd * u)
    return out
