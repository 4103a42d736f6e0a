"""The typer application object and the shared error handling."""

from __future__ import annotations

import logging
import os
import sys

import typer
from rich.console import Console

from onescan.contract._errors import InputError

app = typer.Typer(
    name="onescan",
    help="One-scan prediction of I-131 apamistamab (Iomab-B) therapeutic activity.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def report_input_error(exc: InputError) -> None:
    """Print every problem of ``exc`` on stderr, one per line."""
    n = len(exc.problems)
    err_console.print(f"[bold red]error:[/] {n} problem{'s' if n != 1 else ''} in the input:", markup=True)
    for p in exc.problems:
        err_console.print(f"  - {p}", markup=False)


def _quiet_solver_warnings() -> None:
    """Keep scikit-learn's per-fit ConvergenceWarning off the terminal.

    mlxtend's selector (``--selector mlxtend``) fits thousands of tiny Lassos with
    scikit-learn's default tolerance, and each unconverged one prints a warning, in this
    process and in every joblib worker. The fits are what the reference implementation
    does; the flood helps nobody. ``ONESCAN_WARNINGS=1`` keeps them. joblib workers get
    the filter through scikit-learn's ``Parallel``, which carries the warning filters.
    """
    if os.environ.get("ONESCAN_WARNINGS"):
        return
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def main() -> None:
    """Console-script entry point with onescan's exit-status policy.

    typer's standalone mode handles ``--help`` and usage errors (exit 2) itself;
    here :class:`InputError` becomes a problem list on stderr and exit 2, and any
    other exception a one-line internal error and exit 1.
    """
    logging.basicConfig(level=os.environ.get("ONESCAN_LOGLEVEL", "WARNING"),
                        format="%(levelname)s %(name)s: %(message)s")
    _quiet_solver_warnings()
    try:
        app()
    except InputError as exc:
        report_input_error(exc)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("aborted", markup=False)
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("ONESCAN_DEBUG"):
            raise
        err_console.print(f"internal error: {type(exc).__name__}: {exc}", markup=False)
        err_console.print("(set ONESCAN_DEBUG=1 to see the traceback; please report it)", markup=False)
        sys.exit(1)


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Show the onescan version and exit.", is_eager=True),
) -> None:
    """One-scan prediction of I-131 apamistamab (Iomab-B) therapeutic activity."""
    if version:
        from .. import __version__

        typer.echo(f"onescan {__version__}")
        raise typer.Exit(0)
