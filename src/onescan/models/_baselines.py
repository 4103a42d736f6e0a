"""Conventional single-variable predictors the seed study compares against (SPEC §3).

* :class:`LinearOnColumn` — linear regression of the prescribed activity on one
  column (body mass ``weight_kg``, liver mass ``liver_mass_g``).
* :class:`SingleTimePointDosimetry` — MIRD dosimetry from the first image alone with a
  population effective half-life (Madsen et al., Med Phys 2018): TIAC =
  f_liver(t₁)·exp(λ_pop·t₁)/λ_pop, λ_pop = ln 2 / median T_eff of the training patients'
  full (multi-image) dosimetry.

Both are scikit-learn regressors that read their columns by name from a DataFrame (or
by position from an array) and pass ``parametrize_with_checks``.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import check_is_fitted, validate_data

from onescan.contract._organs import limiting_organ
from onescan.dosimetry._stp import stp_tiac_h
from onescan.models._flat_params import STP_DOSE_PARAMS, dose_settings_for

__all__ = ["LinearOnColumn", "SingleTimePointDosimetry", "STP_COLUMNS", "STP_DOSE_PARAMS"]

logger = logging.getLogger(__name__)

#: The dose-limiting organ (organ registry), whose columns the baselines read by default.
_ORGAN = limiting_organ()

#: Columns the single-time-point baseline reads at prediction time: the organ's first-image
#: uptake, the first scan time and the organ mass.
STP_COLUMNS = (_ORGAN.uptake_first_column, "first_scan_time_h", _ORGAN.mass_column)


def _resolve(est, column, what: str) -> int:
    """Position of ``column`` (a name, or an int position) among the fitted input features."""
    n = est.n_features_in_
    if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
        if not 0 <= int(column) < n:
            raise ValueError(f"{type(est).__name__}: {what} position {column} is out of range for "
                             f"n_features = {n} (got {n} feature(s))")
        return int(column)
    names = getattr(est, "feature_names_in_", None)
    if names is None:
        raise ValueError(f"{type(est).__name__}: {what} {column!r} is a name; fit on a pandas DataFrame "
                         "with that column, or give an integer position")
    hits = np.flatnonzero(np.asarray(names, dtype=object) == column)
    if hits.size == 0:
        raise ValueError(f"{type(est).__name__}: the design matrix has no column {column!r}")
    return int(hits[0])


class LinearOnColumn(RegressorMixin, BaseEstimator):
    """Ordinary least squares of the target on one column of the design matrix.

    Training rows where the column is missing are ignored; at prediction a missing
    value is replaced by the training median of the column.

    Parameters
    ----------
    column : str or int, default: the dose-limiting organ's mass column (``"liver_mass_g"``)
        Column name (DataFrame input, e.g. ``"weight_kg"`` in kg, ``"liver_mass_g"`` in g)
        or integer position.

    Attributes
    ----------
    slope_ : float
        Target units (mCi) per unit of ``column``.
    intercept_ : float
        mCi.
    fill_value_ : float
        Training median of ``column``, used for missing values at prediction.
    column_index_ : int
        Position of ``column`` among the input features.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame.
    """

    def __init__(self, column=_ORGAN.mass_column):
        self.column = column

    def fit(self, X, y):
        """Fit on the rows of ``X`` with ``y`` in mCi."""
        Xa, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64, y_numeric=True)
        self.column_index_ = _resolve(self, self.column, "column")
        x = Xa[:, self.column_index_]
        ok = np.isfinite(x)
        if not ok.any():
            raise ValueError(f"LinearOnColumn: no training row has a value of column {self.column!r}")
        lr = LinearRegression().fit(x[ok, None], y[ok])
        self.slope_ = float(lr.coef_[0])
        self.intercept_ = float(lr.intercept_)
        self.fill_value_ = float(np.median(x[ok]))
        return self

    def predict(self, X):
        """Predicted target (mCi) for the rows of ``X``."""
        check_is_fitted(self, "slope_")
        Xa = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        x = Xa[:, self.column_index_]
        x = np.where(np.isfinite(x), x, self.fill_value_)
        return self.intercept_ + self.slope_ * x

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.regressor_tags.poor_score = True
        return tags


class SingleTimePointDosimetry(RegressorMixin, BaseEstimator):
    """Single-time-point (first image) liver dosimetry with a population half-life.

    ``fit`` reads only the column ``half_life_column`` (the effective half-life of each
    *training* patient's full dosimetry, h) and keeps its median; ``y`` is not used.
    ``predict`` reads only the three ``columns``: the first-image liver uptake f (fraction
    of the administered activity), its time t₁ (h) and the liver mass (g), and returns
    the activity (mCi) delivering the target dose, *not* capped (clip it to model the
    clinical maximum); NaN where an input is missing or not physical.

    Parameters
    ----------
    half_life_column : str or int, default "liver_effective_half_life_h"
        Column with each training patient's effective half-life (h); its values are read
        at fit only (at prediction the column may hold anything, e.g. NaN). The default
        names the dose-limiting organ of the organ registry.
    columns : tuple of 3 str or int, default ``STP_COLUMNS``
        The uptake, first-scan time and liver-mass columns (names or positions).
    target_gy : float, default 24.0
        Target liver absorbed dose, Gy (> 0).
    mass_scaling : {"split", "linear", "none"}, default "split"
        S-value scaling to the patient's liver mass.
    s_values : str or None, default None
        S-value file (None: the shipped ICRP values).
    nuclide : str, default "I-131"
        Nuclide of the S-values (radioactivedecay name).

    The dosimetry parameters are those of :class:`onescan.dosimetry._dose.DoseSettings`
    (:func:`onescan.models._registry.stp_params` translates the settings object); they
    are checked in :meth:`fit`.

    Attributes
    ----------
    half_life_pop_h_ : float
        Median effective half-life of the training patients (h).
    lambda_pop_per_h_ : float
        ln 2 / ``half_life_pop_h_`` (h⁻¹).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame.
    """

    def __init__(self, half_life_column=_ORGAN.column("effective_half_life_h"), columns=STP_COLUMNS,
                 target_gy=24.0, mass_scaling="split", s_values=None, nuclide="I-131"):
        self.half_life_column = half_life_column
        self.columns = columns
        self.target_gy = target_gy
        self.mass_scaling = mass_scaling
        self.s_values = s_values
        self.nuclide = nuclide

    def _dose(self):
        """The :class:`~onescan.dosimetry._dose.DoseSettings` of the dosimetry parameters."""
        return dose_settings_for(**{name: getattr(self, name) for name in STP_DOSE_PARAMS})

    def fit(self, X, y=None):
        """Learn the population half-life from the training rows of ``X``."""
        if y is None:
            Xa = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        else:
            Xa, _ = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64, y_numeric=True)
        self._dose()  # checks the dosimetry parameters (ValueError)
        if len(tuple(self.columns)) != 3:
            raise ValueError("SingleTimePointDosimetry: columns must name the uptake, time and mass columns")
        self.columns_index_ = tuple(_resolve(self, c, "column") for c in self.columns)
        t_eff = Xa[:, _resolve(self, self.half_life_column, "half_life_column")]
        t_eff = t_eff[np.isfinite(t_eff) & (t_eff > 0)]
        if t_eff.size == 0:
            raise ValueError("SingleTimePointDosimetry: no training patient has a positive effective half-life")
        self.half_life_pop_h_ = float(np.median(t_eff))
        self.lambda_pop_per_h_ = float(np.log(2.0) / self.half_life_pop_h_)
        return self

    def _inputs(self, X):
        check_is_fitted(self, "lambda_pop_per_h_")
        Xa = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        iu, it, im = self.columns_index_
        return Xa[:, iu], Xa[:, it], Xa[:, im]

    def tiac_h(self, X) -> np.ndarray:
        """Single-time-point TIAC of the liver (h) for the rows of ``X``."""
        f, t1, _ = self._inputs(X)
        lam = self.lambda_pop_per_h_
        with np.errstate(over="ignore", invalid="ignore"):
            return stp_tiac_h(f, t1, lam)

    def predict(self, X):
        """Activity (mCi, uncapped) delivering the target liver dose."""
        from onescan.dosimetry._dose import activity_for_target_mci

        settings = self._dose()
        f, t1, mass = self._inputs(X)
        lam = self.lambda_pop_per_h_
        ok = np.isfinite(f) & np.isfinite(t1) & np.isfinite(mass) & (mass > 0) & (f > 0)
        out = np.full(f.shape, np.nan)
        if ok.any():
            tiac = stp_tiac_h(f[ok], t1[ok], lam)
            out[ok] = np.asarray(activity_for_target_mci(tiac, mass[ok], settings), dtype=float)
        return out

    def score(self, X, y, sample_weight=None):
        """r² of the predictions on the rows where a prediction exists (finite)."""
        from sklearn.metrics import r2_score

        pred = self.predict(X)
        y = np.asarray(y, dtype=float)
        ok = np.isfinite(pred)
        w = None if sample_weight is None else np.asarray(sample_weight)[ok]
        return float(r2_score(y[ok], pred[ok], sample_weight=w))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.regressor_tags.poor_score = True
        tags.target_tags.required = False
        return tags
