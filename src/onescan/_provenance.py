"""Provenance helpers shared by every layer: package versions, plain-JSON values, settings as dicts.

A cross-cutting utility (like :mod:`onescan._lazy`), not a layer: it imports nothing from
onescan's layers, so any module may use it.
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import asdict, is_dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

import numpy as np

__all__ = ["versions", "jsonable", "settings_dict"]


def versions(packages: Iterable[str]) -> dict[str, str]:
    """Installed versions of ``packages``, in the order given.

    Parameters
    ----------
    packages : iterable of str
        Distribution names; ``"python"`` gives the interpreter's version.

    Returns
    -------
    dict of str to str
        Version per name, ``"not installed"`` when the distribution is absent.
    """
    out: dict[str, str] = {}
    for name in packages:
        if name == "python":
            out[name] = platform.python_version()
            continue
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON types, recursively.

    Dicts get string keys; lists, tuples, sets and arrays become lists; numpy scalars
    become Python numbers; NaN and ±inf become ``None``; paths become strings; any
    other object becomes its ``str``.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def settings_dict(settings: Any) -> dict:
    """A settings object (pydantic model, dataclass, dict or plain object) as a plain JSON dict.

    Pydantic models are dumped in JSON mode (literals, paths as strings, NaN as null);
    ``None`` gives ``{}``.
    """
    if settings is None:
        return {}
    if hasattr(settings, "model_dump_json"):
        return json.loads(settings.model_dump_json())
    if is_dataclass(settings) and not isinstance(settings, type):
        return jsonable(asdict(settings))
    if isinstance(settings, dict):
        return jsonable(settings)
    return jsonable(vars(settings))
