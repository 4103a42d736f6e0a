"""The column specification of the cohort's two tables (SPEC §1), in one place.

Every column onescan knows in the ``patients`` and ``scans`` tables is one
:class:`ColumnSpec`: its table, its unit, its range checks, the quantity it belongs
to when the quantity may be given in several units (:class:`UnitFamily`, e.g. the
dosimetric activity in MBq or mCi, an organ's mass in g or its CT volume in ml) and,
for optional scan columns, the value used when it is absent. Validation
(:mod:`onescan.contract._validate`), normalisation (:mod:`onescan.contract._normalise`)
and the messages are derived from these tables.

Organ columns (``<organ>_mass_g``, ``<organ>_volume_ml``) and the scan region whose time
points the dosimetry needs come from the organ registry (:mod:`onescan.contract._organs`):
adding an organ is one row in ``data/organs.csv``, adding an input column one line here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from onescan.contract._organs import WHOLE_BODY_REGION, Organ, limiting_organ, organs
from onescan.contract._units import MBQ_PER_MCI

__all__ = [
    "Bound",
    "ColumnSpec",
    "UnitFamily",
    "PATIENT_SPECS",
    "SCAN_SPECS",
    "FAMILIES",
    "UNIT_FAMILIES",
    "PATIENT_NUMERIC_RULES",
    "SCAN_NUMERIC_RULES",
    "SCAN_COLUMNS",
    "SCAN_REQUIRED",
    "SCAN_COUNT_COLUMNS",
    "SCAN_DEFAULTS",
    "SEX_CODES",
    "WHOLE_BODY_REGION",
    "families_required_by",
    "time_point_region",
    "time_point_label",
    "Plausible",
    "PLAUSIBLE",
    "FIRST_SCAN_ORGAN_TO_WB_MAX",
    "FIRST_WB_SCAN_MAX_H",
    "LAST_SCAN_MIN_H",
    "LAB_UNIT_PATTERN",
]

@dataclass(frozen=True)
class Bound:
    """One range check on a numeric column; an empty cell (NaN) always passes.

    Attributes
    ----------
    kind : {"gt", "ge", "le"}
        Comparison the value must satisfy against ``value``.
    value : float
        The bound, in the column's unit.
    message : str
        What the problem says when the check fails (e.g. ``"must be > 0"``).
    """

    kind: str
    value: float
    message: str


_GT0 = Bound("gt", 0.0, "must be > 0")
_GE0 = Bound("ge", 0.0, "must be ≥ 0")


@dataclass(frozen=True)
class ColumnSpec:
    """One known input column.

    Attributes
    ----------
    name : str
        Column name as written in the table.
    unit : str
        Unit of the numbers (``"MBq"``, ``"g"``, ``"h"``, ``"counts"`` …), ``"text"`` for
        identifiers and codes.
    bounds : tuple of Bound
        Range checks (numeric columns only; ``()`` for text).
    family : str or None
        Name of the quantity (:class:`UnitFamily`) when it may be given in several units.
    to_canonical : float
        Factor turning this column's unit into the family's canonical unit.
    default : float or None
        Value of an optional scan column when it is absent (and, when not NaN, of its
        empty cells); None when the column has no default.
    required : bool
        Every table must have the column (whatever it is checked for).
    required_unless : str or None
        The column is required unless this other column is given (the counts, unless
        ``fraction_injected``).
    """

    name: str
    unit: str
    bounds: tuple[Bound, ...] = ()
    family: str | None = None
    to_canonical: float = 1.0
    default: float | None = None
    required: bool = False
    required_unless: str | None = None

    @property
    def numeric(self) -> bool:
        """True for a number column (range-checked, converted to float)."""
        return self.unit != "text"


@dataclass(frozen=True)
class UnitFamily:
    """A quantity that may be given in either of several units (columns).

    Attributes
    ----------
    name : str
        The quantity in words, used in the messages (``"dosimetric activity"``).
    canonical : str
        Column holding the quantity in the canonical unit after normalisation.
    columns : dict of str to float
        Accepted columns (canonical first) and the factor that converts each to the
        canonical unit.
    required_by : {"activity", "dosimetry", "target"} or None
        The need flag of :func:`~onescan.contract._validate.validate_cohort` that makes
        the quantity required for every patient; None when it is never required.
    hint : str
        Added to the "missing" message (how the units relate).
    keep_alternates : bool
        Keep the other unit columns beside a given canonical column (a CT volume beside
        a given mass); otherwise they are replaced by the canonical column.
    """

    name: str
    canonical: str
    columns: dict[str, float]
    required_by: str | None = None
    hint: str = ""
    keep_alternates: bool = False


def _organ_columns(o: Organ) -> tuple[UnitFamily, list[ColumnSpec]]:
    """Organ ``o``'s mass in g, or its CT volume in ml (× density); required by the dosimetry
    for the dose-limiting organ."""
    name = f"{o.label} mass"
    family = UnitFamily(name, o.mass_column, {}, required_by="dosimetry" if o.dose_limiting else None,
                        hint=f" (mass = volume × {o.density_g_per_ml} g/ml)", keep_alternates=True)
    cols = [ColumnSpec(o.mass_column, "g", (_GT0,), family=name),
            ColumnSpec(o.volume_column, "ml", (_GT0,), family=name, to_canonical=o.density_g_per_ml)]
    return family, cols


def _patient_table() -> tuple[tuple[ColumnSpec, ...], tuple[UnitFamily, ...]]:
    """Known patients columns (in the order they are checked) and the unit families (their
    accepted columns filled from the column specs, canonical first)."""
    activity = UnitFamily("dosimetric activity", "dosimetric_activity_mbq", {}, required_by="activity")
    target = UnitFamily("prescribed activity", "prescribed_activity_mci", {}, required_by="target")
    cols = [ColumnSpec("patient_id", "text", required=True),
            ColumnSpec("dosimetric_activity_mci", "mCi", (_GT0,), family=activity.name, to_canonical=MBQ_PER_MCI),
            ColumnSpec("dosimetric_activity_mbq", "MBq", (_GT0,), family=activity.name)]
    families = [activity]
    for o in organs().values():
        fam, organ_cols = _organ_columns(o)
        families.append(fam)
        cols.extend(organ_cols)
    families.append(target)
    cols += [ColumnSpec("prescribed_activity_mci", "mCi", (_GT0,), family=target.name),
             ColumnSpec("prescribed_activity_mbq", "MBq", (_GT0,), family=target.name,
                        to_canonical=1.0 / MBQ_PER_MCI),
             ColumnSpec("weight_kg", "kg", (_GT0,)),
             ColumnSpec("height_cm", "cm", (_GT0,)),
             ColumnSpec("age_y", "y", (_GE0,)),
             ColumnSpec("sex", "text")]
    return tuple(cols), tuple(replace(f, columns=_family_columns(f, cols)) for f in families)


def _family_columns(family: UnitFamily, cols: list[ColumnSpec]) -> dict[str, float]:
    """The family's columns (canonical first, then table order) → factor to the canonical unit."""
    members = sorted((c for c in cols if c.family == family.name), key=lambda c: c.name != family.canonical)
    return {c.name: c.to_canonical for c in members}


