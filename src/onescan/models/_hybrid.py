"""A physics-informed (hybrid) model of the prescribed activity.

The published model regresses the prescribed activity (mCi) directly on the
features. The hybrid model instead learns what the first image cannot measure —
the patient's liver *clearance* — and leaves the rest to MIRD dosimetry:

1. In ``fit``, each training patient's prescribed activity ``A`` (mCi) is turned
   into the time-integrated activity coefficient (TIAC, h) it implies, by inverting
   :func:`onescan.dosimetry._dose.activity_for_target_mci` with the patient's
   ``liver_mass_g``. Because the absorbed dose is proportional to the TIAC, the
   inverse is exact: ``TIAC = activity_for_target_mci(1 h, m) / A``.
2. The clearance target is either ``log(TIAC / f1)`` (``target="log_tiac_per_uptake"``,
   h; for a mono-exponential liver curve this is ``λ_eff·t1 − ln λ_eff``, i.e. the
   log of the effective mean life seen from the first image) or the log effective
   half-life ``ln T_eff`` (``target="log_effective_half_life"``, h) that reproduces the
   TIAC from the first-image uptake ``f1`` at ``first_scan_time_h``:
   ``TIAC = f1·exp(λ t1)/λ``, ``λ = ln 2 / T_eff``.
3. That target is learnt from the features with the same scikit-learn pipeline as
   the published model (:func:`onescan.models._pipeline.make_pipeline`: missing-share
   filter → median imputation → ``RobustScaler`` → sequential selection → Lasso).
4. ``predict`` rebuilds the TIAC from the *measured* first-image uptake
   (``uptake_first_liver``) and the predicted clearance, and returns the activity
   that gives the target liver dose with :func:`activity_for_target_mci` and the
   patient's ``liver_mass_g``.

Regularisation scale
    The Lasso penalty is not scale-free: the published ``alpha = 0.3`` applies to a
    target in mCi (SD ≈ 300 mCi). The clearance target is a logarithm (SD ≈ 0.3), so
    by default (``alpha=None``) the hybrid uses the same penalty *relative to the
    spread of its target*: ``alpha_ = activity_alpha × sd(z) / sd(y)``. Give ``alpha``
    to set it explicitly.

Capped targets (censoring)
    In the trial the prescribed activity was capped at the maximum manufactured
    activity (1030 mCi). For a capped patient the true activity is *at least* the
    cap, so the implied clearance target is only an upper bound (the true TIAC is
    at most the TIAC implied by the cap). ``censoring`` says what to do:

    * ``"impute"`` (default): a Buckley–James-type iteration with normal residuals.
      Fit on all rows; for each capped row replace the target by its conditional
      mean given the bound, ``E[z | z ≤ b] = μ − σ φ(a)/Φ(a)``, ``a = (b − μ)/σ``,
      where ``μ`` is the current prediction and ``σ`` the residual SD of the
      uncapped training rows; refit; repeat ``censor_iterations`` times.
    * ``"keep"``: treat the bound as the value (biases the clearance of capped
      patients upwards, i.e. their activity downwards — the safe direction).
    * ``"drop"``: train on uncapped rows only.

Extrapolation
    With ``clip_target=True`` (default) predicted targets are limited to the range of
    the training targets widened by half its width on each side, so an outlying
    feature value cannot produce a TIAC (and activity) far outside anything seen in
    training, while patients beyond the cap (whose targets lie below the uncapped
    training range) can still be predicted.

Physical bound
    A liver cannot clear slower than I-131 decays, so predictions are limited to
    ``λ_eff ≥ λ_phys`` (with ``first_scan_time_h`` when it is a column, else t1 = 0).
"""

from __future__ import annotations

import logging
import math
from numbers import Integral

import numpy as np
import pandas as pd
from scipy.special import log_ndtr
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.validation import check_is_fitted

from onescan.contract._organs import limiting_organ
from onescan.models._clearance import implied_tiac_h, tiac_ratio_to_lambda
from onescan.models._flat_params import CLEARANCE_PIPELINE_PARAMS, DOSE_PARAMS, dose_settings_for, hybrid_params

__all__ = [
    "HybridDosimetryRegressor",
    "make_model",
    "hybrid_selected_features",
    "implied_tiac_h",
    "tiac_ratio_to_lambda",
    "HYBRID_TARGETS",
    "CENSORING_POLICIES",
]

logger = logging.getLogger(__name__)

