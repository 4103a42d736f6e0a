"""Every parameter of the virtual SIERRA cohort, with its source.

The generator's modules hold the model (the order of the random draws and the formulas);
the numbers they use are here, named, in one place. ``docs/virtual_cohort.md`` lists
them for readers. This is the only module of the generator that spells an organ or a
scan region by name.

Distributions and their sources:

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
  volume (SPEC §1.1, the organ registry's density).
* Spleen volume: 215 ml × exp(0.30·N) in health (CT normal 150–250 ml), × a
  splenomegaly factor exp(0.55·max(burden, 0)) (splenomegaly in roughly a quarter to a
  third of R/R AML patients).
* Kidneys 150 ml each × (BSA/1.9), lungs 4.5 l × (height/170)³ (reference adult, ICRP
  89), heart (CT, incl. chambers) 650 ml × (BSA/1.9); each with 10–15 % scatter.
* Labs: medians, spreads and factor loadings per lab in :data:`LABS` — typical values of
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
  validation) and the other compartments in :data:`COMPARTMENTS`.
* Camera: planar sensitivity 30 cps/MBq per head (order of magnitude of high-energy
  collimator sensitivities at 364 keV; it cancels in the fraction GM_r/GM_wb and only
  sets the Poisson noise), acquisition 600/900/1200 s at the three scans; μ = 0.110 cm⁻¹
  (water at 364 keV, SPEC §2).
"""

from __future__ import annotations

from dataclasses import dataclass

from onescan.contract._organs import WHOLE_BODY_REGION, Organ, organ

# ---- the built-in cohort, organs and regions -----------------------------------------

#: Seed and size of the built-in default cohort (``src/onescan/data/cohort``). The seed is
#: the first of 1, 2, … whose 74-patient cohort has a mean prescribed activity within
#: 15 mCi of the published 716.4 mCi (chosen on the target's mean only, never on any
#: model result; see ``scripts/make_default_cohort.py``).
DEFAULT_COHORT_SEED: int = 2
DEFAULT_COHORT_N: int = 74

#: The organ whose kinetics the covariate model describes and whose dose sets the target.
LIVER: Organ = organ("liver")

#: Regions drawn on every planar image (``whole_body`` first).
REGIONS: tuple[str, ...] = (WHOLE_BODY_REGION, "liver", "spleen", "lungs", "kidneys", "marrow", "heart")

#: Prefix of the patient ids (``VP0001``, …) and the smallest number of id digits.
ID_PREFIX = "VP"
ID_MIN_DIGITS = 4

# ---- demographics and body size ------------------------------------------------------


@dataclass(frozen=True)
class Demographics:
    """Age, sex, height and weight (sources in the module docstring)."""

    age_min_y: float = 55.0
    age_gamma_shape: float = 2.2
    age_gamma_scale_y: float = 4.8
    age_max_y: float = 80.0
    age_redraw_span_y: float = 25.0       # ages above the maximum are redrawn uniform in [min, min + span]
    male_share: float = 0.58
    height_weight_corr: float = 0.4
    height_male_cm: float = 174.0
    height_female_cm: float = 161.0
    height_sd_cm: float = 7.0
    weight_male_kg: float = 86.0
    weight_female_kg: float = 73.0
    weight_sd_kg: float = 16.0
    weight_min_kg: float = 42.0
    weight_max_kg: float = 160.0


DEMOGRAPHICS = Demographics()

#: Latent standard-normal factors per patient, in column order of the factor matrix.
LATENT_FACTORS: tuple[str, ...] = ("burden", "hepatic", "inflam", "renal")


@dataclass(frozen=True)
class CtVolumes:
    """CT organ volumes (ml) and the abdominal diameter (cm)."""

    heinemann_slope_ml_per_m2: float = 1072.8
    heinemann_intercept_ml: float = 345.7
    liver_infiltration: float = 0.07      # log-volume per unit of leukaemic burden
    liver_min_ml: float = 700.0
    spleen_ml: float = 215.0
    spleen_sigma: float = 0.30
    splenomegaly: float = 0.55
    kidney_ml: float = 150.0
    kidney_sigma: float = 0.12
    kidney_right_sigma: float = 0.06
    kidney_right_ratio: float = 0.97
    bsa_ref_m2: float = 1.9
    lungs_ml: float = 4500.0
    lungs_height_ref_cm: float = 170.0
    lungs_sigma: float = 0.15
    heart_ml: float = 650.0
    heart_sigma: float = 0.12
    ap_cm: float = 19.0
    ap_per_bmi_cm: float = 0.55
    ap_bmi_ref: float = 26.0
    ap_sd_cm: float = 1.5
    ap_min_cm: float = 14.0
    ap_max_cm: float = 40.0