#: Known patients columns, in the order they are checked.
#: Known unit families (quantities in either of several units), in the order they are checked.
PATIENT_SPECS, FAMILIES = _patient_table()

#: Known scans columns, in canonical order (the canonical scans table starts with them).
SCAN_SPECS: tuple[ColumnSpec, ...] = (
    ColumnSpec("patient_id", "text", required=True),
    ColumnSpec("time_h", "h", (_GE0,), required=True),
    ColumnSpec("region", "text", required=True),
    ColumnSpec("counts_anterior", "counts", (_GE0,), default=math.nan, required_unless="fraction_injected"),
    ColumnSpec("counts_posterior", "counts", (_GE0,), default=math.nan, required_unless="fraction_injected"),
    ColumnSpec("background_anterior", "counts", (_GE0,), default=0.0),
    ColumnSpec("background_posterior", "counts", (_GE0,), default=0.0),
    ColumnSpec("acquisition_s", "s", (_GT0,), default=1.0),
    ColumnSpec("thickness_cm", "cm", (_GT0,), default=math.nan),
    ColumnSpec("fraction_injected", "fraction", (_GE0, Bound("le", 1.5, "must be ≤ 1.5")), default=math.nan),
)

#: Scans columns every scans table must have.
SCAN_REQUIRED: tuple[str, ...] = tuple(c.name for c in SCAN_SPECS if c.required)
#: Counts in both views: required unless ``fraction_injected`` is given.
SCAN_COUNT_COLUMNS: tuple[str, ...] = tuple(c.name for c in SCAN_SPECS if c.required_unless == "fraction_injected")

#: Quantities that may be given in either of two units: name → (canonical column,
#: accepted columns with the factor that converts each to the canonical unit).
UNIT_FAMILIES: dict[str, tuple[str, dict[str, float]]] = {f.name: (f.canonical, dict(f.columns)) for f in FAMILIES}

#: Range checks per numeric patients column (checked order).
PATIENT_NUMERIC_RULES: dict[str, tuple[Bound, ...]] = {c.name: c.bounds for c in PATIENT_SPECS if c.numeric}
#: Range checks per numeric scans column (checked order).
SCAN_NUMERIC_RULES: dict[str, tuple[Bound, ...]] = {c.name: c.bounds for c in SCAN_SPECS if c.numeric}
#: Canonical scans columns, in order.
SCAN_COLUMNS: list[str] = [c.name for c in SCAN_SPECS]
#: Values of the optional scans columns when absent (counts are NaN then: fraction_injected is used).
SCAN_DEFAULTS: dict[str, float] = {c.name: c.default for c in SCAN_SPECS if c.default is not None}

