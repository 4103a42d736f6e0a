"""Tests of onescan._provenance: versions, plain JSON values, settings as dicts."""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from onescan._provenance import jsonable, settings_dict, versions


def test_versions_in_given_order():
    v = versions(("python", "numpy", "no-such-distribution-xyz"))
    assert list(v) == ["python", "numpy", "no-such-distribution-xyz"]
    assert v["python"] == platform.python_version()
    assert v["numpy"] == np.__version__
    assert v["no-such-distribution-xyz"] == "not installed"


def test_jsonable_plain_types():
    obj = {1: (np.int64(3), np.float32(0.5), np.bool_(True)), "a": np.array([1.0, np.nan]),
           "inf": float("inf"), "p": Path("x/y"), "s": {2}, "n": None, "o": object}
    out = jsonable(obj)
    assert out == {"1": [3, 0.5, True], "a": [1.0, None], "inf": None, "p": str(Path("x/y")), "s": [2],
                   "n": None, "o": str(object)}
    json.dumps(out, allow_nan=False)
    assert type(out["1"][0]) is int and type(out["1"][2]) is bool


def test_settings_dict_kinds():
    from onescan.dosimetry._dose import DoseSettings
    from onescan.models._pipeline import PipelineSettings

    assert settings_dict(None) == {}
    assert settings_dict(PipelineSettings(k_features="best"))["k_features"] == "best"
    d = settings_dict(DoseSettings(s_values=Path("s.csv")))
    assert d["s_values"] == "s.csv" and d["target_gy"] == 24.0

    @dataclass
    class D:
        x: float = math.nan
        t: tuple = (1, 2)

    assert settings_dict(D()) == {"x": None, "t": [1, 2]}
    assert settings_dict({"a": np.float64(2.0)}) == {"a": 2.0}
