"""The protocol every time–activity curve model follows, and what it returns.

A model works on the prepared arrays of :func:`onescan.dosimetry.tac.fit_tacs`: times
``t`` (h) and fractions ``y`` of shape (patients × points), sorted by time per patient,
zero where padded, with the boolean mask ``valid`` of the real points. It fits every
patient at once and returns a :class:`TacArrays`; ``fit_tacs`` adds the parameters the
model does not have (NaN), the flags and the half-life, and returns a ``TacFit``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Optional

import numpy as np

__all__ = ["TacModel", "TacArrays", "Curve", "exponential_curve", "exponential_arrays", "r2_rss", "BOUND_RTOL"]

#: λ within this relative distance of λ_phys counts as "at the physical bound".
BOUND_RTOL = 1e-9

#: Fitted fraction of some patients: ``curve(params, rows, t)`` with ``params`` the
#: ``TacFit.params`` arrays, ``rows`` a boolean mask of the patients and ``t`` the times (h),
#: (1 × times) shared or (patients × times). ``None``: the model has no curve (NaN).
Curve = Optional[Callable[[dict, np.ndarray, np.ndarray], np.ndarray]]


def exponential_curve(params: dict, rows: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``a·exp(−λ t)`` from the ``a`` and ``lambda_per_h`` parameters (fraction; t in h)."""
    tt = t if t.shape[0] == 1 else t[rows]
    return params["a"][rows, None] * np.exp(-params["lambda_per_h"][rows, None] * tt)


@dataclass
class TacArrays:
    """What a model's fit returns, one entry per patient.

    Attributes
    ----------
    model : ndarray of object
        Curve used per patient (a key of the model's :attr:`TacModel.curves`).
    tiac_h : ndarray
        ∫₀^∞ f(t) dt, h (non-finite or ≤ 0 where the fit failed).
    lambda_per_h : ndarray
        Effective clearance constant, 1/h.
    a : ndarray
        Fraction extrapolated to t = 0.
    r2 : ndarray
        Coefficient of determination on f (NaN where not defined).
    converged : ndarray of bool
        False where the iterative fit did not converge.
    at_bound : ndarray of bool
        True where λ sits on the physical bound λ_phys.
    params : dict of str → ndarray
        The model's parameters (names in :attr:`TacModel.param_names`).
    notes : list of list of str or None
        Extra flag codes per patient (e.g. the choice of ``auto`` and its reason).
    """

    model: np.ndarray
    tiac_h: np.ndarray
    lambda_per_h: np.ndarray
    a: np.ndarray
    r2: np.ndarray
    converged: np.ndarray
    at_bound: np.ndarray
    params: dict[str, np.ndarray] = field(default_factory=dict)
    notes: Optional[list[list[str]]] = None


class TacModel(ABC):
    """A time–activity curve model behind ``--fit``.

    Attributes
    ----------
    name : str
        Key in the registry and on the command line.
    description : str
        One line for help texts and reports.
    n_params : int
        Number of fitted parameters (the most a patient's curve uses, for a model that
        chooses between curves).
    param_names : tuple of str
        Entries of ``TacFit.params`` the model fills.
    curves : dict of str → Curve
        Curves the model may give a patient (``TacFit.model`` values) and how to evaluate them.
    aicc_params : int or None
        Number of curve parameters of a least-squares fit on f, for the AICc of ``auto``
        (the noise σ is counted on top); ``None``: not a candidate of ``auto`` (no
        least-squares curve on f, e.g. ``loglinear`` fits ln f, ``trapezoid`` has no curve).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    n_params: ClassVar[int]
    param_names: ClassVar[tuple[str, ...]] = ("a", "lambda_per_h")
    curves: ClassVar[dict[str, Curve]] = {}
    aicc_params: ClassVar[Optional[int]] = None

    @abstractmethod
    def fit(self, t: np.ndarray, y: np.ndarray, valid: np.ndarray, lam_phys: float, *,
            max_iter: int = 200) -> TacArrays:
        """Fit every patient at once.

        Parameters
        ----------
        t : ndarray, shape (n_patients, n_points)
            Times after the end of infusion, h, sorted per patient, 0 where padded.
        y : ndarray, same shape
            Fraction of the administered activity (not decay-corrected), 0 where padded.
        valid : ndarray of bool, same shape
            The real points.
        lam_phys : float
            Physical decay constant, 1/h (lower bound of λ_eff).
        max_iter : int
            Iteration limit of iterative fits.

        Returns
        -------
        TacArrays
        """

    def __repr__(self) -> str:
        return f"<TAC model {self.name!r}: {self.description}>"


def r2_rss(y, valid, yhat):
    """r² (NaN with < 2 points or no spread) and residual sum of squares, per patient."""
    n = valid.sum(1)
    ym = np.where(n > 0, (y * valid).sum(1) / np.maximum(n, 1), np.nan)
    tss = (np.where(valid, y - ym[:, None], 0.0) ** 2).sum(1)
    rss = (np.where(valid, y - yhat, 0.0) ** 2).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - rss / tss
    return np.where((n >= 2) & (tss > 0), r2, np.nan), rss


def exponential_arrays(name, t, y, valid, lam_phys, a, lam, converged) -> tuple[TacArrays, np.ndarray]:
    """The :class:`TacArrays` of a mono-exponential ``a·exp(−λ t)`` per patient, and its RSS.

    TIAC = a/λ (h); r² on f; at the bound where λ ≤ λ_phys·(1 + 1e-9).
    """
    model = np.full(t.shape[0], name, dtype=object)
    yhat = a[:, None] * np.exp(-lam[:, None] * t)
    r2, rss = r2_rss(y, valid, yhat)
    with np.errstate(divide="ignore", invalid="ignore"):
        tiac = a / lam
    at_bound = lam <= lam_phys * (1.0 + BOUND_RTOL)
    params = {"a": a.copy(), "lambda_per_h": lam.copy()}
    return TacArrays(model, tiac, lam, a, r2, converged, at_bound, params), rss
