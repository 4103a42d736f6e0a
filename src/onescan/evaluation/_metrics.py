"""The seed study's metrics of predicted against prescribed activities (mCi), and their summary over repeats."""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_CAP_MCI", "WITHIN_FRACTION", "METRIC_NAMES", "regression_metrics", "calibration",
           "bland_altman", "summarise"]

#: SIERRA's maximum manufactured activity (mCi), the clinical clip of predictions.
DEFAULT_CAP_MCI = 1030.0
#: An error below this share of the prescribed activity counts as "within 30 %".
WITHIN_FRACTION = 0.30

METRIC_NAMES = ("r2", "rmse_mci", "mae_mci", "within30_pct", "bias_mci")


def _basic(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    err = p - y
    ss_res = float(np.sum(err**2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        "rmse_mci": float(np.sqrt(np.mean(err**2))),
        "mae_mci": float(np.mean(np.abs(err))),
        "within30_pct": float(100.0 * np.mean(np.abs(err) < WITHIN_FRACTION * np.abs(y))),
        "bias_mci": float(np.mean(err)),
    }


def regression_metrics(y, yhat, cap_mci: float = DEFAULT_CAP_MCI) -> dict[str, float]:
    """The seed study's metrics, raw and clinical (clipped).

    Parameters
    ----------
    y : array-like
        Prescribed (reference) activity, mCi.
    yhat : array-like
        Predicted activity, mCi. Pairs where either is not finite are left out
        (``n`` says how many were used).
    cap_mci : float, default 1030
        Upper clip of the "clinical" predictions (mCi); the lower clip is 0.

    Returns
    -------
    dict
        ``n``; ``r2`` (1 − SS_res/SS_tot); ``rmse_mci``; ``mae_mci``; ``within30_pct``
        (percent of patients with |ŷ − y| < 0.3·y); ``bias_mci`` (mean ŷ − y); and the same
        five with the suffix ``_clinical`` computed on ``clip(ŷ, 0, cap_mci)``;
        ``mean_actual_mci``.
    """
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(yhat, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y and yhat differ in length ({y.size} vs {p.size})")
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    out: dict[str, float] = {"n": int(ok.sum())}
    if y.size == 0:
        nan = float("nan")
        for k in METRIC_NAMES:
            out[k] = nan
            out[k + "_clinical"] = nan
        out["mean_actual_mci"] = nan
        return out
    out.update(_basic(y, p))
    out.update({k + "_clinical": v for k, v in _basic(y, np.clip(p, 0.0, cap_mci)).items()})
    out["mean_actual_mci"] = float(np.mean(y))
    return out


def calibration(y, yhat) -> dict[str, float]:
    """Calibration line: ordinary least squares of observed ``y`` on predicted ``yhat``.

    A perfectly calibrated model has slope 1 and intercept 0 (mCi); slope < 1 means the
    predictions spread too much (over-fitting).
    """
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(yhat, dtype=float).ravel()
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    if y.size < 2 or np.ptp(p) == 0:
        return {"calibration_slope": float("nan"), "calibration_intercept_mci": float("nan")}
    slope, intercept = np.polyfit(p, y, 1)
    return {"calibration_slope": float(slope), "calibration_intercept_mci": float(intercept)}


def bland_altman(y, yhat) -> dict[str, float]:
    """Bland–Altman statistics of predicted − actual (mCi).

    Returns ``ba_bias_mci`` (mean difference), ``ba_sd_mci`` (sample SD of the
    differences), ``ba_loa_low_mci`` and ``ba_loa_high_mci`` (bias ∓ 1.96 SD).
    """
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(yhat, dtype=float).ravel()
    ok = np.isfinite(y) & np.isfinite(p)
    d = p[ok] - y[ok]
    if d.size < 2:
        nan = float("nan")
        return {"ba_bias_mci": nan, "ba_sd_mci": nan, "ba_loa_low_mci": nan, "ba_loa_high_mci": nan}
    bias, sd = float(d.mean()), float(d.std(ddof=1))
    return {"ba_bias_mci": bias, "ba_sd_mci": sd,
            "ba_loa_low_mci": bias - 1.96 * sd, "ba_loa_high_mci": bias + 1.96 * sd}



def summarise(values, level: float = 0.95) -> dict[str, float]:
    """Mean and central percentile interval of ``values`` (NaNs ignored)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan")}
    a = (1.0 - level) / 2.0 * 100.0
    return {"mean": float(v.mean()), "low": float(np.percentile(v, a)),
            "high": float(np.percentile(v, 100.0 - a))}
