"""The safe one-scan prescription of a clinic model (SPEC §4 "Prediction for a clinic").

A patient is **overdosed** when the activity given exceeds :data:`OVERDOSE_FACTOR` × the
ideal activity (the activity that gives the dose-limiting organ the target dose; dose is
proportional to activity, so this is "more than 1.1 × the target dose", SPEC §4).

The safe activity at a maximum overdose risk R is

    safe = min(OVERDOSE_FACTOR × L, max_activity),

where L is the one-sided conformal lower bound of the model's target activity at level
1 − R (:meth:`onescan.models._log_conformal.LogCrossConformal.lower_bound`: the
k-th smallest candidate with k = ⌊R(n + 1)⌋ of the n training patients' log-ratio
scores). Since safe > 1.1 × ideal implies ideal < L, P(overdose) ≤ P(ideal < L) ≤
k/(n + 1) ≤ R whenever the new patient's score is exchangeable with the training
patients' scores (the patients are exchangeable and the score function did not see
them; the cross-validated scores make this approximate — see the module docstring of
:mod:`onescan.models._log_conformal`). The label is the reference activity the model
is trained on (capped): a capped label is below the uncapped one, so the bound holds
for the uncapped reference too; against the *true* kinetics it also absorbs the
reference dosimetry's own error, measured by ``scripts/safe_prescription.py``.
"""

from __future__ import annotations

import math

import numpy as np

from onescan.contract._errors import InputError, Problem
from onescan.contract._units import MBQ_PER_MCI

__all__ = ["OVERDOSE_FACTOR", "SAFE_COLUMNS", "check_risk", "safe_columns", "safe_card"]

#: Overdose criterion of SPEC §4: the given activity exceeds this multiple of the ideal activity
#: (equivalently, the liver receives more than this multiple of the target dose).
OVERDOSE_FACTOR = 1.1

#: Columns :meth:`OnescanModel.predict` adds (before ``warnings``) when a maximum overdose risk is given.
SAFE_COLUMNS: tuple[str, ...] = ("max_overdose_risk", "safe_activity_mci", "safe_activity_gbq",
                                 "safe_fraction_of_predicted")

_OPTION = "--max-overdose-risk"


def check_risk(risk, n_train: int) -> float:
    """The maximum overdose risk R as a float, or an :class:`InputError` naming the option.

    Parameters
    ----------
    risk : float
        R, strictly between 0 and 1.
    n_train : int
        Training patients n: below 1/(n + 1) no conformal bound exists.

    Returns
    -------
    float
    """
    try:
        r = float(risk)
    except (TypeError, ValueError):
        raise InputError(Problem(_OPTION, f"must be a number between 0 and 1, got {risk!r}")) from None
    if not (math.isfinite(r) and 0.0 < r < 1.0):
        raise InputError(Problem(_OPTION, f"must be strictly between 0 and 1, got {r:g}"))
    if r < 1.0 / (n_train + 1):
        raise InputError(Problem(_OPTION, f"{r:g} is below 1/(n + 1) = {1.0 / (n_train + 1):.4f}: a model "
                                          f"trained on {n_train} patients cannot guarantee it"))
    return r


def safe_columns(conformal, X, risk: float, capped: np.ndarray, max_activity_mci: float) -> dict[str, np.ndarray]:
    """The :data:`SAFE_COLUMNS` for the rows of ``X``.

    Parameters
    ----------
    conformal : onescan.models._log_conformal.LogCrossConformal
        The model's fitted conformal wrapper.
    X : pandas.DataFrame
        Feature table of the new patients.
    risk : float
        Maximum overdose risk R (checked by :func:`check_risk`).
    capped : numpy.ndarray
        Capped point prediction (mCi): the denominator of ``safe_fraction_of_predicted``.
    max_activity_mci : float
        Activity cap (mCi).

    Returns
    -------
    dict
        ``max_overdose_risk``; ``safe_activity_mci`` = min(1.1 × L, cap) (mCi);
        ``safe_activity_gbq`` (GBq); ``safe_fraction_of_predicted`` = safe / capped point
        prediction (what the safety costs against the activity the model would give).

    Raises
    ------
    InputError
        A model file without log-ratio scores (trained before they existed).
    """
    lower_bound = getattr(conformal, "lower_bound", None)
    if lower_bound is None or not hasattr(conformal, "log_scores_"):
        raise InputError(Problem(_OPTION, "this model file has no log-ratio conformity scores: retrain it with "
                                          "this version of onescan to get a safe activity"))
    low = lower_bound(X, risk)
    safe = np.minimum(OVERDOSE_FACTOR * low, max_activity_mci)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(capped > 0, safe / capped, np.nan)
    return {"max_overdose_risk": np.full(len(safe), risk), "safe_activity_mci": safe,
            "safe_activity_gbq": safe * MBQ_PER_MCI / 1000.0, "safe_fraction_of_predicted": frac}


def safe_card(conformal) -> dict | None:
    """The card entry describing the safe prescription (None for a model without log scores)."""
    scores = getattr(conformal, "log_scores_", None)
    if scores is None:
        return None
    n = len(scores)
    method = "log-plus" if conformal.method in ("plus", "log-plus") else "log"
    return {
        "overdose_factor": OVERDOSE_FACTOR,
        "rule": f"safe = min({OVERDOSE_FACTOR:g} × L, max_activity_mci); L = one-sided conformal lower bound "
                f"('{method}'): the k-th smallest candidate ŷ⁺·exp(s_i), k = floor(R·(n+1)), n = {n}",
        "guarantee": "P(activity > 1.1 × ideal) ≤ k/(n+1) ≤ R if the new patient's log-ratio score is "
                     "exchangeable with the training patients' (approximate for cross-validated scores; "
                     "measured by scripts/safe_prescription.py)",
        "min_risk": 1.0 / (n + 1),
        "log_score_quantiles": {f"{q:g}": float(np.quantile(scores, q)) for q in (0.025, 0.05, 0.1, 0.5, 0.9)},
    }
