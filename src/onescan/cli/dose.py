"""``onescan dose``: reference MIRD dosimetry of the limiting organ and prescribed activity (SPEC §2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
import pandas as pd
from rich.console import Console
from rich.table import Table

from onescan.contract._errors import InputError, Problem
from onescan.contract._organs import limiting_organ
from ._app import app
from ._options import fmt_number as _fmt
from ._options import (
    AllowImplausibleOpt,
    collect as _collect,
    DOSE_DEFAULTS,
    CohortDirArg,
    FitOpt,
    MassScalingOpt,
    MaxActivityOpt,
    MuPerCmOpt,
    OutOpt,
    PatientsOpt,
    ScansOpt,
    SValuesOpt,
    TargetGyOpt,
    cohort_from_options,
    dose_settings_from_params,
)

_MAX_ROWS_SHOWN = 15
_ORGANS = "Organs and uncertainty"

OrgansOpt = Annotated[Optional[str], typer.Option(
    "--organs", metavar="LIST", show_default=False, rich_help_panel=_ORGANS,
    help="Organs to dose besides the dose-limiting one: comma-separated keys of the organ registry "
         "(spleen,kidneys,lungs,marrow,total_body) or 'all' (every organ imaged in the scans). Adds "
         "<organ>_tiac_h, <organ>_dose_gy_per_mci and <organ>_dose_gy (Gy at the capped activity).")]
LimitOpt = Annotated[Optional[list[str]], typer.Option(
    "--limit", metavar="ORGAN=GY", show_default=False, rich_help_panel=_ORGANS,
    help="Organ dose limit in Gy, repeatable (e.g. --limit marrow=20): the prescription is the smallest "
         "activity that reaches any limit, and limiting_organ names it.")]
UncertaintyOpt = Annotated[bool, typer.Option(
    "--uncertainty/--no-uncertainty", rich_help_panel=_ORGANS,
    help="Add relative standard uncertainties (k=1) *_u_rel of TIAC, dose per activity and prescribed "
         "activity, propagated from Poisson counts, the fit and the organ mass (SPEC §2.6).")]
ReportOpt = Annotated[Optional[Path], typer.Option(
    "--report", metavar="FILE.html", show_default=False, rich_help_panel=_ORGANS,
    help="Also write a per-patient dosimetry report: each organ's time–activity points and fit, the "
         "single-time-point estimate, the organ doses with uncertainties and the flags in words.")]
MassUncertaintyOpt = Annotated[Optional[float], typer.Option(
    "--mass-uncertainty", metavar="FRACTION", show_default=False, rich_help_panel=_ORGANS,
    help="Relative standard uncertainty (k=1) of CT organ masses for the *_u_rel columns "
         "[default: 0.05 from CT volumetry, Hori et al. 2011; see docs/dosimetry.md].")]


def _organ_options(organs: str | None, limit: list[str] | None, uncertainty: bool,
                   mass_uncertainty: float | None) -> tuple[dict, list[Problem]]:
    """The ``DoseSettings`` fields of the organ and uncertainty options, and the problems found."""
    problems: list[Problem] = []
    extra: dict = {"uncertainty": uncertainty}
    if organs:
        extra["extra_organs"] = organs.strip()
    if mass_uncertainty is not None:
        extra["mass_uncertainty"] = mass_uncertainty
    pairs = []
    for item in limit or []:
        key, sep, gy = item.partition("=")
        try:
            if not sep:
                raise ValueError(item)
            pairs.append((key.strip(), float(gy)))
        except ValueError:
            problems.append(Problem("--limit", f"{item!r} is not ORGAN=GY (e.g. marrow=20)"))
    if pairs:
        extra["limits"] = tuple(pairs)
    return extra, problems


def _patient_columns() -> tuple[tuple[str, str, int], ...]:
    """Columns of the per-patient table: result column, heading, significant digits (0: text)."""
    organ = limiting_organ()
    return (("patient_id", "patient", 0), (organ.column("uptake_first"), "uptake", 4),
            (organ.column("tiac_h"), "TIAC h", 4), (organ.column("effective_half_life_h"), "T½eff h", 4),
            (organ.column("dose_gy_per_mci"), "Gy/mCi", 4), ("prescribed_activity_mci", "mCi", 5),
            ("prescribed_activity_capped_mci", "capped mCi", 5), ("fit_r2", "r²", 4), ("flags", "flags", 0))


def _patient_table(result: pd.DataFrame) -> Table:
    """The first :data:`_MAX_ROWS_SHOWN` patients of ``result``."""
    n = len(result)
    columns = _patient_columns()
    rows = Table(title=None if n <= _MAX_ROWS_SHOWN else f"first {_MAX_ROWS_SHOWN} of {n} patients")
    for _, label, digits in columns:
        rows.add_column(label, justify="right" if digits else "left")
    for rec in result.head(_MAX_ROWS_SHOWN).to_dict("records"):
        rows.add_row(*(_fmt(rec[col], digits) if digits else rec[col] for col, _, digits in columns))
    return rows


def _summary(result: pd.DataFrame, settings, console: Console, out: Path | None) -> None:
    organ = limiting_organ()
    n = len(result)
    act = result["prescribed_activity_mci"].to_numpy(dtype=float)
    capped = int(np.sum(act > settings.max_activity_mci))
    flagged = int((result["flags"] != "").sum())
    failed = int(np.isnan(act).sum())
    head = Table(title="onescan dose", show_header=False, title_justify="left")
    head.add_column("", style="bold")
    head.add_column("")
    head.add_row("patients", str(n))
    head.add_row("fit / mass scaling", f"{settings.fit} / {settings.mass_scaling}")
    head.add_row("target dose", f"{settings.target_gy:g} Gy (cap {settings.max_activity_mci:g} mCi)")
    if n - failed:
        head.add_row("median TIAC", f"{np.nanmedian(result[organ.column('tiac_h')]):.4g} h")
        head.add_row("median effective half-life",
                     f"{np.nanmedian(result[organ.column('effective_half_life_h')]):.4g} h")
        head.add_row("median prescribed activity", f"{np.nanmedian(act):.4g} mCi")
    head.add_row("above the cap", str(capped))
    head.add_row("flagged (see 'flags')", str(flagged))
    if failed:
        head.add_row("dosimetry failed", str(failed))
    if out is not None:
        head.add_row("written to", str(out))
    console.print(head)
    console.print(_patient_table(result))


def with_input_flags(result: pd.DataFrame, cohort) -> pd.DataFrame:
    """``result`` with each patient's input flags (implausible values allowed) added to ``flags``."""
    if not cohort.flags:
        return result
    out = result.copy()
    extra = out["patient_id"].map(lambda p: cohort.flags_for(p)).fillna("")
    out["flags"] = [";".join(x for x in (a, "implausible input: " + b if b else "") if x)
                    for a, b in zip(out["flags"].fillna("").astype(str), extra)]
    return out