CT = CtVolumes()

# ---- white cells: absolute subsets (1e9/l) = median · exp(sd · (a·burden + b·inflam + c·ε)) ----


@dataclass(frozen=True)
class WhiteCell:
    """One white-cell subset: median (1e9/l), log-SD, loadings on burden and inflammation
    (``None``: not in the formula) and on its own standard-normal noise."""

    stem: str
    median: float
    sd: float
    burden: float | None
    inflam: float | None
    noise: float


#: In draw order; the WBC is their sum.
WHITE_CELLS: tuple[WhiteCell, ...] = (
    WhiteCell("blasts_peripheral_1e9_per_l", 0.8, 1.6, 0.8, None, 0.6),
    WhiteCell("neutrophils_1e9_per_l", 0.6, 0.8, -0.35, 0.2, 0.9),
    WhiteCell("lymphocytes_1e9_per_l", 0.7, 0.6, 0.1, None, 1.0),
    WhiteCell("monocytes_1e9_per_l", 0.15, 0.9, 0.3, None, 0.95),
    WhiteCell("eosinophils_1e9_per_l", 0.03, 0.9, None, None, 1.0),
    WhiteCell("basophils_1e9_per_l", 0.02, 0.8, None, None, 1.0),
)
WBC_STEM = "wbc_1e9_per_l"
BLASTS_STEM = "blasts_peripheral_1e9_per_l"
NEUTROPHILS_STEM = "neutrophils_1e9_per_l"
LYMPHOCYTES_STEM = "lymphocytes_1e9_per_l"
#: Order of the white-cell columns in the patients table.
WHITE_CELL_COLUMNS: tuple[str, ...] = (
    WBC_STEM, "neutrophils_1e9_per_l", "lymphocytes_1e9_per_l", "monocytes_1e9_per_l",
    "eosinophils_1e9_per_l", "basophils_1e9_per_l", BLASTS_STEM)
#: Measured white cells: (log shift, log-SD) before and after the infusion (the antibody
#: binds circulating CD45+ cells), and the missing share of each.
WHITE_CELL_MEASURE = {"_pre": (0.0, 0.04), "_post": (-0.08, 0.10)}
WHITE_CELL_MISSING = {"_pre": 0.01, "_post": 0.03}
BLASTS_PCT_STEM = "blasts_peripheral_pct"


# --------------------------------------------------------------------------------------
# Lab tables.  Each row: column stem (the unit suffix is part of the name), median,
# log-SD between patients, loadings (fraction of the log-SD carried by each latent factor:
# burden, hepatic, inflam, renal), measurement CV (pre), post-infusion log shift, SD of the
# post-infusion change (incl. measurement), missing share pre, missing share post,
# decimals.  Percent-valued labs with kind "logit" are logit-normal.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lab:
    """One laboratory test: its distribution, factor loadings, noise and missing shares."""

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


