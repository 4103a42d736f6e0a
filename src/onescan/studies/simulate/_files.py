"""Writing a simulated cohort, and the built-in default cohort shipped in ``onescan/data/cohort``."""

from __future__ import annotations

from pathlib import Path

from ._generator import SimulatedCohort

#: The package folder ``onescan`` (this module is ``onescan/studies/simulate/_files.py``).
_PACKAGE_DIR = Path(__file__).resolve().parents[2]


def write_cohort(sim: SimulatedCohort, folder: str | Path, fmt: str = "csv") -> list[Path]:
    """Write ``patients``, ``scans`` and ``truth`` tables of ``sim`` into ``folder``.

    Each file is written atomically (:func:`onescan.contract._io.write_table`); the float values
    are already rounded by :func:`simulate_cohort`, so the same cohort always gives the
    same bytes.

    Parameters
    ----------
    sim : SimulatedCohort
        The cohort to write.
    folder : str or path-like
        Destination folder (created if needed).
    fmt : {"csv", "parquet", "xlsx"}, default "csv"
        File format.

    Returns
    -------
    list of pathlib.Path
        The three files written.
    """
    from onescan.contract._io import write_table

    folder = Path(folder)
    return [write_table(df, folder / f"{name}.{fmt}")
            for name, df in (("patients", sim.patients), ("scans", sim.scans), ("truth", sim.truth))]


def default_cohort_paths() -> tuple[Path, Path]:
    """Paths of the built-in 74-patient cohort shipped with onescan.

    Returns
    -------
    tuple of pathlib.Path
        ``(patients.csv, scans.csv)`` inside the installed package
        (``onescan/data/cohort``).
    """
    folder = _PACKAGE_DIR / "data" / "cohort"
    return folder / "patients.csv", folder / "scans.csv"


def default_cohort():
    """Load the built-in 74-patient virtual SIERRA cohort through the data contract.

    Returns
    -------
    onescan.contract._cohort.Cohort
        Validated, canonical tables; ``sources`` are the package file paths.
    """
    from onescan.contract._cohort import load_cohort

    p, s = default_cohort_paths()
    return load_cohort(p, s)
