"""onescan: one-scan prediction of I-131 apamistamab therapeutic activity."""

from __future__ import annotations

__version__ = "0.1.0"

from ._errors import InputError, Problem  # noqa: E402

__all__ = ["InputError", "Problem", "__version__"]
