"""Plain-language warnings of a clinic prediction: imputed or out-of-range features, raised or capped activities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from onescan.contract._organs import limiting_organ

__all__ = ["prediction_warnings"]

_ORGAN = limiting_organ()


def _fmt(v: float, unit: str = "") -> str:
    s = f"{v:.4g}"
    return f"{s} {unit}" if unit and unit not in ("0/1",) else s


def prediction_warnings(model, X: pd.DataFrame, y_pred: np.ndarray, raw: np.ndarray) -> list[str]:
    """Plain-language warnings per patient (";"-joined; empty when none).

    Parameters
    ----------
    model : onescan.studies._clinic.OnescanModel
        The fitted model (its used features, their training ranges and imputed values).
    X : pandas.DataFrame
        Feature table of the new patients.
    y_pred : numpy.ndarray
        Point prediction reported (mCi).
    raw : numpy.ndarray
        The model's own output (mCi), below ``y_pred`` where it was raised to the
        lowest training activity.

    Returns
    -------
    list of str
    """
    out = []
    for k in range(len(X)):
        msgs = []
        for f in model.used_features_:
            v = X[f].iloc[k]
            info = model.feature_info_.get(f, {})
            unit = info.get("unit", "")
            if not np.isfinite(v):
                fill = model.imputed_values_.get(f)
                strategy = ((model.card_ or {}).get("settings", {}).get("pipeline", {})
                            .get("imputer", "median"))
                msgs.append(f"{f} missing: imputed with the training {strategy} {_fmt(fill, unit)}"
                            if fill is not None else f"{f} missing: imputed")
                continue
            lo, hi = info.get("min"), info.get("max")
            if lo is not None and v < lo:
                msgs.append(f"{f} = {_fmt(v, unit)} below the training range "
                            f"[{_fmt(lo)}, {_fmt(hi, unit)}]")
            elif hi is not None and v > hi:
                msgs.append(f"{f} = {_fmt(v, unit)} above the training range "
                            f"[{_fmt(lo)}, {_fmt(hi, unit)}]")
        p = float(y_pred[k])
        if float(raw[k]) < p:
            msgs.append(f"model output {_fmt(float(raw[k]))} mCi below the lowest training activity: raised "
                        f"to {_fmt(p)} mCi (outside what the model learned; check the inputs)")
        if p <= 0:
            msgs.append("prediction not positive: the model cannot be used for this patient")
        elif p > model.max_activity_mci:
            msgs.append(f"prediction above the maximum activity: capped at {_fmt(model.max_activity_mci)} mCi "
                        f"(the {_ORGAN.label} would receive {_fmt(model.target_gy * model.max_activity_mci / p)} Gy)")
        out.append("; ".join(msgs))
    return out