LABS: tuple[Lab, ...] = (
    # --- complete blood count (white-cell subsets are generated separately) ----------
    Lab("platelets_1e9_per_l", 40, 0.85, (-0.45, 0, 0, 0), 0.06, -0.05, 0.20, 0.01, 0.03, 0),
    Lab("hemoglobin_g_per_dl", 9.0, 0.13, (-0.35, 0, -0.2, -0.1), 0.03, -0.02, 0.06, 0.01, 0.03, 1),
    Lab("rbc_1e12_per_l", 3.0, 0.15, (-0.3, 0, -0.15, 0), 0.03, -0.02, 0.06, 0.02, 0.04, 2),
    Lab("mcv_fl", 92, 0.06, (0.1, 0.1, 0, 0), 0.01, 0, 0.02, 0.02, 0.04, 1),
    Lab("mch_pg", 30.5, 0.06, (0.05, 0, 0, 0), 0.01, 0, 0.02, 0.02, 0.04, 1),
    Lab("mchc_g_per_dl", 33.2, 0.03, (0, 0, 0, 0), 0.01, 0, 0.015, 0.02, 0.04, 1),
    Lab("rdw_pct", 16.5, 0.15, (0.3, 0.1, 0.1, 0), 0.02, 0, 0.04, 0.02, 0.05, 1),
    Lab("mpv_fl", 10.4, 0.10, (0.1, 0, 0, 0), 0.03, 0, 0.05, 0.08, 0.10, 1),
    Lab("reticulocytes_pct", 1.2, 0.6, (-0.3, 0, 0, 0), 0.10, 0, 0.20, 0.15, 0.25, 2, kind="logit"),
    Lab("immature_granulocytes_pct", 1.5, 0.9, (0.4, 0, 0.1, 0), 0.15, 0, 0.25, 0.12, 0.18, 1, kind="logit"),
    Lab("nrbc_per_100_wbc", 0.8, 1.2, (0.4, 0, 0, 0), 0.20, 0, 0.35, 0.18, 0.26, 1),
    # --- chemistry ------------------------------------------------------------------
    Lab("sodium_mmol_per_l", 139, 0.022, (0, 0, -0.2, 0), 0.007, 0, 0.012, 0.01, 0.03, 0),
    Lab("potassium_mmol_per_l", 4.0, 0.11, (0.1, 0, 0, 0.2), 0.03, 0, 0.06, 0.01, 0.03, 1),
    Lab("chloride_mmol_per_l", 103, 0.03, (0, 0, 0, 0), 0.008, 0, 0.015, 0.02, 0.04, 0),
    Lab("bicarbonate_mmol_per_l", 25, 0.09, (0, 0, -0.1, -0.2), 0.03, 0, 0.05, 0.03, 0.05, 0),
    Lab("calcium_mg_per_dl", 8.9, 0.055, (0, -0.1, -0.1, 0), 0.015, 0, 0.03, 0.02, 0.04, 1),
    Lab("magnesium_mg_per_dl", 2.0, 0.11, (0, 0, 0, 0.1), 0.03, 0, 0.06, 0.05, 0.08, 1),
    Lab("phosphate_mg_per_dl", 3.4, 0.18, (0.15, 0, 0, 0.3), 0.04, 0, 0.10, 0.05, 0.08, 1),
    Lab("glucose_mg_per_dl", 108, 0.20, (0, 0, 0.15, 0), 0.03, 0, 0.15, 0.01, 0.03, 0),
    Lab("uric_acid_mg_per_dl", 4.8, 0.35, (0.5, 0, 0, 0.3), 0.04, -0.05, 0.10, 0.04, 0.07, 1),
    Lab("total_protein_g_per_dl", 6.3, 0.09, (0, -0.2, 0.2, 0), 0.02, 0, 0.04, 0.03, 0.06, 1),
    # --- liver panel ------------------------------------------------------------------
    Lab("ast_u_per_l", 30, 0.50, (0.15, 0.85, 0, 0), 0.04, 0.05, 0.08, 0.01, 0.03, 0),
    Lab("alt_u_per_l", 32, 0.70, (0.05, 0.75, 0, 0), 0.05, 0.05, 0.18, 0.01, 0.03, 0),
    Lab("alp_u_per_l", 95, 0.45, (0.15, 0.45, 0.15, 0), 0.04, 0, 0.10, 0.02, 0.04, 0),
    Lab("ggt_u_per_l", 55, 0.85, (0, 0.55, 0.1, 0), 0.05, 0, 0.15, 0.10, 0.15, 0),
    Lab("bilirubin_total_mg_per_dl", 0.6, 0.50, (0.1, 0.45, 0.1, 0), 0.06, 0, 0.15, 0.01, 0.03, 2),
    Lab("albumin_g_per_dl", 3.5, 0.13, (-0.15, -0.3, -0.4, 0), 0.03, -0.01, 0.05, 0.02, 0.04, 1),
    # --- LDH (tumour turnover) ----------------------------------------------------------
    Lab("ldh_u_per_l", 280, 0.55, (0.80, 0.15, 0, 0), 0.04, 0.03, 0.08, 0.02, 0.04, 0),
    # --- coagulation ------------------------------------------------------------------
    Lab("pt_s", 13.5, 0.09, (0.2, 0.3, 0.2, 0), 0.03, 0, 0.05, 0.03, 0.05, 1),
    Lab("aptt_s", 31, 0.11, (0.1, 0.1, 0.1, 0), 0.04, 0, 0.06, 0.04, 0.06, 1),
    Lab("fibrinogen_mg_per_dl", 420, 0.32, (0.1, -0.1, 0.6, 0), 0.05, 0, 0.10, 0.06, 0.09, 0),
    Lab("d_dimer_ug_per_ml", 1.1, 0.9, (0.4, 0, 0.3, 0), 0.10, 0, 0.25, 0.28, 0.35, 2),
    # --- renal --------------------------------------------------------------------------
    Lab("creatinine_mg_per_dl", 0.90, 0.25, (0, 0, 0, 0.8), 0.04, 0.02, 0.07, 0.01, 0.03, 2),
    Lab("bun_mg_per_dl", 16, 0.38, (0, 0, 0.1, 0.6), 0.05, 0, 0.12, 0.01, 0.03, 0),
    Lab("cystatin_c_mg_per_l", 1.1, 0.25, (0.1, 0, 0.1, 0.75), 0.04, 0, 0.07, 0.55, 0.65, 2),
    # --- inflammation and other chemistry ---------------------------------------------
    Lab("crp_mg_per_l", 12, 1.10, (0.2, 0, 0.8, 0), 0.08, 0.05, 0.35, 0.08, 0.12, 1),
    Lab("ferritin_ng_per_ml", 1400, 0.80, (0.2, 0.1, 0.5, 0), 0.06, 0, 0.10, 0.22, 0.30, 0),
    Lab("procalcitonin_ng_per_ml", 0.12, 1.00, (0, 0, 0.7, 0.1), 0.10, 0, 0.30, 0.45, 0.55, 2),
    Lab("beta2_microglobulin_mg_per_l", 2.8, 0.40, (0.4, 0, 0.1, 0.5), 0.05, 0, 0.08, 0.24, 0.30, 2),
    Lab("haptoglobin_mg_per_dl", 150, 0.55, (-0.1, -0.2, 0.5, 0), 0.06, 0, 0.12, 0.30, 0.40, 0),
    Lab("triglycerides_mg_per_dl", 150, 0.45, (0, 0.1, 0.1, 0), 0.05, 0, 0.20, 0.12, 0.18, 0),
    Lab("cholesterol_mg_per_dl", 150, 0.22, (-0.1, 0, -0.2, 0), 0.03, 0, 0.06, 0.12, 0.18, 0),
    Lab("lipase_u_per_l", 30, 0.55, (0, 0, 0, 0.15), 0.06, 0, 0.15, 0.15, 0.20, 0),
    Lab("amylase_u_per_l", 60, 0.45, (0, 0, 0, 0.15), 0.05, 0, 0.12, 0.16, 0.22, 0),
    Lab("ck_u_per_l", 60, 0.65, (0, 0, 0, 0), 0.05, 0, 0.20, 0.10, 0.16, 0),
)

