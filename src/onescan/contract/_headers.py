"""Column headers as people type them (SPEC §1.2): folded to the contract's snake_case names.

``Patient ID`` → ``patient_id``, ``Liver mass (g)`` → ``liver_mass_g``, ``Dosimetric activity
(mCi)`` → ``dosimetric_activity_mci``, ``AST (U/L)`` → ``ast_u_per_l``. Two headers that are
the same name (exactly, or after folding) are an error naming both; a missing required column
gets a "did you mean" from the columns found.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

from onescan.contract._errors import Problem

__all__ = ["fold_header", "fold_headers", "did_you_mean", "columns_found", "column_letter"]

#: Characters of units spelled out before the generic folding ("%" → "pct", "/" → "per").
_SPELLED = (("%", " pct "), ("/", " per "), ("µ", "u"), ("μ", "u"), ("²", "2"), ("³", "3"), ("#", " n "),
            ("+", " plus "), ("ß", "ss"))


def fold_header(name) -> str:
    """A header folded to snake_case: case, blanks and punctuation to ``_``, a bracketed unit to
    its suffix, accents dropped.

    Parameters
    ----------
    name : object
        The header as read.

    Returns
    -------
    str
        ``"Liver mass (g)"`` → ``"liver_mass_g"``; an already snake_case name is returned unchanged.
    """
    s = str(name).strip()
    if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", s):
        return s
    for a, b in _SPELLED:
        s = s.replace(a, b)
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", s) if not s.isupper() and " " not in s and "_" not in s else s
    s = re.sub(r"[^0-9a-zA-Z]+", "_", s.lower()).strip("_")
    return s or str(name).strip()


def fold_headers(columns, label: str) -> tuple[list[str], dict[str, str], list[Problem]]:
    """Fold every header; report renamings and same-name columns.

    Parameters
    ----------
    columns : sequence
        Headers as read (duplicates kept as they are in the file).
    label : str
        File name used in the messages.

    Returns
    -------
    (list of str, dict of str to str, list of Problem)
        The folded names (same order), ``{original: folded}`` for every header that changed,
        and one problem per group of headers that are the same name.
    """
    raw = [str(c).strip() for c in columns]
    folded = [fold_header(c) for c in raw]
    renamed = {r: f for r, f in zip(raw, folded) if r != f}
    groups: dict[str, list[int]] = {}
    for k, f in enumerate(folded):
        groups.setdefault(f, []).append(k)
    problems = []
    for f, idx in groups.items():
        if len(idx) < 2:
            continue
        shown = " and ".join(f"{str(columns[k])!r} (column {column_letter(k)})" for k in idx)
        how = "the same name" if len({raw[k] for k in idx}) == 1 else f"the same name after folding to {f!r}"
        problems.append(Problem(label, f"columns {shown} are {how}: keep one", column=f))
    return folded, renamed, problems


def column_letter(k: int) -> str:
    """Spreadsheet column letter of 0-based position ``k`` (0 → A, 26 → AA)."""
    s = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        s = chr(65 + r) + s
    return s


def did_you_mean(wanted: str, found) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``found`` to ``wanted``, else ``""``."""
    found = [str(c) for c in found]
    hits = difflib.get_close_matches(wanted, found, n=1, cutoff=0.6)
    if not hits:
        by_fold = {fold_header(c): c for c in found}
        hits = [by_fold[h] for h in difflib.get_close_matches(wanted, list(by_fold), n=1, cutoff=0.6)]
    return f" (did you mean {hits[0]!r}?)" if hits else ""


def columns_found(found, limit: int = 30) -> str:
    """``"columns found: a, b, …"`` (at most ``limit`` names)."""
    found = [str(c) for c in found]
    shown = ", ".join(found[:limit]) + (f", … ({len(found) - limit} more)" if len(found) > limit else "")
    return f"columns found: {shown}" if found else "no columns found"
