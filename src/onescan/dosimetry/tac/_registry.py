"""The registry of time–activity curve models: the single source of the ``--fit`` choices."""

from __future__ import annotations

from onescan.dosimetry.tac._base import Curve, TacModel
from onescan.dosimetry.tac.auto import Auto
from onescan.dosimetry.tac.biexp import BiExp
from onescan.dosimetry.tac.biexp_uptake import BiExpUptake
from onescan.dosimetry.tac.loglinear import LogLinear
from onescan.dosimetry.tac.monoexp import MonoExp
from onescan.dosimetry.tac.trapezoid import Trapezoid

__all__ = ["TAC_MODELS", "FIT_METHODS", "tac_model", "curves", "param_names"]

#: Every ``--fit`` model by key (command-line order; the first is the default).
TAC_MODELS: dict[str, TacModel] = {m.name: m for m in (
    MonoExp(),
    LogLinear(),
    Trapezoid(),
    BiExpUptake(),
    BiExp(),
    Auto(),
)}
TAC_MODELS["auto"].models = list(TAC_MODELS.values())  # auto chooses among the registered models

#: The ``--fit`` choices.
FIT_METHODS: tuple[str, ...] = tuple(TAC_MODELS)


def tac_model(method: str) -> TacModel:
    """The model registered as ``method``; ``ValueError`` naming the choices otherwise."""
    if method not in TAC_MODELS:
        raise ValueError(f"fit method must be one of {', '.join(FIT_METHODS)}, not {method!r}")
    return TAC_MODELS[method]


def curves() -> dict[str, Curve]:
    """Every curve a registered model may give a patient (``TacFit.model`` value → curve)."""
    out: dict[str, Curve] = {}
    for m in TAC_MODELS.values():
        out.update(m.curves)
    return out


def param_names() -> tuple[str, ...]:
    """Union of the registered models' parameter names, in registry order."""
    return tuple(dict.fromkeys(k for m in TAC_MODELS.values() for k in m.param_names))
