"""``onescan validate``: check a cohort against the data contract and summarise it."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from onescan.contract._organs import limiting_organ
from ._app import app
from ._options import patient_columns as _patient_columns
from ._options import AllowImplausibleOpt, CohortDirArg, PatientsOpt, ScansOpt, cohort_from_options, print_notes


class Purpose(str, Enum):
    """Which rule set to check (see :func:`onescan.contract._cohort.rules_for`)."""

    dose = "dose"
    train = "train"
    predict = "predict"


_ORGAN = limiting_organ().label
PurposeOpt = Annotated[Purpose, typer.Option(
    "--for", case_sensitive=False,
    help=f"Rule set: dose (full dosimetry: dosimetric activity, {_ORGAN} mass, ≥ 2 {_ORGAN} time points), "
         "train (a prescribed activity column, or everything dose needs to compute it), "
         f"predict (first-scan features: ≥ 1 {_ORGAN} time point).")]


def cohort_summary(cohort) -> dict:
    """Numbers shown by ``onescan validate`` (also handy in a notebook).

    Parameters
    ----------
    cohort : onescan.contract._cohort.Cohort
        A loaded cohort.

    Returns
    -------
    dict
        ``n_patients``, ``n_scan_rows``, ``regions`` (region → rows),
        ``time_points`` (min/median/max distinct scan times per patient),
        ``first_scan_time_h`` (min/median/max, h), ``feature_columns`` (list),
        ``missing_share`` (column → share of empty cells, only columns with gaps).
    """
    pats, scans = cohort.patients, cohort.scans
    non_features = {"patient_id", "prescribed_activity_mci"}
    features = [c for c in pats.columns if c not in non_features]
    missing = pats[features].isna().mean() if features else pd.Series(dtype=float)
    out = {
        "n_patients": int(len(pats)),
        "n_scan_rows": int(len(scans)),
        "regions": scans["region"].value_counts().to_dict() if len(scans) else {},
        "feature_columns": features,
        "missing_share": {c: float(v) for c, v in missing.items() if v > 0},
        "time_points": None,
        "first_scan_time_h": None,
    }
    if len(scans):
        per = scans.groupby("patient_id", sort=False)["time_h"]
        n_t = per.nunique().to_numpy()
        t0 = per.min().to_numpy()
        out["time_points"] = (int(n_t.min()), float(np.median(n_t)), int(n_t.max()))
        out["first_scan_time_h"] = (float(t0.min()), float(np.median(t0)), float(t0.max()))
    return out


@app.command("validate")
def validate(
    cohort_dir: CohortDirArg = None,
    patients: PatientsOpt = None,
    scans: ScansOpt = None,
    purpose: PurposeOpt = Purpose.dose,
    allow_implausible: AllowImplausibleOpt = False,
) -> None:
    """Check a cohort (patients + scans tables) against the data contract.

    Prints a summary and "valid" (exit 0), or every problem with its file, row,
    patient and column (exit 2). Values outside their plausible range stop it too, unless
    --allow-implausible, which lists them per patient instead.
    """
    from onescan.contract._cohort import rules_for

    cols = _patient_columns(cohort_dir, patients) if purpose is Purpose.train else ()
    rules = rules_for(purpose.value, cols)
    cohort = cohort_from_options(cohort_dir, patients, scans, allow_implausible=allow_implausible,
                                 show_notes=False, **rules)
    s = cohort_summary(cohort)

    console = Console(highlight=False, soft_wrap=True)
    console.print(f"patients: {cohort.sources['patients']}", markup=False)
    console.print(f"scans:    {cohort.sources['scans']}", markup=False)
    print_notes(cohort, console)  # part of the report: on stdout
    table = Table(title=f"cohort summary (rules: {purpose.value})", show_header=False, box=None)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("patients", str(s["n_patients"]))
    table.add_row("scan rows", str(s["n_scan_rows"]))
    table.add_row("regions", ", ".join(f"{r} ({n})" for r, n in s["regions"].items()) or "—")
    if s["time_points"]:
        lo, med, hi = s["time_points"]
        table.add_row("time points per patient", f"min {lo}, median {med:g}, max {hi}")
        lo, med, hi = s["first_scan_time_h"]
        table.add_row("first scan time (h)", f"min {lo:g}, median {med:g}, max {hi:g}")
    feats = s["feature_columns"]
    shown = ", ".join(feats[:12]) + (f", … ({len(feats) - 12} more)" if len(feats) > 12 else "")
    table.add_row("patient columns (candidate features)", f"{len(feats)}: {shown}" if feats else "0")
    table.add_row("target", "prescribed_activity_mci" if "prescribed_activity_mci" in cohort.patients.columns
                  else "computed by the dosimetry (onescan dose)")
    miss = s["missing_share"]
    if miss:
        over = sorted(c for c, v in miss.items() if v > 0.2)
        worst = sorted(miss.items(), key=lambda kv: -kv[1])[:8]
        table.add_row("columns with gaps", f"{len(miss)} (more than 20% empty: {len(over)})")
        table.add_row("largest missing shares", ", ".join(f"{c} {v:.0%}" for c, v in worst))
    else:
        table.add_row("columns with gaps", "0")
    table.add_row("flagged as implausible (allowed)", str(len(cohort.flags)))
    console.print(table)
    for pid, flags in cohort.flags.items():
        for flag in flags:
            console.print(f"  flag: patient {pid}: {flag}", markup=False)
    console.print("[bold green]valid[/]")
