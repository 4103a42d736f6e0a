"""Decay data and organ self-dose S-values for MIRD dosimetry (SPEC §2.4).

Nothing here is a hand-typed physical constant:

* half-lives come from :mod:`radioactivedecay` (its default dataset is ICRP
  Publication 107; I-131: 8.0207 d);
* the energy conversion 1 MeV = 1.602176634e-13 J comes from :mod:`scipy.constants`
  (CODATA 2018, exact since the 2019 SI redefinition);
* the mean energies per decay (Δ), the reference liver mass and the photon absorbed
  fraction live in the package data file ``data/s_values.csv`` together with the
  source of each number. A user can supply their own file (e.g. OLINDA/EXM or
  MIRDcalc values) with the same columns.

S-value file columns
--------------------
``nuclide, source, target, reference_mass_g`` (required) and either
``s_np_mgy_per_mbq_s, s_p_mgy_per_mbq_s`` (non-penetrating / penetrating self-dose
S-values of the reference organ, mGy/(MBq·s)) or ``delta_np_mev, delta_p_mev, phi``
(mean energy per decay in MeV and photon self-absorbed fraction), or both — in
which case they must agree to 0.5 %. ``source_text`` (where the numbers come from)
is optional but recommended.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import constants

from onescan.contract._errors import InputError, Problem
from onescan.contract._organs import limiting_organ

__all__ = [
    "SValueTable",
    "MGY_PER_MBQ_S_PER_MEV_PER_G",
    "half_life_h",
    "lambda_phys_per_h",
    "load_s_values",
    "s_value_pairs",
    "s_from_delta",
    "s_value_mgy_per_mbq_s",
    "MASS_SCALINGS",
]

log = logging.getLogger(__name__)

#: Absorbed dose rate [mGy/(MBq·s)] from 1 MeV per decay absorbed in 1 g:
#: 1 MeV = ``scipy.constants.eV`` × 1e6 J (CODATA 2018); 1 MBq = 1e6 decays/s;
#: 1 g = 1e-3 kg; 1 Gy = 1 J/kg = 1e3 mGy.
MGY_PER_MBQ_S_PER_MEV_PER_G: float = (constants.mega * constants.eV) * 1e6 / constants.gram / constants.milli

#: Mass-scaling modes of the S-value (SPEC §2.4).
MASS_SCALINGS = ("split", "linear", "none")

#: Tolerance when a file gives both S columns and Δ columns.
_S_DELTA_RTOL = 5e-3

_REQUIRED = ("nuclide", "source", "target", "reference_mass_g")
_S_COLS = ("s_np_mgy_per_mbq_s", "s_p_mgy_per_mbq_s")
_DELTA_COLS = ("delta_np_mev", "delta_p_mev", "phi")


@functools.lru_cache(maxsize=32)
def half_life_h(nuclide: str = "I-131") -> float:
    """Physical half-life of ``nuclide`` in hours, from radioactivedecay (ICRP 107).

    Parameters
    ----------
    nuclide : str
        Nuclide name as radioactivedecay accepts it (``"I-131"``, ``"I131"``, ``"131I"``).

    Returns
    -------
    float
        Half-life in hours (I-131: 192.4968 h = 8.0207 d).

    Raises
    ------
    InputError
        If the nuclide is unknown or stable.
    """
    import radioactivedecay as rd

    try:
        nuc = rd.Nuclide(nuclide)
        t = float(nuc.half_life("h"))
    except Exception as exc:  # radioactivedecay raises several types for bad names
        raise InputError(Problem("--nuclide", f"unknown nuclide '{nuclide}': {exc}")) from exc
    if not math.isfinite(t) or t <= 0:
        raise InputError(Problem("--nuclide", f"nuclide '{nuclide}' is stable (no half-life)"))
    return t


def lambda_phys_per_h(nuclide: str = "I-131") -> float:
    """Physical decay constant ln 2 / T½ of ``nuclide`` in 1/h.

    Parameters
    ----------
    nuclide : str
        Nuclide name (see :func:`half_life_h`).

    Returns
    -------
    float
        Decay constant in h⁻¹ (I-131: 3.6008e-3 h⁻¹).
    """
    return math.log(2.0) / half_life_h(nuclide)


def _canonical_nuclide(name: str) -> str:
    import radioactivedecay as rd

    try:
        return rd.Nuclide(str(name)).nuclide
    except Exception:
        return str(name).strip()


@dataclass(frozen=True)
class SValueTable:
    """Self-dose S-values of one source → target organ pair at reference mass.

    Attributes
    ----------
    nuclide : str
        Nuclide (radioactivedecay canonical form, e.g. ``"I-131"``).
    source_region, target_region : str
        Source and target organ (``"liver"``).
    reference_mass_g : float
        Reference organ mass the S-values belong to, g.
    s_np : float
        Non-penetrating (electron) S-value at reference mass, mGy/(MBq·s).
    s_p : float
        Penetrating (photon) S-value at reference mass, mGy/(MBq·s).
    source_text : str
        Where the numbers come from.
    """

    nuclide: str
    source_region: str
    target_region: str
    reference_mass_g: float
    s_np: float
    s_p: float
    source_text: str = ""

    @property
    def s_ref(self) -> float:
        """Total S-value at reference mass, mGy/(MBq·s)."""
        return self.s_np + self.s_p


def s_from_delta(delta_np_mev: float, delta_p_mev: float, phi: float, mass_g: float) -> tuple[float, float]:
    """Self-dose S-values from mean energies per decay.

    Parameters
    ----------
    delta_np_mev : float
        Mean non-penetrating energy emitted per decay, MeV (absorbed fraction 1).
    delta_p_mev : float
        Mean penetrating (photon) energy emitted per decay, MeV.
    phi : float
        Photon self-absorbed fraction in the organ (dimensionless).
    mass_g : float
        Organ mass, g.

    Returns
    -------
    (s_np, s_p) : tuple of float
        S-values in mGy/(MBq·s).
    """
    k = MGY_PER_MBQ_S_PER_MEV_PER_G / mass_g
    return delta_np_mev * k, phi * delta_p_mev * k


def _default_s_values_path() -> Path:
    return Path(str(resources.files("onescan") / "data" / "s_values.csv"))


def load_s_values(path: str | os.PathLike | None = None, nuclide: str = "I-131",
                  source: str | None = None, target: str | None = None) -> SValueTable:
    """Load the S-value row for ``nuclide`` ``source`` → ``target``.

    Parameters
    ----------
    path : path-like or None
        A CSV/XLSX/Parquet S-value file (columns in the module docstring); ``None``
        uses the file shipped with onescan (ICRP 107 / ICRP 89 values).
    nuclide : str
        Nuclide, any spelling radioactivedecay accepts.
    source, target : str or None
        Source and target organs (case-insensitive); ``None`` is the dose-limiting organ
        of the organ registry (:func:`onescan.contract._organs.limiting_organ`).

    Returns
    -------
    SValueTable

    Raises
    ------
    InputError
        Listing every problem of the file (missing columns, non-numeric or
        non-positive values, Δ and S disagreeing, no row for the pair, duplicates).

    Notes
    -----
    Results are cached per file (path, modification time and size), so calling
    this in a loop costs nothing after the first call.
    """
    if source is None or target is None:
        default = limiting_organ().key
        source = default if source is None else source
        target = default if target is None else target
    key = None
    if path is not None:
        try:
            st = os.stat(path)
            key = (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)
        except OSError:
            key = None  # read_table reports the missing file
    if path is None or key is not None:
        return _load_cached(key, nuclide, source, target)
    return _load_s_values(path, nuclide, source, target)


@functools.lru_cache(maxsize=32)
def _load_cached(key, nuclide: str, source: str, target: str) -> SValueTable:
    return _load_s_values(None if key is None else key[0], nuclide, source, target)


def _load_s_values(path, nuclide: str, source: str, target: str) -> SValueTable:
    if path is None:
        p = _default_s_values_path()
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    else:
        from onescan.contract._io import read_table

        p = Path(path)
        df = read_table(p)
        df = df.astype(object).where(df.notna(), "").astype(str)
    label = str(p)
    df.columns = [str(c).strip().lower() for c in df.columns]
    problems: list[Problem] = []
    missing = [c for c in _REQUIRED if c not in df.columns]
    for c in missing:
        problems.append(Problem(label, "missing required column", column=c))
    has_s = all(c in df.columns for c in _S_COLS)
    has_d = all(c in df.columns for c in _DELTA_COLS)
    if not has_s and not has_d:
        problems.append(Problem(label, "needs either the columns " + ", ".join(_S_COLS)
                                + " (mGy/(MBq·s)) or the columns " + ", ".join(_DELTA_COLS)
                                + " (MeV per decay and absorbed fraction)"))
    if problems:
        raise InputError(problems)

    want_nuc = _canonical_nuclide(nuclide)
    key_nuc = df["nuclide"].map(_canonical_nuclide)
    sel = ((key_nuc == want_nuc) & (df["source"].str.strip().str.lower() == source.lower())
           & (df["target"].str.strip().str.lower() == target.lower()))
    rows = np.flatnonzero(sel.to_numpy())
    if len(rows) == 0:
        raise InputError(Problem(label, f"no S-value row for nuclide {want_nuc}, source '{source}', "
                                        f"target '{target}'"))
    if len(rows) > 1:
        raise InputError(Problem(label, f"{len(rows)} rows for nuclide {want_nuc}, source '{source}', "
                                        f"target '{target}' (rows {', '.join(str(r + 2) for r in rows)}); "
                                        "keep exactly one"))
    i = int(rows[0])
    rec = df.iloc[i]
    row = i + 2

    def num(col: str, allow_zero: bool = False, upper: float | None = None) -> float | None:
        if col not in df.columns:
            return None
        raw = str(rec[col]).strip()
        if raw == "" or raw.lower() == "nan":
            return None
        try:
            v = float(raw)
        except ValueError:
            problems.append(Problem(label, f"not a number: '{raw}'", row=row, column=col))
            return None
        if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero) or (upper is not None and v > upper):
            rng = ">= 0" if allow_zero else "> 0"
            if upper is not None:
                rng += f" and <= {upper:g}"
            problems.append(Problem(label, f"value {raw} out of range (must be {rng})", row=row, column=col))
            return None
        return v

    m_ref = num("reference_mass_g")
    if m_ref is None and not any(pr.column == "reference_mass_g" for pr in problems):
        problems.append(Problem(label, "empty value", row=row, column="reference_mass_g"))
    s_np = num("s_np_mgy_per_mbq_s", allow_zero=True)
    s_p = num("s_p_mgy_per_mbq_s", allow_zero=True)
    d_np = num("delta_np_mev", allow_zero=True)
    d_p = num("delta_p_mev", allow_zero=True)
    phi = num("phi", allow_zero=True, upper=1.0)
    if problems:
        raise InputError(problems)

    have_s = s_np is not None and s_p is not None
    have_d = d_np is not None and d_p is not None and phi is not None
    if not have_s and not have_d:
        raise InputError(Problem(label, "give both S columns (" + ", ".join(_S_COLS) + ") or all Δ columns ("
                                 + ", ".join(_DELTA_COLS) + ")", row=row))
    if have_d:
        c_np, c_p = s_from_delta(d_np, d_p, phi, m_ref)
        if have_s:
            for col, given, computed in ((_S_COLS[0], s_np, c_np), (_S_COLS[1], s_p, c_p)):
                if not math.isclose(given, computed, rel_tol=_S_DELTA_RTOL, abs_tol=1e-30):
                    problems.append(Problem(label, f"S-value {given:.6g} disagrees with the value computed from "
                                                   f"the Δ columns ({computed:.6g} mGy/(MBq·s))",
                                            row=row, column=col))
            if problems:
                raise InputError(problems)
        s_np, s_p = c_np, c_p
    if s_np + s_p <= 0:
        raise InputError(Problem(label, "total S-value is zero", row=row))
    text = str(rec["source_text"]).strip() if "source_text" in df.columns else ""
    log.debug("S-values %s %s->%s from %s: s_np=%.6g s_p=%.6g at %.1f g", want_nuc, source, target,
              label, s_np, s_p, m_ref)
    return SValueTable(want_nuc, source.lower(), target.lower(), float(m_ref), float(s_np), float(s_p), text)


def _read_pairs(path, nuclide: str) -> list[tuple[str, str]]:
    """The (source, target) pairs a file lists for ``nuclide``, in file order."""
    if path is None:
        df = pd.read_csv(_default_s_values_path(), dtype=str, keep_default_na=False)
    else:
        from onescan.contract._io import read_table

        df = read_table(Path(path))
        df = df.astype(object).where(df.notna(), "").astype(str)
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise InputError([Problem(str(path), "missing required column", column=c) for c in missing])
    want = _canonical_nuclide(nuclide)
    sel = df[df["nuclide"].map(_canonical_nuclide) == want]
    pairs = zip(sel["source"].str.strip().str.lower(), sel["target"].str.strip().str.lower())
    return list(dict.fromkeys(pairs))


def s_value_pairs(path: str | os.PathLike | None = None,
                  nuclide: str = "I-131") -> dict[tuple[str, str], SValueTable]:
    """Every S-value row for ``nuclide``: the shipped rows, replaced and extended by a user file.

    Parameters
    ----------
    path : path-like or None
        A user S-value file (OLINDA, MIRDcalc, OpenDose values; columns in the module
        docstring). Its rows replace the shipped rows of the same (source, target) pair and
        may add others (cross-dose pairs source ≠ target included). ``None``: shipped rows only.
    nuclide : str
        Nuclide, any spelling radioactivedecay accepts.

    Returns
    -------
    dict of (source, target) → SValueTable
        Keys are lower-case organ keys.

    Raises
    ------
    InputError
        Listing the problems of every row of the user file, or when it has no row for ``nuclide``.
    """
    out = {pair: load_s_values(None, nuclide, *pair) for pair in _read_pairs(None, nuclide)}
    if path is None:
        return out
    problems: list[Problem] = []
    pairs = _read_pairs(path, nuclide)
    if not pairs:
        raise InputError(Problem(str(path), f"no S-value row for nuclide {_canonical_nuclide(nuclide)}"))
    for pair in pairs:
        try:
            out[pair] = load_s_values(path, nuclide, *pair)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return out


def s_value_mgy_per_mbq_s(mass_g, scaling: str = "split", table: SValueTable | None = None) -> np.ndarray:
    """Organ self-dose S-value scaled to the patient's organ mass.

    Parameters
    ----------
    mass_g : float or array-like
        Patient organ mass, g (> 0; NaN propagates).
    scaling : {"split", "linear", "none"}
        ``split`` (default): S = S_np,ref·(m_ref/m) + S_p,ref·(m_ref/m)^(2/3);
        ``linear``: S = S_ref·(m_ref/m); ``none``: S = S_ref.
    table : SValueTable or None
        Reference S-values; ``None`` uses the shipped I-131 table of the dose-limiting organ.

    Returns
    -------
    numpy.ndarray
        S-value in mGy/(MBq·s), same shape as ``mass_g``.
    """
    if scaling not in MASS_SCALINGS:
        raise ValueError(f"mass scaling must be one of {', '.join(MASS_SCALINGS)}, not {scaling!r}")
    if table is None:
        table = load_s_values(None, nuclide="I-131")
    m = np.asarray(mass_g, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = table.reference_mass_g / np.where(m > 0, m, np.nan)
    if scaling == "split":
        return table.s_np * ratio + table.s_p * np.cbrt(ratio) ** 2
    if scaling == "linear":
        return table.s_ref * ratio
    return np.where(np.isfinite(ratio), table.s_ref, np.nan) * np.ones_like(m)
