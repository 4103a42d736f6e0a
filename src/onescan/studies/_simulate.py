"""The virtual SIERRA cohort: a seeded, physiological generator of virtual patients.

The SIERRA trial's data are private, so onescan simulates patients that look like older
(≥ 55 y) relapsed/refractory AML patients receiving a dosimetric (tracer) infusion of
I-131 apamistamab (Iomab-B, an anti-CD45 antibody), imaged three times with a planar
gamma camera (SPEC §5). The generator is a chain of physical and physiological models,
not a regression with noise:

1. **Demographics** — age, sex, height, weight → BSA (Mosteller), BMI.
2. **CT volumes** — liver from BSA (Heinemann), spleen (with AML splenomegaly), kidneys,
   lungs, heart.
3. **Latent state** — three independent standard-normal factors per patient:
   ``burden`` (leukaemic mass: blasts, WBC, LDH, uric acid, marrow blasts, spleen size,
   cytopenias), ``hepatic`` (hepatocellular injury: AST, ALT, GGT, ALP, bilirubin, low
   albumin), ``inflam`` (inflammation: CRP, ferritin, fibrinogen, fever).  A fourth,
   ``renal``, drives creatinine/BUN/cystatin C.
4. **Labs** before (``_pre``) and after (``_post``) the dosimetric infusion — log-normal
   (or logit-normal for percentages) around published medians of the population, loaded
   on the latent factors, plus measurement noise (pre) and day-to-day change plus
   measurement noise (post). Absolute white-cell subsets are generated first and the WBC
   is their sum, so the differential is internally consistent.
5. **Kinetics** per organ (liver, spleen, marrow, lungs, kidneys, heart = blood pool,
   remainder) as a mono-exponential biological retention ``a·exp(−λ_bio·t)`` times I-131
   decay (λ_phys from :func:`onescan.dosimetry._physics.lambda_phys_per_h`, ICRP 107). The liver's
   λ_bio is a sum of first-order pathways driven by covariates (see
   :class:`KineticParams`): a liver larger than its body size predicts (CT mass over the
   Heinemann mass for the BSA: leukaemic infiltration, an in-liver CD45 antigen sink)
   and hepatocellular injury (AST) speed catabolism; the antibody bound to circulating
   CD45+ cells (lymphocytes, neutrophils, the leukaemic mass marked by LDH) is a
   reservoir that keeps re-delivering antibody to the liver and slows its net
   clearance. The initial liver uptake is proportional to liver mass^0.9 (about constant
   uptake per gram), lowered by splenomegaly (the spleen takes its share of the CD45
   antigen). Blood-pool organs clear faster with a larger circulating antigen sink. The
   whole body is the sum of all compartments (so it is never below the organs), held
   entirely in the body until the first void after the first scan.
6. **Imaging** (MIRD Pamphlet 16 conjugate views) at ~0–2 h, ~24 h and 72–96 h with
   jitter: expected counts = activity × camera sensitivity × acquisition time ×
   exp(−μ·depth) per view (μ = 0.110 cm⁻¹, water at 364 keV, SPEC §2), times a
   log-normal ROI-delineation error, plus a background, all Poisson-sampled; the
   background is recorded as its own independent Poisson measurement.
7. **Target** — :func:`onescan.dosimetry._dose.compute_dose` (SPEC §2) on these noisy scans:
   ``prescribed_activity_mci`` in ``patients`` is the value capped at the maximum
   manufactured activity (1030 mCi), as in the trial. The uncapped value and every true
   kinetic parameter are in ``truth`` only.

Distributions and their sources (all numbers below are in the code tables
``_LABS``/``_MARROW``/``_OTHER`` and :class:`KineticParams`; ``docs/virtual_cohort.md``
lists them):

* Age: 55 + Gamma(k=2.2, θ=4.8) y, truncated at 80 (median ≈ 64 y; SIERRA enrolled
  patients ≥ 55 y, median 64 — Gyurkocza et al., J Clin Oncol 2024).
* Sex: 58 % male (issue 3 target; AML incidence is higher in men, SEER).
* Height/weight: normal by sex, men 174 ± 7 cm / 86 ± 16 kg, women 161 ± 7 cm /
  73 ± 16 kg, height–weight correlation 0.4 (NHANES 2015–2018 adults ≥ 60 y,
  CDC Vital Health Stat 3(46), 2021); weight truncated to 42–160 kg.
* BSA = sqrt(height·weight/3600) m² (Mosteller, N Engl J Med 1987;317:1098).
* Liver volume = (1072.8·BSA − 345.7) ml (Heinemann et al., Liver Transpl Surg
  1999;5:366) × log-normal scatter σ = 0.20 (the published regression explains about
  half of the variance) × leukaemic infiltration exp(0.07·burden); mass = 1.05 g/ml ×
  volume (SPEC §1.1).
* Spleen volume: 215 ml × exp(0.30·N) in health (CT normal 150–250 ml), × a
  splenomegaly factor exp(0.55·max(burden, 0)) (splenomegaly in roughly a quarter to a
  third of R/R AML patients).
* Kidneys 150 ml each × (BSA/1.9), lungs 4.5 l × (height/170)³ (reference adult, ICRP
  89), heart (CT, incl. chambers) 650 ml × (BSA/1.9); each with 10–15 % scatter.
* Labs: medians, spreads and factor loadings per lab in ``_LABS`` — typical values of
  older R/R AML patients at screening for allogeneic transplant (cytopenias: ANC median
  ~0.6 ×10⁹/l, platelets ~40 ×10⁹/l, haemoglobin ~9 g/dl; LDH median ~280 U/l, heavy
  right tail), adult reference intervals otherwise (Tietz Clinical Guide to Laboratory
  Tests). eGFR is computed from creatinine by CKD-EPI 2021 (Inker et al., N Engl J Med
  2021;385:1737).
* Names: snake_case with the unit as suffix; dimensionless columns say what they are
  (``_flag`` 0/1, ``_score``, ``_grade``, ``_ratio``, ``_category``, ``_n``).
* Missing data: each column has its own missing share (a few % for routine labs, > 20 %
  for tests that are not routine: procalcitonin, D-dimer, cystatin C, iron studies,
  vitamin levels, several marrow flow-cytometry markers, pulmonary function).
* Kinetics: :class:`KineticParams` (tuned with ``scripts/calibrate_cohort.py`` to the
  published summaries of the SIERRA dosimetry and of the seed study — calibration, not
  validation).
* Camera: planar sensitivity 30 cps/MBq per head (order of magnitude of high-energy
  collimator sensitivities at 364 keV; it cancels in the fraction GM_r/GM_wb and only
  sets the Poisson noise), acquisition 600/900/1200 s at the three scans.

Everything is drawn from one ``numpy.random.Generator(PCG64(seed))`` in a fixed order,
so the same ``(n, seed)`` always gives the same tables.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from onescan.contract._units import LIVER_DENSITY_G_PER_ML, MBQ_PER_MCI

__all__ = [
    "KineticParams",
    "SimulatedCohort",
    "simulate_cohort",
    "default_cohort",
    "default_cohort_paths",
    "write_cohort",
    "DEFAULT_COHORT_SEED",
    "DEFAULT_COHORT_N",
    "REGIONS",
]

logger = logging.getLogger(__name__)

#: Seed and size of the built-in default cohort (``src/onescan/data/cohort``). The seed is
#: the first of 1, 2, … whose 74-patient cohort has a mean prescribed activity within
#: 15 mCi of the published 716.4 mCi (chosen on the target's mean only, never on any
#: model result; see ``scripts/make_default_cohort.py``).
DEFAULT_COHORT_SEED: int = 2
DEFAULT_COHORT_N: int = 74

#: Regions drawn on every planar image (``whole_body`` first).
REGIONS: tuple[str, ...] = ("whole_body", "liver", "spleen", "lungs", "kidneys", "marrow", "heart")

#: Linear attenuation coefficient of water at 364 keV (cm⁻¹), SPEC §2 default.
_MU_PER_CM = 0.110

#: Camera sensitivity (counts per second per MBq, per head) and acquisition time per scan (s).
_SENSITIVITY_CPS_PER_MBQ = 30.0
_ACQUISITION_S = (600.0, 900.0, 1200.0)

#: Background count rate per ROI (cps), scatter and room background, by region.
_BACKGROUND_CPS = {"whole_body": 25.0, "liver": 3.0, "spleen": 1.2, "lungs": 3.0,
                   "kidneys": 1.0, "marrow": 1.5, "heart": 1.2}

#: ROI-delineation / overlap error of planar quantification (log-normal σ), by region.
_ROI_SIGMA = {"whole_body": 0.01, "liver": 0.04, "spleen": 0.08, "lungs": 0.08,
              "kidneys": 0.10, "marrow": 0.10, "heart": 0.08}

#: Reference values that centre the covariate model (a typical patient of the cohort).
_REF = {"bsa_m2": 1.9, "liver_mass_g": 1800.0, "ast": 30.0, "ldh": 280.0, "lymph": 0.7,
        "neut": 0.6, "wbc": 3.0, "spleen_ml": 250.0}


@dataclass(frozen=True)
class KineticParams:
    """Covariate model of the liver kinetics (the knobs tuned by calibration).

    The liver's net biological clearance rate (1/h) is a sum of first-order pathways
    (rate constants of parallel processes add), each proportional to the size of the
    process relative to the reference patient::

        λ_bio = ln2/t_half_bio_h · exp(σ_λ·ε) · max(floor,
                  1 + k_infiltration·(m/m_exp − 1) + k_ast·(AST/AST_ref − 1)
                    − k_ldh·(LDH/LDH_ref − 1)
                    − k_lymph·(LY/LY_ref − 1) − k_neut·(NE/NE_ref − 1))

    with the true (infusion-day) AST, LDH, lymphocyte (LY) and neutrophil (NE) counts.

    * ``m/m_exp``: CT liver mass over the mass expected from BSA (Heinemann × 1.05 g/ml).
      A liver larger than its body size predicts signals leukaemic infiltration, CD45+
      cells inside the liver: an in-liver antigen sink that catabolises bound antibody.
    * AST (hepatocellular injury, Kupffer-cell activation) is a further catabolic
      pathway: faster deiodination and release of iodide from the liver.
    * Antibody bound to circulating CD45+ cells — lymphocytes, neutrophils, and the
      leukaemic mass whose turnover LDH marks — is a blood-borne reservoir that keeps
      re-delivering antibody to the liver: it lowers the liver's *net* clearance (while
      the blood itself clears faster). Re-delivery rates subtract from the elimination
      rate; ``floor`` keeps the net rate positive.

    λ_eff = λ_bio + λ_phys. The initial liver uptake fraction is proportional to liver
    mass to the power ``c_mass`` (close to 1: a constant uptake per gram)::

        ln a = ln(uptake_median) + c_mass·ln(m/m_ref) + c_spleen·ln(V_spleen/V_ref) + σ_a·ε

    Parameters
    ----------
    t_half_bio_h : float
        Liver biological half-life of the reference patient (h).
    k_infiltration, k_ast, k_ldh, k_lymph, k_neut : float
        Relative strength of each pathway (dimensionless).
    floor : float
        Smallest relative clearance (a liver always catabolises some antibody).
    sigma_lambda : float
        Unexplained patient-level log-SD of λ_bio.
    uptake_median : float
        Initial liver uptake fraction of the reference patient.
    c_mass, c_spleen : float
        Exponents of liver mass and spleen volume in the initial uptake (splenomegaly
        takes antibody away from the liver).
    sigma_uptake : float
        Unexplained log-SD of the initial uptake.
    liver_volume_sigma : float
        Log-SD of the CT liver volume around the Heinemann BSA regression.
    """

    t_half_bio_h: float = 33.0
    k_infiltration: float = 2.3
    k_ast: float = 0.35
    k_ldh: float = 0.25
    k_lymph: float = 0.3
    k_neut: float = 0.12
    floor: float = 0.03
    sigma_lambda: float = 0.02
    uptake_median: float = 0.26
    c_mass: float = 0.9
    c_spleen: float = -0.10
    sigma_uptake: float = 0.03
    liver_volume_sigma: float = 0.20


@dataclass
class SimulatedCohort:
    """A simulated cohort in the SPEC §1 file format plus its hidden truth.

    Attributes
    ----------
    patients : pandas.DataFrame
        One row per patient: ``patient_id``, ``prescribed_activity_mci`` (capped target,
        mCi) and the candidate features (``dosimetric_activity_mci``, ``liver_mass_g``,
        demographics, CT volumes, labs, marrow tests, …).
    scans : pandas.DataFrame
        One row per patient × scan time × region (SPEC §1.2) with integer counts.
    truth : pandas.DataFrame
        One row per patient: true kinetic parameters per organ, the true liver TIAC,
        the prescribed activity from the true kinetics, and the dosimetry of the noisy
        scans (uncapped prescribed activity, fitted half-life, first uptake).
    """

    patients: pd.DataFrame
    scans: pd.DataFrame
    truth: pd.DataFrame


# --------------------------------------------------------------------------------------
# Lab tables.  Each row: column stem (the unit suffix is part of the name), median,
# log-SD between patients, loadings (fraction of the log-SD carried by each latent factor:
# burden, hepatic, inflam, renal), measurement CV (pre), post-infusion log shift, SD of the
# post-infusion change (incl. measurement), missing share pre, missing share post,
# decimals.  Percent-valued labs with kind "logit" are logit-normal.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lab:
    stem: str
    median: float
    sd: float
    load: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    meas: float = 0.05
    shift: float = 0.0
    change: float = 0.10
    miss_pre: float = 0.02
    miss_post: float = 0.04
    dec: int = 1
    kind: str = "log"          # "log" or "logit" (percent)
    pair: bool = True          # measured before and after the infusion


_LABS: tuple[_Lab, ...] = (
    # --- complete blood count (white-cell subsets are generated separately) ----------
    _Lab("platelets_1e9_per_l", 40, 0.85, (-0.45, 0, 0, 0), 0.06, -0.05, 0.20, 0.01, 0.03, 0),
    _Lab("hemoglobin_g_per_dl", 9.0, 0.13, (-0.35, 0, -0.2, -0.1), 0.03, -0.02, 0.06, 0.01, 0.03, 1),
    _Lab("rbc_1e12_per_l", 3.0, 0.15, (-0.3, 0, -0.15, 0), 0.03, -0.02, 0.06, 0.02, 0.04, 2),
    _Lab("mcv_fl", 92, 0.06, (0.1, 0.1, 0, 0), 0.01, 0, 0.02, 0.02, 0.04, 1),
    _Lab("mch_pg", 30.5, 0.06, (0.05, 0, 0, 0), 0.01, 0, 0.02, 0.02, 0.04, 1),
    _Lab("mchc_g_per_dl", 33.2, 0.03, (0, 0, 0, 0), 0.01, 0, 0.015, 0.02, 0.04, 1),
    _Lab("rdw_pct", 16.5, 0.15, (0.3, 0.1, 0.1, 0), 0.02, 0, 0.04, 0.02, 0.05, 1),
    _Lab("mpv_fl", 10.4, 0.10, (0.1, 0, 0, 0), 0.03, 0, 0.05, 0.08, 0.10, 1),
    _Lab("reticulocytes_pct", 1.2, 0.6, (-0.3, 0, 0, 0), 0.10, 0, 0.20, 0.15, 0.25, 2, kind="logit"),
    _Lab("immature_granulocytes_pct", 1.5, 0.9, (0.4, 0, 0.1, 0), 0.15, 0, 0.25, 0.12, 0.18, 1, kind="logit"),
    _Lab("nrbc_per_100_wbc", 0.8, 1.2, (0.4, 0, 0, 0), 0.20, 0, 0.35, 0.18, 0.26, 1),
    # --- chemistry ------------------------------------------------------------------
    _Lab("sodium_mmol_per_l", 139, 0.022, (0, 0, -0.2, 0), 0.007, 0, 0.012, 0.01, 0.03, 0),
    _Lab("potassium_mmol_per_l", 4.0, 0.11, (0.1, 0, 0, 0.2), 0.03, 0, 0.06, 0.01, 0.03, 1),
    _Lab("chloride_mmol_per_l", 103, 0.03, (0, 0, 0, 0), 0.008, 0, 0.015, 0.02, 0.04, 0),
    _Lab("bicarbonate_mmol_per_l", 25, 0.09, (0, 0, -0.1, -0.2), 0.03, 0, 0.05, 0.03, 0.05, 0),
    _Lab("calcium_mg_per_dl", 8.9, 0.055, (0, -0.1, -0.1, 0), 0.015, 0, 0.03, 0.02, 0.04, 1),
    _Lab("magnesium_mg_per_dl", 2.0, 0.11, (0, 0, 0, 0.1), 0.03, 0, 0.06, 0.05, 0.08, 1),
    _Lab("phosphate_mg_per_dl", 3.4, 0.18, (0.15, 0, 0, 0.3), 0.04, 0, 0.10, 0.05, 0.08, 1),
    _Lab("glucose_mg_per_dl", 108, 0.20, (0, 0, 0.15, 0), 0.03, 0, 0.15, 0.01, 0.03, 0),
    _Lab("uric_acid_mg_per_dl", 4.8, 0.35, (0.5, 0, 0, 0.3), 0.04, -0.05, 0.10, 0.04, 0.07, 1),
    _Lab("total_protein_g_per_dl", 6.3, 0.09, (0, -0.2, 0.2, 0), 0.02, 0, 0.04, 0.03, 0.06, 1),
    # --- liver panel ------------------------------------------------------------------
    _Lab("ast_u_per_l", 30, 0.50, (0.15, 0.85, 0, 0), 0.04, 0.05, 0.08, 0.01, 0.03, 0),
    _Lab("alt_u_per_l", 32, 0.70, (0.05, 0.75, 0, 0), 0.05, 0.05, 0.18, 0.01, 0.03, 0),
    _Lab("alp_u_per_l", 95, 0.45, (0.15, 0.45, 0.15, 0), 0.04, 0, 0.10, 0.02, 0.04, 0),
    _Lab("ggt_u_per_l", 55, 0.85, (0, 0.55, 0.1, 0), 0.05, 0, 0.15, 0.10, 0.15, 0),
    _Lab("bilirubin_total_mg_per_dl", 0.6, 0.50, (0.1, 0.45, 0.1, 0), 0.06, 0, 0.15, 0.01, 0.03, 2),
    _Lab("albumin_g_per_dl", 3.5, 0.13, (-0.15, -0.3, -0.4, 0), 0.03, -0.01, 0.05, 0.02, 0.04, 1),
    # --- LDH (tumour turnover) ----------------------------------------------------------
    _Lab("ldh_u_per_l", 280, 0.55, (0.80, 0.15, 0, 0), 0.04, 0.03, 0.08, 0.02, 0.04, 0),
    # --- coagulation ------------------------------------------------------------------
    _Lab("pt_s", 13.5, 0.09, (0.2, 0.3, 0.2, 0), 0.03, 0, 0.05, 0.03, 0.05, 1),
    _Lab("aptt_s", 31, 0.11, (0.1, 0.1, 0.1, 0), 0.04, 0, 0.06, 0.04, 0.06, 1),
    _Lab("fibrinogen_mg_per_dl", 420, 0.32, (0.1, -0.1, 0.6, 0), 0.05, 0, 0.10, 0.06, 0.09, 0),
    _Lab("d_dimer_ug_per_ml", 1.1, 0.9, (0.4, 0, 0.3, 0), 0.10, 0, 0.25, 0.28, 0.35, 2),
    # --- renal --------------------------------------------------------------------------
    _Lab("creatinine_mg_per_dl", 0.90, 0.25, (0, 0, 0, 0.8), 0.04, 0.02, 0.07, 0.01, 0.03, 2),
    _Lab("bun_mg_per_dl", 16, 0.38, (0, 0, 0.1, 0.6), 0.05, 0, 0.12, 0.01, 0.03, 0),
    _Lab("cystatin_c_mg_per_l", 1.1, 0.25, (0.1, 0, 0.1, 0.75), 0.04, 0, 0.07, 0.55, 0.65, 2),
    # --- inflammation and other chemistry ---------------------------------------------
    _Lab("crp_mg_per_l", 12, 1.10, (0.2, 0, 0.8, 0), 0.08, 0.05, 0.35, 0.08, 0.12, 1),
    _Lab("ferritin_ng_per_ml", 1400, 0.80, (0.2, 0.1, 0.5, 0), 0.06, 0, 0.10, 0.22, 0.30, 0),
    _Lab("procalcitonin_ng_per_ml", 0.12, 1.00, (0, 0, 0.7, 0.1), 0.10, 0, 0.30, 0.45, 0.55, 2),
    _Lab("beta2_microglobulin_mg_per_l", 2.8, 0.40, (0.4, 0, 0.1, 0.5), 0.05, 0, 0.08, 0.24, 0.30, 2),
    _Lab("haptoglobin_mg_per_dl", 150, 0.55, (-0.1, -0.2, 0.5, 0), 0.06, 0, 0.12, 0.30, 0.40, 0),
    _Lab("triglycerides_mg_per_dl", 150, 0.45, (0, 0.1, 0.1, 0), 0.05, 0, 0.20, 0.12, 0.18, 0),
    _Lab("cholesterol_mg_per_dl", 150, 0.22, (-0.1, 0, -0.2, 0), 0.03, 0, 0.06, 0.12, 0.18, 0),
    _Lab("lipase_u_per_l", 30, 0.55, (0, 0, 0, 0.15), 0.06, 0, 0.15, 0.15, 0.20, 0),
    _Lab("amylase_u_per_l", 60, 0.45, (0, 0, 0, 0.15), 0.05, 0, 0.12, 0.16, 0.22, 0),
    _Lab("ck_u_per_l", 60, 0.65, (0, 0, 0, 0), 0.05, 0, 0.20, 0.10, 0.16, 0),
)

#: Labs measured after the infusion only when clinically indicated (sparse, ~30 % missing).
_SPARSE_POST = frozenset({
    "mcv_fl", "mch_pg", "mchc_g_per_dl", "rdw_pct", "mpv_fl", "reticulocytes_pct",
    "immature_granulocytes_pct", "nrbc_per_100_wbc", "magnesium_mg_per_dl", "phosphate_mg_per_dl",
    "uric_acid_mg_per_dl", "total_protein_g_per_dl", "ggt_u_per_l", "alp_u_per_l", "aptt_s",
    "fibrinogen_mg_per_dl", "triglycerides_mg_per_dl", "cholesterol_mg_per_dl", "lipase_u_per_l",
    "amylase_u_per_l", "ck_u_per_l", "crp_mg_per_l", "calcium_mg_per_dl", "glucose_mg_per_dl",
    "rbc_1e12_per_l", "chloride_mmol_per_l", "bicarbonate_mmol_per_l", "pt_s", "ferritin_ng_per_ml",
    "haptoglobin_mg_per_dl", "beta2_microglobulin_mg_per_l", "alt_u_per_l",
})

#: Screening tests and marrow markers not done at every centre (≥ 25 % missing).
_SPARSE_ONCE_MISSING = 0.26
_SPARSE_POST_MISSING = 0.32

#: Screening tests measured once (no ``_pre``/``_post`` suffix).
_OTHER: tuple[_Lab, ...] = (
    _Lab("tsh_miu_per_l", 1.8, 0.6, miss_pre=0.25, dec=2, pair=False),
    _Lab("free_t4_ng_per_dl", 1.2, 0.18, miss_pre=0.35, dec=2, pair=False),
    _Lab("hba1c_pct", 5.7, 0.10, miss_pre=0.40, dec=1, pair=False),
    _Lab("vitamin_b12_pg_per_ml", 520, 0.45, miss_pre=0.45, dec=0, pair=False),
    _Lab("folate_ng_per_ml", 12, 0.45, miss_pre=0.48, dec=1, pair=False),
    _Lab("iron_ug_per_dl", 95, 0.40, (0, 0, -0.3, 0), miss_pre=0.38, dec=0, pair=False),
    _Lab("tibc_ug_per_dl", 250, 0.18, (0, 0, -0.3, 0), miss_pre=0.38, dec=0, pair=False),
    _Lab("igg_mg_per_dl", 850, 0.35, miss_pre=0.40, dec=0, pair=False),
    _Lab("lvef_pct", 60, 0.25, kind="logit", miss_pre=0.03, dec=0, pair=False),
    _Lab("dlco_pct_pred", 78, 0.55, kind="logit", miss_pre=0.22, dec=0, pair=False),
    _Lab("fev1_pct_pred", 88, 0.55, kind="logit", miss_pre=0.18, dec=0, pair=False),
    _Lab("qtc_ms", 430, 0.05, miss_pre=0.04, dec=0, pair=False),
)

#: Marrow aspirate/biopsy (screening, once): morphology and flow cytometry (% of cells).
_MARROW: tuple[_Lab, ...] = (
    _Lab("marrow_blasts_pct", 30, 1.1, (0.85, 0, 0, 0), 0.15, kind="logit", miss_pre=0.03, dec=0, pair=False),
    _Lab("marrow_cellularity_pct", 50, 0.9, (0.6, 0, 0, 0), 0.15, kind="logit", miss_pre=0.06, dec=0, pair=False),
    _Lab("marrow_fibrosis_grade", 1.0, 0.6, (0.3, 0, 0, 0), 0.0, miss_pre=0.20, dec=0, pair=False),
    _Lab("marrow_cd45_dim_pct", 28, 1.0, (0.7, 0, 0, 0), 0.2, kind="logit", miss_pre=0.26, dec=1, pair=False),
    _Lab("marrow_cd33_pct", 55, 1.2, (0.3, 0, 0, 0), 0.2, kind="logit", miss_pre=0.26, dec=1, pair=False),
    _Lab("marrow_cd34_pct", 20, 1.3, (0.5, 0, 0, 0), 0.2, kind="logit", miss_pre=0.26, dec=1, pair=False),
    _Lab("marrow_cd117_pct", 25, 1.2, (0.4, 0, 0, 0), 0.2, kind="logit", miss_pre=0.26, dec=1, pair=False),
    _Lab("marrow_cd13_pct", 45, 1.1, (0.2, 0, 0, 0), 0.2, kind="logit", miss_pre=0.26, dec=1, pair=False),
    _Lab("marrow_cd14_pct", 6, 1.0, kind="logit", miss_pre=0.30, dec=1, pair=False),
    _Lab("marrow_cd15_pct", 25, 1.0, kind="logit", miss_pre=0.30, dec=1, pair=False),
    _Lab("marrow_cd11b_pct", 18, 1.0, kind="logit", miss_pre=0.32, dec=1, pair=False),
    _Lab("marrow_cd7_pct", 5, 1.2, kind="logit", miss_pre=0.33, dec=1, pair=False),
    _Lab("marrow_cd56_pct", 4, 1.3, kind="logit", miss_pre=0.35, dec=1, pair=False),
    _Lab("marrow_hla_dr_pct", 40, 1.2, (0.2, 0, 0, 0), 0.2, kind="logit", miss_pre=0.20, dec=1, pair=False),
    _Lab("marrow_mpo_pct", 35, 1.1, kind="logit", miss_pre=0.25, dec=1, pair=False),
    _Lab("marrow_cd64_pct", 10, 1.0, kind="logit", miss_pre=0.36, dec=1, pair=False),
    _Lab("marrow_cd38_pct", 30, 1.0, kind="logit", miss_pre=0.38, dec=1, pair=False),
    _Lab("marrow_cd123_pct", 20, 1.1, kind="logit", miss_pre=0.40, dec=1, pair=False),
    _Lab("marrow_cd4_pct", 8, 1.0, kind="logit", miss_pre=0.40, dec=1, pair=False),
    _Lab("marrow_cd19_pct", 2, 1.0, kind="logit", miss_pre=0.33, dec=1, pair=False),
    _Lab("marrow_cd2_pct", 6, 1.0, kind="logit", miss_pre=0.42, dec=1, pair=False),
    _Lab("marrow_cd36_pct", 10, 1.0, kind="logit", miss_pre=0.45, dec=1, pair=False),
    _Lab("marrow_tdt_pct", 1.5, 1.2, kind="logit", miss_pre=0.50, dec=1, pair=False),
    _Lab("marrow_plasma_cells_pct", 1.5, 0.7, kind="logit", miss_pre=0.10, dec=1, pair=False),
    _Lab("marrow_erythroid_pct", 15, 0.8, (-0.4, 0, 0, 0), 0.1, kind="logit", miss_pre=0.08, dec=0, pair=False),
    _Lab("marrow_myeloid_pct", 30, 0.7, (-0.4, 0, 0, 0), 0.1, kind="logit", miss_pre=0.08, dec=0, pair=False),
    _Lab("marrow_lymphocytes_pct", 10, 0.6, (-0.2, 0, 0, 0), 0.1, kind="logit", miss_pre=0.09, dec=0, pair=False),
    _Lab("marrow_monocytes_pct", 4, 0.7, kind="logit", miss_pre=0.12, dec=0, pair=False),
    _Lab("marrow_megakaryocytes_per_hpf", 2.0, 0.8, (-0.4, 0, 0, 0), 0.1, miss_pre=0.15, dec=1, pair=False),
    _Lab("marrow_iron_grade", 2.0, 0.5, (0, 0, 0.3, 0), 0.0, miss_pre=0.30, dec=0, pair=False),
    _Lab("marrow_ringed_sideroblasts_pct", 1.0, 1.3, kind="logit", miss_pre=0.35, dec=1, pair=False),
)

#: Vital signs before and after the infusion: stem, mean, SD, loading on inflammation,
#: SD of the change, decimals, missing share (pre, post), plausible range.
_VITALS = (
    ("temperature_c", 36.8, 0.35, 0.5, 0.3, 1, 0.01, 0.02, (35.0, 40.5)),
    ("heart_rate_bpm", 82, 13, 0.4, 8, 0, 0.01, 0.02, (45, 160)),
    ("systolic_bp_mmhg", 128, 17, 0.0, 10, 0, 0.01, 0.02, (85, 200)),
    ("diastolic_bp_mmhg", 74, 10, 0.0, 7, 0, 0.01, 0.02, (40, 120)),
    ("respiratory_rate_per_min", 17, 2.5, 0.3, 2, 0, 0.03, 0.05, (10, 36)),
    ("spo2_pct", 97, 1.5, -0.3, 1.2, 0, 0.02, 0.04, (85, 100)),
)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _logit(p):
    return np.log(p / (1.0 - p))


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _latent_value(rng: np.random.Generator, lab: _Lab, z: np.ndarray) -> np.ndarray:
    """True value (no measurement noise) of one lab for every patient."""
    load = np.asarray(lab.load, dtype=float)
    common = z @ load
    resid = math.sqrt(max(1.0 - float(np.sum(load ** 2)), 0.0))
    e = rng.standard_normal(z.shape[0])
    u = lab.sd * (common + resid * e)
    if lab.kind == "logit":
        return 100.0 * _expit(_logit(lab.median / 100.0) + u)
    return lab.median * np.exp(u)


def _measure(rng: np.random.Generator, lab: _Lab, true: np.ndarray, post: bool) -> np.ndarray:
    """A measured value of ``true``: pre = measurement noise; post = change + noise."""
    n = true.shape[0]
    sd = lab.change if post else lab.meas
    shift = lab.shift if post else 0.0
    e = shift + sd * rng.standard_normal(n)
    if lab.kind == "logit":
        p = np.clip(true / 100.0, 1e-4, 1 - 1e-4)
        return 100.0 * _expit(_logit(p) + e)
    return true * np.exp(e)


def _with_missing(rng: np.random.Generator, x: np.ndarray, share: float) -> np.ndarray:
    x = np.asarray(x, dtype=float).copy()
    if share > 0:
        x[rng.random(x.shape[0]) < share] = np.nan
    return x


def _round(x: np.ndarray, dec: int) -> np.ndarray:
    return np.round(np.asarray(x, dtype=float), dec)


def _ckd_epi_2021(creat_mg_dl: np.ndarray, age_y: np.ndarray, male: np.ndarray) -> np.ndarray:
    """eGFR (ml/min/1.73 m²) by the race-free CKD-EPI 2021 creatinine equation (Inker 2021)."""
    kappa = np.where(male, 0.9, 0.7)
    alpha = np.where(male, -0.302, -0.241)
    r = creat_mg_dl / kappa
    egfr = 142.0 * np.minimum(r, 1.0) ** alpha * np.maximum(r, 1.0) ** -1.200 * 0.9938 ** age_y
    return egfr * np.where(male, 1.0, 1.012)


# --------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------


def _demographics(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    age = 55.0 + rng.gamma(2.2, 4.8, n)
    age = np.where(age > 80.0, 55.0 + rng.uniform(0, 25, n), age)
    male = rng.random(n) < 0.58
    zh = rng.standard_normal(n)
    zw = 0.4 * zh + math.sqrt(1 - 0.4 ** 2) * rng.standard_normal(n)
    height = np.where(male, 174.0 + 7.0 * zh, 161.0 + 7.0 * zh)
    weight = np.where(male, 86.0 + 16.0 * zw, 73.0 + 16.0 * zw)
    weight = np.clip(weight, 42.0, 160.0)
    height = _round(height, 1)
    weight = _round(weight, 1)
    bsa = np.sqrt(height * weight / 3600.0)
    bmi = weight / (height / 100.0) ** 2
    return {"age_y": np.floor(age), "male": male, "height_cm": height, "weight_kg": weight,
            "bsa_m2": bsa, "bmi_kg_m2": bmi}


def simulate_cohort(n: int, seed: int, dose_settings=None, *, params: KineticParams | None = None,
                    id_prefix: str = "VP") -> SimulatedCohort:
    """Simulate ``n`` virtual SIERRA patients with three planar scans each (SPEC §5).

    Parameters
    ----------
    n : int
        Number of patients (≥ 1).
    seed : int
        Seed of the random generator; the same ``(n, seed, params)`` gives identical
        tables.
    dose_settings : onescan.dosimetry._dose.DoseSettings, optional
        Dosimetry used to compute the prescribed activity from the simulated scans
        (default: SPEC §2 defaults — monoexp fit, split mass scaling, 24 Gy, 1030 mCi cap).
    params : KineticParams, optional
        Covariate model of the kinetics (default: the calibrated values).
    id_prefix : str, default "VP"
        Prefix of the patient ids (``VP0001``, …).

    Returns
    -------
    SimulatedCohort
        ``patients`` (SPEC §1.1, target ``prescribed_activity_mci`` capped), ``scans``
        (SPEC §1.2, integer counts) and ``truth`` (hidden kinetic parameters, uncapped
        prescribed activity).
    """
    if int(n) < 1:
        raise ValueError("n must be at least 1")
    n = int(n)
    p = params or KineticParams()
    from onescan.dosimetry._dose import DoseSettings
    settings = dose_settings if dose_settings is not None else DoseSettings()
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    width = max(4, len(str(n)))
    ids = np.array([f"{id_prefix}{i + 1:0{width}d}" for i in range(n)], dtype=object)

    cols: dict[str, Any] = {}
    # ---- demographics and body size -----------------------------------------------
    demo = _demographics(rng, n)
    male = demo["male"]
    age = demo["age_y"]
    bsa = demo["bsa_m2"]
    # ---- latent state -----------------------------------------------------------------
    z = rng.standard_normal((n, 4))          # burden, hepatic, inflam, renal
    burden = z[:, 0]
    # ---- CT volumes -------------------------------------------------------------------
    liver_ml = ((1072.8 * bsa - 345.7) * np.exp(p.liver_volume_sigma * rng.standard_normal(n))
                * np.exp(0.07 * burden))
    liver_ml = np.maximum(liver_ml, 700.0)
    liver_mass = _round(liver_ml * LIVER_DENSITY_G_PER_ML, 0)
    liver_expected_g = (1072.8 * bsa - 345.7) * LIVER_DENSITY_G_PER_ML
    spleen_ml = 215.0 * np.exp(0.30 * rng.standard_normal(n)) * np.exp(0.55 * np.maximum(burden, 0.0))
    kid_l = 150.0 * (bsa / 1.9) * np.exp(0.12 * rng.standard_normal(n))
    kid_r = kid_l * np.exp(0.06 * rng.standard_normal(n)) * 0.97
    lungs_ml = 4500.0 * (demo["height_cm"] / 170.0) ** 3 * np.exp(0.15 * rng.standard_normal(n))
    heart_ml = 650.0 * (bsa / 1.9) * np.exp(0.12 * rng.standard_normal(n))
    ap_cm = 19.0 + 0.55 * (demo["bmi_kg_m2"] - 26.0) + 1.5 * rng.standard_normal(n)
    ap_cm = np.clip(ap_cm, 14.0, 40.0)

    # ---- white cells: absolute subsets (1e9/l); WBC = sum -----------------------------
    blasts_abs = 0.8 * np.exp(1.6 * (0.8 * burden + 0.6 * rng.standard_normal(n)))
    neut = 0.6 * np.exp(0.8 * (-0.35 * burden + 0.2 * z[:, 2] + 0.9 * rng.standard_normal(n)))
    lymph = 0.7 * np.exp(0.6 * (0.1 * burden + rng.standard_normal(n)))
    mono = 0.15 * np.exp(0.9 * (0.3 * burden + 0.95 * rng.standard_normal(n)))
    eos = 0.03 * np.exp(0.9 * rng.standard_normal(n))
    baso = 0.02 * np.exp(0.8 * rng.standard_normal(n))
    wbc = blasts_abs + neut + lymph + mono + eos + baso

    # ---- generic labs (true values) ---------------------------------------------------
    lab_true = {lab.stem: _latent_value(rng, lab, z) for lab in _LABS}
    other_true = {lab.stem: _latent_value(rng, lab, z) for lab in _OTHER}
    marrow_true = {lab.stem: _latent_value(rng, lab, z) for lab in _MARROW}

    # ---- kinetics -----------------------------------------------------------------------
    from onescan.dosimetry._physics import lambda_phys_per_h
    lam_p = lambda_phys_per_h("I-131")
    ln = np.log
    x_ast, x_ldh = lab_true["ast_u_per_l"], lab_true["ldh_u_per_l"]
    rel = (1.0 + p.k_infiltration * (liver_mass / liver_expected_g - 1.0)
           + p.k_ast * (x_ast / _REF["ast"] - 1.0) - p.k_ldh * (x_ldh / _REF["ldh"] - 1.0)
           - p.k_lymph * (lymph / _REF["lymph"] - 1.0) - p.k_neut * (neut / _REF["neut"] - 1.0))
    lam_liver_bio = (math.log(2.0) / p.t_half_bio_h * np.maximum(rel, p.floor)
                     * np.exp(p.sigma_lambda * rng.standard_normal(n)))
    a_liver = p.uptake_median * np.exp(
        p.c_mass * (ln(liver_mass) - ln(_REF["liver_mass_g"]))
        + p.c_spleen * (ln(spleen_ml) - ln(_REF["spleen_ml"]))
        + p.sigma_uptake * rng.standard_normal(n))
    # Other compartments: uptake proportional to organ size (spleen, marrow: CD45 antigen),
    # blood-pool organs clear with the blood (faster with a larger antigen sink).
    sink = np.log(wbc / _REF["wbc"])
    lam_blood_bio = math.log(2.0) / 30.0 * np.exp(0.15 * sink + 0.2 * rng.standard_normal(n))
    organs = {
        "liver": (a_liver, lam_liver_bio),
        "spleen": (0.06 * (spleen_ml / 215.0) ** 0.8 * np.exp(0.15 * rng.standard_normal(n)),
                   math.log(2.0) / 60.0 * np.exp(0.25 * rng.standard_normal(n))),
        "marrow": (0.07 * (marrow_true["marrow_cellularity_pct"] / 50.0) ** 0.5
                   * np.exp(0.2 * rng.standard_normal(n)),
                   math.log(2.0) / 70.0 * np.exp(0.25 * rng.standard_normal(n))),
        "lungs": (0.05 * (lungs_ml / 4500.0) ** 0.5 * np.exp(0.15 * rng.standard_normal(n)),
                  lam_blood_bio * np.exp(0.1 * rng.standard_normal(n))),
        "kidneys": (0.025 * ((kid_l + kid_r) / 300.0) * np.exp(0.15 * rng.standard_normal(n)),
                    math.log(2.0) / 35.0 * np.exp(0.2 * rng.standard_normal(n))),
        "heart": (0.045 * (heart_ml / 650.0) * np.exp(0.15 * rng.standard_normal(n)),
                  lam_blood_bio),
    }
    a_sum = sum(a for a, _ in organs.values())
    scale = np.minimum(1.0, 0.85 / a_sum)       # organs hold at most 85 % at t = 0
    organs = {k: (a * scale, lam) for k, (a, lam) in organs.items()}
    a_rest = 1.0 - sum(a for a, _ in organs.values())
    lam_rest_bio = math.log(2.0) / 60.0 * np.exp(0.25 * rng.standard_normal(n))

    # ---- imaging schedule -----------------------------------------------------------------
    t1 = np.round(rng.uniform(0.25, 2.0, n), 2)
    t2 = np.round(np.clip(24.0 + 1.5 * rng.standard_normal(n), 20.0, 28.0), 2)
    t3 = np.round(rng.uniform(72.0, 96.0, n), 2)
    times = np.stack([t1, t2, t3], axis=1)                     # (n, 3)

    dosimetric_mci = np.round(np.clip(10.0 * np.exp(0.25 * rng.standard_normal(n)), 7.0, 20.0), 1)
    a0_mbq = dosimetric_mci * MBQ_PER_MCI

    # activity (MBq) per region and time, decayed
    decay = np.exp(-lam_p * times)
    act: dict[str, np.ndarray] = {}
    for r, (a, lam_bio) in organs.items():
        act[r] = a0_mbq[:, None] * a[:, None] * np.exp(-lam_bio[:, None] * times) * decay
    body = sum(act.values()) + a0_mbq[:, None] * a_rest[:, None] * np.exp(-lam_rest_bio[:, None] * times) * decay
    # before the first void (after the first scan) everything is still in the body
    body[:, 0] = a0_mbq * decay[:, 0]
    act["whole_body"] = body

    thick_body = ap_cm
    thick = {"whole_body": thick_body, "liver": thick_body + 0.5, "spleen": thick_body - 1.0,
             "lungs": thick_body - 1.5, "kidneys": thick_body - 0.5, "marrow": thick_body,
             "heart": thick_body - 1.5}
    rows = []
    for j in range(3):
        acq = _ACQUISITION_S[j]
        for r in REGIONS:
            tk = np.round(np.clip(thick[r] + 0.8 * rng.standard_normal(n), 10.0, 45.0), 1)
            depth = tk * rng.uniform(0.35, 0.65, n)
            roi = np.exp(_ROI_SIGMA[r] * rng.standard_normal(n))
            base = act[r][:, j] * roi * _SENSITIVITY_CPS_PER_MBQ * acq
            mean_ant = base * np.exp(-_MU_PER_CM * depth)
            mean_post = base * np.exp(-_MU_PER_CM * (tk - depth))
            bkg = _BACKGROUND_CPS[r] * acq
            bkg_ant_true = bkg * np.exp(0.1 * rng.standard_normal(n))
            bkg_post_true = bkg * np.exp(0.1 * rng.standard_normal(n))
            counts_ant = rng.poisson(mean_ant + bkg_ant_true)
            counts_post = rng.poisson(mean_post + bkg_post_true)
            bg_ant = rng.poisson(bkg_ant_true)
            bg_post = rng.poisson(bkg_post_true)
            rows.append(pd.DataFrame({
                "patient_id": ids, "time_h": times[:, j], "region": r,
                "counts_anterior": counts_ant.astype(np.int64), "counts_posterior": counts_post.astype(np.int64),
                "background_anterior": bg_ant.astype(np.int64), "background_posterior": bg_post.astype(np.int64),
                "acquisition_s": acq, "thickness_cm": tk, "_k": j}))
    scans = pd.concat(rows, ignore_index=True)
    order = {pid: i for i, pid in enumerate(ids)}
    reg_order = {r: i for i, r in enumerate(REGIONS)}
    scans = (scans.assign(_p=scans["patient_id"].map(order), _r=scans["region"].map(reg_order))
                  .sort_values(["_p", "_k", "_r"], kind="mergesort")
                  .drop(columns=["_p", "_k", "_r"]).reset_index(drop=True))

    # ---- the patients table: candidate features -----------------------------------------
    cols["patient_id"] = ids
    cols["age_y"] = age
    cols["sex"] = np.where(male, "M", "F")
    cols["height_cm"] = demo["height_cm"]
    cols["weight_kg"] = demo["weight_kg"]
    cols["bsa_m2"] = _round(bsa, 3)
    cols["bmi_kg_m2"] = _round(demo["bmi_kg_m2"], 1)
    frail = 0.4 * (age - 65.0) / 6.0 + 0.3 * burden + 0.6 * rng.standard_normal(n)
    cols["ecog_score"] = np.clip(np.round(0.8 + 0.6 * frail), 0, 3)
    cols["karnofsky_pct"] = _with_missing(rng, np.clip(np.round((85 - 8 * frail) / 10) * 10, 50, 100), 0.05)
    cols["hct_ci_score"] = _with_missing(rng, np.clip(np.round(2.5 + 1.4 * (0.5 * frail + rng.standard_normal(n))), 0, 9) + 0.0, 0.04)
    cols["months_since_diagnosis"] = _with_missing(rng, _round(9.0 * np.exp(0.7 * rng.standard_normal(n)), 1), 0.02)
    cols["prior_therapy_lines_n"] = np.clip(rng.poisson(1.4, n) + 1, 1, 6).astype(float)
    cols["secondary_aml_flag"] = (rng.random(n) < 0.30).astype(float)
    cols["primary_induction_failure_flag"] = (rng.random(n) < 0.35).astype(float)
    cols["eln_risk_category"] = _with_missing(rng, np.clip(np.round(2.3 + 0.4 * burden + 0.6 * rng.standard_normal(n)), 1, 3), 0.06)
    cols["flt3_itd_flag"] = _with_missing(rng, (rng.random(n) < 0.20).astype(float), 0.10)
    cols["npm1_mutated_flag"] = _with_missing(rng, (rng.random(n) < 0.18).astype(float), 0.12)
    cols["tp53_mutated_flag"] = _with_missing(rng, (rng.random(n) < 0.22).astype(float), 0.27)
    cols["dosimetric_activity_mci"] = dosimetric_mci
    cols["liver_mass_g"] = liver_mass
    cols["spleen_volume_ml"] = _with_missing(rng, _round(spleen_ml, 0), 0.03)
    cols["spleen_length_cm"] = _with_missing(rng, _round(11.0 * (spleen_ml / 215.0) ** (1 / 3)
                                                        * np.exp(0.05 * rng.standard_normal(n)), 1), 0.05)
    cols["kidney_left_volume_ml"] = _with_missing(rng, _round(kid_l, 0), 0.04)
    cols["kidney_right_volume_ml"] = _with_missing(rng, _round(kid_r, 0), 0.04)
    cols["lungs_volume_ml"] = _with_missing(rng, _round(lungs_ml, 0), 0.06)
    cols["heart_volume_ml"] = _with_missing(rng, _round(heart_ml, 0), 0.08)
    cols["abdomen_ap_diameter_cm"] = _with_missing(rng, _round(ap_cm, 1), 0.05)
    cols["l3_bone_density_hu"] = _with_missing(rng, _round(150.0 - 1.5 * (age - 65) + 35 * rng.standard_normal(n), 0), 0.30)
    # vital signs
    zi = z[:, 2]
    for stem, mean, sd, li, ch, dec, mpre, mpost, (lo, hi) in _VITALS:
        true = mean + sd * (li * zi + math.sqrt(1 - li * li) * rng.standard_normal(n))
        cols[f"{stem}_pre"] = _with_missing(rng, _round(np.clip(true, lo, hi), dec), mpre)
        cols[f"{stem}_post"] = _with_missing(
            rng, _round(np.clip(true + ch * rng.standard_normal(n), lo, hi), dec), mpost)
    # white cells, pre/post
    cbc_true = {"wbc_1e9_per_l": wbc, "neutrophils_1e9_per_l": neut, "lymphocytes_1e9_per_l": lymph,
                "monocytes_1e9_per_l": mono, "eosinophils_1e9_per_l": eos, "basophils_1e9_per_l": baso,
                "blasts_peripheral_1e9_per_l": blasts_abs}
    cbc_meas = {}
    for post in (False, True):
        sfx = "_post" if post else "_pre"
        shift = -0.08 if post else 0.0           # antibody binds circulating CD45+ cells
        sd = 0.10 if post else 0.04
        meas = {k: v * np.exp(shift + sd * rng.standard_normal(n)) for k, v in cbc_true.items() if k != "wbc_1e9_per_l"}
        meas["wbc_1e9_per_l"] = sum(meas.values())
        cbc_meas[sfx] = meas
    for stem in ("wbc_1e9_per_l", "neutrophils_1e9_per_l", "lymphocytes_1e9_per_l", "monocytes_1e9_per_l",
                 "eosinophils_1e9_per_l", "basophils_1e9_per_l", "blasts_peripheral_1e9_per_l"):
        for sfx, miss in (("_pre", 0.01), ("_post", 0.03)):
            cols[f"{stem}{sfx}"] = _with_missing(rng, _round(cbc_meas[sfx][stem], 2), miss)
    for sfx, miss in (("_pre", 0.01), ("_post", 0.03)):
        m = cbc_meas[sfx]
        cols[f"blasts_peripheral_pct{sfx}"] = _with_missing(
            rng, _round(100.0 * m["blasts_peripheral_1e9_per_l"] / m["wbc_1e9_per_l"], 1), miss)
    # generic labs
    for lab in _LABS:
        true = lab_true[lab.stem]
        miss_post = max(lab.miss_post, _SPARSE_POST_MISSING) if lab.stem in _SPARSE_POST else lab.miss_post
        for post, miss in ((False, lab.miss_pre), (True, miss_post)):
            cols[f"{lab.stem}{'_post' if post else '_pre'}"] = _with_missing(
                rng, _round(_measure(rng, lab, true, post), lab.dec), miss)
    # derived labs (from the measured values, so they stay consistent)
    for sfx in ("_pre", "_post"):
        hb = cols[f"hemoglobin_g_per_dl{sfx}"]
        cols[f"hematocrit_pct{sfx}"] = _round(hb * 2.95 * np.exp(0.02 * rng.standard_normal(n)), 1)
        cols[f"inr_ratio{sfx}"] = _round((cols[f"pt_s{sfx}"] / 12.5) ** 1.1, 2)
        cols[f"bilirubin_direct_mg_per_dl{sfx}"] = _with_missing(
            rng, _round(cols[f"bilirubin_total_mg_per_dl{sfx}"] * _expit(-1.0 + 0.5 * rng.standard_normal(n)), 2),
            0.20 if sfx == "_pre" else 0.26)
        # globulin cannot fall below ~1 g/dl: the total protein is at least albumin + 1
        tp = np.maximum(cols[f"total_protein_g_per_dl{sfx}"], cols[f"albumin_g_per_dl{sfx}"] + 1.0)
        cols[f"total_protein_g_per_dl{sfx}"] = np.where(np.isnan(cols[f"total_protein_g_per_dl{sfx}"]), np.nan, tp)
        cols[f"globulin_g_per_dl{sfx}"] = _round(cols[f"total_protein_g_per_dl{sfx}"] - cols[f"albumin_g_per_dl{sfx}"], 1)
        # electroneutrality: chloride = sodium − bicarbonate − anion gap (gap 11 ± 3 mmol/l)
        gap = np.round(np.clip(11.0 + 3.0 * rng.standard_normal(n), 3.0, 24.0))
        na, hco3 = cols[f"sodium_mmol_per_l{sfx}"], cols[f"bicarbonate_mmol_per_l{sfx}"]
        chloride = np.where(np.isnan(cols[f"chloride_mmol_per_l{sfx}"]), np.nan, na - hco3 - gap)
        cols[f"chloride_mmol_per_l{sfx}"] = chloride
        cols[f"anion_gap_mmol_per_l{sfx}"] = np.where(np.isnan(na + hco3 + chloride), np.nan, gap)
        cols[f"egfr_ml_per_min_1_73m2{sfx}"] = _round(_ckd_epi_2021(cols[f"creatinine_mg_per_dl{sfx}"], age, male), 0)
    # screening tests and marrow (once)
    grade_max = {"marrow_fibrosis_grade": 3.0, "marrow_iron_grade": 4.0}
    for lab in _OTHER + _MARROW:
        miss = lab.miss_pre
        if lab.stem not in ("lvef_pct", "qtc_ms", "marrow_blasts_pct", "marrow_cellularity_pct"):
            miss = max(miss, _SPARSE_ONCE_MISSING)
        value = _round(_measure(rng, lab, (other_true | marrow_true)[lab.stem], False), lab.dec)
        if lab.stem in grade_max:
            value = np.clip(value, 0.0, grade_max[lab.stem])
        cols[lab.stem] = _with_missing(rng, value, miss)
    cols["cmv_igg_positive_flag"] = _with_missing(rng, (rng.random(n) < 0.6).astype(float), 0.05)
    cols["prior_allogeneic_hct_flag"] = (rng.random(n) < 0.08).astype(float)
    cols["diabetes_flag"] = _with_missing(rng, (rng.random(n) < 0.22).astype(float), 0.03)
    cols["smoking_flag"] = _with_missing(rng, (rng.random(n) < 0.45).astype(float), 0.12)

    patients = pd.DataFrame(cols)

    # ---- the target: onescan's own dosimetry on the noisy scans ----------------------------
    from onescan.contract._cohort import normalise_patients, normalise_scans
    from onescan.dosimetry._dose import activity_for_target_mci, compute_dose

    canon_p = normalise_patients(patients[["patient_id", "dosimetric_activity_mci", "liver_mass_g"]])
    canon_s = normalise_scans(scans)
    dose = compute_dose(canon_p, canon_s, settings)
    capped = dose["prescribed_activity_capped_mci"].to_numpy(dtype=float)
    uncapped = dose["prescribed_activity_mci"].to_numpy(dtype=float)
    patients.insert(1, "prescribed_activity_mci", np.round(capped, 2))

    lam_eff_true = lam_liver_bio + lam_p
    tiac_true = organs["liver"][0] / lam_eff_true
    truth = pd.DataFrame({
        "patient_id": ids,
        "prescribed_activity_uncapped_mci": np.round(uncapped, 2),
        "prescribed_activity_capped_mci": np.round(capped, 2),
        "prescribed_activity_true_kinetics_mci": np.round(
            np.asarray(activity_for_target_mci(tiac_true, liver_mass, settings), dtype=float), 2),
        "liver_tiac_true_h": tiac_true,
        "liver_tiac_measured_h": dose["liver_tiac_h"].to_numpy(dtype=float),
        "liver_uptake_first_measured": dose["liver_uptake_first"].to_numpy(dtype=float),
        "liver_effective_half_life_measured_h": dose["liver_effective_half_life_h"].to_numpy(dtype=float),
        "dose_flags": dose["flags"].astype(str).to_numpy(),
        "lambda_phys_per_h": lam_p,
        "wbc_true_1e9_per_l": wbc,
        "neutrophils_true_1e9_per_l": neut,
        "lymphocytes_true_1e9_per_l": lymph,
        "ast_true_u_per_l": x_ast,
        "ldh_true_u_per_l": x_ldh,
        "burden_z": burden,
        "hepatic_z": z[:, 1],
        "inflammation_z": z[:, 2],
        "renal_z": z[:, 3],
    })
    for r, (a, lam_bio) in organs.items():
        truth[f"{r}_uptake_initial"] = a
        truth[f"{r}_lambda_bio_per_h"] = lam_bio
        truth[f"{r}_lambda_eff_per_h"] = lam_bio + lam_p
        truth[f"{r}_effective_half_life_h"] = math.log(2.0) / (lam_bio + lam_p)
    truth["remainder_uptake_initial"] = a_rest
    truth["remainder_lambda_bio_per_h"] = lam_rest_bio
    num = truth.select_dtypes("number").columns
    truth[num] = truth[num].apply(lambda s: s.map(lambda v: float(f"{v:.6g}")) if s.dtype.kind == "f" else s)
    logger.info("simulated %d virtual patients (seed given)", n)
    return SimulatedCohort(patients=patients, scans=scans, truth=truth)


# --------------------------------------------------------------------------------------
# the built-in default cohort
# --------------------------------------------------------------------------------------


def write_cohort(sim: SimulatedCohort, folder: str | Path, fmt: str = "csv") -> list[Path]:
    """Write ``patients``, ``scans`` and ``truth`` tables of ``sim`` into ``folder``.

    Each file is written atomically (:func:`onescan.contract._io.write_table`); the float values
    are already rounded by :func:`simulate_cohort`, so the same cohort always gives the
    same bytes.

    Parameters
    ----------
    sim : SimulatedCohort
        The cohort to write.
    folder : str or path-like
        Destination folder (created if needed).
    fmt : {"csv", "parquet", "xlsx"}, default "csv"
        File format.

    Returns
    -------
    list of pathlib.Path
        The three files written.
    """
    from onescan.contract._io import write_table

    folder = Path(folder)
    return [write_table(df, folder / f"{name}.{fmt}")
            for name, df in (("patients", sim.patients), ("scans", sim.scans), ("truth", sim.truth))]


def default_cohort_paths() -> tuple[Path, Path]:
    """Paths of the built-in 74-patient cohort shipped with onescan.

    Returns
    -------
    tuple of pathlib.Path
        ``(patients.csv, scans.csv)`` inside the installed package
        (``onescan/data/cohort``).
    """
    folder = Path(__file__).resolve().parent.parent / "data" / "cohort"
    return folder / "patients.csv", folder / "scans.csv"


def default_cohort():
    """Load the built-in 74-patient virtual SIERRA cohort through the data contract.

    Returns
    -------
    onescan.contract._cohort.Cohort
        Validated, canonical tables; ``sources`` are the package file paths.
    """
    from onescan.contract._cohort import load_cohort

    p, s = default_cohort_paths()
    return load_cohort(p, s)
