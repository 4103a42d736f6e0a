"""Shared command-line options (typer ``Annotated`` types) and their resolution.

Commands declare their parameters with these types so every command spells an
option the same way::

    @app.command("dose")
    def dose(cohort_dir: CohortDirArg = None, patients: PatientsOpt = None, scans: ScansOpt = None,
             out: OutOpt = Path("dose.csv"), fit: FitOpt = "monoexp", ...):
        cohort = cohort_from_options(cohort_dir, patients, scans)
        settings = dose_settings_from_options(fit=fit, mass_scaling=mass_scaling, ...)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Mapping, Optional

import typer

from onescan.contract._columns import PLAUSIBLE
from onescan.contract._errors import InputError, Problem
from onescan.contract._organs import limiting_organ
from onescan.dosimetry import FIT_METHODS, MASS_SCALINGS

__all__ = [
    "CohortDirArg",
    "PatientsOpt",
    "ScansOpt",
    "OutOpt",
    "FitMethod",
    "MassScaling",
    "FitOpt",
    "MassScalingOpt",
    "SValuesOpt",
    "MuPerCmOpt",
    "TargetGyOpt",
    "MaxActivityOpt",
    "DoseDefaults",
    "DOSE_DEFAULTS",
    "DOSE_OPTION_NAMES",
    "AllowImplausibleOpt",
    "cohort_from_options",
    "print_notes",
    "dose_settings_from_options",
    "dose_settings_from_params",
]


def _choices(name: str, values, doc: str) -> type[Enum]:
    """A ``str`` Enum of the registry ``values`` (typer shows and checks them as choices)."""
    members = Enum(name, {v: v for v in values}, type=str, module=__name__)
    members.__doc__ = doc
    return members


#: Time–activity curve models, from the dosimetry's fit-model registry (SPEC §2.2).
FitMethod = _choices("FitMethod", FIT_METHODS, "Time–activity curve models (SPEC §2.2).")
#: S-value mass-scaling modes, from the dosimetry's registry (SPEC §2.4).
MassScaling = _choices("MassScaling", MASS_SCALINGS, "S-value mass-scaling modes (SPEC §2.4).")


@dataclass(frozen=True)
class DoseDefaults:
    """Defaults of the dosimetry options: those of ``onescan.dosimetry.DoseSettings``
    (kept here so the CLI starts without importing the dosimetry; a test checks they agree)."""

    fit: Enum = FitMethod("monoexp")
    mass_scaling: Enum = MassScaling("split")
    s_values: Path | None = None
    mu_per_cm: float = 0.110
    target_gy: float = 24.0
    max_activity_mci: float = 1030.0


DOSE_DEFAULTS = DoseDefaults()
#: Parameter names of the dosimetry options, as every command spells them.
DOSE_OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(DoseDefaults))

_INPUT = "Input"
_DOSE = "Dosimetry"
_LIMITING = limiting_organ()

CohortDirArg = Annotated[Optional[Path], typer.Argument(
    metavar="COHORT_DIR", show_default=False,
    help="Cohort folder holding patients.* and scans.* (.csv, .xlsx or .parquet), or one workbook "
         "(.xlsx) with sheets patients and scans. Or give --patients and --scans.")]
PatientsOpt = Annotated[Optional[Path], typer.Option(
    "--patients", metavar="FILE", show_default=False, rich_help_panel=_INPUT,
    help="Patients table (.csv, .xlsx or .parquet), one row per patient.")]
ScansOpt = Annotated[Optional[Path], typer.Option(
    "--scans", metavar="FILE", show_default=False, rich_help_panel=_INPUT,
    help="Scans table (.csv, .xlsx or .parquet), one row per patient × time × region.")]
#: ``--allow-implausible``: declare ``allow_implausible: AllowImplausibleOpt = False`` and pass it to
#: :func:`cohort_from_options`; the cohort's ``flags`` then go into the command's per-patient flags.
AllowImplausibleOpt = Annotated[bool, typer.Option(
    "--allow-implausible", rich_help_panel=_INPUT,
    help="Values outside their plausible range (" + ", ".join(
        f"{c} {r.low:g}–{r.high:g}" for c, r in PLAUSIBLE.items() if c in (_LIMITING.mass_column, "weight_kg",
                                                                         "age_y", "time_h"))
         + ", …) become per-patient flags instead of stopping the command.")]
OutOpt = Annotated[Optional[Path], typer.Option(
    "--out", "-o", metavar="PATH", help="Where to write the result (format by extension).")]

# The dosimetry options: declare a command's parameters as
#     fit: FitOpt = DOSE_DEFAULTS.fit, mass_scaling: MassScalingOpt = DOSE_DEFAULTS.mass_scaling,
#     s_values: SValuesOpt = None, mu_per_cm: MuPerCmOpt = DOSE_DEFAULTS.mu_per_cm,
#     target_gy: TargetGyOpt = DOSE_DEFAULTS.target_gy,
#     max_activity_mci: MaxActivityOpt = DOSE_DEFAULTS.max_activity_mci,
# and build the settings with ``dose_settings_from_params(locals())`` (or ``ctx.params``).
FitOpt = Annotated[FitMethod, typer.Option(
    "--fit", case_sensitive=False, rich_help_panel=_DOSE,
    help=f"{_LIMITING.label.capitalize()} time–activity curve model.")]
MassScalingOpt = Annotated[MassScaling, typer.Option(
    "--mass-scaling", case_sensitive=False, rich_help_panel=_DOSE,
    help=f"S-value scaling with patient {_LIMITING.label} mass: split (non-penetrating ∝ 1/m, "
         "penetrating ∝ m^-2/3), linear (∝ 1/m) or none.")]
SValuesOpt = Annotated[Optional[Path], typer.Option(
    "--s-values", metavar="FILE", show_default=False, rich_help_panel=_DOSE,
    help="Your own S-value table (same columns as the shipped one, e.g. OLINDA or MIRDcalc values).")]
MuPerCmOpt = Annotated[float, typer.Option(
    "--mu-per-cm", metavar="1/cm", rich_help_panel=_DOSE,
    help="Linear attenuation coefficient for the conjugate-view correction (water, 364 keV).")]
TargetGyOpt = Annotated[float, typer.Option(
    "--target-gy", metavar="Gy", rich_help_panel=_DOSE, help=f"Target {_LIMITING.label} absorbed dose.")]
MaxActivityOpt = Annotated[float, typer.Option(
    "--max-activity-mci", metavar="mCi", rich_help_panel=_DOSE,
    help="Maximum manufactured activity; the capped prescription is reported beside the uncapped one.")]


def cohort_from_options(cohort_dir: Path | None, patients: Path | None, scans: Path | None, *,
                        show_notes: bool = True, **load_kwargs):
    """Resolve COHORT_DIR / ``--patients`` / ``--scans`` and load the cohort.

    Either a cohort folder, or both files, or a folder plus one file overriding
    the folder's table.

    Parameters
    ----------
    cohort_dir : pathlib.Path or None
        Cohort folder (positional COHORT_DIR).
    patients, scans : pathlib.Path or None
        Table files from ``--patients`` / ``--scans``.
    show_notes : bool, default True
        Print the cohort's notes (what was detected while reading) on stderr, once each.
    **load_kwargs
        Passed to :func:`onescan.contract._cohort.load_cohort` (``need_dosimetry``,
        ``min_liver_points``, ``need_target``, ``need_scans``, ``need_activity``,
        ``allow_implausible``).

    Returns
    -------
    onescan.contract._cohort.Cohort

    Raises
    ------
    InputError
        When the inputs cannot be resolved (naming the options), or the cohort is invalid.
    """
    from onescan.contract._cohort import load_cohort

    need_scans = load_kwargs.get("need_scans", True)
    load_kwargs.setdefault("allow_implausible", False)  # implausible values stop a command by default
    load_kwargs.setdefault("derive_bsa", True)  # bsa_m2 from height and weight when absent (said in a note)
    if cohort_dir is not None and not cohort_dir.is_dir() and cohort_dir.suffix.lower() in (".csv", ".parquet"):
        raise InputError(Problem(str(cohort_dir), "a single table is not a cohort: give a cohort folder, one "
                                                  "workbook (.xlsx) with sheets patients and scans, or "
                                                  "--patients FILE --scans FILE"))
    if cohort_dir is None:
        missing = []
        if patients is None:
            missing.append("--patients FILE")
        if scans is None and need_scans:
            missing.append("--scans FILE")
        if missing:
            raise InputError(Problem(
                "command line", "no input: give a cohort folder (COHORT_DIR holding patients.* and scans.*, or one "
                                "workbook with sheets patients and scans) "
                                "or both --patients FILE and --scans FILE (missing: " + ", ".join(missing) + ")"))
    try:
        cohort = load_cohort(patients=patients, scans=scans, folder=cohort_dir, **load_kwargs)
    except InputError as exc:
        _print_lines([f"note: {n}" for n in dict.fromkeys(getattr(exc, "notes", []))])
        raise
    if show_notes:
        print_notes(cohort)
    return cohort


def _print_lines(lines, console=None) -> None:
    from rich.console import Console

    console = console or Console(stderr=True, highlight=False, soft_wrap=True)
    for line in lines:
        console.print(line, markup=False)


def print_notes(cohort, console=None) -> None:
    """What was detected while reading the cohort (separator, renamed headers, session form,
    derived columns, implausible values let through), once each, on ``console`` (default stderr)."""
    lines = [f"note: {note}" for note in dict.fromkeys(cohort.notes)]
    n = len(cohort.flags)
    if n:
        lines.append(f"note: implausible values allowed (--allow-implausible) for {n} patient"
                     f"{'s' if n != 1 else ''}; see the flags")
    _print_lines(lines, console)


def dose_settings_from_options(fit=DOSE_DEFAULTS.fit, mass_scaling=DOSE_DEFAULTS.mass_scaling,
                               s_values=DOSE_DEFAULTS.s_values, mu_per_cm: float = DOSE_DEFAULTS.mu_per_cm,
                               target_gy: float = DOSE_DEFAULTS.target_gy,
                               max_activity_mci: float = DOSE_DEFAULTS.max_activity_mci):
    """Build ``onescan.dosimetry._dose.DoseSettings`` from the dosimetry options.

    Parameters
    ----------
    fit : FitMethod or str
        Time–activity curve model.
    mass_scaling : MassScaling or str
        S-value mass scaling.
    s_values : pathlib.Path or None
        User S-value file (must exist).
    mu_per_cm : float
        Attenuation coefficient, 1/cm (> 0).
    target_gy : float
        Target dose of the limiting organ, Gy (> 0).
    max_activity_mci : float
        Maximum manufactured activity, mCi (> 0).

    Returns
    -------
    onescan.dosimetry._dose.DoseSettings

    Raises
    ------
    InputError
        One problem per invalid option, labelled with the option name.
    """
    from onescan.dosimetry._dose import DoseSettings  # lazy: the dosimetry module is built separately

    problems: list[Problem] = []
    for name, value in (("--mu-per-cm", mu_per_cm), ("--target-gy", target_gy),
                        ("--max-activity-mci", max_activity_mci)):
        if not (value > 0 and value != float("inf")):
            problems.append(Problem(name, f"must be a positive finite number, got {value}"))
    if s_values is not None and not Path(s_values).is_file():
        problems.append(Problem(str(s_values), "S-value file not found (--s-values)"))
    if problems:
        raise InputError(problems)
    fit = fit.value if isinstance(fit, Enum) else str(fit)
    mass_scaling = mass_scaling.value if isinstance(mass_scaling, Enum) else str(mass_scaling)
    try:
        return DoseSettings(fit=fit, mass_scaling=mass_scaling, s_values=s_values, mu_per_cm=mu_per_cm,
                            target_gy=target_gy, max_activity_mci=max_activity_mci)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        errors = getattr(exc, "errors", None)
        if callable(errors):
            raise InputError([Problem("--" + "-".join(str(x) for x in e.get("loc", ("option",))).replace("_", "-"),
                                      e.get("msg", "invalid value")) for e in errors()]) from exc
        raise InputError(Problem("options", str(exc))) from exc


def dose_settings_from_params(params: Mapping[str, Any]):
    """``DoseSettings`` from a command's parameters (``locals()`` or ``ctx.params``).

    Reads the :data:`DOSE_OPTION_NAMES` entries of ``params`` (the others are ignored) and
    validates them like :func:`dose_settings_from_options`; a user S-value file is read
    too, so its problems are reported with the options.

    Raises
    ------
    InputError
        One problem per invalid option, labelled with the option name.
    """
    settings = dose_settings_from_options(**{name: params[name] for name in DOSE_OPTION_NAMES})
    if settings.s_values is not None:
        settings.s_table()
    return settings


class Selector(str, Enum):
    """Sequential feature selector implementations."""

    fast = "fast"
    mlxtend = "mlxtend"
    none = "none"


def collect(problems: list, fn, *args, **kwargs):
    """Call ``fn``; on :class:`InputError` add its problems to ``problems`` and return None.

    Lets a command gather every option and input problem before it reports them at once.
    """
    try:
        return fn(*args, **kwargs)
    except InputError as exc:
        problems.extend(exc.problems)
        return None


def patient_columns(cohort_dir: Path | None, patients: Path | None) -> list[str]:
    """Column names of the patients table (headers folded as the cohort reads them), or [] if
    it cannot be read (load_cohort reports why)."""
    from onescan.contract._prepare import patient_columns as _columns

    return _columns(cohort_dir, patients)


def pipeline_settings_from_options(**kw):
    """``PipelineSettings`` from command-line values.

    ``k_features`` arrives as text (a whole number, ``best`` or ``parsimonious``).
    Raises :class:`InputError` with one problem per invalid option, named as on the
    command line (``--k-features``, ``--alpha``, …).
    """
    from pydantic import ValidationError

    from onescan.models._pipeline import PipelineSettings

    problems: list[Problem] = []
    k = kw.pop("k_features", None)
    if k is not None:
        k = str(k).strip().lower()
        if k in ("best", "parsimonious"):
            kw["k_features"] = k
        else:
            try:
                kw["k_features"] = int(k)
            except ValueError:
                problems.append(Problem("--k-features", f"must be a whole number, 'best' or 'parsimonious', got {k!r}"))
    try:
        settings = PipelineSettings(**kw)
    except ValidationError as exc:
        for e in exc.errors():
            name = "--" + str(e["loc"][0]).replace("_", "-") if e.get("loc") else "options"
            problems.append(Problem(name, f"invalid value {e.get('input')!r}: {e['msg']}"))
        settings = None
    if problems:
        raise InputError(problems)
    return settings


def fmt_number(v, digits: int = 4) -> str:
    """A table cell: ``—`` for missing/non-finite, ``digits`` significant digits for floats."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.{digits}g}" if isinstance(v, float) else str(v)
