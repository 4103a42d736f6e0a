"""The per-patient dosimetry report of ``onescan dose`` (SPEC §2, ``--report FILE.html``).

One self-contained HTML file: for every patient, each dosed organ's time–activity points with
the fitted curve, the single-time-point (STP) estimate from the first scan of the first organ
(a mono-exponential through the first point with the cohort's median effective half-life,
drawn dashed), the table of organ doses (with ± standard uncertainties, k = 1, when the dose
table has them), the prescription (mCi and GBq, uncapped and capped) and the flags in words.

Each patient's figure is drawn once, small, as an embedded PNG (``data:`` URI); organ names
and labels come from the organ registry (``data/organs.csv``); everything user-given (patient
ids, flag codes) is escaped by the report environment's autoescape.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from onescan.contract._organs import Organ, organs as organ_registry
from onescan.contract._units import MBQ_PER_MCI
from onescan.report._render import new_figure, render

__all__ = ["write_dose_report", "render_dose_report", "FLAG_TEXT", "flag_words"]

#: Flag code → sentence (the codes of :func:`onescan.dosimetry.tac.fit_tacs` and of the dosimetry).
FLAG_TEXT = {
    "few_points": "fewer than two usable time points: no curve could be fitted",
    "fit_failed": "the fit gave no finite positive time-integrated activity",
    "fit_not_converged": "the curve fit did not converge",
    "lambda_at_physical_bound": ("the fitted clearance is held at physical decay (the organ cannot clear "
                                 "slower than the nuclide decays)"),
    "uptake_rising": "the organ's uptake rises between consecutive scans",
    "low_r2": "the fit explains the points poorly (r² below 0.9 with three or more points)",
    "auto_monoexp_aicc_undefined": ("automatic model choice: too few points to compare models by AICc, "
                                    "mono-exponential used"),
}

#: Organ flag patterns: ``code.format(key)`` → sentence ``text.format(label)``.
_ORGAN_FLAGS = {
    "no_{}_data": "no {} scan points",
    "no_{}_mass": "no {} mass or volume: no dose",
    "unquantified_{}_points": "{} counts without a usable first whole-body scan to normalise them",
    "{}_reference_mass": "the {} mass is the ICRP reference mass (no patient value)",
    "{}_misfit_beyond_counting": ("the {} points scatter about the fit more than counting statistics "
                                  "explain (the uncertainty includes the misfit)"),
}

#: Quantities of the organ table: (column suffix, heading, unit, significant digits).
_QUANTITIES = (
    ("uptake_first", "uptake, first scan", "% of A₀", 3),
    ("effective_half_life_h", "effective T½", "h", 3),
    ("tiac_h", "TIAC", "h", 4),
    ("s_value_mgy_per_mbq_s", "S-value", "mGy/(MBq·s)", 4),
    ("dose_gy_per_mci", "dose per activity", "Gy/mCi", 4),
    ("dose_gy", "dose at the capped activity", "Gy", 4),
)

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def flag_words(code: str) -> str:
    """A flag code in words (unknown codes are returned as they are).

    Parameters
    ----------
    code : str
        A code of the dose table's ``flags`` column, e.g. ``uptake_rising``, ``spleen:low_r2``,
        ``kidneys_reference_mass``, ``auto_biexp_by_aicc``.
    """
    table = organ_registry()
    if ":" in code:
        key, rest = code.split(":", 1)
        if key in table:
            return f"{table[key].label}: {flag_words(rest)}"
    if code in FLAG_TEXT:
        return FLAG_TEXT[code]
    for o in table.values():
        for pattern, text in _ORGAN_FLAGS.items():
            if code == pattern.format(o.key):
                return text.format(o.label)
    if code.startswith("auto_") and code.endswith("_by_aicc"):
        return f"automatic model choice: {code[5:-8]} has the lowest AICc"
    return code


def _sig(value, digits: int) -> str:
    """``value`` with ``digits`` significant digits (``–`` when missing)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(v):
        return "–"
    return f"{v:.{digits}g}"


def _settings(settings):
    from onescan.dosimetry._dose import DoseSettings, make_dose_settings

    if settings is None:
        return DoseSettings()
    if isinstance(settings, dict):
        return make_dose_settings(**settings)
    return settings


