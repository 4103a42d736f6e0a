"""Stage 4 of the virtual cohort: laboratory tests, vital signs and marrow findings.

True values are drawn before the kinetics (:func:`true_labs`; the liver kinetics read the
true AST, LDH and white cells); the measured columns of the patients table are drawn after
the imaging (:func:`measured_columns`). Labs are log-normal (or logit-normal for
percentages) around published medians of the population, loaded on the latent factors,
plus measurement noise (pre) and day-to-day change plus measurement noise (post).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._body import Body
from ._defaults import (BLASTS_PCT_STEM, BLASTS_STEM, DERIVED_LABS, GRADE_MAX, LABS, MARROW, OTHER, ROUTINE_ONCE,
                        SCREENING_FLAGS, SPARSE_ONCE_MISSING, SPARSE_POST, SPARSE_POST_MISSING, VITALS, WBC_STEM,
                        WHITE_CELL_COLUMNS, WHITE_CELL_MEASURE, WHITE_CELL_MISSING)
from ._clinical import flags
from ._draws import ckd_epi_2021, expit, latent_value, measure, round_to, with_missing

_SUFFIXES = ("_pre", "_post")


@dataclass(frozen=True)
class TrueLabs:
    """True (infusion-day) lab values by stem: paired labs (:data:`LABS`), screening tests, marrow tests."""

    paired: dict[str, np.ndarray]
    other: dict[str, np.ndarray]
    marrow: dict[str, np.ndarray]

    @property
    def once(self) -> dict[str, np.ndarray]:
        """Screening and marrow tests together (measured once)."""
        return self.other | self.marrow


def true_labs(rng: np.random.Generator, z: np.ndarray) -> TrueLabs:
    """True values of every lab, loaded on the latent factors ``z`` (n, 4)."""
    lab_true = {lab.stem: latent_value(rng, lab, z) for lab in LABS}
    other_true = {lab.stem: latent_value(rng, lab, z) for lab in OTHER}
    marrow_true = {lab.stem: latent_value(rng, lab, z) for lab in MARROW}
    return TrueLabs(paired=lab_true, other=other_true, marrow=marrow_true)


def _vitals(rng: np.random.Generator, cols: dict[str, Any], inflam: np.ndarray) -> None:
    """Vital signs before and after the infusion (loaded on inflammation)."""
    n = inflam.shape[0]
    for stem, mean, sd, li, ch, dec, mpre, mpost, (lo, hi) in VITALS:
        true = mean + sd * (li * inflam + math.sqrt(1 - li * li) * rng.standard_normal(n))
        cols[f"{stem}_pre"] = with_missing(rng, round_to(np.clip(true, lo, hi), dec), mpre)
        cols[f"{stem}_post"] = with_missing(
            rng, round_to(np.clip(true + ch * rng.standard_normal(n), lo, hi), dec), mpost)


def _white_cells(rng: np.random.Generator, cols: dict[str, Any], cells: dict[str, np.ndarray]) -> None:
    """Measured white-cell subsets pre/post (the WBC is the sum of the measured subsets) and blast %."""
    n = cells[WBC_STEM].shape[0]
    measured = {}
    for sfx in _SUFFIXES:
        shift, sd = WHITE_CELL_MEASURE[sfx]
        meas = {k: cells[k] * np.exp(shift + sd * rng.standard_normal(n)) for k in WHITE_CELL_COLUMNS if k != WBC_STEM}
        meas[WBC_STEM] = sum(meas.values())
        measured[sfx] = meas
    for stem in WHITE_CELL_COLUMNS:
        for sfx in _SUFFIXES:
            cols[f"{stem}{sfx}"] = with_missing(rng, round_to(measured[sfx][stem], 2), WHITE_CELL_MISSING[sfx])
    for sfx in _SUFFIXES:
        m = measured[sfx]
        cols[f"{BLASTS_PCT_STEM}{sfx}"] = with_missing(
            rng, round_to(100.0 * m[BLASTS_STEM] / m[WBC_STEM], 1), WHITE_CELL_MISSING[sfx])


def _paired_labs(rng: np.random.Generator, cols: dict[str, Any], lab_true: dict) -> None:
    """Every lab of :data:`LABS` measured before and after the infusion."""
    for lab in LABS:
        true = lab_true[lab.stem]
        miss_post = max(lab.miss_post, SPARSE_POST_MISSING) if lab.stem in SPARSE_POST else lab.miss_post
        for post, miss in ((False, lab.miss_pre), (True, miss_post)):
            cols[f"{lab.stem}{'_post' if post else '_pre'}"] = with_missing(
                rng, round_to(measure(rng, lab, true, post), lab.dec), miss)


def _derived_labs(rng: np.random.Generator, cols: dict[str, Any], body: Body) -> None:
    """Labs computed from the measured values, so they stay consistent."""
    d, n = DERIVED_LABS, body.age_y.shape[0]
    for sfx in _SUFFIXES:
        hb = cols[f"hemoglobin_g_per_dl{sfx}"]
        cols[f"hematocrit_pct{sfx}"] = round_to(
            hb * d.hematocrit_per_hemoglobin * np.exp(d.hematocrit_sigma * rng.standard_normal(n)), 1)
        cols[f"inr_ratio{sfx}"] = round_to((cols[f"pt_s{sfx}"] / d.pt_ref_s) ** d.inr_exponent, 2)
        cols[f"bilirubin_direct_mg_per_dl{sfx}"] = with_missing(
            rng, round_to(cols[f"bilirubin_total_mg_per_dl{sfx}"]
                          * expit(d.direct_bilirubin_logit + d.direct_bilirubin_sigma * rng.standard_normal(n)), 2),
            d.direct_bilirubin_missing_pre if sfx == "_pre" else d.direct_bilirubin_missing_post)
        # globulin cannot fall below ~1 g/dl: the total protein is at least albumin + 1
        tp = np.maximum(cols[f"total_protein_g_per_dl{sfx}"], cols[f"albumin_g_per_dl{sfx}"] + d.min_globulin_g_per_dl)
        cols[f"total_protein_g_per_dl{sfx}"] = np.where(np.isnan(cols[f"total_protein_g_per_dl{sfx}"]), np.nan, tp)
        cols[f"globulin_g_per_dl{sfx}"] = round_to(cols[f"total_protein_g_per_dl{sfx}"] - cols[f"albumin_g_per_dl{sfx}"], 1)
        # electroneutrality: chloride = sodium − bicarbonate − anion gap
        gap = np.round(np.clip(d.anion_gap_mmol_per_l + d.anion_gap_sd * rng.standard_normal(n),
                               d.anion_gap_min, d.anion_gap_max))
        na, hco3 = cols[f"sodium_mmol_per_l{sfx}"], cols[f"bicarbonate_mmol_per_l{sfx}"]
        chloride = np.where(np.isnan(cols[f"chloride_mmol_per_l{sfx}"]), np.nan, na - hco3 - gap)
        cols[f"chloride_mmol_per_l{sfx}"] = chloride
        cols[f"anion_gap_mmol_per_l{sfx}"] = np.where(np.isnan(na + hco3 + chloride), np.nan, gap)
        cols[f"egfr_ml_per_min_1_73m2{sfx}"] = round_to(
            ckd_epi_2021(cols[f"creatinine_mg_per_dl{sfx}"], body.age_y, body.male), 0)


def _once_tests(rng: np.random.Generator, cols: dict[str, Any], once_true: dict) -> None:
    """Screening tests and marrow findings, measured once."""
    for lab in OTHER + MARROW:
        miss = lab.miss_pre
        if lab.stem not in ROUTINE_ONCE:
            miss = max(miss, SPARSE_ONCE_MISSING)
        value = round_to(measure(rng, lab, once_true[lab.stem], False), lab.dec)
        if lab.stem in GRADE_MAX:
            value = np.clip(value, 0.0, GRADE_MAX[lab.stem])
        cols[lab.stem] = with_missing(rng, value, miss)


def measured_columns(rng: np.random.Generator, cols: dict[str, Any], body: Body, z: np.ndarray,
                     cells: dict[str, np.ndarray], truth: TrueLabs) -> None:
    """Add the measured columns to the patients table ``cols`` (in place, in table order).

    Parameters
    ----------
    rng : numpy.random.Generator
        The cohort's generator.
    cols : dict
        Column name → values; extended in place.
    body : Body
        Demographics (age and sex for the eGFR).
    z : numpy.ndarray
        Latent factors, shape (n, 4).
    cells : dict
        True white-cell subsets and WBC by stem, 1e9/l.
    truth : TrueLabs
        True lab values.
    """
    _vitals(rng, cols, z[:, 2])
    _white_cells(rng, cols, cells)
    _paired_labs(rng, cols, truth.paired)
    _derived_labs(rng, cols, body)
    _once_tests(rng, cols, truth.once)
    flags(rng, cols, SCREENING_FLAGS, body.age_y.shape[0])