#: Labs measured after the infusion only when clinically indicated (sparse, ~30 % missing).
SPARSE_POST = frozenset({
    "mcv_fl", "mch_pg", "mchc_g_per_dl", "rdw_pct", "mpv_fl", "reticulocytes_pct",
    "immature_granulocytes_pct", "nrbc_per_100_wbc", "magnesium_mg_per_dl", "phosphate_mg_per_dl",
    "uric_acid_mg_per_dl", "total_protein_g_per_dl", "ggt_u_per_l", "alp_u_per_l", "aptt_s",
    "fibrinogen_mg_per_dl", "triglycerides_mg_per_dl", "cholesterol_mg_per_dl", "lipase_u_per_l",
    "amylase_u_per_l", "ck_u_per_l", "crp_mg_per_l", "calcium_mg_per_dl", "glucose_mg_per_dl",
    "rbc_1e12_per_l", "chloride_mmol_per_l", "bicarbonate_mmol_per_l", "pt_s", "ferritin_ng_per_ml",
    "haptoglobin_mg_per_dl", "beta2_microglobulin_mg_per_l", "alt_u_per_l",
})

#: Screening tests and marrow markers not done at every centre (≥ 25 % missing).
SPARSE_ONCE_MISSING = 0.26
SPARSE_POST_MISSING = 0.32

