"""Reading and writing tables and files (CSV, XLSX, Parquet), atomically.

Every table onescan reads goes through :func:`read_table`; every file it writes
goes through :func:`write_table`, :func:`atomic_write_text` or
:func:`atomic_write_bytes`, which write to a temporary file in the destination
directory and then :func:`os.replace` it, so a failed write never leaves a
half-written file nor clobbers an existing one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
import tempfile
from pathlib import Path

import pandas as pd

from onescan.contract._headers import column_letter as _letter
from onescan.contract._errors import InputError, Problem

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "read_table",
    "read_table_noted",
    "read_csv_dialect",
    "workbook_sheets",
    "write_table",
    "atomic_write_text",
    "atomic_write_bytes",
    "sha256_file",
    "find_cohort_files",
    "table_format",
]

logger = logging.getLogger(__name__)

#: Table formats onescan reads and writes, by (lower-case) file extension.
SUPPORTED_EXTENSIONS: dict[str, str] = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}

#: Columns always read as text (identifiers keep leading zeros: "007" stays "007").
TEXT_COLUMNS: tuple[str, ...] = ("patient_id",)


def table_format(path: str | os.PathLike) -> str | None:
    """Return ``"csv"``, ``"xlsx"`` or ``"parquet"`` for ``path``'s extension, else None.

    Parameters
    ----------
    path : str or path-like
        File name; the extension is compared case-insensitively.

    Returns
    -------
    str or None
        The table format, or None when the extension is not supported.
    """
    return SUPPORTED_EXTENSIONS.get(Path(path).suffix.lower())


def _accepted() -> str:
    return ", ".join(SUPPORTED_EXTENSIONS)


def read_table(path: str | os.PathLike, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV, XLSX or Parquet table, chosen by file extension.

    ``patient_id`` is always read as text, so ``"007"`` stays ``"007"``. Empty
    cells become missing values; no other type coercion happens here (the data
    contract checks and converts the columns: :mod:`onescan.contract._validate`,
    :mod:`onescan.contract._normalise`). A CSV file's separator (``,``, ``;`` or tab),
    decimal comma and encoding (UTF-8 with or without BOM, else cp1252) are detected
    (see :func:`read_table_noted`, which also returns what was detected).

    Parameters
    ----------
    path : str or path-like
        File to read (``.csv``, ``.xlsx`` or ``.parquet``, case-insensitive).
    sheet : str or None
        Worksheet of a workbook (matched ignoring case and blanks); None: the first sheet.

    Returns
    -------
    pandas.DataFrame
        The table with a default ``RangeIndex``; headers stripped of blanks.

    Raises
    ------
    InputError
        If the extension is not supported, the file does not exist, it cannot be parsed
        as a table, or two of its headers are the same name.
    """
    df, notes = read_table_noted(path, sheet=sheet)
    for note in notes:
        logger.info("%s", note)
    return df


