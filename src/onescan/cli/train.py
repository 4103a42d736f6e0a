"""``onescan train``: fit the published model on a whole cohort and write a safe model file."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from onescan.contract._errors import InputError, Problem
from onescan.models._registry import MODELS
from ._app import app
from ._options import (
    pipeline_settings_from_options,
    Selector,
    collect as _collect,
    patient_columns as _patient_columns,
    CohortDirArg,
    FitMethod,
    FitOpt,
    MassScaling,
    MassScalingOpt,
    MaxActivityOpt,
    MuPerCmOpt,
    PatientsOpt,
    ScansOpt,
    SValuesOpt,
    TargetGyOpt,
    cohort_from_options,
    dose_settings_from_options,
)

_PIPE = "Pipeline"
_MODEL = "Model and intervals"


class Scaler(str, Enum):
    """Scaling step."""

    robust = "robust"
    standard = "standard"
    minmax = "minmax"
    none = "none"


#: Final model: a key of the model registry (``--model``).
Regressor = Enum("Regressor", {key: key for key in MODELS}, type=str, module=__name__)
_MODEL_HELP = "Final model: " + "; ".join(f"{key} ({kind.label})" for key, kind in MODELS.items()) + "."


class IntervalMethod(str, Enum):
    """Cross-conformal interval methods (log scale: positive and capped; raw scale: mCi)."""

    log = "log"
    log_plus = "log-plus"
    plus = "plus"
    base = "base"
    minmax = "minmax"


class Schedule(str, Enum):
    """Which scans the model reads."""

    first = "first"
    first_24h = "first+24h"


@app.command("train")
def train_command(
    cohort_dir: CohortDirArg = None,
    patients: PatientsOpt = None,
    scans: ScansOpt = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="MODEL.skops",
        help="Model file to write (.skops); its card MODEL.card.json is written beside it.")] = Path("model.skops"),
    seed: Annotated[int, typer.Option("--seed", rich_help_panel=_MODEL,
                                      help="Seed of the interval folds and of the repeated CV.")] = 0,
    level: Annotated[float, typer.Option("--level", rich_help_panel=_MODEL,
                                         help="Default level of the prediction intervals (0–1).")] = 0.9,
    interval_folds: Annotated[int, typer.Option(
        "--interval-folds", min=2, rich_help_panel=_MODEL,
        help="Folds of the cross-conformal intervals (the number of patients gives the jackknife+).")] = 10,
    interval_method: Annotated[IntervalMethod, typer.Option(
        "--interval-method", rich_help_panel=_MODEL,
        help="Cross-conformal method. On the log scale (positive, clipped to the maximum activity; they also give "
             "the safe activity of predict --max-overdose-risk): log (CV, measured within 3 points of the level) "
             "or log-plus (CV+). On the raw mCi scale: plus (CV+, guaranteed ≥ 1−2α, measured above the level), "
             "base (CV) or minmax (widest).")] = IntervalMethod.log,
    cv_folds: Annotated[int, typer.Option("--cv-folds", min=2, rich_help_panel=_MODEL,
                                          help="Folds of the repeated cross-validation in the card.")] = 5,
    cv_repeats: Annotated[int, typer.Option("--cv-repeats", min=0, rich_help_panel=_MODEL,
                                            help="Repeats of the cross-validation (0: skip).")] = 20,
    schedule: Annotated[Schedule, typer.Option("--schedule", rich_help_panel=_MODEL,
                                               help="Which scans the model reads.")] = Schedule.first,
    exclude: Annotated[Optional[list[str]], typer.Option(
        "--exclude", metavar="COLUMN", rich_help_panel=_PIPE,
        help="Patients column to keep out of the features (repeatable).")] = None,
    max_missing: Annotated[float, typer.Option("--max-missing", rich_help_panel=_PIPE,
                                               help="Drop features with more than this share missing.")] = 0.2,
    selector: Annotated[Selector, typer.Option("--selector", rich_help_panel=_PIPE,
                                               help="Sequential feature selector.")] = Selector.fast,
    k_features: Annotated[str, typer.Option("--k-features", rich_help_panel=_PIPE,
                                            help="Features to select: a number, 'best' or 'parsimonious'.")] = "8",
    floating: Annotated[bool, typer.Option("--floating/--no-floating", rich_help_panel=_PIPE,
                                           help="Floating selection.")] = False,
    selector_cv: Annotated[int, typer.Option("--selector-cv", rich_help_panel=_PIPE,
                                             help="Folds of the selector's internal CV.")] = 5,
    alpha: Annotated[float, typer.Option("--alpha", rich_help_panel=_PIPE, help="Lasso L1 penalty.")] = 0.3,
    scaler: Annotated[Scaler, typer.Option("--scaler", rich_help_panel=_PIPE, help="Scaling step.")] = Scaler.robust,
    model: Annotated[Regressor, typer.Option("--model", rich_help_panel=_PIPE,
                                             help=_MODEL_HELP)] = Regressor["lasso"],
    fit: FitOpt = FitMethod.monoexp,
    mass_scaling: MassScalingOpt = MassScaling.split,
    s_values: SValuesOpt = None,
    mu_per_cm: MuPerCmOpt = 0.110,
    target_gy: TargetGyOpt = 24.0,
    max_activity_mci: MaxActivityOpt = 1030.0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parallel worker processes.")] = 1,
) -> None:
    """Fit the published one-scan model on a whole cohort and write a safe model file.

    The target is prescribed_activity_mci when the patients table has it, otherwise the
    capped activity computed by the reference dosimetry (the dosimetry options apply).
    Without COHORT_DIR or --patients/--scans the built-in 74-patient cohort is used.
    Writes MODEL.skops (skops, no pickle) and MODEL.card.json (versions, settings, seed,
    input hashes, features with units and training ranges, selected features and
    coefficients, repeated-CV performance, SHA-256 of the model file).
    """
    from onescan.persistence._skops import save_model
    from onescan.studies._clinic import train

    problems = _check_output(out, level)
    ps = _collect(problems, pipeline_settings_from_options, max_missing=max_missing, selector=selector.value,
                  k_features=k_features, floating=floating, selector_cv=selector_cv, alpha=alpha,
                  scaler=scaler.value, model=model.value)
    ds = _collect(problems, dose_settings_from_options, fit=fit, mass_scaling=mass_scaling, s_values=s_values,
                  mu_per_cm=mu_per_cm, target_gy=target_gy, max_activity_mci=max_activity_mci)
    cohort, source = _training_cohort(problems, cohort_dir, patients, scans, exclude)
    if cohort is not None and not problems:
        _check_sizes(problems, len(cohort.patients), interval_folds=interval_folds, cv_folds=cv_folds,
                     cv_repeats=cv_repeats, level=level)
    if problems:
        raise InputError(problems)

    console = Console(stderr=True, highlight=False)
    total = cv_folds * cv_repeats + 1 + interval_folds
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(f"training on {len(cohort.patients)} patients", total=total)
        result = train(cohort, pipeline_settings=ps, dose_settings=ds, seed=seed, interval_level=level,
                       interval_folds=interval_folds, interval_method=interval_method.value,
                       cv_folds=cv_folds, cv_repeats=cv_repeats,
                       schedule=schedule.value, exclude=exclude or (), n_jobs=jobs,
                       progress=lambda k: bar.advance(task, k))
    model_path, card_path = save_model(result, out)
    console.print(_summary(result, source, model_path, card_path, interval_method.value, level))


def _check_output(out: Path, level: float) -> list[Problem]:
    """Problems of the model file name and of the interval level."""
    problems: list[Problem] = []
    if out.suffix.lower() != ".skops":
        problems.append(Problem(str(out), "the model file name must end in .skops (--out)"))
    if out.exists() and out.is_dir():
        problems.append(Problem(str(out), "--out is a folder; give a file name such as model.skops"))
    if not 0.0 < level < 1.0:
        problems.append(Problem("--level", f"must be between 0 and 1, got {level:g}"))
    return problems


def _training_cohort(problems: list[Problem], cohort_dir, patients, scans, exclude):
    """The training cohort (the built-in one without tables) and words for its source; problems appended."""
    if cohort_dir is None and patients is None and scans is None:
        from onescan.studies._simulate import default_cohort

        cohort = _collect(problems, default_cohort)
        source = "built-in 74-patient virtual cohort"
    else:
        from onescan.contract._cohort import rules_for

        rules = rules_for("train", _patient_columns(cohort_dir, patients))
        cohort = _collect(problems, cohort_from_options, cohort_dir, patients, scans, **rules)
        source = str(cohort_dir or patients)
    if cohort is not None and exclude:
        for c in exclude:
            if c not in cohort.patients.columns:
                problems.append(Problem(str(cohort.sources.get("patients", "<patients>")), column=c,
                                        message="--exclude names a column that is not in the patients table"))
    return cohort, source


def _check_sizes(problems: list[Problem], n: int, *, interval_folds: int, cv_folds: int, cv_repeats: int,
                 level: float) -> None:
    """Append a problem for each fold count or interval level that ``n`` patients cannot support."""
    if interval_folds > n:
        problems.append(Problem("--interval-folds", f"{interval_folds} folds need at least {interval_folds} "
                                                    f"patients; the cohort has {n}"))
    if cv_repeats and cv_folds > n:
        problems.append(Problem("--cv-folds", f"{cv_folds} folds need at least {cv_folds} patients; "
                                              f"the cohort has {n}"))
    if level > n / (n + 1.0):
        problems.append(Problem("--level", f"{n} patients support interval levels up to {n / (n + 1):.4f}"))


def _summary(result, source: str, model_path: Path, card_path: Path, interval_method: str, level: float) -> Table:
    """The table printed after training: cohort, target, features, repeated-CV performance, files."""
    card = result.card_
    t = Table(title="onescan train", show_header=False, title_justify="left")
    t.add_column("", style="bold")
    t.add_column("")
    t.add_row("cohort", f"{source} ({card['n_patients']} patients)")
    t.add_row("target", str(card.get("target_source", "")))
    t.add_row("schedule", f"{result.schedule}: {card.get('schedule_description', '')}")
    coefs = card.get("coefficients") or {}
    t.add_row("selected features", ", ".join(f"{f} ({coefs[f]:+.3g})" if f in coefs else f
                                             for f in result.selected_features_) or "none")
    metrics = (card.get("cross_validation") or {}).get("metrics") or {}
    for key, label, unit in (("r2", "repeated-CV r²", ""), ("rmse_mci", "repeated-CV RMSE", " mCi"),
                             ("rmse_mci_clinical", "repeated-CV RMSE, capped", " mCi"),
                             ("within30_pct", "repeated-CV within 30 %", " %")):
        m = metrics.get(key)
        if m and m.get("mean") is not None:
            t.add_row(label, f"{m['mean']:.3g}{unit} (95 % interval {m['low']:.3g}–{m['high']:.3g})")
    t.add_row("interval", f"cross-conformal ({interval_method}), {result.conformal_.n_folds} folds, "
                          f"default level {level:g}")
    t.add_row("model", str(model_path))
    t.add_row("card", str(card_path))
    return t