#: Screening tests measured once (no ``_pre``/``_post`` suffix).
OTHER: tuple[Lab, ...] = (
    Lab("tsh_miu_per_l", 1.8, 0.6, miss_pre=0.25, dec=2, pair=False),
    Lab("free_t4_ng_per_dl", 1.2, 0.18, miss_pre=0.35, dec=2, pair=False),
    Lab("hba1c_pct", 5.7, 0.10, miss_pre=0.40, dec=1, pair=False),
    Lab("vitamin_b12_pg_per_ml", 520, 0.45, miss_pre=0.45, dec=0, pair=False),
    Lab("folate_ng_per_ml", 12, 0.45, miss_pre=0.48, dec=1, pair=False),
    Lab("iron_ug_per_dl", 95, 0.40, (0, 0, -0.3, 0), miss_pre=0.38, dec=0, pair=False),
    Lab("tibc_ug_per_dl", 250, 0.18, (0, 0, -0.3, 0), miss_pre=0.38, dec=0, pair=False),
    Lab("igg_mg_per_dl", 850, 0.35, miss_pre=0.40, dec=0, pair=False),
    Lab("lvef_pct", 60, 0.25, kind="logit", miss_pre=0.03, dec=0, pair=False),
    Lab("dlco_pct_pred", 78, 0.55, kind="logit", miss_pre=0.22, dec=0, pair=False),
    Lab("fev1_pct_pred", 88, 0.55, kind="logit", miss_pre=0.18, dec=0, pair=False),
    Lab("qtc_ms", 430, 0.05, miss_pre=0.04, dec=0, pair=False),
)

