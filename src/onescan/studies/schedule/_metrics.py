"""Error and safety metrics of the schedule study (activities in mCi)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from onescan.contract._organs import limiting_organ

__all__ = ["METRICS", "schedule_metrics"]

_ORGAN = limiting_organ()

#: Metric names, in report order, with their display labels.
METRICS: dict[str, str] = {
    "rmse_mci": "RMSE (mCi)",
    "bias_mci": "Bias (mCi)",
    "mae_mci": "MAE (mCi)",
    "within10_pct": "Within 10 % (%)",
    "within20_pct": "Within 20 % (%)",
    "within30_pct": "Within 30 % (%)",
    "overdose_pct": f"{_ORGAN.label.capitalize()} > 1.1 × target (%)",
    "underdose_pct": "Activity < 0.9 × reference (%)",
    "rmse_raw_mci": "RMSE before capping (mCi)",
}


def schedule_metrics(pred_mci, ref_mci, cap_mci: float = 1030.0, margin: float = 0.10,
                     within: Sequence[int] = (10, 20, 30)) -> dict[str, float]:
    """Error and safety metrics of predicted against reference activities.

    Parameters
    ----------
    pred_mci : array_like
        Predicted activity, mCi (uncapped; NaN = no prediction, excluded).
    ref_mci : array_like
        Reference activity from full dosimetry, mCi, **uncapped** (it gives exactly the
        target dose to the dose-limiting organ).
    cap_mci : float
        Maximum activity that can be given, mCi (1030 in SIERRA).
    margin : float
        Overdose margin: a patient is overdosed when the given activity exceeds
        (1 + margin) × the reference, i.e. the organ gets more than (1 + margin) × target.
    within : sequence of int
        Percent thresholds for the "within" shares.

    Returns
    -------
    dict
        ``n``, ``rmse_mci``, ``bias_mci``, ``mae_mci``, ``within<k>_pct``, ``overdose_pct``,
        ``underdose_pct``, ``rmse_raw_mci`` (see :mod:`onescan.studies._schedule`).
    """
    p = np.asarray(pred_mci, dtype=float)
    r = np.asarray(ref_mci, dtype=float)
    ok = np.isfinite(p) & np.isfinite(r)
    p, r = p[ok], r[ok]
    out: dict[str, float] = {"n": int(ok.sum())}
    if p.size == 0:
        for k in METRICS:
            out[k] = float("nan")
        return out
    adm = np.clip(p, 0.0, cap_mci)
    rc = np.minimum(r, cap_mci)
    err = adm - rc
    out["rmse_mci"] = float(np.sqrt(np.mean(err**2)))
    out["bias_mci"] = float(np.mean(err))
    out["mae_mci"] = float(np.mean(np.abs(err)))
    rel = np.abs(err) / rc
    for w in within:
        out[f"within{int(w)}_pct"] = float(100.0 * np.mean(rel < w / 100.0))
    out["overdose_pct"] = float(100.0 * np.mean(adm > (1.0 + margin) * r))
    out["underdose_pct"] = float(100.0 * np.mean(adm < (1.0 - margin) * rc))
    out["rmse_raw_mci"] = float(np.sqrt(np.mean((p - r) ** 2)))
    return out
