"""The virtual-cohort generator: :func:`simulate_cohort` runs the stages in their fixed draw order."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._body import ct_volumes, demographics, latent_factors, white_cells
from ._clinical import clinical_columns
from ._defaults import COMPARTMENTS, ID_MIN_DIGITS, ID_PREFIX, WBC_STEM, KineticParams
from ._imaging import imaging
from ._kinetics import kinetics
from ._labs import measured_columns, true_labs
from ._target import target

logger = logging.getLogger(__name__)


@dataclass
class SimulatedCohort:
    """A simulated cohort in the SPEC §1 file format plus its hidden truth.

    Attributes
    ----------
    patients : pandas.DataFrame
        One row per patient: ``patient_id``, ``prescribed_activity_mci`` (capped target,
        mCi) and the candidate features (``dosimetric_activity_mci``, the organ mass,
        demographics, CT volumes, labs, marrow tests, …).
    scans : pandas.DataFrame
        One row per patient × scan time × region (SPEC §1.2) with integer counts.
    truth : pandas.DataFrame
        One row per patient: true kinetic parameters per organ, the true TIAC of the
        limiting organ, the prescribed activity from the true kinetics, and the dosimetry
        of the noisy scans (uncapped prescribed activity, fitted half-life, first uptake).
    """

    patients: pd.DataFrame
    scans: pd.DataFrame
    truth: pd.DataFrame


def _patient_ids(n: int, prefix: str) -> np.ndarray:
    """``VP0001``, … with at least :data:`ID_MIN_DIGITS` digits."""
    width = max(ID_MIN_DIGITS, len(str(n)))
    return np.array([f"{prefix}{i + 1:0{width}d}" for i in range(n)], dtype=object)


def simulate_cohort(n: int, seed: int, dose_settings=None, *, params: KineticParams | None = None,
                    id_prefix: str = ID_PREFIX) -> SimulatedCohort:
    """Simulate ``n`` virtual SIERRA patients with three planar scans each (SPEC §5).

    Stages, in draw order: demographics and body size → latent state → CT organ sizes →
    white cells and true labs → kinetics → imaging → measured columns of the patients
    table → target (onescan's dosimetry of the noisy scans). Everything is drawn from one
    ``numpy.random.Generator(PCG64(seed))``, so the same ``(n, seed, params)`` always gives
    the same tables.

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
    ids = _patient_ids(n, id_prefix)

    body = demographics(rng, n)
    z = latent_factors(rng, n)
    ct = ct_volumes(rng, body, z[:, 0], p)
    cells = white_cells(rng, z)
    cells[WBC_STEM] = sum(cells.values())
    labs = true_labs(rng, z)
    once = labs.once
    sizes = {c.size: once[c.size] if c.size in once else getattr(ct, c.size) for c in COMPARTMENTS}
    kin = kinetics(rng, ct, cells, labs.paired, sizes, p)
    scans = imaging(rng, ids, kin, ct.ap_cm)

    cols = clinical_columns(rng, ids, body, z[:, 0], ct, scans.dosimetric_mci)
    measured_columns(rng, cols, body, z, cells, labs)
    patients = pd.DataFrame(cols)
    truth = target(ids, patients, scans.scans, settings, ct.liver_mass_g, kin, cells, labs.paired, z)
    logger.info("simulated %d virtual patients (seed given)", n)
    return SimulatedCohort(patients=patients, scans=scans.scans, truth=truth)