#: Marrow aspirate/biopsy (screening, once): morphology and flow cytometry (% of cells).
MARROW: tuple[Lab, ...] = (
    Lab("marrow_blasts_pct", 30, 1.1, (0.85, 0, 0, 0), 0.15, kind="logit", miss_pre=0.03, dec=0, pair=False),
    Lab("marrow_cellularity_pct", 50, 0.9, (0.6, 0, 0, 0), 0.15, kind="logit", miss_pre=0.06, dec=0, pair=False),
    Lab("marrow_fibrosis_grade", 1.0, 0.6, (0.3, 0, 0, 0), 0.0, miss_pre=0.20, dec=0, pair=False),
    Lab("marrow_cd45_dim_pct", 28, 1.0, (0.7, 0, 0, 0), 0.2, kind="logit", miss_pre=0.26, dec=1, pair=False),
    Lab("marrow_cd33_pct", 55, 1.2, (0.3, 0, 0, 0), 0.2, kind="logit", miss_pre=0.26, dec=1, pair=False),
    Lab("marrow_cd34_pct", 20, 1.3, (0.5, 0, 0, 0), 0.2, kind="logit", miss_pre=0.26, dec=1, pair=False),
    Lab("marrow_cd117_pct", 25, 1.2, (0.4, 0, 0, 0), 0.2, kind="logit", miss_pre=0.26, dec=1, pair=False),
    Lab("marrow_cd13_pct", 45, 1.1, (0.2, 0, 0, 0), 0.2, kind="logit", miss_pre=0.26, dec=1, pair=False),
    Lab("marrow_cd14_pct", 6, 1.0, kind="logit", miss_pre=0.30, dec=1, pair=False),
    Lab("marrow_cd15_pct", 25, 1.0, kind="logit", miss_pre=0.30, dec=1, pair=False),
    Lab("marrow_cd11b_pct", 18, 1.0, kind="logit", miss_pre=0.32, dec=1, pair=False),
    Lab("marrow_cd7_pct", 5, 1.2, kind="logit", miss_pre=0.33, dec=1, pair=False),
    Lab("marrow_cd56_pct", 4, 1.3, kind="logit", miss_pre=0.35, dec=1, pair=False),
    Lab("marrow_hla_dr_pct", 40, 1.2, (0.2, 0, 0, 0), 0.2, kind="logit", miss_pre=0.20, dec=1, pair=False),
    Lab("marrow_mpo_pct", 35, 1.1, kind="logit", miss_pre=0.25, dec=1, pair=False),
    Lab("marrow_cd64_pct", 10, 1.0, kind="logit", miss_pre=0.36, dec=1, pair=False),
    Lab("marrow_cd38_pct", 30, 1.0, kind="logit", miss_pre=0.38, dec=1, pair=False),
    Lab("marrow_cd123_pct", 20, 1.1, kind="logit", miss_pre=0.40, dec=1, pair=False),
    Lab("marrow_cd4_pct", 8, 1.0, kind="logit", miss_pre=0.40, dec=1, pair=False),
    Lab("marrow_cd19_pct", 2, 1.0, kind="logit", miss_pre=0.33, dec=1, pair=False),
    Lab("marrow_cd2_pct", 6, 1.0, kind="logit", miss_pre=0.42, dec=1, pair=False),
    Lab("marrow_cd36_pct", 10, 1.0, kind="logit", miss_pre=0.45, dec=1, pair=False),
    Lab("marrow_tdt_pct", 1.5, 1.2, kind="logit", miss_pre=0.50, dec=1, pair=False),
    Lab("marrow_plasma_cells_pct", 1.5, 0.7, kind="logit", miss_pre=0.10, dec=1, pair=False),
    Lab("marrow_erythroid_pct", 15, 0.8, (-0.4, 0, 0, 0), 0.1, kind="logit", miss_pre=0.08, dec=0, pair=False),
    Lab("marrow_myeloid_pct", 30, 0.7, (-0.4, 0, 0, 0), 0.1, kind="logit", miss_pre=0.08, dec=0, pair=False),
    Lab("marrow_lymphocytes_pct", 10, 0.6, (-0.2, 0, 0, 0), 0.1, kind="logit", miss_pre=0.09, dec=0, pair=False),
    Lab("marrow_monocytes_pct", 4, 0.7, kind="logit", miss_pre=0.12, dec=0, pair=False),
    Lab("marrow_megakaryocytes_per_hpf", 2.0, 0.8, (-0.4, 0, 0, 0), 0.1, miss_pre=0.15, dec=1, pair=False),
    Lab("marrow_iron_grade", 2.0, 0.5, (0, 0, 0.3, 0), 0.0, miss_pre=0.30, dec=0, pair=False),
    Lab("marrow_ringed_sideroblasts_pct", 1.0, 1.3, kind="logit", miss_pre=0.35, dec=1, pair=False),
)

#: Vital signs before and after the infusion: stem, mean, SD, loading on inflammation,
#: SD of the change, decimals, missing share (pre, post), plausible range.
VITALS = (
    ("temperature_c", 36.8, 0.35, 0.5, 0.3, 1, 0.01, 0.02, (35.0, 40.5)),
    ("heart_rate_bpm", 82, 13, 0.4, 8, 0, 0.01, 0.02, (45, 160)),
    ("systolic_bp_mmhg", 128, 17, 0.0, 10, 0, 0.01, 0.02, (85, 200)),
    ("diastolic_bp_mmhg", 74, 10, 0.0, 7, 0, 0.01, 0.02, (40, 120)),
    ("respiratory_rate_per_min", 17, 2.5, 0.3, 2, 0, 0.03, 0.05, (10, 36)),
    ("spo2_pct", 97, 1.5, -0.3, 1.2, 0, 0.02, 0.04, (85, 100)),
)


#: Screening tests kept at their own missing share (routine at every centre); the other
#: screening and marrow tests are at least :data:`SPARSE_ONCE_MISSING` missing.
ROUTINE_ONCE = ("lvef_pct", "qtc_ms", "marrow_blasts_pct", "marrow_cellularity_pct")
#: Largest value of graded marrow findings.
GRADE_MAX = {"marrow_fibrosis_grade": 3.0, "marrow_iron_grade": 4.0}
#: Labs the liver kinetics read (true infusion-day values).
AST_STEM = "ast_u_per_l"
LDH_STEM = "ldh_u_per_l"