#: Accepted ``sex`` codes → canonical code.
SEX_CODES = {"f": "F", "female": "F", "m": "M", "male": "M"}


def families_required_by(need: str) -> list[UnitFamily]:
    """The unit families that the need flag ``need`` (``activity``, ``dosimetry``, ``target``) requires."""
    return [f for f in FAMILIES if f.required_by == need]


def time_point_region() -> str:
    """The scan region whose distinct times the dosimetry counts (the dose-limiting organ's)."""
    return limiting_organ().region


def time_point_label() -> str:
    """Words for that region's time points in the messages (the dose-limiting organ's label)."""
    return limiting_organ().label


# --------------------------------------------------------------------------- plausibility (SPEC §1.3)


@dataclass(frozen=True)
class Plausible:
    """The range a valid number must also fall in to be believable (SPEC §1.3).

    Attributes
    ----------
    low, high : float
        Plausible range, in the column's unit (inclusive).
    unit : str
        The column's unit, for the message.
    reason : str
        Why the range is what it is.
    hints : tuple of (float, str)
        ``(factor, words)``: when ``value × factor`` falls in the range, the value was
        probably typed in another unit (``(1000, "kilograms")`` for a mass in g).
    """

    low: float
    high: float
    unit: str
    reason: str
    hints: tuple[tuple[float, str], ...] = ()

    def hint(self, value: float) -> str:
        """``" (… looks like kilograms)"`` for the first unit whose conversion is plausible, else ``""``."""
        for factor, words in self.hints:
            if self.low <= value * factor <= self.high:
                return f" ({value:g} looks like {words})"
        return ""


def _plausible_table() -> dict[str, Plausible]:
    """Plausible ranges of the patients and scans columns; the organ mass is the dose-limiting
    organ's (its columns from the organ registry)."""
    o = limiting_organ()
    mass = Plausible(400.0, 5000.0, "g", f"adult {o.label} on CT, hepatomegaly included", ((1000.0, "kilograms"),))
    rho = o.density_g_per_ml
    return {
        o.mass_column: mass,
        o.volume_column: Plausible(mass.low / rho, mass.high / rho, "ml", mass.reason, ((1000.0, "litres"),)),
        "weight_kg": Plausible(30.0, 250.0, "kg", "adult body weight",
                               ((1 / 2.20462, "pounds"), (1e-3, "grams"))),
        "height_cm": Plausible(120.0, 230.0, "cm", "adult height", ((100.0, "metres"), (2.54, "inches"))),
        "age_y": Plausible(18.0, 110.0, "y", "adult patients", ((1 / 12, "months"), (1 / 365.25, "days"))),
        "dosimetric_activity_mci": Plausible(1.0, 100.0, "mCi", "a dosimetric (tracer) infusion is about 5–20 mCi",
                                             ((1 / MBQ_PER_MCI, "MBq"), (1000.0, "Ci"))),
        "dosimetric_activity_mbq": Plausible(MBQ_PER_MCI, 100.0 * MBQ_PER_MCI, "MBq",
                                             "a dosimetric (tracer) infusion is about 185–740 MBq",
                                             ((MBQ_PER_MCI, "mCi"), (1000.0, "GBq"))),
        "time_h": Plausible(0.0, 720.0, "h", "planar dosimetry follows I-131 over days, within 30 days",
                            ((1 / 60, "minutes"),)),
    }


#: Plausible range per column (SPEC §1.3): outside it the command stops (exit 2) unless
#: ``--allow-implausible`` turns it into a per-patient flag.
PLAUSIBLE: dict[str, Plausible] = _plausible_table()

#: An organ's first-scan count rate (geometric mean of the net count rates) above this multiple
#: of the whole body's at the same time is impossible: the whole body holds every organ.
#: 5% leaves room for counting noise and ROI overlap.
FIRST_SCAN_ORGAN_TO_WB_MAX: float = 1.05
#: The first whole-body scan is the reference for the administered activity and must be taken
#: before the patient voids: later than this (h) after the infusion is implausible.
FIRST_WB_SCAN_MAX_H: float = 6.0
#: A patient with several scan times whose last scan is earlier than this (h) most likely has
#: times typed in days: antibody kinetics are followed over several days.
LAST_SCAN_MIN_H: float = 12.0
#: Unknown patients columns whose unit suffix is a concentration, a cell count or a share
#: (``ast_u_per_l_pre``, ``neutrophils_1e9_per_l``, ``blasts_pct``) are lab values: never negative.
LAB_UNIT_PATTERN: str = r"_per_(?:l|dl|ml|ul)(?:_|$)|_pct(?:_|$)"
