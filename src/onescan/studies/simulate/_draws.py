"""Random-draw helpers of the virtual cohort: latent lab values, measurement, missingness."""

from __future__ import annotations

import math

import numpy as np

from ._defaults import Lab

def logit(p):
    """log(p / (1 − p))."""
    return np.log(p / (1.0 - p))


def expit(x):
    """1 / (1 + exp(−x))."""
    return 1.0 / (1.0 + np.exp(-x))


def latent_value(rng: np.random.Generator, lab: Lab, z: np.ndarray) -> np.ndarray:
    """True value (no measurement noise) of one lab for every patient."""
    load = np.asarray(lab.load, dtype=float)
    common = z @ load
    resid = math.sqrt(max(1.0 - float(np.sum(load ** 2)), 0.0))
    e = rng.standard_normal(z.shape[0])
    u = lab.sd * (common + resid * e)
    if lab.kind == "logit":
        return 100.0 * expit(logit(lab.median / 100.0) + u)
    return lab.median * np.exp(u)


def measure(rng: np.random.Generator, lab: Lab, true: np.ndarray, post: bool) -> np.ndarray:
    """A measured value of ``true``: pre = measurement noise; post = change + noise."""
    n = true.shape[0]
    sd = lab.change if post else lab.meas
    shift = lab.shift if post else 0.0
    e = shift + sd * rng.standard_normal(n)
    if lab.kind == "logit":
        p = np.clip(true / 100.0, 1e-4, 1 - 1e-4)
        return 100.0 * expit(logit(p) + e)
    return true * np.exp(e)


def with_missing(rng: np.random.Generator, x: np.ndarray, share: float) -> np.ndarray:
    """A float copy of ``x`` with a random ``share`` of it set to NaN (one uniform draw per patient if share > 0)."""
    x = np.asarray(x, dtype=float).copy()
    if share > 0:
        x[rng.random(x.shape[0]) < share] = np.nan
    return x


def round_to(x: np.ndarray, dec: int) -> np.ndarray:
    """``x`` as floats rounded to ``dec`` decimals."""
    return np.round(np.asarray(x, dtype=float), dec)


def ckd_epi_2021(creat_mg_dl: np.ndarray, age_y: np.ndarray, male: np.ndarray) -> np.ndarray:
    """eGFR (ml/min/1.73 m²) by the race-free CKD-EPI 2021 creatinine equation (Inker 2021)."""
    kappa = np.where(male, 0.9, 0.7)
    alpha = np.where(male, -0.302, -0.241)
    r = creat_mg_dl / kappa
    egfr = 142.0 * np.minimum(r, 1.0) ** alpha * np.maximum(r, 1.0) ** -1.200 * 0.9938 ** age_y
    return egfr * np.where(male, 1.0, 1.012)
