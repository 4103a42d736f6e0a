"""``onescan reproduce``: the seed study end to end (SPEC §3–§4), thin over :mod:`onescan.studies._reproduce`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from onescan.contract._errors import InputError, Problem
from onescan.contract._organs import limiting_organ
from ._app import app
from ._options import (
    pipeline_settings_from_options,
    Selector,
    collect as _collect,
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

_MODEL = "Model"
_EVAL = "Evaluation"
_ORGAN = limiting_organ()


@app.command("reproduce")
def reproduce(
    cohort_dir: CohortDirArg = None,
    patients: PatientsOpt = None,
    scans: ScansOpt = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", metavar="DIR",
        help="Folder for report.html, metrics.json, predictions.csv and figures/ (created if needed).")
    ] = Path("onescan-results"),
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the 70/30 split and of the repeated CV.")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=-1, rich_help_panel=_EVAL,
                                      help="Parallel worker processes for the cross-validation (-1: all cores).")] = -1,
    folds: Annotated[int, typer.Option("--folds", min=3, rich_help_panel=_EVAL,
                                       help="Folds of the repeated k-fold cross-validation (at least 3: the "
                                            "nested cross-validation of the intervals leaves two out).")] = 5,
    repeats: Annotated[int, typer.Option("--repeats", min=1, rich_help_panel=_EVAL,
                                         help="Repeats of the k-fold cross-validation.")] = 20,
    ncv_repeats: Annotated[int, typer.Option(
        "--ncv-repeats", min=1, rich_help_panel=_EVAL,
        help="Repetitions of the nested cross-validation that gives the metrics' 95% intervals and the paired "
             "comparisons (each: folds×(folds−1)/2 extra fits of every method).")] = 10,
    test_size: Annotated[float, typer.Option("--test-size", min=0.05, max=0.5, rich_help_panel=_EVAL,
                                             help="Test share of the published split.")] = 0.3,
    selector: Annotated[Selector, typer.Option("--selector", case_sensitive=False, rich_help_panel=_MODEL,
                                               help="Sequential feature selector: onescan's fast one, "
                                                    "mlxtend's, or none.")] = Selector.fast,
    k_features: Annotated[Optional[str], typer.Option(
        "--k-features", metavar="K", rich_help_panel=_MODEL,
        help="Features to select: a number, 'best' or 'parsimonious'.")] = "8",
    alpha: Annotated[float, typer.Option("--alpha", rich_help_panel=_MODEL, help="Lasso L1 penalty.")] = 0.3,
    max_missing: Annotated[float, typer.Option("--max-missing", rich_help_panel=_MODEL,
                                               help="Drop features missing in more than this share of "
                                                    "training patients.")] = 0.2,
    exclude: Annotated[Optional[list[str]], typer.Option(
        "--exclude", metavar="COLUMN", rich_help_panel=_MODEL,
        help="A patients column not to use as a feature (repeatable).")] = None,
    hybrid: Annotated[bool, typer.Option(
        "--hybrid/--no-hybrid", rich_help_panel=_MODEL,
        help="Also fit, cross-validate and report onescan's physics-informed hybrid model (learnt "
             f"{_ORGAN.label} clearance + MIRD dosimetry; not in the paper) beside the published one. "
             "--no-hybrid is faster.")
    ] = True,
    fit: FitOpt = FitMethod.monoexp,
    mass_scaling: MassScalingOpt = MassScaling.split,
    s_values: SValuesOpt = None,
    mu_per_cm: MuPerCmOpt = 0.110,
    target_gy: TargetGyOpt = 24.0,
    max_activity_mci: MaxActivityOpt = 1030.0,
) -> None:
    """Reproduce the published one-scan study and evaluate it honestly.

    Without input files, runs on onescan's built-in virtual cohort of 74 patients.
    Fits the published LASSO pipeline on the seeded 70/30 split, compares it with the
    body-mass, liver-mass and single-time-point baselines and with onescan's physics-informed
    hybrid model (unless --no-hybrid), cross-validates everything
    (--folds × --repeats), and writes an HTML report with the paper's table beside
    this run's numbers, metrics.json, predictions.csv and figures/ into --out.
    """
    from onescan.report import check_outputs, write_outputs
    from onescan.studies._reproduce import reproduce as run

    problems: list[Problem] = []
    ds = _collect(problems, dose_settings_from_options, fit=fit, mass_scaling=mass_scaling, s_values=s_values,
                  mu_per_cm=mu_per_cm, target_gy=target_gy, max_activity_mci=max_activity_mci)
    if ds is not None and ds.s_values is not None:
        _collect(problems, ds.s_table)
    ps = _collect(problems, pipeline_settings_from_options, k_features=k_features, selector=selector.value, alpha=alpha,
                            max_missing=max_missing)
    if jobs == 0:
        problems.append(Problem("--jobs", "must be a positive number of workers or -1 for all cores"))
    if cohort_dir is None and patients is None and scans is None:
        from onescan.studies._simulate import default_cohort

        cohort = default_cohort()
        label = "onescan's built-in virtual SIERRA cohort"
    else:
        cohort = _collect(problems, cohort_from_options, cohort_dir, patients, scans, need_dosimetry=True)
        label = f"the cohort in {cohort_dir}" if cohort_dir is not None else "the given patients and scans tables"
    if cohort is not None:
        _collect(problems, check_outputs, out, cohort)
    if problems:
        raise InputError(problems)

    console = Console(stderr=True, highlight=False)
    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, advance: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], advance=advance, total=total)

        result = run(cohort, pipeline_settings=ps, dose_settings=ds, seed=seed, folds=folds, repeats=repeats,
                     n_jobs=jobs, test_size=test_size, exclude=tuple(exclude or ()), cohort_label=label,
                     hybrid=hybrid, ncv_repeats=ncv_repeats, progress=progress)
        write_outputs(result, out, progress=progress)
    _print_summary(result.metrics, console, folds, repeats)
    console.print(f"wrote {out / 'report.html'} and metrics.json, predictions.csv, figures/ "
                  f"in {time.perf_counter() - t0:.1f} s", markup=False)


def _print_summary(m: dict, console: Console, folds: int, repeats: int) -> None:
    """The published split's and the CV's headline numbers beside the paper's, and the notes."""
    from onescan.studies._reproduce import PAPER

    lasso = m["split"]["metrics"]["lasso"]
    cv = m["cv"]["summary"]["lasso"]
    console.print(
        f"published split ({m['split']['n_test']} test patients): LASSO r² {lasso['r2']:.2f}, "
        f"RMSE {lasso['rmse_mci']:.1f} mCi, {lasso['within30_pct']:.1f}% within 30% "
        f"(paper: r² {PAPER['lasso']['r2']:.2f}, RMSE {PAPER['lasso']['rmse_mci']:.1f} mCi, "
        f"{PAPER['lasso']['within30_pct']:.1f}%)", markup=False)
    console.print(
        f"repeated CV {folds}×{repeats}: r² {cv['r2']['mean']:.2f} [{cv['r2']['low']:.2f}, {cv['r2']['high']:.2f}], "
        f"RMSE {cv['rmse_mci']['mean']:.1f} [{cv['rmse_mci']['low']:.1f}, {cv['rmse_mci']['high']:.1f}] mCi "
        "(mean over repeats [95% nested cross-validation interval])", markup=False)
    if "hybrid" in m["split"]["metrics"]:
        h, hc = m["split"]["metrics"]["hybrid"], m["cv"]["summary"]["hybrid"]
        console.print(
            f"hybrid model (onescan's addition): split r² {h['r2']:.2f}, RMSE {h['rmse_mci']:.1f} mCi, "
            f"{h['within30_pct']:.1f}% within 30%, clinical RMSE {h['rmse_mci_clinical']:.1f} mCi; CV RMSE "
            f"{hc['rmse_mci']['mean']:.1f} [{hc['rmse_mci']['low']:.1f}, {hc['rmse_mci']['high']:.1f}] mCi, clinical "
            f"{hc['rmse_mci_clinical']['mean']:.1f} [{hc['rmse_mci_clinical']['low']:.1f}, "
            f"{hc['rmse_mci_clinical']['high']:.1f}] mCi (predictions capped like the target)", markup=False)
    _print_findings(m, console)
    for note in m.get("notes", []):
        console.print(f"note: {note}", markup=False)


def _print_findings(m: dict, console: Console) -> None:
    """The paired comparisons that matter, worded by their 95% interval (never "better" when it contains 0)."""
    from onescan.report._reproduce_report import finding

    c = m.get("comparison") or {}
    pairs = {(p["a"], p["b"], p["scale"]): p for p in c.get("pairs", [])}
    keys = [("lasso", c.get("best_baseline"), "raw")]
    if "hybrid" in m["split"]["metrics"]:
        keys += [("hybrid", "lasso", "clinical"), ("hybrid", "lasso", "raw")]
    for key in keys:
        if key in pairs:
            console.print(finding(pairs[key], m.get("method_short")), markup=False)
