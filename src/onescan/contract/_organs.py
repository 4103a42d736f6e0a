"""The organ registry: every organ onescan knows, read from ``data/organs.csv``.

One row per organ: its key, the scan ``region`` that images it, a label for reports, the
density that turns a CT volume (ml) into mass (g), the ICRP reference mass, whether it is the
dose-limiting organ of the prescription, and the published source of those numbers. Column
names that belong to an organ are built here (``<organ>_mass_g``, ``<organ>_volume_ml``,
``uptake_first_<region>``, ``<organ>_tiac_h`` …), so adding an organ is one row in the data
file and no module tests an organ's name.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

__all__ = ["Organ", "organs", "organ", "limiting_organ", "WHOLE_BODY_REGION"]

#: The scan region that holds the whole administered activity at the first scan (normalisation).
WHOLE_BODY_REGION = "whole_body"


@dataclass(frozen=True)
class Organ:
    """One organ of the registry.

    Attributes
    ----------
    key : str
        Name used in column names (``<key>_mass_g``) and on the command line.
    region : str
        The ``scans`` region that images it.
    label : str
        Words for reports.
    density_g_per_ml : float
        Mass per CT volume, g/ml.
    reference_mass_g : float
        ICRP reference adult mass, g.
    dose_limiting : bool
        The organ whose dose sets the prescription by default.
    source_text : str
        Where the numbers come from.
    """

    key: str
    region: str
    label: str
    density_g_per_ml: float
    reference_mass_g: float
    dose_limiting: bool
    source_text: str

    @property
    def mass_column(self) -> str:
        """Patients column with the organ mass in g."""
        return f"{self.key}_mass_g"

    @property
    def volume_column(self) -> str:
        """Patients column with the organ volume in ml (CT)."""
        return f"{self.key}_volume_ml"

    @property
    def uptake_first_column(self) -> str:
        """Feature: fraction of the administered activity in the organ at the first scan."""
        return f"uptake_first_{self.region}"

    def column(self, quantity: str) -> str:
        """The output column ``<organ>_<quantity>`` (e.g. ``tiac_h`` → ``liver_tiac_h``)."""
        return f"{self.key}_{quantity}"


@functools.lru_cache(maxsize=1)
def organs() -> dict[str, Organ]:
    """Every organ of ``data/organs.csv``, by key (file order)."""
    path = resources.files("onescan") / "data" / "organs.csv"
    out: dict[str, Organ] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            o = Organ(key=row["organ"].strip(), region=row["region"].strip(), label=row["label"].strip(),
                      density_g_per_ml=float(row["density_g_per_ml"]),
                      reference_mass_g=float(row["reference_mass_g"]),
                      dose_limiting=row["dose_limiting"].strip() in ("1", "true", "True"),
                      source_text=row["source_text"].strip())
            out[o.key] = o
    if sum(o.dose_limiting for o in out.values()) != 1:
        raise RuntimeError("data/organs.csv must mark exactly one dose-limiting organ")
    return out


def organ(key: str) -> Organ:
    """The organ ``key``; ``KeyError`` naming the known organs otherwise."""
    table = organs()
    if key not in table:
        raise KeyError(f"unknown organ {key!r}; known: {', '.join(table)}")
    return table[key]


def limiting_organ() -> Organ:
    """The dose-limiting organ of the prescription (the data file's ``dose_limiting`` row)."""
    return next(o for o in organs().values() if o.dose_limiting)
