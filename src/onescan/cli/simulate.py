"""``onescan simulate``: write a virtual SIERRA cohort (SPEC §5)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from onescan.contract._errors import InputError, Problem
from ._app import app
from ._options import (
    collect as _collect,
    DOSE_DEFAULTS,
    FitOpt,
    MassScalingOpt,
    MaxActivityOpt,
    MuPerCmOpt,
    SValuesOpt,
    TargetGyOpt,
    dose_settings_from_params,
)

#: Largest cohort the command writes (memory: about 3 kB per patient in scans and features).
MAX_PATIENTS = 1_000_000


class TableFormat(str, Enum):
    """File format of the written tables."""

    csv = "csv"
    parquet = "parquet"
    xlsx = "xlsx"


@app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write patients.*, scans.* and truth.* into.",
                                      show_default=False)],
    n: Annotated[int, typer.Option("--n", help="Number of virtual patients.")] = 74,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed and n give the same files).")] = 0,
    fmt: Annotated[TableFormat, typer.Option("--format", help="Table file format.")] = TableFormat.csv,
    force: Annotated[bool, typer.Option("--force", help="Write into --out even if it already holds files.")] = False,
    fit: FitOpt = DOSE_DEFAULTS.fit,
    mass_scaling: MassScalingOpt = DOSE_DEFAULTS.mass_scaling,
    s_values: SValuesOpt = DOSE_DEFAULTS.s_values,
    mu_per_cm: MuPerCmOpt = DOSE_DEFAULTS.mu_per_cm,
    target_gy: TargetGyOpt = DOSE_DEFAULTS.target_gy,
    max_activity_mci: MaxActivityOpt = DOSE_DEFAULTS.max_activity_mci,
) -> None:
    """Simulate a virtual SIERRA cohort: patients, three conjugate-view scans each, and the hidden truth.

    Writes patients.<format> (candidate features and the capped prescribed activity), scans.<format> (SPEC §1.2 counts) and truth.<format> (true kinetics, uncapped prescribed activity) into --out. The prescribed activity is onescan's own dosimetry of the noisy scans (the dosimetry options apply). See docs/virtual_cohort.md for every distribution and its source.
    """
    from onescan.studies.simulate import simulate_cohort, write_cohort

    problems: list[Problem] = []
    if n < 1 or n > MAX_PATIENTS:
        problems.append(Problem("--n", f"number of patients must be between 1 and {MAX_PATIENTS:,}, got {n}"))
    if seed < 0:
        problems.append(Problem("--seed", f"seed must be ≥ 0, got {seed}"))
    if out.exists() and not out.is_dir():
        problems.append(Problem(str(out), "--out exists and is a file; give a folder"))
    elif out.is_dir() and any(out.iterdir()) and not force:
        problems.append(Problem(str(out), "--out is a folder that already holds files; "
                                          "choose an empty or new folder, or add --force"))
    settings = _collect(problems, dose_settings_from_params, locals())
    if problems:
        raise InputError(problems)

    console = Console(stderr=True, highlight=False)
    with console.status(f"simulating {n} virtual patients …"):
        sim = simulate_cohort(n, seed=seed, dose_settings=settings)
    with console.status("writing tables …"):
        written = write_cohort(sim, out, fmt.value)

    y = sim.patients["prescribed_activity_mci"].to_numpy(dtype=float)
    cap = settings.max_activity_mci
    t = Table(title="onescan simulate", show_header=False, title_justify="left")
    t.add_column("", style="bold")
    t.add_column("")
    t.add_row("patients / scan rows", f"{len(sim.patients)} / {len(sim.scans)}")
    t.add_row("seed", str(seed))
    t.add_row("candidate feature columns", str(sim.patients.shape[1] - 2))
    t.add_row("prescribed activity (capped)", f"mean {np.nanmean(y):.1f} mCi, SD {np.nanstd(y):.1f} mCi")
    t.add_row(f"at the {cap:g} mCi cap", f"{np.mean(y >= cap - 1e-9):.1%}")
    t.add_row("written", ", ".join(str(p) for p in written))
    Console(highlight=False).print(t)
