"""The virtual SIERRA cohort: a seeded, physiological generator of virtual patients.

The SIERRA trial's data are private, so onescan simulates patients that look like older
(≥ 55 y) relapsed/refractory AML patients receiving a dosimetric (tracer) infusion of
I-131 apamistamab (Iomab-B, an anti-CD45 antibody), imaged three times with a planar
gamma camera (SPEC §5). The generator is a chain of physical and physiological models,
not a regression with noise, one private module per stage:

1. **Demographics and body size** (``_body``) — age, sex, height, weight → BSA
   (Mosteller), BMI.
2. **Latent state** (``_body``) — four independent standard-normal factors per patient:
   ``burden`` (leukaemic mass: blasts, WBC, LDH, uric acid, marrow blasts, spleen size,
   cytopenias), ``hepatic`` (hepatocellular injury: AST, ALT, GGT, ALP, bilirubin, low
   albumin), ``inflam`` (inflammation: CRP, ferritin, fibrinogen, fever) and ``renal``
   (creatinine, BUN, cystatin C).
3. **CT organ sizes** (``_body``) — the limiting organ from BSA (Heinemann), spleen (with
   AML splenomegaly), kidneys, lungs, heart.
4. **Labs** (``_labs``) before (``_pre``) and after (``_post``) the dosimetric infusion —
   log-normal (or logit-normal for percentages) around published medians, loaded on the
   latent factors, plus measurement noise and day-to-day change. Absolute white-cell
   subsets are generated first and the WBC is their sum, so the differential is
   internally consistent.
5. **Kinetics** (``_kinetics``) per compartment as a mono-exponential biological
   retention times I-131 decay; the limiting organ's clearance and uptake follow the
   covariate model of :class:`KineticParams`. The whole body is the sum of all
   compartments, held entirely in the body until the first void after the first scan.
6. **Imaging** (``_imaging``, MIRD Pamphlet 16 conjugate views) at ~0–2 h, ~24 h and
   72–96 h with jitter, Poisson-sampled counts and backgrounds.
7. **Target** (``_target``) — :func:`onescan.dosimetry._dose.compute_dose` (SPEC §2) on
   these noisy scans: ``prescribed_activity_mci`` in ``patients`` is capped at the maximum
   manufactured activity (1030 mCi), as in the trial. The uncapped value and every true
   kinetic parameter are in ``truth`` only.

Every number (distribution, per-region table, source) is in ``_defaults``. Everything
is drawn from one ``numpy.random.Generator(PCG64(seed))`` in a fixed order, so the same
``(n, seed)`` always gives the same tables.
"""

from __future__ import annotations

from ._defaults import DEFAULT_COHORT_N, DEFAULT_COHORT_SEED, REGIONS, KineticParams
from ._files import default_cohort, default_cohort_paths, write_cohort
from ._generator import SimulatedCohort, simulate_cohort

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
