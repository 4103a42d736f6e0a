"""Uncertainty of the TIAC, the dose per activity and the prescription (SPEC §2.6).

Relative standard uncertainties (k = 1) following the EANM practical guidance on uncertainty
analysis (Gear et al., Eur J Nucl Med Mol Imaging 2018;45:2456–2474): first-order
(law of propagation of uncertainty, GUM) propagation of

* **counting statistics** — every gross count C and background count B of each view is
  Poisson, so a row's geometric mean has u²(GM)/GM² = ¼·Σ_views (C + B)/(C − B)²
  (:func:`onescan.dosimetry._quantify.counting_u_rel`);
* **the fit** — each point's counting variance is carried through the time–activity fit to
  the TIAC by its sensitivity ∂TIAC/∂f_j (central differences of the very fit used, so every
  registered model is covered, bounds included). To first order this is the TIAC's variance
  from the fit's parameter covariance (JᵀJ)⁻¹Jᵀ Σ_f J(JᵀJ)⁻¹ with Σ_f the counting variances.
  Where the residuals are significantly larger than counting statistics explain (χ² of the
  residuals over the counting variances above its 99th percentile for n − p degrees of freedom),
  the excess residual variance s² = RSS/(n − p) − mean(σ²_f) is added to every point (model
  misfit and unexplained variability; flag ``<organ>_misfit_beyond_counting``);
* **the normalisation** — every fraction is divided by the first whole-body geometric mean,
  whose counting error is common to all points of a patient (and to every organ);
* **the organ mass** — a relative standard uncertainty u_m (``mass_uncertainty``) enters
  through the sensitivity of the mass-scaled S-value, ∂ln S/∂ln m
  (−1 ``linear``; −(S_np·r + ⅔·S_p·r^{2/3})/S ``split``, r = m_ref/m; 0 ``none``).

Not included: the S-values, the attenuation coefficient and thicknesses, and the camera
calibration (it cancels in the whole-body normalisation). Rows given as ``fraction_injected``
carry no counting uncertainty. The prescription's uncertainty is that of the limiting organ's
dose per activity (the target dose is exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TiacUncertainty", "tiac_uncertainty", "s_mass_sensitivity", "MISFIT_QUANTILE"]

#: χ² quantile above which the residuals count as exceeding counting statistics.
MISFIT_QUANTILE = 0.99

#: Relative step of the central differences of the TIAC with respect to each point.
_REL_STEP = 1e-4


@dataclass
class TiacUncertainty:
    """Variance components of one organ's TIAC per patient.

    Attributes
    ----------
    var_own : ndarray
        Variance of the TIAC (h²) from the organ's own points (counting and misfit).
    d_dln_norm : ndarray
        ∂TIAC/∂ln GM_norm, h: sensitivity to the whole-body normalisation.
    misfit : ndarray of bool
        Where the excess residual variance was added.
    """

    var_own: np.ndarray
    d_dln_norm: np.ndarray
    misfit: np.ndarray

    def u_rel(self, tiac_h, u_norm) -> np.ndarray:
        """Relative standard uncertainty of the TIAC given the normaliser's u_rel."""
        var = self.var_own + (self.d_dln_norm * u_norm) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(var) / tiac_h


def tiac_uncertainty(t, f, u_point, is_norm, method: str, lam_phys: float, fit) -> TiacUncertainty:
    """Propagate the points' counting uncertainty (and any misfit) through the TAC fit.

    Parameters
    ----------
    t, f : ndarray, shape (n_patients, n_points)
        Times (h) and fractions, NaN padded (the layout of ``tac_arrays``).
    u_point : ndarray, same shape
        Relative counting uncertainty of each point's geometric mean (NaN: none known).
    is_norm : ndarray of bool, same shape
        The point is the whole-body normalisation row itself (its fraction is exact).
    method : str
        The fit model (a key of the TAC registry).
    lam_phys : float
        Physical decay constant, 1/h.
    fit : onescan.dosimetry.tac.TacFit
        The fit of ``t``, ``f`` with ``method``.

    Returns
    -------
    TiacUncertainty
    """
    from scipy.stats import chi2

    from onescan.dosimetry.tac import fit_tacs, tac_model

    valid = np.isfinite(t) & np.isfinite(f)
    own = valid & ~is_norm
    sigma = np.where(own & np.isfinite(u_point), np.abs(f) * np.nan_to_num(u_point, nan=0.0), 0.0)
    scale = np.nanmax(np.where(valid, np.abs(f), np.nan), axis=1, initial=0.0)
    grad = np.zeros_like(np.nan_to_num(f))
    for j in range(f.shape[1]):
        col = valid[:, j]
        if not col.any():
            continue
        h = _REL_STEP * np.where(np.abs(f[:, j]) > 0, np.abs(f[:, j]), np.maximum(scale, 1e-12))
        up, dn = f.copy(), f.copy()
        up[:, j] = np.where(col, f[:, j] + h, f[:, j])
        dn[:, j] = np.where(col, f[:, j] - h, f[:, j])
        tp = fit_tacs(t, up, method, lam_phys).tiac_h
        tm = fit_tacs(t, dn, method, lam_phys).tiac_h
        grad[:, j] = np.where(col, (tp - tm) / (2 * h), 0.0)
    grad = np.nan_to_num(grad)
    var_own = ((grad * sigma) ** 2).sum(1)
    misfit = np.zeros(t.shape[0], dtype=bool)
    p = tac_model(method).n_params
    yhat = fit.predict(np.where(valid, t, 0.0))
    n = own.sum(1)
    dof = n - p
    if p > 0 and np.isfinite(yhat[valid]).any():
        r2 = np.where(own, (np.nan_to_num(f) - np.nan_to_num(yhat)) ** 2, 0.0)
        rss = r2.sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            chi = np.where(own & (sigma > 0), r2 / np.where(sigma > 0, sigma, 1.0) ** 2, 0.0).sum(1)
            crit = chi2.ppf(MISFIT_QUANTILE, np.maximum(dof, 1))
            excess = rss / np.maximum(dof, 1) - (sigma ** 2).sum(1) / np.maximum(n, 1)
        misfit = (dof >= 1) & np.isfinite(yhat).all(1, where=valid) & (chi > crit) & (excess > 0)
        var_own = var_own + np.where(misfit, (np.where(own, grad, 0.0) ** 2).sum(1) * excess, 0.0)
    d_norm = -np.where(own, np.nan_to_num(f) * grad, 0.0).sum(1)
    return TiacUncertainty(var_own, d_norm, misfit)


def s_mass_sensitivity(mass_g, scaling: str, table) -> np.ndarray:
    """∂ln S/∂ln m of the mass-scaled self-dose S-value (dimensionless, ≤ 0).

    Parameters
    ----------
    mass_g : array-like
        Organ mass, g.
    scaling : {"split", "linear", "none"}
        The mass scaling of :func:`onescan.dosimetry._physics.s_value_mgy_per_mbq_s`.
    table : SValueTable
        The reference S-values.
    """
    m = np.asarray(mass_g, dtype=float)
    if scaling == "linear":
        return np.full(m.shape, -1.0)
    if scaling == "none":
        return np.zeros(m.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = table.reference_mass_g / m
        s_np, s_p = table.s_np * r, table.s_p * np.cbrt(r) ** 2
        return -(s_np + 2.0 / 3.0 * s_p) / (s_np + s_p)
