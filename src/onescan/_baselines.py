"""Conventional single-variable predictors the seed study compares against (SPEC §3).

* :class:`LinearOnColumn` — linear regression of the prescribed activity on one
  column (body mass ``weight_kg``, liver mass ``liver_mass_g``).
* :class:`SingleTimePointDosimetry` — MIRD dosimetry from the first image alone with a
  population effective half-life (Madsen et al., Med Phys 2018): TIAC =
  f_liver(t₁)·exp(λ_pop·t₁)/λ_pop, λ_pop = ln 2 / median T_eff of the training patients'
  full (multi-image) dosimetry.

Both are scikit-learn regressors taking the design matrix as a DataFrame and reading
their columns by name.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import check_is_fitted

__all__ = ["LinearOnColumn", "SingleTimePointDosimetry", "STP_COLUMNS"]

logger = logging.getLogger(__name__)

#: Columns the single-time-point baseline reads at prediction time.
STP_COLUMNS = ("uptake_first_liver", "first_scan_time_h", "liver_mass_g")


def _column(X, name, who) -> np.ndarray:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{who} needs a pandas DataFrame with a column {name!r}")
    if name not in X.columns:
        raise ValueError(f"{who}: the design matrix has no column {name!r}")
    return pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=float)


class LinearOnColumn(RegressorMixin, BaseEstimator):
    """Ordinary least squares of the target on one named column.

    Training rows where the column is missing are ignored; at prediction a missing
    value is replaced by the training median of the column.

    Parameters
    ----------
    column : str
        Column of the design matrix (e.g. ``"weight_kg"`` in kg, ``"liver_mass_g"`` in g).

    Attributes
    ----------
    slope_ : float
        Target units (mCi) per unit of ``column``.
    intercept_ : float
        mCi.
    fill_value_ : float
        Training median of ``column``, used for missing values at prediction.
    """

    def __init__(self, column: str = "liver_mass_g"):
        self.column = column

    def fit(self, X, y):
        """Fit on the rows of ``X`` (DataFrame) with ``y`` in mCi."""
        x = _column(X, self.column, type(self).__name__)
        y = np.asarray(y, dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 2:
            raise ValueError(f"LinearOnColumn: fewer than two training rows with {self.column!r}")
        lr = LinearRegression().fit(x[ok, None], y[ok])
        self.slope_ = float(lr.coef_[0])
        self.intercept_ = float(lr.intercept_)
        self.fill_value_ = float(np.median(x[ok]))
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        """Predicted target (mCi) for the rows of ``X``."""
        check_is_fitted(self, "slope_")
        x = _column(X, self.column, type(self).__name__)
        x = np.where(np.isfinite(x), x, self.fill_value_)
        return self.intercept_ + self.slope_ * x


class SingleTimePointDosimetry(RegressorMixin, BaseEstimator):
    """Single-time-point (first image) liver dosimetry with a population half-life.

    ``fit`` reads only the column ``half_life_column`` (the effective half-life of each
    *training* patient's full dosimetry, h) and keeps its median; ``y`` is not used.
    ``predict`` reads only :data:`STP_COLUMNS`: the first-image liver uptake f (fraction
    of the administered activity), its time t₁ (h) and the liver mass (g), and returns
    the activity (mCi) delivering the target dose, *not* capped (clip it to model the
    clinical maximum).

    Parameters
    ----------
    dose_settings : onescan._dosimetry.DoseSettings, optional
        Target dose, S-values, mass scaling (default settings when None).
    half_life_column : str, default "liver_effective_half_life_h"
        Column with each training patient's effective half-life (h); needed at fit only.

    Attributes
    ----------
    half_life_pop_h_ : float
        Median effective half-life of the training patients (h).
    lambda_pop_per_h_ : float
        ln 2 / ``half_life_pop_h_`` (h⁻¹).
    """

    def __init__(self, dose_settings=None, half_life_column: str = "liver_effective_half_life_h"):
        self.dose_settings = dose_settings
        self.half_life_column = half_life_column

    def fit(self, X, y=None):
        """Learn the population half-life from the training rows of ``X``."""
        t_eff = _column(X, self.half_life_column, type(self).__name__)
        t_eff = t_eff[np.isfinite(t_eff) & (t_eff > 0)]
        if t_eff.size == 0:
            raise ValueError("SingleTimePointDosimetry: no training patient has an effective half-life")
        self.half_life_pop_h_ = float(np.median(t_eff))
        self.lambda_pop_per_h_ = float(np.log(2.0) / self.half_life_pop_h_)
        self.n_features_in_ = X.shape[1]
        return self

    def tiac_h(self, X) -> np.ndarray:
        """Single-time-point TIAC of the liver (h) for the rows of ``X``."""
        check_is_fitted(self, "lambda_pop_per_h_")
        f = _column(X, "uptake_first_liver", type(self).__name__)
        t1 = _column(X, "first_scan_time_h", type(self).__name__)
        lam = self.lambda_pop_per_h_
        return f * np.exp(lam * t1) / lam

    def predict(self, X):
        """Activity (mCi, uncapped) delivering the target liver dose; NaN when an input is missing."""
        from ._dosimetry import DoseSettings, activity_for_target_mci

        settings = self.dose_settings if self.dose_settings is not None else DoseSettings()
        tiac = self.tiac_h(X)
        mass = _column(X, "liver_mass_g", type(self).__name__)
        return np.asarray(activity_for_target_mci(tiac, mass, settings), dtype=float)