@app.command("dose")
def dose(
    cohort_dir: CohortDirArg = None,
    patients: PatientsOpt = None,
    scans: ScansOpt = None,
    out: OutOpt = None,
    fit: FitOpt = DOSE_DEFAULTS.fit,
    mass_scaling: MassScalingOpt = DOSE_DEFAULTS.mass_scaling,
    s_values: SValuesOpt = DOSE_DEFAULTS.s_values,
    mu_per_cm: MuPerCmOpt = DOSE_DEFAULTS.mu_per_cm,
    target_gy: TargetGyOpt = DOSE_DEFAULTS.target_gy,
    max_activity_mci: MaxActivityOpt = DOSE_DEFAULTS.max_activity_mci,
    allow_implausible: AllowImplausibleOpt = False,
    organs: OrgansOpt = None,
    limit: LimitOpt = None,
    uncertainty: UncertaintyOpt = False,
    mass_uncertainty: MassUncertaintyOpt = None,
    report: ReportOpt = None,
) -> None:
    """Reference MIRD liver dosimetry: TIAC, dose per mCi and the activity for the target dose.

    Reads a cohort (COHORT_DIR or --patients/--scans), quantifies the conjugate-view scans, fits the liver time–activity curve, scales the I-131 liver S-value to each patient's liver mass and writes one row per patient to --out (.csv, .xlsx or .parquet). Without --out the table is printed as CSV on stdout.
    """
    from onescan.dosimetry._dose import compute_dose
    from onescan.contract._io import table_format, write_table

    problems: list[Problem] = []
    settings = _collect(problems, dose_settings_from_params, locals())
    extra, organ_problems = _organ_options(organs, limit, uncertainty, mass_uncertainty)
    problems += organ_problems
    if settings is not None:
        from onescan.dosimetry._dose import make_dose_settings

        settings = _collect(problems, make_dose_settings, **{**settings.model_dump(), **extra})
    if out is not None and table_format(out) is None:
        problems.append(Problem(str(out), f"unsupported output file type '{out.suffix or '(none)'}' (--out); "
                                          "accepted: .csv, .xlsx, .parquet"))
    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        problems.append(Problem(str(report), "--report must be an .html file"))
    if out is not None and out.exists() and out.is_dir():
        problems.append(Problem(str(out), "--out is a folder; give a file name such as dose.csv"))
    cohort = _collect(problems, cohort_from_options, cohort_dir, patients, scans,
                      allow_implausible=allow_implausible)
    if problems:
        raise InputError(problems)

    # without --out the CSV goes to stdout, so the human summary goes to stderr
    console = Console(stderr=out is None, highlight=False)
    with console.status(f"dosimetry of {len(cohort.patients)} patients…"):
        result = compute_dose(cohort.patients, cohort.scans, settings)
    result = with_input_flags(result, cohort)
    if report is not None:
        from onescan.report import write_dose_report

        with console.status("per-patient dosimetry report…"):
            write_dose_report(cohort.patients, cohort.scans, settings, report, dose=result)
    if out is not None:
        write_table(result, out)
        _summary(result, settings, console, out)
    else:
        _summary(result, settings, console, None)
        import sys

        result.to_csv(sys.stdout, index=False)
