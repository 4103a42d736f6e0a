"""The allow-list of types an onescan model file may hold, written in code (never read from a file).

It is the union of the clinic model's wrapper types and the ``trusted_types`` of every
final model of the registry :data:`onescan.models._registry.MODELS`, so a model kind added
to the registry is saved and loaded once its entry lists its types.
"""

from __future__ import annotations

from onescan.models._registry import MODELS

__all__ = ["BASE_TYPES", "TRUSTED_TYPES", "trusted_types"]

#: Types of every onescan model file, whatever its final model: the clinic model's own wrapper
#: (the model and its conformal intervals). The fitted pipeline's types come from the registry.
BASE_TYPES: tuple[str, ...] = (
    "onescan.studies._clinic.OnescanModel",
    "onescan.models._conformal.CrossConformalPlus",
    "onescan.models._log_conformal.LogCrossConformal",
)


def trusted_types() -> tuple[str, ...]:
    """:data:`BASE_TYPES` followed by each registry model's ``trusted_types`` (no repeats, in order)."""
    out = dict.fromkeys(BASE_TYPES)
    for kind in MODELS.values():
        out.update(dict.fromkeys(kind.trusted_types))
    return tuple(out)


#: Every type an onescan model file may hold, by fully qualified name: :func:`save_model`
#: refuses to write, and :func:`load_model` to read, a file holding any other type.
TRUSTED_TYPES: tuple[str, ...] = trusted_types()
