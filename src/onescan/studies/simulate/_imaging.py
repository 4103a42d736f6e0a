"""Stage 6 of the virtual cohort: the scan schedule and the planar conjugate-view counts (MIRD Pamphlet 16).

Expected counts = activity × camera sensitivity × acquisition time × exp(−μ·depth) per view,
times a log-normal ROI-delineation error, plus a background, all Poisson-sampled; the
background is recorded as its own independent Poisson measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from onescan.contract._organs import WHOLE_BODY_REGION
from onescan.contract._units import MBQ_PER_MCI

from ._defaults import BACKGROUND_CPS, IMAGING, REGIONS, ROI_SIGMA, THICKNESS_OFFSET_CM
from ._kinetics import Kinetics


@dataclass(frozen=True)
class Imaging:
    """The scans of every patient.

    Attributes
    ----------
    times_h : numpy.ndarray
        Scan times, shape (n, 3), h.
    dosimetric_mci : numpy.ndarray
        Administered dosimetric (tracer) activity, mCi.
    scans : pandas.DataFrame
        SPEC §1.2 table, one row per patient × scan × region, in that order.
    """

    times_h: np.ndarray
    dosimetric_mci: np.ndarray
    scans: pd.DataFrame


def _schedule(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Scan times (n, 3) at ~0–2 h, ~24 h and 72–96 h, and the dosimetric activity (mCi)."""
    im = IMAGING
    t1 = np.round(rng.uniform(im.t1_h[0], im.t1_h[1], n), 2)
    t2 = np.round(np.clip(im.t2_h + im.t2_sd_h * rng.standard_normal(n), im.t2_range_h[0], im.t2_range_h[1]), 2)
    t3 = np.round(rng.uniform(im.t3_h[0], im.t3_h[1], n), 2)
    times = np.stack([t1, t2, t3], axis=1)
    lo, hi = im.dosimetric_range_mci
    dosimetric_mci = np.round(np.clip(im.dosimetric_mci * np.exp(im.dosimetric_sigma * rng.standard_normal(n)),
                                      lo, hi), 1)
    return times, dosimetric_mci


def _activity(kin: Kinetics, times: np.ndarray, a0_mbq: np.ndarray) -> dict[str, np.ndarray]:
    """Decayed activity (MBq) per region and scan; the whole body is the sum of all compartments."""
    decay = np.exp(-kin.lambda_phys_per_h * times)
    act: dict[str, np.ndarray] = {}
    for r, (a, lam_bio) in kin.organs.items():
        act[r] = a0_mbq[:, None] * a[:, None] * np.exp(-lam_bio[:, None] * times) * decay
    body = sum(act.values()) + (a0_mbq[:, None] * kin.remainder_uptake[:, None]
                                * np.exp(-kin.remainder_lambda_bio_per_h[:, None] * times) * decay)
    # before the first void (after the first scan) everything is still in the body
    body[:, 0] = a0_mbq * decay[:, 0]
    act[WHOLE_BODY_REGION] = body
    return act


def _region_rows(rng: np.random.Generator, ids, times, j: int, region: str, activity: np.ndarray,
                 thickness: np.ndarray) -> pd.DataFrame:
    """Counts of one region at scan ``j`` for every patient (draw order: thickness, depth, ROI, backgrounds)."""
    im, n = IMAGING, len(ids)
    acq = im.acquisition_s[j]
    tk = np.round(np.clip(thickness + im.thickness_sd_cm * rng.standard_normal(n), *im.thickness_range_cm), 1)
    depth = tk * rng.uniform(im.depth_share[0], im.depth_share[1], n)
    roi = np.exp(ROI_SIGMA[region] * rng.standard_normal(n))
    base = activity[:, j] * roi * im.sensitivity_cps_per_mbq * acq
    mean_ant = base * np.exp(-im.mu_per_cm * depth)
    mean_post = base * np.exp(-im.mu_per_cm * (tk - depth))
    bkg = BACKGROUND_CPS[region] * acq
    bkg_ant_true = bkg * np.exp(im.background_sigma * rng.standard_normal(n))
    bkg_post_true = bkg * np.exp(im.background_sigma * rng.standard_normal(n))
    counts_ant = rng.poisson(mean_ant + bkg_ant_true)
    counts_post = rng.poisson(mean_post + bkg_post_true)
    bg_ant = rng.poisson(bkg_ant_true)
    bg_post = rng.poisson(bkg_post_true)
    return pd.DataFrame({
        "patient_id": ids, "time_h": times[:, j], "region": region,
        "counts_anterior": counts_ant.astype(np.int64), "counts_posterior": counts_post.astype(np.int64),
        "background_anterior": bg_ant.astype(np.int64), "background_posterior": bg_post.astype(np.int64),
        "acquisition_s": acq, "thickness_cm": tk, "_k": j})


def imaging(rng: np.random.Generator, ids: np.ndarray, kin: Kinetics, ap_cm: np.ndarray) -> Imaging:
    """Scan schedule, dosimetric activity and the planar counts of every region.

    Parameters
    ----------
    rng : numpy.random.Generator
        The cohort's generator.
    ids : numpy.ndarray
        Patient ids.
    kin : Kinetics
        True kinetics.
    ap_cm : numpy.ndarray
        Abdominal AP diameter, cm (the body thickness).

    Returns
    -------
    Imaging
    """
    times, dosimetric_mci = _schedule(rng, len(ids))
    act = _activity(kin, times, dosimetric_mci * MBQ_PER_MCI)
    thick = {r: ap_cm if off is None else ap_cm + off for r, off in THICKNESS_OFFSET_CM.items()}
    rows = [_region_rows(rng, ids, times, j, r, act[r], thick[r])
            for j in range(len(IMAGING.acquisition_s)) for r in REGIONS]
    scans = pd.concat(rows, ignore_index=True)
    order = {pid: i for i, pid in enumerate(ids)}
    reg_order = {r: i for i, r in enumerate(REGIONS)}
    scans = (scans.assign(_p=scans["patient_id"].map(order), _r=scans["region"].map(reg_order))
                  .sort_values(["_p", "_k", "_r"], kind="mergesort")
                  .drop(columns=["_p", "_k", "_r"]).reset_index(drop=True))
    return Imaging(times_h=times, dosimetric_mci=dosimetric_mci, scans=scans)