HYBRID_TARGETS = ("log_tiac_per_uptake", "log_effective_half_life")
CENSORING_POLICIES = ("impute", "keep", "drop")

#: The dose-limiting organ (organ registry): its uptake and mass columns are the defaults.
_ORGAN = limiting_organ()
_UPTAKE_WORDS = f"first-image {_ORGAN.label} uptake"
_MASS_WORDS = f"{_ORGAN.label} mass"


def _column(X, col, name):
    """One column of X by name (DataFrame) or position (array), as float array."""
    if isinstance(X, pd.DataFrame):
        if isinstance(col, Integral) and not isinstance(col, bool):
            return X.iloc[:, int(col)].to_numpy(dtype=float)
        if col not in X.columns:
            raise ValueError(
                f"HybridDosimetryRegressor needs the {name} column {col!r} in X "
                f"(the hybrid model computes the activity with MIRD dosimetry from it)."
            )
        return X[col].to_numpy(dtype=float)
    arr = np.asarray(X)
    if not (isinstance(col, Integral) and not isinstance(col, bool)):
        raise ValueError(
            f"X has no column names: give {name} as an integer position, or pass a DataFrame "
            f"with a {col!r} column."
        )
    if arr.ndim != 2 or not 0 <= int(col) < arr.shape[1]:
        raise ValueError(f"{name} position {col} is outside X's {arr.shape[-1]} columns.")
    return arr[:, int(col)].astype(float)


