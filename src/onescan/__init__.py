"""onescan: one-scan prediction of I-131 apamistamab therapeutic activity."""

from __future__ import annotations

__version__ = "0.1.0"

from ._errors import InputError, Problem  # noqa: E402

__all__ = ["InputError", "Problem", "__version__", "train", "OnescanModel", "load_model", "save_model",
           "Cohort", "load_cohort", "validate_cohort", "read_table", "write_table",
           "simulate_cohort", "SimulatedCohort", "default_cohort"]

# Public names imported on first use, so `import onescan` (and the CLI) stays light.
_LAZY = {"train": "._model", "OnescanModel": "._model", "load_model": "._model", "save_model": "._model",
         "Cohort": "._contract", "load_cohort": "._contract", "validate_cohort": "._contract",
         "read_table": "._io", "write_table": "._io",
         "simulate_cohort": "._simulate", "SimulatedCohort": "._simulate", "default_cohort": "._simulate"}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
