"""Conjugate-view quantification of planar scans (SPEC §2.1, MIRD Pamphlet 16).

For every scan row:

* net count rate per view N = max(counts − background, 0) / acquisition_s  [counts/s];
* geometric mean GM = sqrt(N_ant · N_post);
* with ``thickness_cm``: attenuation-corrected GM_corr = GM / sqrt(exp(−μ·thickness_cm));
* with ``source_thickness_cm`` = s: source self-attenuation factor F = (μs/2)/sinh(μs/2)
  applied as GM·F (MIRD Pamphlet 16, Siegel et al., J Nucl Med 1999;40:37S–61S, the
  conjugate-view equation for a uniform source of thickness s; F → 1 as s → 0), for every
  region including ``whole_body``. Rows without it (NaN or no column) are unchanged (bit for bit);
* fraction of the administered activity, not decay-corrected,
  f_r(t) = GM_r(t) / GM_wb(t_first) · exp(−λ_phys · t_first),
  where t_first is the time of the patient's first whole-body scan (before any
  voiding, so it holds the whole administered activity, decayed to t_first).

Rows with ``fraction_injected`` use that value as f directly.

The computation is vectorised over all rows (no per-patient loop).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

__all__ = ["quantify", "geometric_mean_counts_per_s", "self_attenuation_factor", "counting_u_rel", "normaliser_rows",
           "DEFAULT_MU_PER_CM"]

log = logging.getLogger(__name__)

#: Narrow-beam linear attenuation coefficient of water at 364 keV, 1/cm (SPEC §2.1;
#: NIST XCOM gives μ/ρ ≈ 0.110 cm²/g for water at 364 keV).
DEFAULT_MU_PER_CM = 0.110


def _col(scans: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name in scans.columns:
        v = pd.to_numeric(scans[name], errors="coerce").to_numpy(dtype=float)
        return np.where(np.isnan(v), default, v) if not np.isnan(default) else v
    return np.full(len(scans), default)


def self_attenuation_factor(source_thickness_cm, mu_per_cm: float = DEFAULT_MU_PER_CM) -> np.ndarray:
    """MIRD Pamphlet 16 source self-attenuation factor F = (μs/2)/sinh(μs/2).

    For a uniform source of thickness s seen in conjugate views through a body of thickness T,
    sqrt(I_A·I_P) = C·A·exp(−μT/2)·sinh(μs/2)/(μs/2) (Siegel et al., J Nucl Med 1999;40:37S–61S),
    so the activity is the attenuation-corrected geometric mean times F.

    Parameters
    ----------
    source_thickness_cm : float or array-like
        Thickness of the source region along the view axis, cm (NaN: no correction).
    mu_per_cm : float
        Linear attenuation coefficient, 1/cm.

    Returns
    -------
    numpy.ndarray
        F (dimensionless, ≤ 1); 1 where the thickness is NaN or 0.
    """
    s = np.asarray(source_thickness_cm, dtype=float)
    x = 0.5 * mu_per_cm * np.where(np.isfinite(s) & (s > 0), s, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(x > 0, x / np.sinh(x), 1.0)


def counting_u_rel(scans: pd.DataFrame) -> np.ndarray:
    """Relative standard uncertainty (k = 1) of each row's geometric mean from Poisson counting.

    Every count is Poisson (gross counts C and background B of each view): the net counts
    C − B have variance C + B, so u²(GM)/GM² = ¼·[(C_a + B_a)/(C_a − B_a)² + (C_p + B_p)/(C_p − B_p)²].
    The acquisition time and the attenuation factors are exact and drop out.

    Parameters
    ----------
    scans : pandas.DataFrame
        Canonical scans table (counts, optional backgrounds).

    Returns
    -------
    numpy.ndarray
        u_rel per row; NaN where the counts are missing; inf where a view has no net counts.
    """
    ca = _col(scans, "counts_anterior", np.nan)
    cp = _col(scans, "counts_posterior", np.nan)
    ba = _col(scans, "background_anterior", 0.0)
    bp = _col(scans, "background_posterior", 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        na, npo = ca - ba, cp - bp
        var = 0.25 * (np.where(na > 0, (ca + ba) / na ** 2, np.inf) + np.where(npo > 0, (cp + bp) / npo ** 2, np.inf))
    return np.where(np.isnan(ca) | np.isnan(cp), np.nan, np.sqrt(var))


def geometric_mean_counts_per_s(scans: pd.DataFrame, mu_per_cm: float = DEFAULT_MU_PER_CM) -> np.ndarray:
    """Attenuation-corrected geometric-mean count rate of every scan row.

    Parameters
    ----------
    scans : pandas.DataFrame
        Canonical scans table (``counts_anterior``, ``counts_posterior``; optional
        ``background_*`` [counts], ``acquisition_s`` [s], ``thickness_cm`` [cm],
        ``source_thickness_cm`` [cm]).
    mu_per_cm : float
        Effective linear attenuation coefficient, 1/cm.

    Returns
    -------
    numpy.ndarray
        GM count rate in counts/s (NaN where counts are missing); corrected for
        attenuation where ``thickness_cm`` is given and multiplied by the self-attenuation
        factor :func:`self_attenuation_factor` where ``source_thickness_cm`` is given.
    """
    ca = _col(scans, "counts_anterior", np.nan)
    cp = _col(scans, "counts_posterior", np.nan)
    ba = _col(scans, "background_anterior", 0.0)
    bp = _col(scans, "background_posterior", 0.0)
    acq = _col(scans, "acquisition_s", 1.0)
    thick = _col(scans, "thickness_cm", np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_ant = np.maximum(ca - ba, 0.0) / acq
        n_post = np.maximum(cp - bp, 0.0) / acq
        gm = np.sqrt(n_ant * n_post)
        # GM / sqrt(exp(-mu T)) = GM * exp(mu T / 2)
        corr = np.where(np.isnan(thick), 1.0, np.exp(0.5 * mu_per_cm * thick))
    gm = gm * corr
    if "source_thickness_cm" in scans.columns:
        s = _col(scans, "source_thickness_cm", np.nan)
        has = np.isfinite(s)
        if has.any():  # rows without it keep their value bit for bit
            gm = np.where(has, gm * self_attenuation_factor(s, mu_per_cm), gm)
    return gm


def _first_whole_body(pid, time_h, region, gm) -> pd.DataFrame:
    """The first whole-body scan with usable counts per patient (vectorised: sort + first).

    Rows are labelled by their position in the scans table.
    """
    wb = pd.DataFrame({"patient_id": pid, "time_h": time_h, "gm": gm})[(region == "whole_body") & np.isfinite(gm)]
    return wb.sort_values(["patient_id", "time_h"], kind="stable").drop_duplicates("patient_id", keep="first")


def normaliser_rows(scans: pd.DataFrame, mu_per_cm: float = DEFAULT_MU_PER_CM) -> np.ndarray:
    """Mask of the scan rows that normalise each patient's fractions (first usable whole-body scan).

    Parameters
    ----------
    scans : pandas.DataFrame
        Canonical scans table.
    mu_per_cm : float
        Linear attenuation coefficient, 1/cm.

    Returns
    -------
    numpy.ndarray of bool
        True at the normalising row of every patient (in row order of ``scans``).
    """
    pid = scans["patient_id"].astype(str).to_numpy()
    time_h = pd.to_numeric(scans["time_h"], errors="coerce").to_numpy(dtype=float)
    region = scans["region"].astype(str).str.strip().str.lower().to_numpy()
    gm = geometric_mean_counts_per_s(scans, mu_per_cm)
    mask = np.zeros(len(scans), dtype=bool)
    mask[_first_whole_body(pid, time_h, region, gm).index.to_numpy()] = True
    return mask


def quantify(scans: pd.DataFrame, mu_per_cm: float = DEFAULT_MU_PER_CM,
             lambda_phys_per_h: float | None = None) -> pd.DataFrame:
    """Fraction of the administered activity per scan row (SPEC §2.1).

    Parameters
    ----------
    scans : pandas.DataFrame
        Canonical scans table (see ``docs/ARCHITECTURE.md``, "Data contract"):
        ``patient_id``, ``time_h`` [h], ``region``, counts columns, optional
        ``fraction_injected`` (used instead of counts where not NaN).
    mu_per_cm : float
        Linear attenuation coefficient for the thickness correction, 1/cm.
    lambda_phys_per_h : float or None
        Physical decay constant, 1/h; ``None`` uses I-131 from radioactivedecay.

    Returns
    -------
    pandas.DataFrame
        Same rows and order as ``scans`` with columns ``patient_id``, ``time_h``,
        ``region``, ``fraction`` (dimensionless, not decay-corrected; NaN when it
        cannot be computed, e.g. no usable whole-body scan) and
        ``gm_counts_per_s`` (attenuation-corrected GM count rate, NaN for
        ``fraction_injected`` rows without counts).
    """
    if lambda_phys_per_h is None:
        from onescan.dosimetry._physics import lambda_phys_per_h as _lp

        lambda_phys_per_h = _lp("I-131")
    pid = scans["patient_id"].astype(str).to_numpy()
    time_h = pd.to_numeric(scans["time_h"], errors="coerce").to_numpy(dtype=float)
    region = scans["region"].astype(str).str.strip().str.lower().to_numpy()
    gm = geometric_mean_counts_per_s(scans, mu_per_cm)

    wb = _first_whole_body(pid, time_h, region, gm)
    wb_t = pd.Series(wb["time_h"].to_numpy(), index=wb["patient_id"].to_numpy())
    wb_gm = pd.Series(wb["gm"].to_numpy(), index=wb["patient_id"].to_numpy())
    t_first = wb_t.reindex(pid).to_numpy(dtype=float)
    gm_first = wb_gm.reindex(pid).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        f_counts = np.where(gm_first > 0, gm / gm_first, np.nan) * np.exp(-lambda_phys_per_h * t_first)

    if "fraction_injected" in scans.columns:
        fi = pd.to_numeric(scans["fraction_injected"], errors="coerce").to_numpy(dtype=float)
        fraction = np.where(np.isfinite(fi), fi, f_counts)
    else:
        fraction = f_counts
    n_missing = int(np.isnan(fraction).sum())
    if n_missing:
        log.info("quantify: %d of %d scan rows have no fraction (no usable whole-body scan or counts)",
                 n_missing, len(fraction))
    return pd.DataFrame({"patient_id": pid, "time_h": time_h, "region": region,
                         "fraction": fraction, "gm_counts_per_s": gm}, index=scans.index)