class HybridDosimetryRegressor(RegressorMixin, BaseEstimator):
    """Learn the liver clearance, compute the activity with MIRD dosimetry.

    See the module docstring for the method. ``predict`` returns the activity (mCi,
    uncapped) that delivers ``target_gy`` to the liver. Every parameter is a number or a
    string (scikit-learn convention: checked in :meth:`fit`, reachable by ``get_params``
    and ``clone``); :func:`onescan.models.build_model` sets them from the CLI's and the
    studies' settings objects (``PipelineSettings``, ``DoseSettings``).

    Parameters
    ----------
    target : {"log_tiac_per_uptake", "log_effective_half_life"}
        What the pipeline learns: ln(TIAC/f1) (h) or ln T_eff (h).
    alpha : float or None
        Lasso penalty for the clearance target (also used inside the selector).
        None: ``activity_alpha`` rescaled by sd(target)/sd(activity).
    activity_alpha : float
        The Lasso penalty on the activity scale (mCi) that ``alpha=None`` rescales
        (the published 0.3; ``PipelineSettings.alpha``).
    max_missing, imputer, scaler, selector, k_features, forward, floating, selector_cv, scoring
        Steps of the clearance pipeline, as the fields of
        :class:`onescan.models._pipeline.PipelineSettings` of the same names (its final
        model is always the Lasso).
    target_gy : float
        Target liver absorbed dose, Gy (> 0).
    max_activity_mci : float
        Maximum manufactured activity, mCi (> 0): training activities at this cap are
        censored targets, and the cap of ``cap_predictions``.
    mass_scaling : {"split", "linear", "none"}
        S-value scaling to the patient's liver mass.
    s_values : str or None
        S-value file (None: the shipped ICRP values).
    nuclide : str
        Nuclide of the S-values and of the physical decay (radioactivedecay name).
    censoring : {"impute", "keep", "drop"}
        Treatment of training targets at the activity cap (see module docstring).
    censor_iterations : int
        Refits of the ``"impute"`` iteration (≥ 1).
    uptake_column, mass_column, time_column : str or int
        Columns of X holding the first-image liver uptake (fraction of the
        administered activity), the liver mass (g) and the first scan time (h);
        integer positions for arrays. ``time_column`` may be absent for the
        ``log_tiac_per_uptake`` target (then t1 = 0 in the physical bound). The
        default names come from the organ registry (the dose-limiting organ).
    clip_target : bool
        Limit predicted clearance targets to the training range widened by half its
        width on each side (no wild extrapolation of ln(TIAC/f1)).
    cap_predictions : bool
        Predict ``min(activity, max_activity_mci)`` (the prescription the trial gives).

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
        The fitted clearance pipeline.
    alpha_ : float
        Lasso penalty actually used.
    n_censored_ : int
        Training rows at or above the activity cap.
    residual_sd_ : float
        SD of the clearance-target residuals on uncapped training rows.
    target_range_ : tuple of float
        Allowed range of predicted targets, ln h: (min, max) of the training targets
        (after censoring treatment) widened by half the range on each side.
    lambda_phys_per_h_ : float
        Physical decay constant of the nuclide, 1/h (from radioactivedecay).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X was a DataFrame with string column names.
    """

    def __init__(
        self,
        target="log_tiac_per_uptake",
        alpha=None,
        activity_alpha=0.3,
        max_missing=0.2,
        imputer="median",
        scaler="robust",
        selector="fast",
        k_features=8,
        forward=True,
        floating=False,
        selector_cv=5,
        scoring="r2",
        target_gy=24.0,
        max_activity_mci=1030.0,
        mass_scaling="split",
        s_values=None,
        nuclide="I-131",
        censoring="impute",
        censor_iterations=2,
        uptake_column=_ORGAN.uptake_first_column,
        mass_column=_ORGAN.mass_column,
        time_column="first_scan_time_h",
        clip_target=True,
        cap_predictions=False,
    ):
        self.target = target
        self.alpha = alpha
        self.activity_alpha = activity_alpha
        self.max_missing = max_missing
        self.imputer = imputer
        self.scaler = scaler
        self.selector = selector
        self.k_features = k_features
        self.forward = forward
        self.floating = floating
        self.selector_cv = selector_cv
        self.scoring = scoring
        self.target_gy = target_gy
        self.max_activity_mci = max_activity_mci
        self.mass_scaling = mass_scaling
        self.s_values = s_values
        self.nuclide = nuclide
        self.censoring = censoring
        self.censor_iterations = censor_iterations
        self.uptake_column = uptake_column
        self.mass_column = mass_column
        self.time_column = time_column
        self.clip_target = clip_target
        self.cap_predictions = cap_predictions

    # -- helpers -----------------------------------------------------------------
    def _dose(self):
        """The :class:`~onescan.dosimetry._dose.DoseSettings` of the dosimetry parameters."""
        return dose_settings_for(**{name: getattr(self, name) for name in DOSE_PARAMS})

    def _inner_settings(self):
        """The clearance pipeline's settings (Lasso; ``alpha`` = ``activity_alpha``), validated."""
        from onescan.models._pipeline import PipelineSettings

        return PipelineSettings(**{name: getattr(self, name) for name in CLEARANCE_PIPELINE_PARAMS},
                                alpha=self.activity_alpha, model="lasso")

    def _check_params(self):
        """Check the parameters (ValueError); return the pipeline and dosimetry settings."""
        if self.target not in HYBRID_TARGETS:
            raise ValueError(f"target must be one of {HYBRID_TARGETS}, got {self.target!r}")
        if self.censoring not in CENSORING_POLICIES:
            raise ValueError(f"censoring must be one of {CENSORING_POLICIES}, got {self.censoring!r}")
        if not isinstance(self.censor_iterations, Integral) or self.censor_iterations < 1:
            raise ValueError("censor_iterations must be an integer ≥ 1")
        if self.alpha is not None and not (np.isfinite(self.alpha) and self.alpha >= 0):
            raise ValueError("alpha must be a finite number ≥ 0 or None")
        return self._inner_settings(), self._dose()

    def _time(self, X, required):
        try:
            return _column(X, self.time_column, "first-scan time")
        except ValueError:
            if required:
                raise
            return None

    def _to_target(self, tiac, f1, t1):
        ratio = tiac / f1
        if self.target == "log_tiac_per_uptake":
            return np.log(ratio)
        lam = tiac_ratio_to_lambda(ratio, t1)
        return np.log(math.log(2.0) / lam)

    def _from_target(self, z, f1, t1):
        if self.target == "log_tiac_per_uptake":
            ratio = np.exp(z)
            if t1 is not None:
                upper = np.exp(self.lambda_phys_per_h_ * t1) / self.lambda_phys_per_h_
            else:
                upper = 1.0 / self.lambda_phys_per_h_
            return f1 * np.minimum(ratio, upper)
        lam = np.maximum(math.log(2.0) / np.exp(z), self.lambda_phys_per_h_)
        return f1 * np.exp(lam * t1) / lam

    def _fit_data(self, X, y):
        """Checked X and y (mCi) and the dosimetry columns f1, mass (g), t1 (h, or None)."""
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        X = _validated(X, self, ensure_min_samples=2)
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=np.float64, input_name="y"), warn=True)
        check_consistent_length(X, y)
        if not np.all(np.isfinite(y)) or np.any(y <= 0):
            raise ValueError("HybridDosimetryRegressor needs finite prescribed activities > 0 (mCi) as y.")
        f1 = _column(X, self.uptake_column, _UPTAKE_WORDS)
        m = _column(X, self.mass_column, _MASS_WORDS)
        t1 = self._time(X, required=self.target == "log_effective_half_life")
        bad = ~np.isfinite(f1) | (f1 <= 0) | ~np.isfinite(m) | (m <= 0)
        if t1 is not None:
            bad |= ~np.isfinite(t1) | (t1 < 0)
        if np.any(bad):
            raise ValueError(
                f"{int(bad.sum())} training rows lack a positive {_UPTAKE_WORDS}, {_MASS_WORDS} "
                f"or first-scan time; the hybrid model cannot use them."
            )
        return X, y, f1, m, t1

    def _set_feature_names(self, X):
        self.n_features_in_ = X.shape[1]
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _alpha_for(self, y, z, settings):
        """The Lasso penalty of the clearance target (``alpha``, or the rescaled activity alpha)."""
        if self.alpha is not None:
            return float(self.alpha)
        sd_y = float(np.std(y))
        sd_z = float(np.std(z))
        scale = sd_z / sd_y if sd_y > 0 and sd_z > 0 else 1.0
        return float(settings.alpha) * scale

    # -- scikit-learn API ----------------------------------------------------------
    def fit(self, X, y):
        """Fit the clearance model.

        Parameters
        ----------
        X : pandas.DataFrame or array of shape (n_patients, n_features)
            Features, including the uptake and liver-mass (and, for the half-life
            target, first-scan time) columns.
        y : array_like of shape (n_patients,)
            Prescribed activity, mCi (> 0; values at the cap are censored).

        Returns
        -------
        self
        """
        from onescan.dosimetry._physics import lambda_phys_per_h
        from onescan.models._pipeline import make_pipeline

        settings, dose = self._check_params()
        X, y, f1, m, t1 = self._fit_data(X, y)
        self._set_feature_names(X)
        self.lambda_phys_per_h_ = float(lambda_phys_per_h(dose.nuclide))
        tiac = implied_tiac_h(y, m, dose)
        z = self._to_target(tiac, f1, t1)
        censored = y >= float(dose.max_activity_mci) * (1.0 - 1e-9)
        self.n_censored_ = int(censored.sum())
        self.alpha_ = self._alpha_for(y, z, settings)
        inner = make_pipeline(settings.model_copy(update={"alpha": self.alpha_}))

        rows = np.ones(len(y), dtype=bool)
        if self.censoring == "drop" and self.n_censored_:
            rows = ~censored
            if rows.sum() < 2:
                raise ValueError("censoring='drop' leaves fewer than 2 uncapped training rows.")
        z_fit = z[rows].copy()
        pipe = clone(inner).fit(_take(X, rows), z_fit)
        if (~censored).sum() > 1:
            self.residual_sd_ = float(np.std(z[~censored] - pipe.predict(_take(X, ~censored))))
        else:
            self.residual_sd_ = float("nan")
        if self.censoring == "impute" and 0 < self.n_censored_ < len(y) - 1:
            z_fit = self._impute_censored(pipe, X, z, censored)
        lo, hi = float(np.min(z_fit)), float(np.max(z_fit))
        margin = 0.5 * (hi - lo)
        self.target_range_ = (lo - margin, hi + margin)
        self.pipeline_ = pipe
        logger.debug("hybrid fit: %d rows, %d censored, alpha_=%.4g", len(y), self.n_censored_, self.alpha_)
        return self

    def _impute_censored(self, pipe, X, z, censored):
        """Buckley–James iteration on the capped rows; refits ``pipe``'s final model in place.

        The features are selected on the first pass; the iterations refit only the final
        model on those features (filter, imputer and scaler do not depend on y). Returns
        the last targets fitted (ln h), the capped ones replaced by their conditional means.
        """
        bound = z[censored]
        Xt = pipe[:-1].transform(X)
        Xt_c = _take(Xt, censored)
        Xt_u = _take(Xt, ~censored)
        final = pipe.steps[-1][1]
        for _ in range(self.censor_iterations):
            sigma = self.residual_sd_
            mu = final.predict(Xt_c)
            if not np.isfinite(sigma) or sigma <= 0:
                z_c = np.minimum(mu, bound)
            else:
                a = (bound - mu) / sigma
                # E[z | z ≤ b] for z ~ N(mu, sigma²); φ/Φ via logs for stability
                mills = np.exp(norm.logpdf(a) - log_ndtr(a))
                z_c = mu - sigma * mills
            z_fit = z.copy()
            z_fit[censored] = z_c
            final = clone(final).fit(Xt, z_fit)
            self.residual_sd_ = float(np.std(z[~censored] - final.predict(Xt_u)))
        pipe.steps[-1] = (pipe.steps[-1][0], final)
        return z_fit

    def _check_X(self, X):
        check_is_fitted(self, "pipeline_")
        X = _validated(X, self, ensure_min_samples=1)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but HybridDosimetryRegressor is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X

    def predict_target(self, X):
        """Predicted clearance target (ln h), before the dosimetry.

        Limited to ``target_range_`` when ``clip_target`` is True.
        """
        X = self._check_X(X)
        z = np.asarray(self.pipeline_.predict(X), dtype=float)
        if self.clip_target:
            z = np.clip(z, *self.target_range_)
        return z

    def predict_tiac(self, X):
        """Predicted liver TIAC, h, from the measured first-image uptake."""
        z = self.predict_target(X)
        X = self._check_X(X)
        f1 = _column(X, self.uptake_column, _UPTAKE_WORDS)
        t1 = self._time(X, required=self.target == "log_effective_half_life")
        return self._from_target(z, f1, t1)

    def predict(self, X):
        """Predicted activity, mCi, for the target liver dose.

        Uncapped by default (the activity the dosimetry implies); with
        ``cap_predictions=True`` it is the prescription the trial would give,
        ``min(activity, max_activity_mci)``, which is the quantity a model
        trained on capped prescriptions is compared with.

        Parameters
        ----------
        X : pandas.DataFrame or array of shape (n_patients, n_features)

        Returns
        -------
        numpy.ndarray
            Activity, mCi. NaN where the uptake or liver mass is missing.
        """
        from onescan.dosimetry._dose import activity_for_target_mci

        X = self._check_X(X)
        tiac = self.predict_tiac(X)
        m = _column(X, self.mass_column, _MASS_WORDS)
        ds = self._dose()
        with np.errstate(invalid="ignore", divide="ignore"):
            activity = np.asarray(activity_for_target_mci(tiac, m, ds), dtype=float)
        if self.cap_predictions:
            activity = np.minimum(activity, ds.max_activity_mci)
        return activity

    def selected_features(self) -> list[str]:
        """Names of the features the fitted clearance model uses."""
        from onescan.models._pipeline import selected_features

        check_is_fitted(self, "pipeline_")
        return selected_features(self.pipeline_)

    def coefficients(self) -> pd.Series:
        """Coefficients of the clearance model, in ln h per unit of the scaled feature.

        Returns
        -------
        pandas.Series
            Selected features and ``(intercept)`` (ln h).
        """
        from onescan.models._pipeline import coefficients

        check_is_fitted(self, "pipeline_")
        return coefficients(self.pipeline_).rename("coefficient_ln_h")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.positive_only = True
        return tags