@dataclass
class _Curves:
    """One organ's points (patients × points, NaN padded, h and fraction) and fit."""

    organ: Organ
    t: np.ndarray
    f: np.ndarray
    fit: object


def _drawn_organs(dose: pd.DataFrame) -> list[Organ]:
    """The registry organs with a TIAC column in the dose table, in column order."""
    by_col = {o.column("tiac_h"): o for o in organ_registry().values()}
    return [by_col[c] for c in dose.columns if c in by_col]


def _curves(dose, fit0, scans, settings) -> list[_Curves]:
    from onescan.dosimetry._dose import tac_arrays
    from onescan.dosimetry._quantify import quantify
    from onescan.dosimetry.tac import fit_tacs

    lam = settings.lambda_phys_per_h()
    ids = dose["patient_id"].astype(str).to_numpy()
    q = quantify(scans, mu_per_cm=settings.mu_per_cm, lambda_phys_per_h=lam)
    out = []
    for k, o in enumerate(_drawn_organs(dose)):
        t, f = tac_arrays(q, ids, o.region)
        fit = fit0 if (k == 0 and fit0 is not None) else fit_tacs(t, f, method=settings.fit, lambda_phys_per_h=lam)
        out.append(_Curves(o, t, f, fit))
    return out


def _stp(c: _Curves) -> dict:
    """Single-time-point estimate of every patient from the first point and the cohort's median T½."""
    from onescan.dosimetry._stp import population_half_life_h, stp_tiac_h

    n = c.t.shape[0]
    has = np.isfinite(c.t).any(axis=1)
    first = np.argmax(np.isfinite(c.t), axis=1)
    t1 = np.where(has, c.t[np.arange(n), first], np.nan)
    f1 = np.where(has, c.f[np.arange(n), first], np.nan)
    try:
        half = population_half_life_h(c.fit.effective_half_life_h)
    except ValueError:
        return {"half_life_h": math.nan, "lam": math.nan, "t1": t1, "f1": f1, "tiac": np.full(n, np.nan)}
    lam = math.log(2.0) / half
    return {"half_life_h": half, "lam": lam, "t1": t1, "f1": f1, "tiac": stp_tiac_h(f1, t1, lam)}


def _trapezoid_line(t, f, lam_tail, t_end):
    """The trapezoid model's polyline: f(0) = f(t_first), the points, then the tail."""
    tt = np.concatenate([[0.0], t, [t_end]])
    ff = np.concatenate([[f[0]], f, [f[-1] * math.exp(-lam_tail * (t_end - t[-1]))]])
    return tt, ff


class _Painter:
    """One figure whose lines are updated per patient: every patient's PNG from the same axes.

    Building axes, ticks and legend once and only moving the data makes each patient's figure
    a single draw (about a tenth of the cost of a new figure).
    """

    def __init__(self, curves: list[_Curves], stp: dict):
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        self.curves, self.stp = curves, stp
        self.fig = new_figure((4.6, 2.7))
        ax = self.ax = self.fig.add_axes((0.14, 0.17, 0.52, 0.76))
        self.points, self.lines = [], []
        for k, c in enumerate(curves):
            colour = _COLOURS[k % len(_COLOURS)]
            self.points.append(ax.plot([], [], "o", color=colour, ms=4, label=c.organ.label)[0])
            self.lines.append(ax.plot([], [], "-", color=colour, lw=1)[0])
        self.stp_line = ax.plot([], [], "--", color="#444", lw=1,
                                label=f"{curves[0].organ.label}, single time point")[0]
        ax.set_yscale("log")
        # plain tick labels: the default log labels are mathtext, the slowest part of drawing
        ax.yaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("time after infusion (h)", fontsize=7)
        ax.set_ylabel("fraction of administered activity", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.grid(alpha=0.3, which="both", lw=0.4)
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)

    def png(self, i: int, grids: list[np.ndarray], fitted: list[np.ndarray], t_end: float) -> str:
        """Patient ``i``'s time–activity figure as base64 PNG text."""
        shown = []
        for k, c in enumerate(self.curves):
            ok = np.isfinite(c.t[i]) & np.isfinite(c.f[i]) & (c.f[i] > 0)
            t, f = c.t[i][ok], c.f[i][ok]
            self.points[k].set_data(t, f)
            if str(c.fit.model[i]) == "trapezoid" and t.size:
                tt, ff = _trapezoid_line(t, f, float(c.fit.lambda_eff_per_h[i]), t_end)
            else:
                good = np.isfinite(fitted[k][i]) & (fitted[k][i] > 0)
                tt, ff = grids[k][i][good], fitted[k][i][good]
            self.lines[k].set_data(tt, ff)
            shown += [f, ff]
        stp = self.stp
        if np.isfinite(stp["lam"]) and np.isfinite(stp["f1"][i]) and stp["f1"][i] > 0:
            tt = np.linspace(0.0, t_end, 40)
            ff = stp["f1"][i] * np.exp(-stp["lam"] * (tt - stp["t1"][i]))
            shown.append(ff)
        else:
            tt = ff = np.array([])
        self.stp_line.set_data(tt, ff)
        y = np.concatenate(shown) if shown else np.array([])
        y = y[np.isfinite(y) & (y > 0)]
        lo, hi = (float(y.min()), float(y.max())) if y.size else (0.01, 1.0)
        self.ax.set_xlim(0, t_end)
        self.ax.set_ylim(lo / 1.4, hi * 1.4)
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=90)
        return base64.b64encode(buf.getvalue()).decode("ascii")


