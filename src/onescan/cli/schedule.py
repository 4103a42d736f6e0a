"""``onescan schedule``: which scans can a clinic drop? (issue 7)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from onescan.contract._errors import InputError, Problem
from ._app import app
from ._options import (
    Selector,
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

_STUDY = "Study"


def _parse_sizes(text: str) -> tuple[list[int], list[Problem]]:
    sizes, problems = [], []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            v = int(part)
        except ValueError:
            problems.append(Problem("--sizes", f"not a whole number of patients: {part!r}"))
            continue
        if v < 10:
            problems.append(Problem("--sizes", f"a virtual cohort needs at least 10 patients, got {v}"))
        sizes.append(v)
    if not sizes and not problems:
        problems.append(Problem("--sizes", "give at least one cohort size, e.g. 74,150,300,1000"))
    return sizes, problems


@app.command("schedule")
def schedule(
    cohort_dir: CohortDirArg = None,
    patients: PatientsOpt = None,
    scans: ScansOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR",
                                      help="Output folder (report.html, metrics.json, schedule_table.csv, figures/).")]
    = Path("onescan-schedule"),
    virtual_cohorts: Annotated[int, typer.Option(
        "--virtual-cohorts", min=0, rich_help_panel=_STUDY,
        help="Virtual training cohorts per size for the sample-size study (0: skip it).")] = 0,
    sizes: Annotated[str, typer.Option(
        "--sizes", metavar="N,N,...", rich_help_panel=_STUDY,
        help="Virtual training-cohort sizes (patients), comma-separated.")] = "74,150,300,1000",
    test_patients: Annotated[int, typer.Option(
        "--test-patients", min=20, rich_help_panel=_STUDY,
        help="Patients in the independent virtual test cohort of the sample-size study.")] = 1000,
    repeats: Annotated[int, typer.Option(
        "--repeats", min=0, rich_help_panel=_STUDY,
        help="Repeats of k-fold CV on the cohort (0: skip the cohort study).")] = 20,
    folds: Annotated[int, typer.Option("--folds", min=2, rich_help_panel=_STUDY, help="CV folds.")] = 5,
    seed: Annotated[int, typer.Option("--seed", rich_help_panel=_STUDY, help="Seed of CV splits and virtual cohorts.")]
    = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", rich_help_panel=_STUDY,
                                      help="Parallel workers (joblib; -1 = every core).")] = 1,
    selector: Annotated[Selector, typer.Option("--selector", case_sensitive=False, rich_help_panel=_STUDY,
                                               help="Feature selector of the ML models.")] = Selector.fast,
    fit: FitOpt = FitMethod.monoexp,
    mass_scaling: MassScalingOpt = MassScaling.split,
    s_values: SValuesOpt = None,
    mu_per_cm: MuPerCmOpt = 0.110,
    target_gy: TargetGyOpt = 24.0,
    max_activity_mci: MaxActivityOpt = 1030.0,
) -> None:
    """Compare the prescribed activity from subsets of the scans with full dosimetry.

    Methods: all scans (reference), first scan only (single-time-point with population half-life),
    24 h only (Hänscheid; population STP), first + 24 h (two-point fit), and the published LASSO and
    the hybrid (clearance ML + MIRD) model on the first scan and on first + 24 h. Default input: the
    built-in 74-patient cohort. With --virtual-cohorts K, the same comparison on K virtual cohorts of
    each --sizes, tested on an independent virtual cohort.
    """
    from onescan.models._pipeline import PipelineSettings
    from onescan.report import write_schedule_outputs
    from onescan.studies._schedule import ScheduleSettings, schedule_study

    problems: list[Problem] = []
    size_list, size_problems = _parse_sizes(sizes)
    problems.extend(size_problems)
    if jobs == 0 or jobs < -1:
        problems.append(Problem("--jobs", f"must be a positive number of workers or -1, got {jobs}"))
    if repeats == 0 and virtual_cohorts == 0:
        problems.append(Problem("--repeats", "nothing to do: --repeats 0 and --virtual-cohorts 0"))
    if out.exists() and not out.is_dir():
        problems.append(Problem("--out", f"{out} exists and is not a folder"))
    dose_settings = None
    try:
        dose_settings = dose_settings_from_options(fit=fit, mass_scaling=mass_scaling, s_values=s_values,
                                                   mu_per_cm=mu_per_cm, target_gy=target_gy,
                                                   max_activity_mci=max_activity_mci)
    except InputError as exc:
        problems.extend(exc.problems)
    cohort = None
    if repeats > 0 and (cohort_dir is not None or patients is not None or scans is not None):
        try:
            cohort = cohort_from_options(cohort_dir, patients, scans, need_dosimetry=True, min_liver_points=2)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    if cohort is not None:
        # every input path must stay untouched
        for src in cohort.sources.values():
            p = Path(str(src))
            if p.is_file() and p.resolve().parent == out.resolve():
                raise InputError(Problem("--out", f"refusing to write into the folder holding the input {p}"))

    settings = ScheduleSettings(folds=folds, repeats=repeats, seed=seed, virtual_cohorts=virtual_cohorts,
                                sizes=tuple(size_list), test_patients=test_patients)
    pipeline_settings = PipelineSettings(selector=selector.value)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:

        def progress(description: str, total: int):
            task = bar.add_task(description, total=total)
            return lambda k: bar.advance(task, k)

        result = schedule_study(cohort, settings, pipeline_settings=pipeline_settings,
                                dose_settings=dose_settings, n_jobs=jobs, progress=progress)
    paths = write_schedule_outputs(result, out)
    stdout = Console()
    if not stdout.is_terminal:
        stdout = Console(width=150)
    _print_summary(result.metrics, paths, stdout)


def _print_summary(metrics: dict, paths: dict, console: Console) -> None:
    cv = metrics.get("cohort_cv")
    if cv:
        t = Table(title=f"Scan subsets vs all scans: {cv['n_patients']} patients, "
                        f"{metrics['settings']['folds']}-fold CV × {metrics['settings']['repeats']} (mean [95% interval])",
                  title_justify="left")
        for col in ("method", "scans", "RMSE mCi", "bias mCi", "within 20%", "overdose %"):
            t.add_column(col, justify="left" if col in ("method", "scans") else "right")
        for meth, met in cv["summary"].items():
            info = metrics["methods"][meth]

            def cell(k, d=1):
                c = met[k]
                if c["mean"] is None:
                    return "–"
                return f"{c['mean']:.{d}f} [{c['low']:.{d}f}–{c['high']:.{d}f}]"

            t.add_row(meth, info["scans"], cell("rmse_mci"), cell("bias_mci"), cell("within20_pct"),
                      cell("overdose_pct"))
        console.print(t)
    vc = metrics.get("virtual")
    if vc:
        t = Table(title=f"Virtual cohorts ({vc['n_cohorts']} per size; test on {vc['test_patients']}): RMSE mCi / "
                        "overdose %", title_justify="left")
        t.add_column("method")
        for s in vc["sizes"]:
            t.add_column(f"n={s}", justify="right")
        for meth in metrics["methods"]:
            row = [meth]
            for s in vc["sizes"]:
                c = vc["summary"][str(s)][meth]
                r, o = c["rmse_mci"]["mean"], c["overdose_pct"]["mean"]
                row.append("–" if r is None else f"{r:.0f} / {o:.1f}")
            t.add_row(*row)
        console.print(t)
        console.print(f"virtual cohorts took {vc['elapsed_s'] / 60:.1f} min")
    console.print(f"report: {paths['report']}")