@dataclass(frozen=True)
class DerivedLabs:
    """Labs computed from other measured labs (so that they stay consistent)."""

    hematocrit_per_hemoglobin: float = 2.95
    hematocrit_sigma: float = 0.02
    pt_ref_s: float = 12.5
    inr_exponent: float = 1.1
    direct_bilirubin_logit: float = -1.0
    direct_bilirubin_sigma: float = 0.5
    direct_bilirubin_missing_pre: float = 0.20
    direct_bilirubin_missing_post: float = 0.26
    min_globulin_g_per_dl: float = 1.0
    anion_gap_mmol_per_l: float = 11.0
    anion_gap_sd: float = 3.0
    anion_gap_min: float = 3.0
    anion_gap_max: float = 24.0


DERIVED_LABS = DerivedLabs()

# ---- kinetics ------------------------------------------------------------------------

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



@dataclass(frozen=True)
class Reference:
    """The typical patient of the cohort that centres the covariate model."""

    bsa_m2: float = 1.9
    liver_mass_g: float = 1800.0
    ast: float = 30.0
    ldh: float = 280.0
    lymph: float = 0.7
    neut: float = 0.6
    wbc: float = 3.0
    spleen_ml: float = 250.0


REF = Reference()


@dataclass(frozen=True)
class Compartment:
    """A compartment other than the liver: initial uptake ∝ organ size, mono-exponential clearance.

    Uptake ``a = uptake · (size/size_ref)^size_exponent · exp(uptake_sigma·ε)`` (``size_exponent``
    ``None``: proportional to size); biological clearance ``ln2/half_life_h · exp(lambda_sigma·ε)``,
    or, for blood-pool organs (``half_life_h`` ``None``), the blood clearance times
    ``exp(lambda_sigma·ε)`` (``lambda_sigma`` ``None``: the blood clearance itself).
    """

    region: str
    size: str              # what sets the uptake: a CT volume or a screening/marrow test
    uptake: float
    size_ref: float
    size_exponent: float | None
    uptake_sigma: float
    half_life_h: float | None
    lambda_sigma: float | None


#: The other compartments, in draw order (the liver comes first, from :class:`KineticParams`).
COMPARTMENTS: tuple[Compartment, ...] = (
    Compartment("spleen", "spleen_ml", 0.06, 215.0, 0.8, 0.15, 60.0, 0.25),
    Compartment("marrow", "marrow_cellularity_pct", 0.07, 50.0, 0.5, 0.2, 70.0, 0.25),
    Compartment("lungs", "lungs_ml", 0.05, 4500.0, 0.5, 0.15, None, 0.1),
    Compartment("kidneys", "kidneys_ml", 0.025, 300.0, None, 0.15, 35.0, 0.2),
    Compartment("heart", "heart_ml", 0.045, 650.0, None, 0.15, None, None),
)


@dataclass(frozen=True)
class BodyKinetics:
    """Blood pool, remainder of the body, and the share the organs may hold."""

    blood_half_life_h: float = 30.0
    blood_sink: float = 0.15           # log-rate per log of WBC over the reference
    blood_sigma: float = 0.2
    organs_max_share: float = 0.85     # organs hold at most 85 % at t = 0
    remainder_half_life_h: float = 60.0
    remainder_sigma: float = 0.25
    nuclide: str = "I-131"


BODY_KINETICS = BodyKinetics()

# ---- imaging -------------------------------------------------------------------------


@dataclass(frozen=True)
class Imaging:
    """Scan schedule, dosimetric activity and the planar camera."""

    t1_h: tuple[float, float] = (0.25, 2.0)
    t2_h: float = 24.0
    t2_sd_h: float = 1.5
    t2_range_h: tuple[float, float] = (20.0, 28.0)
    t3_h: tuple[float, float] = (72.0, 96.0)
    dosimetric_mci: float = 10.0
    dosimetric_sigma: float = 0.25
    dosimetric_range_mci: tuple[float, float] = (7.0, 20.0)
    mu_per_cm: float = 0.110                     # water at 364 keV, SPEC §2 default
    sensitivity_cps_per_mbq: float = 30.0        # per head
    acquisition_s: tuple[float, ...] = (600.0, 900.0, 1200.0)
    thickness_sd_cm: float = 0.8
    thickness_range_cm: tuple[float, float] = (10.0, 45.0)
    depth_share: tuple[float, float] = (0.35, 0.65)
    background_sigma: float = 0.1