def read_table_noted(path: str | os.PathLike, sheet: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """:func:`read_table`, and the notes on what was detected (separator, decimal comma, encoding).

    Returns
    -------
    (pandas.DataFrame, list of str)
        The table and one sentence per detection that differs from a plain UTF-8,
        comma-separated file with decimal points.
    """
    p = Path(path)
    fmt = table_format(p)
    if fmt is None:
        raise InputError(Problem(str(p), f"unsupported file type '{p.suffix or '(none)'}'; "
                                         f"accepted: {_accepted()}"))
    if not p.exists():
        raise InputError(Problem(str(p), "file not found"))
    if not p.is_file():
        raise InputError(Problem(str(p), "not a file"))
    notes: list[str] = []
    try:
        if fmt == "csv":
            df, header, notes = read_csv_dialect(p)
        elif fmt == "xlsx":
            df, header = _read_xlsx(p, sheet)
        else:
            df = pd.read_parquet(p)
            header = list(df.columns)
    except InputError:
        raise
    except Exception as exc:  # any parser failure (ParserError, BadZipFile, ArrowInvalid, ...) = unreadable
        raise InputError(Problem(str(p), f"cannot read this {fmt} file: {type(exc).__name__}: {exc}")) from exc
    header = [str(c).strip() for c in header]
    _same_name_problems(header, str(p) if sheet is None else f"{p} [{sheet}]")
    df.columns = header
    for c in TEXT_COLUMNS:
        if c in df.columns:
            df[c] = _as_text(df[c])
    df = df.reset_index(drop=True)
    logger.debug("read %s: %d rows x %d columns", p.name, len(df), df.shape[1])
    return df, notes


def _same_name_problems(header: list[str], label: str) -> None:
    """InputError naming every group of headers that are the same name (after trimming blanks)."""
    seen: dict[str, list[int]] = {}
    for k, h in enumerate(header):
        seen.setdefault(h, []).append(k)
    problems = [Problem(label, "columns " + " and ".join(f"{h!r} (column {_letter(k)})" for k in ks)
                        + " are the same name: keep one", column=h)
                for h, ks in seen.items() if len(ks) > 1]
    if problems:
        raise InputError(problems)


def workbook_sheets(path: str | os.PathLike) -> list[str]:
    """Names of the worksheets of an XLSX workbook, in order."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _read_xlsx(p: Path, sheet: str | None) -> tuple[pd.DataFrame, list]:
    """A worksheet (by name, ignoring case and blanks; else the first) and its raw header."""
    name = 0
    if sheet is not None:
        names = {s.strip().lower(): s for s in workbook_sheets(p)}
        if sheet.strip().lower() not in names:
            raise InputError(Problem(str(p), f"no sheet named {sheet!r} (sheets found: "
                                             + ", ".join(names.values()) + ")"))
        name = names[sheet.strip().lower()]
    raw = pd.read_excel(p, sheet_name=name, header=None, nrows=1, engine="openpyxl")
    header = [("" if v is None or (isinstance(v, float) and v != v) else v) for v in raw.iloc[0].tolist()] \
        if len(raw) else []
    df = pd.read_excel(p, sheet_name=name, dtype=_text_dtypes_by_position(header), engine="openpyxl")
    if len(header) != df.shape[1]:
        header = list(df.columns)
    return df, header


#: Candidate CSV separators, in the order a tie is broken.
CSV_SEPARATORS: tuple[str, ...] = (",", ";", "\t")
_SEP_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_COMMA_DECIMAL = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
_POINT_DECIMAL = re.compile(r"^\s*[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\s*$")


def read_csv_dialect(p: Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    """A CSV file as clinics save it: encoding, separator and decimal mark detected.

    UTF-8 (with or without BOM) is tried first, then cp1252 (Windows spreadsheets). The
    separator is the candidate of :data:`CSV_SEPARATORS` found most often in the header
    line (outside quotes). With ``;`` or tab separators, cells like ``1,62`` mean decimal
    commas when no cell has a decimal point.

    Returns
    -------
    (pandas.DataFrame, list of str, list of str)
        The table (identifier columns as text), the header as written (duplicates kept),
        and the notes on what was detected.
    """
    data = p.read_bytes()
    notes: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        notes.append(f"{p.name}: not UTF-8; read as cp1252 (Windows)")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = {s: _count_outside_quotes(first, s) for s in CSV_SEPARATORS}
    sep = max(CSV_SEPARATORS, key=lambda s: (counts[s], -CSV_SEPARATORS.index(s)))
    if counts[sep] == 0:
        sep = ","
    header = next(csv.reader([first], delimiter=sep, skipinitialspace=True), []) if first else []
    decimal = "."
    if sep != ",":
        cells = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, skipinitialspace=True, keep_default_na=False)
        values = [v for col in cells.columns for v in cells[col].tolist()]
        n_comma = sum(bool(_COMMA_DECIMAL.match(v)) for v in values)
        n_point = sum(bool(_POINT_DECIMAL.match(v)) for v in values)
        if n_comma and not n_point:
            decimal = ","
    if sep != "," or decimal != ".":
        notes.append(f"{p.name}: {_SEP_NAMES[sep]}-separated"
                     + (", decimal commas (1,5 = 1.5)" if decimal == "," else ""))
    df = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal, skipinitialspace=True,
                     dtype=_text_dtypes_by_position(header))
    return df, header, notes


def _count_outside_quotes(line: str, sep: str) -> int:
    n, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            n += 1
    return n


def _text_dtypes_by_position(header) -> dict:
    """dtype mapping (by column position) reading the identifier columns as text; a header is
    an identifier after stripping blanks and folding (``Patient ID``)."""
    from onescan.contract._headers import fold_header

    return {k: "string" for k, c in enumerate(header) if fold_header(c) in TEXT_COLUMNS}


def _as_text(s: pd.Series) -> pd.Series:
    """Identifiers as stripped strings; integral floats lose their '.0' (Parquet/XLSX ints)."""
    def conv(v):
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
            return pd.NA
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v).strip()

    return pd.Series([conv(v) for v in s.tolist()], index=s.index, dtype="string")


def _default_file_mode() -> int:
    """The mode a new file gets from ``open()`` under the current umask (e.g. 0o644)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` on a temp file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp creates the file 0600; give it the permissions a plain open() would.
        os.chmod(tmp, _default_file_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, then rename).

    Parameters
    ----------
    path : str or path-like
        Destination; parent directories are created.
    data : bytes
        Content.

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    p = Path(path)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    _atomic_write(p, write)
    return p


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (temp file in the same directory, then rename).

    Parameters
    ----------
    path : str or path-like
        Destination; parent directories are created.
    text : str
        Content.
    encoding : str, default "utf-8"
        Text encoding.

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    return atomic_write_bytes(path, text.encode(encoding))


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table atomically as CSV, XLSX or Parquet, chosen by extension (no index).

    Parameters
    ----------
    df : pandas.DataFrame
        Table to write.
    path : str or path-like
        Destination (``.csv``, ``.xlsx`` or ``.parquet``, case-insensitive); parent
        directories are created.

    Returns
    -------
    pathlib.Path
        The destination path.

    Raises
    ------
    InputError
        If the extension is not supported (nothing is written).
    """
    p = Path(path)
    fmt = table_format(p)
    if fmt is None:
        raise InputError(Problem(str(p), f"unsupported output file type '{p.suffix or '(none)'}'; "
                                         f"accepted: {_accepted()}"))

    def write(tmp: Path) -> None:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        elif fmt == "xlsx":
            df.to_excel(tmp, index=False, engine="openpyxl")
        else:
            df.to_parquet(tmp, index=False)

    _atomic_write(p, write)
    logger.debug("wrote %s: %d rows", p.name, len(df))
    return p


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes.

    Parameters
    ----------
    path : str or path-like
        File to hash.
    chunk_size : int, default 1 MiB
        Read size in bytes.

    Returns
    -------
    str
        64 lower-case hex digits.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            h.update(chunk)
    return h.hexdigest()


def find_cohort_files(folder: str | os.PathLike, require_scans: bool = True) -> tuple[Path, Path | None]:
    """Find ``patients.*`` and ``scans.*`` (a supported extension) in a cohort folder.

    Parameters
    ----------
    folder : str or path-like
        Directory holding exactly one ``patients`` table and one ``scans`` table.
    require_scans : bool, default True
        When False, a folder without a scans table is accepted (scans path None).

    Returns
    -------
    (pathlib.Path, pathlib.Path or None)
        Paths of the patients and scans tables.

    Raises
    ------
    InputError
        If the folder does not exist, or either table is absent or present in more
        than one format (all problems reported together).
    """
    d = Path(folder)
    if not d.exists():
        raise InputError(Problem(str(d), "cohort folder not found"))
    if not d.is_dir():
        raise InputError(Problem(str(d), "not a folder (give a cohort folder holding patients.* and scans.*, "
                                         "or use --patients FILE --scans FILE)"))
    problems: list[Problem] = []
    found: dict[str, Path] = {}
    for stem in ("patients", "scans"):
        hits = sorted(f for f in d.iterdir()
                      if f.is_file() and f.stem.lower() == stem and table_format(f) is not None)
        if not hits and (stem == "patients" or require_scans):
            problems.append(Problem(str(d), f"no {stem} table: expected one of "
                                            + ", ".join(f"{stem}{e}" for e in SUPPORTED_EXTENSIONS)))
        elif len(hits) > 1:
            problems.append(Problem(str(d), f"ambiguous {stem} table: found "
                                            + ", ".join(h.name for h in hits) + "; keep only one"))
        elif hits:
            found[stem] = hits[0]
    if problems:
        raise InputError(problems)
    return found["patients"], found.get("scans")