def _validated(X, estimator, ensure_min_samples):
    """Check X like scikit-learn does (2-D, numeric, not sparse, not complex, NaN allowed).

    DataFrames are returned unchanged (their column names reach the pipeline); other
    input is returned as the checked float array.
    """
    arr = check_array(X, accept_sparse=False, dtype="numeric", ensure_all_finite="allow-nan",
                      ensure_min_samples=ensure_min_samples, estimator=estimator)
    if isinstance(X, pd.DataFrame):
        return X
    return np.asarray(arr, dtype=float)


def _take(X, mask):
    return X.iloc[mask] if isinstance(X, pd.DataFrame) else X[mask]


def hybrid_selected_features(model) -> list[str]:
    """Selected features of a fitted :class:`HybridDosimetryRegressor` (for ``repeated_cv``'s ``selected``)."""
    return model.selected_features()


def make_model(pipeline_settings=None, dose_settings=None, **kwargs):
    """The hybrid model with the given pipeline and dosimetry settings.

    The settings are translated into the model's flat parameters by
    :func:`onescan.models._registry.hybrid_params`.

    Parameters
    ----------
    pipeline_settings : onescan.models._pipeline.PipelineSettings, optional
        Settings of the clearance pipeline (``model`` is ignored; ``alpha`` becomes
        ``activity_alpha``).
    dose_settings : onescan.dosimetry._dose.DoseSettings, optional
    **kwargs
        Further :class:`HybridDosimetryRegressor` parameters (they win over the settings).

    Returns
    -------
    HybridDosimetryRegressor
    """
    return HybridDosimetryRegressor(**{**hybrid_params(pipeline_settings, dose_settings), **kwargs})
