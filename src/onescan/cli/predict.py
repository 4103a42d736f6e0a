"""``onescan predict``: therapeutic activity for new patients from a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from onescan.contract._errors import InputError, Problem
from ._app import app
from ._options import fmt_number as _fmt
from ._options import CohortDirArg, PatientsOpt, ScansOpt, cohort_from_options

_MAX_ROWS_SHOWN = 15


def _short(warnings: str) -> str:
    """Feature names of a warnings cell (the full text is in the output file)."""
    if not warnings:
        return ""
    return ", ".join("capped" if w.startswith("prediction above") else
                     "raised" if w.startswith("model output") else
                     "not positive" if w.startswith("prediction") else w.split(" ", 1)[0]
                     for w in warnings.split("; "))


@app.command("predict")
def predict_command(
    cohort_dir: CohortDirArg = None,
    patients: PatientsOpt = None,
    scans: ScansOpt = None,
    model: Annotated[Path, typer.Option(
        "--model", "-m", metavar="MODEL.skops",
        help="Model written by onescan train (its card MODEL.card.json must be beside it).")] = ...,
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="FILE",
        help="Predictions table (.csv, .xlsx or .parquet).")] = Path("predictions.csv"),
    level: Annotated[Optional[float], typer.Option(
        "--level", help="Prediction-interval level (0–1); default: the model's (0.9 unless trained otherwise).",
        show_default=False)] = None,
    max_overdose_risk: Annotated[Optional[float], typer.Option(
        "--max-overdose-risk", metavar="R",
        help="Add safe_activity_mci/_gbq: the largest activity whose conformal probability of exceeding 1.1 × "
             "the ideal activity (dose-limiting organ above 1.1 × the target dose) is at most R (0–1), and "
             "safe_fraction_of_predicted.", show_default=False)] = None,
) -> None:
    """Predict the activity that delivers the target liver dose, one row per patient.

    Reads the patients table and, when the model uses first-scan features, the scans
    table (the first image is enough; later scans are ignored; prescribed_activity_* is
    not needed). Writes per patient: predicted_activity_mci and _gbq, the value clipped
    to the maximum activity, a conformal prediction interval, the liver dose the clipped
    activity implies under the model, and warnings (features outside the training
    range, imputed features). With --max-overdose-risk R, also a safe activity: 1.1 ×
    the one-sided conformal lower bound of the activity at level 1 − R (exchangeable
    patients), capped, and its fraction of the capped prediction. The model file is refused (exit 2) if its SHA-256 differs
    from its card or it holds a type outside onescan's allow-list.
    """
    from onescan.contract._io import table_format, write_table
    from onescan.contract._organs import limiting_organ
    from onescan.persistence._skops import load_model
    from onescan.studies._clinic import DOSE_COLUMN

    problems: list[Problem] = []
    if table_format(out) is None:
        problems.append(Problem(str(out), f"unsupported output file type '{out.suffix or '(none)'}' (--out); "
                                          "accepted: .csv, .xlsx, .parquet"))
    if out.exists() and out.is_dir():
        problems.append(Problem(str(out), "--out is a folder; give a file name such as predictions.csv"))
    if level is not None and not 0.0 < level < 1.0:
        problems.append(Problem("--level", f"must be between 0 and 1, got {level:g}"))
    if max_overdose_risk is not None and not 0.0 < max_overdose_risk < 1.0:
        problems.append(Problem("--max-overdose-risk", f"must be strictly between 0 and 1, got {max_overdose_risk:g}"))
    fitted = None
    try:
        fitted = load_model(model)
    except InputError as exc:
        problems.extend(exc.problems)
    if fitted is None:
        raise InputError(problems)
    cohort = None
    try:
        cohort = cohort_from_options(cohort_dir, patients, scans, **fitted.load_rules())
    except InputError as exc:
        problems.extend(exc.problems)
    if problems:
        raise InputError(problems)

    console = Console(stderr=True, highlight=False)
    with console.status(f"predicting {len(cohort.patients)} patients…"):
        result = fitted.predict_cohort(cohort, level=level, max_overdose_risk=max_overdose_risk)
    write_table(result, out)

    n = len(result)
    warned = int((result["warnings"] != "").sum())
    capped = int((result["predicted_activity_capped_mci"] < result["predicted_activity_mci"]).sum())
    head = Table(title="onescan predict", show_header=False, title_justify="left")
    head.add_column("", style="bold")
    head.add_column("")
    head.add_row("model", f"{model} (trained on {fitted.n_train_} patients, schedule {fitted.schedule})")
    head.add_row("features used", ", ".join(fitted.used_features_) or "none (intercept only)")
    head.add_row("patients", str(n))
    head.add_row("interval level", f"{float(result['interval_level'].iloc[0]) if n else fitted.interval_level:g}")
    head.add_row("capped at the maximum activity", str(capped))
    safe = "safe_activity_mci" in result.columns
    if safe and n:
        head.add_row("max overdose risk", f"{max_overdose_risk:g} (safe activity = 1.1 × conformal lower bound, "
                                          f"median {float(result['safe_fraction_of_predicted'].median()):.2f} "
                                          "of the capped prediction)")
    head.add_row("with warnings", str(warned))
    head.add_row("written to", str(out))
    console.print(head)
    rows = Table(title=None if n <= _MAX_ROWS_SHOWN else f"first {_MAX_ROWS_SHOWN} of {n} patients")
    organ_gy = f"{limiting_organ().label} Gy"
    labels = ["patient", "mCi", "GBq", "capped mCi", "interval mCi", organ_gy] + (["safe mCi"] if safe else [])
    for label in labels + ["warnings (see file)"]:
        rows.add_column(label, justify="left" if label[0] in "pw" else "right")
    for rec in result.head(_MAX_ROWS_SHOWN).itertuples(index=False):
        cells = [rec.patient_id, _fmt(rec.predicted_activity_mci), _fmt(rec.predicted_activity_gbq, 3),
                 _fmt(rec.predicted_activity_capped_mci), f"{_fmt(rec.interval_low_mci)}–"
                 f"{_fmt(rec.interval_high_mci)}", _fmt(getattr(rec, DOSE_COLUMN), 3)]
        cells += [_fmt(rec.safe_activity_mci)] if safe else []
        rows.add_row(*cells, _short(rec.warnings))
    console.print(rows)