IMAGING = Imaging()

#: Background count rate per ROI (cps), scatter and room background, by region.
BACKGROUND_CPS = {"whole_body": 25.0, "liver": 3.0, "spleen": 1.2, "lungs": 3.0,
                  "kidneys": 1.0, "marrow": 1.5, "heart": 1.2}

#: ROI-delineation / overlap error of planar quantification (log-normal σ), by region.
ROI_SIGMA = {"whole_body": 0.01, "liver": 0.04, "spleen": 0.08, "lungs": 0.08,
             "kidneys": 0.10, "marrow": 0.10, "heart": 0.08}

#: Body thickness over each ROI relative to the abdominal AP diameter (cm), by region.
THICKNESS_OFFSET_CM = {"whole_body": None, "liver": 0.5, "spleen": -1.0, "lungs": -1.5,
                       "kidneys": -0.5, "marrow": None, "heart": -1.5}

# ---- clinical features of the patients table -----------------------------------------


@dataclass(frozen=True)
class Clinical:
    """Performance status, comorbidity, history and risk (a latent frailty drives the scores)."""

    frail_age_ref_y: float = 65.0
    frail_per_age: float = 0.4
    frail_age_scale_y: float = 6.0
    frail_burden: float = 0.3
    frail_noise: float = 0.6
    ecog_intercept: float = 0.8
    ecog_per_frail: float = 0.6
    ecog_range: tuple[float, float] = (0, 3)
    karnofsky_intercept: float = 85
    karnofsky_per_frail: float = 8
    karnofsky_range: tuple[float, float] = (50, 100)
    karnofsky_missing: float = 0.05
    hct_ci_intercept: float = 2.5
    hct_ci_scale: float = 1.4
    hct_ci_frail: float = 0.5
    hct_ci_range: tuple[float, float] = (0, 9)
    hct_ci_missing: float = 0.04
    months_median: float = 9.0
    months_sigma: float = 0.7
    months_missing: float = 0.02
    prior_lines_rate: float = 1.4
    prior_lines_range: tuple[float, float] = (1, 6)
    eln_intercept: float = 2.3
    eln_burden: float = 0.4
    eln_noise: float = 0.6
    eln_range: tuple[float, float] = (1, 3)
    eln_missing: float = 0.06
    spleen_length_cm: float = 11.0
    spleen_length_sigma: float = 0.05
    spleen_length_missing: float = 0.05
    l3_hu: float = 150.0
    l3_per_age_hu: float = 1.5
    l3_sd_hu: float = 35
    l3_missing: float = 0.30


CLINICAL = Clinical()

#: 0/1 flags: column, prevalence, missing share (0: always known). In draw order, by block.
HISTORY_FLAGS = (("secondary_aml_flag", 0.30, 0.0), ("primary_induction_failure_flag", 0.35, 0.0))
GENETIC_FLAGS = (("flt3_itd_flag", 0.20, 0.10), ("npm1_mutated_flag", 0.18, 0.12),
                 ("tp53_mutated_flag", 0.22, 0.27))
SCREENING_FLAGS = (("cmv_igg_positive_flag", 0.6, 0.05), ("prior_allogeneic_hct_flag", 0.08, 0.0),
                   ("diabetes_flag", 0.22, 0.03), ("smoking_flag", 0.45, 0.12))

#: CT columns after the spleen: column, CT-stage quantity, decimals, missing share.
CT_COLUMNS = (("kidney_left_volume_ml", "kidney_left_ml", 0, 0.04),
              ("kidney_right_volume_ml", "kidney_right_ml", 0, 0.04),
              ("lungs_volume_ml", "lungs_ml", 0, 0.06),
              ("heart_volume_ml", "heart_ml", 0, 0.08),
              ("abdomen_ap_diameter_cm", "ap_cm", 1, 0.05))
SPLEEN_VOLUME_COLUMN = ("spleen_volume_ml", 0, 0.03)
