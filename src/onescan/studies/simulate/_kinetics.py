"""Stage 5 of the virtual cohort: the true kinetics of every compartment (see :class:`KineticParams`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._body import CtVolumes
from ._defaults import (AST_STEM, BODY_KINETICS, COMPARTMENTS, LDH_STEM, LIVER, LYMPHOCYTES_STEM, NEUTROPHILS_STEM,
                        REF, WBC_STEM, Compartment, KineticParams)


@dataclass(frozen=True)
class Kinetics:
    """True kinetics per patient: mono-exponential biological retention times physical decay.

    Attributes
    ----------
    lambda_phys_per_h : float
        Physical decay constant of the nuclide, 1/h.
    organs : dict
        Region → (initial uptake fraction, biological clearance 1/h), the limiting organ first.
    remainder_uptake : numpy.ndarray
        Initial fraction in the rest of the body.
    remainder_lambda_bio_per_h : numpy.ndarray
        Biological clearance of the rest of the body, 1/h.
    """

    lambda_phys_per_h: float
    organs: dict[str, tuple[np.ndarray, np.ndarray]]
    remainder_uptake: np.ndarray
    remainder_lambda_bio_per_h: np.ndarray


def _liver(rng, ct: CtVolumes, cells: dict, labs: dict, p: KineticParams) -> tuple[np.ndarray, np.ndarray]:
    """Initial uptake and biological clearance of the liver (covariate model of :class:`KineticParams`)."""
    n = ct.liver_mass_g.shape[0]
    ln = np.log
    x_ast, x_ldh = labs[AST_STEM], labs[LDH_STEM]
    lymph, neut = cells[LYMPHOCYTES_STEM], cells[NEUTROPHILS_STEM]
    rel = (1.0 + p.k_infiltration * (ct.liver_mass_g / ct.liver_expected_g - 1.0)
           + p.k_ast * (x_ast / REF.ast - 1.0) - p.k_ldh * (x_ldh / REF.ldh - 1.0)
           - p.k_lymph * (lymph / REF.lymph - 1.0) - p.k_neut * (neut / REF.neut - 1.0))
    lam_bio = (math.log(2.0) / p.t_half_bio_h * np.maximum(rel, p.floor)
               * np.exp(p.sigma_lambda * rng.standard_normal(n)))
    a = p.uptake_median * np.exp(
        p.c_mass * (ln(ct.liver_mass_g) - ln(REF.liver_mass_g))
        + p.c_spleen * (ln(ct.spleen_ml) - ln(REF.spleen_ml))
        + p.sigma_uptake * rng.standard_normal(n))
    return a, lam_bio


def _compartment(rng, c: Compartment, size: np.ndarray, lam_blood_bio: np.ndarray):
    """Initial uptake and biological clearance of one other compartment (uptake drawn first)."""
    n = size.shape[0]
    ratio = size / c.size_ref
    if c.size_exponent is not None:
        ratio = ratio ** c.size_exponent
    a = c.uptake * ratio * np.exp(c.uptake_sigma * rng.standard_normal(n))
    if c.half_life_h is not None:
        lam = math.log(2.0) / c.half_life_h * np.exp(c.lambda_sigma * rng.standard_normal(n))
    elif c.lambda_sigma is not None:
        lam = lam_blood_bio * np.exp(c.lambda_sigma * rng.standard_normal(n))
    else:
        lam = lam_blood_bio
    return a, lam


def kinetics(rng: np.random.Generator, ct: CtVolumes, cells: dict, labs: dict, sizes: dict,
             p: KineticParams) -> Kinetics:
    """True kinetics of every compartment.

    Parameters
    ----------
    rng : numpy.random.Generator
        The cohort's generator (draw order: liver, blood, the :data:`COMPARTMENTS`, remainder).
    ct : CtVolumes
        CT sizes.
    cells : dict
        True white-cell counts by column stem (lymphocytes, neutrophils, WBC are read), 1e9/l.
    labs : dict
        True lab values by stem (AST and LDH are read).
    sizes : dict
        Quantity name → size array for the :data:`COMPARTMENTS` (``spleen_ml``, …).
    p : KineticParams
        The liver's covariate model.

    Returns
    -------
    Kinetics
    """
    from onescan.dosimetry._physics import lambda_phys_per_h

    bk = BODY_KINETICS
    n = ct.liver_mass_g.shape[0]
    lam_p = lambda_phys_per_h(bk.nuclide)
    liver = _liver(rng, ct, cells, labs, p)
    # blood-pool organs clear with the blood (faster with a larger circulating antigen sink)
    sink = np.log(cells[WBC_STEM] / REF.wbc)
    lam_blood_bio = math.log(2.0) / bk.blood_half_life_h * np.exp(bk.blood_sink * sink
                                                                  + bk.blood_sigma * rng.standard_normal(n))
    organs = {LIVER.region: liver}
    for c in COMPARTMENTS:
        organs[c.region] = _compartment(rng, c, sizes[c.size], lam_blood_bio)
    a_sum = sum(a for a, _ in organs.values())
    scale = np.minimum(1.0, bk.organs_max_share / a_sum)
    organs = {k: (a * scale, lam) for k, (a, lam) in organs.items()}
    a_rest = 1.0 - sum(a for a, _ in organs.values())
    lam_rest_bio = math.log(2.0) / bk.remainder_half_life_h * np.exp(bk.remainder_sigma * rng.standard_normal(n))
    return Kinetics(lambda_phys_per_h=lam_p, organs=organs, remainder_uptake=a_rest,
                    remainder_lambda_bio_per_h=lam_rest_bio)
