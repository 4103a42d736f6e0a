"""Errors that onescan reports to its users.

Bad input is never a traceback: every check collects :class:`Problem` records and
raises one :class:`InputError` that lists them all. The command line prints each
problem on its own line on stderr and exits with status 2.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "InputError"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input.

    Parameters
    ----------
    file : str
        File name (or a label such as ``"--target-gy"`` for an option).
    message : str
        What is wrong, in words a physicist understands.
    row : int or None
        Row number as a spreadsheet shows it (header is row 1, first data row is 2).
    column : str or None
        Column name, if the problem belongs to one column.
    patient_id : str or None
        Patient identifier, if known.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    patient_id: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.patient_id is not None:
            where.append(f"patient {self.patient_id}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class InputError(Exception):
    """Raised when user input is unusable; carries every problem found.

    Parameters
    ----------
    problems : list of Problem
        All problems found (never empty).
    """

    def __init__(self, problems: list[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