def _cell(row, col: str, digits: int, scale: float = 1.0, u_col: str | None = None) -> dict | None:
    """A table cell of column ``col`` (None when absent): text, exact value and ± uncertainty."""
    if col not in row.index:
        return None
    v = pd.to_numeric(row[col], errors="coerce")
    cell = {"col": col, "value": repr(float(v)), "text": _sig(v * scale, digits), "u": "", "u_pct": ""}
    if u_col is not None and u_col in row.index:
        u = float(pd.to_numeric(row[u_col], errors="coerce"))
        if math.isfinite(u) and math.isfinite(v):
            cell.update(u=_sig(abs(v * scale) * u, 2), u_pct=_sig(100.0 * u, 2), u_col=u_col)
    return cell


def _fit_value(row, c: _Curves, k: int, name: str, fallback):
    """The fit column ``name`` of organ ``c`` (``<organ>_<name>``, or ``<name>`` for the first organ)."""
    if c.organ.column(name) in row.index:
        return row[c.organ.column(name)]
    if k == 0 and name in row.index:
        return row[name]
    return fallback


def _organ_rows(row, curves: list[_Curves], stp: dict, i: int) -> tuple[list[dict], list[tuple]]:
    """The organ table of one patient: the quantities present in the dose table, per organ."""
    present = [q for q in _QUANTITIES if any(c.organ.column(q[0]) in row.index for c in curves)]
    rows = []
    for k, c in enumerate(curves):
        cells = []
        for suffix, _, _, digits in present:
            u = {"tiac_h": c.organ.column("tiac_u_rel"),
                 "dose_gy_per_mci": c.organ.column("dose_gy_per_mci_u_rel")}.get(suffix)
            cells.append(_cell(row, c.organ.column(suffix), digits, 100.0 if suffix == "uptake_first" else 1.0, u))
        model = _fit_value(row, c, k, "fit_model", c.fit.model[i])
        r2 = _fit_value(row, c, k, "fit_r2", c.fit.r2[i])
        stp_tiac = _sig(stp["tiac"][i], 4) if k == 0 else ""
        rows.append({"label": c.organ.label, "key": c.organ.key, "cells": cells,
                     "model": str(model), "r2": _sig(r2, 3), "stp": stp_tiac})
    return rows, [(head, unit) for _, head, unit, _ in present]


def _prescription(row) -> list[dict]:
    """Prescription lines: uncapped and capped, mCi and GBq (GBq of the capped value computed if absent)."""
    u = "prescribed_activity_u_rel"
    items = [("prescribed activity", "prescribed_activity_mci", "prescribed_activity_gbq", None),
             ("capped at the maximum manufactured activity", "prescribed_activity_capped_mci",
              "prescribed_activity_capped_gbq", None)]
    out = []
    for label, mci_col, gbq_col, _ in items:
        if mci_col not in row.index:
            continue
        mci = _cell(row, mci_col, 4, u_col=u)
        gbq = _cell(row, gbq_col, 4) if gbq_col in row.index else None
        if gbq is None:
            v = float(pd.to_numeric(row[mci_col], errors="coerce")) * MBQ_PER_MCI / 1000.0  # 1 GBq = 1000 MBq
            gbq = {"col": "", "value": repr(v), "text": _sig(v, 4), "u": "", "u_pct": ""}
        out.append({"label": label, "mci": mci, "gbq": gbq})
    return out


