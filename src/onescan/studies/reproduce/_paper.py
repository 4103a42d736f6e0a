"""The seed study's published table, read from ``data/seed_study.json``, and its robust features."""

from __future__ import annotations

import functools
import json
import re
from importlib import resources

import pandas as pd

__all__ = ["PAPER", "ROBUST_FEATURE_PATTERNS", "robust_features"]


@functools.lru_cache(maxsize=1)
def _seed_study() -> dict:
    path = resources.files("onescan") / "data" / "seed_study.json"
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


#: The seed study's published results (seed/abstract.txt; SPEC §3). Activities in mCi.
PAPER: dict = _seed_study()["paper"]

#: The paper's robust features and the column-name patterns (regular expressions) that
#: identify them in a cohort following onescan's naming (SPEC §1: snake_case + unit).
ROBUST_FEATURE_PATTERNS: tuple[tuple[str, str], ...] = tuple(
    (str(label), str(pattern)) for label, pattern in _seed_study()["robust_feature_patterns"])


def robust_features(columns, freq: pd.Series | None, split_selected: list[str],
                    freq_hybrid: pd.Series | None = None, split_selected_hybrid: list[str] | None = None
                    ) -> list[dict]:
    """For each of the paper's robust features, the matching columns and how often onescan selected them.

    ``selected_pct``/``in_split_model`` are the LASSO pipeline's (percent of CV fits, and
    whether the published split's model has it); with the hybrid model,
    ``hybrid_selected_pct``/``hybrid_in_split_model`` are its clearance pipeline's.
    """
    def pct(f, c):
        return float(100.0 * (f.get(c, 0.0) if f is not None else float("nan")))

    out = []
    for label, pattern in ROBUST_FEATURE_PATTERNS:
        rx = re.compile(pattern)
        cols = [c for c in columns if rx.search(str(c))]
        entries = []
        for c in cols:
            e = {"feature": c, "selected_pct": pct(freq, c), "in_split_model": c in split_selected}
            if split_selected_hybrid is not None:
                e["hybrid_selected_pct"] = pct(freq_hybrid, c)
                e["hybrid_in_split_model"] = c in split_selected_hybrid
            entries.append(e)
        out.append({"paper": label, "columns": entries})
    return out
