"""Lazy public names for onescan's packages, so ``import onescan`` and the CLI stay light."""

from __future__ import annotations

from importlib import import_module
from typing import Callable, Mapping


def lazy_exports(package: str, names: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` that imports ``names[attr]`` (a module path) on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__`` (for the error message).
    names : mapping of str → str
        Public name → absolute module that defines it.
    """

    def __getattr__(name: str):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(module), name)

    return __getattr__