def _patients(dose: pd.DataFrame, curves: list[_Curves], stp: dict) -> list[dict]:
    """Everything the template shows per patient, figures included."""
    t_max = np.nanmax(np.stack([np.nanmax(np.where(np.isfinite(c.t), c.t, 0.0), axis=1) for c in curves]), axis=0)
    t_end = np.where(t_max > 0, t_max * 1.15, 1.0)
    grid01 = np.linspace(0.0, 1.0, 60)
    grids = [t_end[:, None] * grid01[None, :] for _ in curves]
    fitted = [c.fit.predict(g) for c, g in zip(curves, grids)]
    by_key = {o.key: o for o in organ_registry().values()}
    painter = _Painter(curves, stp)
    out = []
    for i, (_, row) in enumerate(dose.iterrows()):
        codes = [x for x in str(row.get("flags", "") or "").split(";") if x and x != "nan"]
        limiting = str(row.get("limiting_organ", "") or "")
        organ_rows, heads = _organ_rows(row, curves, stp, i)
        out.append({
            "id": str(row["patient_id"]),
            "figure": painter.png(i, grids, fitted, float(t_end[i])),
            "organs": organ_rows, "heads": heads,
            "prescription": _prescription(row),
            "limiting": by_key[limiting].label if limiting in by_key else limiting,
            "flags": [{"code": c, "text": flag_words(c)} for c in codes],
        })
    return out


def render_dose_report(patients: pd.DataFrame, scans: pd.DataFrame, settings=None, *, organs=None,
                       dose: pd.DataFrame | None = None) -> str:
    """The per-patient dosimetry report as one self-contained HTML document.

    Parameters
    ----------
    patients : pandas.DataFrame
        Canonical patients table (``patient_id``, organ masses in g …).
    scans : pandas.DataFrame
        Canonical scans table (``patient_id``, ``time_h`` in h, ``region``, counts …).
    settings : DoseSettings, dict or None
        Dosimetry settings (None: the defaults of ``onescan dose``).
    organs : Organ, str, sequence of them, or None
        Target organ(s), as for :func:`onescan.dosimetry.compute_dose`.
    dose : pandas.DataFrame or None
        The dose table already computed with these inputs and settings (one row per patient);
        None computes it with :func:`onescan.dosimetry._dose.compute_dose_details`.

    Returns
    -------
    str
        HTML: a summary of every patient, then one section per patient with the
        time–activity figure (fractions of the administered activity vs hours after the
        infusion, log scale), the organ doses (TIAC in h, dose per activity in Gy/mCi, dose
        in Gy, ± standard uncertainty k = 1 when present), the prescription (mCi, GBq) and
        the flags in words.
    """
    settings = _settings(settings)
    fit0 = None
    if dose is None:
        from onescan.dosimetry._dose import compute_dose_details

        dose, fit0 = compute_dose_details(patients, scans, settings, organs)
    dose = dose.reset_index(drop=True)
    curves = _curves(dose, fit0, scans, settings)
    if not curves:
        raise ValueError("the dose table has no organ TIAC column (<organ>_tiac_h) to report")
    stp = _stp(curves[0])
    rows = _patients(dose, curves, stp)
    from onescan import __version__

    return render("dose.html.j2", patients=rows, settings=settings, organ=curves[0].organ.label,
                  organs=[c.organ.label for c in curves], stp_half_life=_sig(stp["half_life_h"], 3),
                  version=__version__)


def write_dose_report(patients: pd.DataFrame, scans: pd.DataFrame, settings, path, *, organs=None,
                      dose: pd.DataFrame | None = None) -> Path:
    """Write the per-patient dosimetry report (:func:`render_dose_report`) to ``path``, atomically.

    Parameters
    ----------
    patients, scans, settings, organs, dose
        As for :func:`render_dose_report`.
    path : path-like
        The HTML file to write (its folder must exist).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from onescan.contract._io import atomic_write_text

    return atomic_write_text(Path(path), render_dose_report(patients, scans, settings, organs=organs, dose=dose))
