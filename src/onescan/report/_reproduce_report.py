"""The ``onescan reproduce`` report: figures (matplotlib, PNG) and one self-contained HTML file.

The HTML is rendered by jinja2 (``autoescape=True``) from the ``metrics`` dict that is
also written to ``metrics.json``, so the report and the JSON agree number for number.
Figures are embedded as base64 PNG (and also written to ``figures/``).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from onescan.contract._errors import InputError, Problem
from onescan.contract._organs import limiting_organ
from onescan.report._render import base64_figures, fmt, new_figure, png, render
from onescan.studies.reproduce._methods import METHODS

__all__ = ["make_figures", "render_report", "fmt", "finding", "write_outputs", "check_outputs", "OUTPUT_FILES"]

#: Files written by :func:`write_outputs` (relative to the output folder).
OUTPUT_FILES = ("report.html", "metrics.json", "predictions.csv")

logger = logging.getLogger(__name__)

_ORGAN = limiting_organ()
_GREY = "0.5"


def _colour(name: str, default=None):
    """The method's colour (the registry :data:`onescan.studies.reproduce._methods.METHODS`)."""
    m = METHODS.get(name)
    return m.colour if m is not None else default


def _addition(name: str) -> bool:
    """Is the method onescan's addition, not in the paper?"""
    m = METHODS.get(name)
    return m is not None and m.addition


#: How each comparison scale is named in a finding.
_SCALES = {"raw": "both as predicted, uncapped", "clinical": "both capped at the maximum manufactured activity",
           "mixed": "each as reported"}


def finding(pair: Mapping, short: Mapping[str, str] | None = None) -> str:
    """One paired comparison in words (plain text).

    "lower"/"higher" RMSE only where the paired 95 % interval of the RMSE difference
    excludes 0 (``pair["verdict"]``); otherwise "no clear difference". Used by the report and
    by the CLI summary, so neither claims more than the interval shows.

    Parameters
    ----------
    pair : mapping
        An entry of ``metrics["comparison"]["pairs"]`` (``a``, ``b``, ``scale``, ``mean``,
        ``low``, ``high``, ``verdict``; mCi).
    short : mapping, optional
        Method key → short label.
    """
    short = short or {}
    a, b = short.get(pair["a"], pair["a"]), short.get(pair["b"], pair["b"])
    diff = f"{fmt(pair['mean'])} mCi [{fmt(pair['low'])}, {fmt(pair['high'])}]"
    scale = _SCALES.get(pair.get("scale"), str(pair.get("scale")))
    if pair["verdict"] == "better":
        return f"{a} has a lower RMSE than {b} ({scale}): difference {diff}, the paired 95% interval lies below 0"
    if pair["verdict"] == "worse":
        return f"{a} has a higher RMSE than {b} ({scale}): difference {diff}, the paired 95% interval lies above 0"
    return f"no clear difference between {a} and {b} ({scale}): difference {diff}, the paired 95% interval contains 0"


def _fig_pred_vs_actual(pd_: Mapping, metrics: Mapping) -> bytes:
    y, test, cap = pd_["y"], pd_["test"], pd_["cap"]
    yt = y[test]
    fig = new_figure((6.2, 5.6))
    ax = fig.subplots()
    allv = [yt] + [p for p in pd_["split_pred"].values()]
    finite = np.concatenate([np.asarray(v)[np.isfinite(v)] for v in allv])
    lo = max(0.0, float(np.min(finite)) * 0.85)
    # predictions far above the cap (e.g. an uncapped model) are drawn at the top edge
    hi = min(max(float(np.max(finite)) * 1.08, cap * 1.05), max(1.6 * cap, float(np.max(yt)) * 1.08))
    off_scale = 0
    grid = np.linspace(0, hi, 50)
    ax.fill_between(grid, 0.7 * grid, 1.3 * grid, color="0.85", label="±30% of prescribed")
    ax.plot(grid, grid, color="0.3", lw=1, label="identity")
    ax.axhline(cap, color="k", ls="--", lw=1)
    ax.text(lo + 5, cap + 8, f"max manufactured {cap:.0f} mCi", fontsize=8)
    iv = pd_.get("interval")
    short = metrics.get("method_short", {})
    for name, label in pd_["methods"].items():
        p = pd_["split_pred"][name]
        method = METHODS.get(name)
        marker, size, z = method.marker if method is not None else ("x", 18, 2)
        big = marker != "x"
        if name == "lasso" and iv:
            lvl = 100 * metrics["split"]["interval"]["level"]
            ax.errorbar(yt, p, yerr=[p - iv["low"], iv["high"] - p], fmt="none", ecolor=_colour("lasso"),
                        alpha=0.35, lw=1, label=f"{lvl:.0f}% prediction interval (LASSO)")
        lab = short.get(name, label) + (" (onescan's addition)" if _addition(name) else "")
        above = np.asarray(p) > hi
        off_scale += int(above.sum())
        ax.scatter(yt[~above], np.asarray(p)[~above], s=size, marker=marker, color=_colour(name), label=lab,
                   zorder=z, alpha=1 if big else 0.7, facecolors="none" if _addition(name) else None)
        if above.any():
            ax.scatter(yt[above], np.full(int(above.sum()), hi * 0.985), s=size, marker="^",
                       color=_colour(name), zorder=z, clip_on=False)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    if off_scale:
        ax.text(lo + 5, hi * 0.95, f"▲ {off_scale} prediction(s) above {hi:.0f} mCi, drawn at the edge",
                fontsize=7.5, va="top")
    ax.set_xlabel("prescribed activity (mCi, full dosimetry)")
    ax.set_ylabel("predicted activity (mCi)")
    ax.set_title(f"Published split: {len(test)} test patients")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
    return png(fig)


def _fig_bland_altman(pd_: Mapping, metrics: Mapping) -> bytes:
    y, test = pd_["y"], pd_["test"]
    yt = y[test]
    names = [k for k in ("lasso", "hybrid") if k in pd_["split_pred"]]
    fig = new_figure((6.2 * len(names) / (1 + 0.25 * (len(names) - 1)), 4.4))
    axes = fig.subplots(1, len(names), squeeze=False)
    titles = {"lasso": "LASSO pipeline", "hybrid": "hybrid model (onescan's addition)"}
    for ax, name in zip(axes[0], names):
        p = pd_["split_pred"][name]
        m = metrics["split"]["metrics"][name]
        color = _colour(name)
        # repeated-CV out-of-fold predictions (first repeat) in the background
        oof = pd_["oof"][name][0]
        ok = np.isfinite(oof)
        ax.scatter(((oof + y) / 2)[ok], (oof - y)[ok], s=12, color="0.7",
                   label="repeated CV, repeat 1 (all patients)")
        ax.scatter((p + yt) / 2, p - yt, s=36, color=color, label="published split (test patients)", zorder=3)
        for key, ls, lab in (("ba_bias_mci", "-", "bias"), ("ba_loa_low_mci", "--", "95% limits"),
                             ("ba_loa_high_mci", "--", None)):
            v = m.get(key)
            if v is not None:
                ax.axhline(v, color=color, ls=ls, lw=1, label=lab)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xlabel("mean of predicted and prescribed (mCi)")
        ax.set_title(f"Bland–Altman, {titles[name]}", fontsize=10)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
    axes[0][0].set_ylabel("predicted − prescribed (mCi)")
    return png(fig)


def _fig_errors(pd_: Mapping, metrics: Mapping) -> bytes:
    y = pd_["y"]
    data, labels = [], []
    for name, label in pd_["methods"].items():
        e = 100.0 * (pd_["oof"][name] - y[None, :]) / y[None, :]
        e = e[np.isfinite(e)]
        data.append(e)
        labels.append(metrics.get("method_short", {}).get(name, name) + ("*" if _addition(name) else ""))
    fig = new_figure((6.8, 4.2))
    ax = fig.subplots()
    ax.axhspan(-30, 30, color="0.9", label="±30%")
    bp = ax.boxplot(data, whis=(5, 95), showfliers=False, patch_artist=True)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    for patch, name in zip(bp["boxes"], pd_["methods"]):
        patch.set_facecolor(_colour(name, _GREY))
        patch.set_alpha(0.6)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("prediction error (% of prescribed)")
    if any(_addition(name) for name in pd_["methods"]):
        ax.text(0.01, 0.01, "* onescan's addition, not in the paper", transform=ax.transAxes, fontsize=7.5,
                va="bottom")
    ax.set_title(f"Out-of-fold errors, {metrics['cv']['folds']}-fold CV × {metrics['cv']['repeats']} "
                 "repeats (box: quartiles, whiskers: 5–95%)", fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    return png(fig)


def _fig_selection(pd_: Mapping, metrics: Mapping) -> bytes | None:
    s = pd_.get("selection_frequency")
    h = pd_.get("selection_frequency_hybrid")
    if (s is None or len(s) == 0) and (h is None or len(h) == 0):
        return None
    import pandas as pd

    series = {("LASSO", "lasso"): s, ("hybrid (clearance)", "hybrid"): h}
    series = {k: v for k, v in series.items() if v is not None and len(v)}
    colour = {lab: _colour(key) for lab, key in series}
    both = pd.DataFrame({lab: v for (lab, _), v in series.items()}).fillna(0.0)
    top = both.max(axis=1).sort_values(ascending=False, kind="mergesort").index[:20]
    both = both.loc[top][::-1]
    fig = new_figure((6.2, 0.32 * len(both) + 1.4))
    ax = fig.subplots()
    k = both.shape[1]
    height = 0.8 / k
    for j, lab in enumerate(both.columns):
        ax.barh(np.arange(len(both)) + (j - (k - 1) / 2) * height, 100 * both[lab].to_numpy(), height=height,
                color=colour[lab], label=lab)
    ax.set_yticks(range(len(both)), [str(i) for i in both.index], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of cross-validation fits selecting the feature")
    ax.set_title("Selection frequency (top 20)")
    if k > 1:
        ax.legend(fontsize=8, loc="lower right")
    return png(fig)


def _fig_example(pd_: Mapping, metrics: Mapping) -> bytes | None:
    ex = pd_.get("example")
    if not ex or len(ex.get("time_h", [])) == 0:
        return None
    t, f = np.asarray(ex["time_h"]), np.asarray(ex["fraction"])
    tmax = max(float(t.max()) * 1.3, 120.0)
    grid = np.linspace(0, tmax, 200)
    fig = new_figure((6.2, 4.2))
    ax = fig.subplots()
    ax.scatter(t, 100 * f, color="k", zorder=3, label=f"{_ORGAN.label} uptake (all scans)")
    lam = math.log(2) / ex["half_life_h"] if ex["half_life_h"] else float("nan")
    a = ex["tiac_h"] * lam
    ax.plot(grid, 100 * a * np.exp(-lam * grid), color=_colour("lasso"),
            label=f"full dosimetry ({ex['fit_model'] or 'fit'}): T_eff {ex['half_life_h']:.1f} h, "
                  f"TIAC {ex['tiac_h']:.1f} h")
    if "stp_half_life_h" in ex:
        lp = math.log(2) / ex["stp_half_life_h"]
        t1, f1 = ex["stp_first_time_h"], ex["stp_first_fraction"]
        ax.plot(grid, 100 * f1 * np.exp(-lp * (grid - t1)), color=_colour("stp"), ls="--",
                label=f"single time point: population T_eff {ex['stp_half_life_h']:.1f} h, "
                      f"TIAC {ex['stp_tiac_h']:.1f} h")
        ax.scatter([t1], [100 * f1], s=90, facecolors="none", edgecolors=_colour("stp"), zorder=4,
                   label="the one scan the model reads")
    if "hybrid_half_life_h" in ex:
        lh = math.log(2) / ex["hybrid_half_life_h"]
        t1, f1 = ex["hybrid_first_time_h"], ex["hybrid_first_fraction"]
        ax.plot(grid, 100 * f1 * np.exp(-lh * (grid - t1)), color=_colour("hybrid"), ls=":", lw=2,
                label=f"hybrid (onescan's addition): learnt T_eff {ex['hybrid_half_life_h']:.1f} h, "
                      f"TIAC {ex['hybrid_tiac_h']:.1f} h")
    ax.set_xlabel("time after dosimetric infusion (h)")
    ax.set_ylabel(f"{_ORGAN.label} activity (% of administered)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"Example patient's {_ORGAN.label} time–activity curve")
    ax.legend(fontsize=7.5)
    return png(fig)


def make_figures(plot_data: Mapping, metrics: Mapping) -> dict[str, bytes]:
    """Draw the report's figures.

    Parameters
    ----------
    plot_data : mapping
        ``ReproduceResult.plot_data``.
    metrics : mapping
        ``ReproduceResult.metrics``.

    Returns
    -------
    dict of str → bytes
        Figure name → PNG bytes, in report order (figures without data are left out).
    """
    out = {}
    for name, fn in (("predicted_vs_prescribed", _fig_pred_vs_actual), ("bland_altman", _fig_bland_altman),
                     ("error_distribution", _fig_errors), ("selection_frequency", _fig_selection),
                     ("example_tac", _fig_example)):
        png = fn(plot_data, metrics)
        if png is not None:
            out[name] = png
    return out


def render_report(metrics: Mapping, figures: Mapping[str, bytes]) -> str:
    """Render the HTML report from ``metrics`` (the ``metrics.json`` content) and PNG figures.

    Returns
    -------
    str
        One self-contained HTML document (figures as base64 ``data:`` URIs).
    """
    return render("report.html.j2", m=metrics, figures=base64_figures(figures), finding=finding)


def _check_out_dir(out_dir: Path, sources: dict) -> None:
    problems = []
    if out_dir.exists() and not out_dir.is_dir():
        problems.append(Problem(file=str(out_dir), message="--out must be a folder, but a file has that name"))
    targets = {(out_dir / f).resolve() for f in OUTPUT_FILES}
    figures = (out_dir / "figures").resolve()
    for key, src in sources.items():
        if src and src != "in memory" and Path(src).exists():
            rp = Path(src).resolve()
            if rp in targets or figures in rp.parents:
                problems.append(Problem(file=str(src), message=f"the {key} input would be overwritten by "
                                        "an output of onescan reproduce; choose another --out folder"))
    if problems:
        raise InputError(problems)


def check_outputs(out_dir, cohort) -> None:
    """Check, before any work, that the outputs can go to ``out_dir``.

    Raises
    ------
    InputError
        ``out_dir`` is an existing file, or an output would overwrite one of the cohort's
        input files.
    """
    sources = {k: str(v) for k, v in (getattr(cohort, "sources", None) or {}).items()}
    _check_out_dir(Path(out_dir), sources)


def write_outputs(result: "ReproduceResult", out_dir, *, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Path]:
    """Write the report, metrics, predictions and figures into ``out_dir``.

    Every file is written atomically (temporary file, then rename); the folder is created
    if needed. The user's input files are never overwritten (checked before writing).

    Returns
    -------
    dict of str → pathlib.Path
        Output name → path written.
    """
    from onescan.contract._io import atomic_write_bytes, atomic_write_text, write_table

    out_dir = Path(out_dir)
    _check_out_dir(out_dir, {k: e.get("source") for k, e in result.metrics.get("inputs", {}).items()})
    figures = make_figures(result.plot_data, result.metrics)
    html = render_report(result.metrics, figures)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "figures").mkdir(exist_ok=True)
    written = {}
    for name, png in figures.items():
        p = out_dir / "figures" / f"{name}.png"
        atomic_write_bytes(p, png)
        written[f"figures/{name}.png"] = p
    write_table(result.predictions, out_dir / "predictions.csv")
    written["predictions.csv"] = out_dir / "predictions.csv"
    atomic_write_text(out_dir / "metrics.json", json.dumps(result.metrics, indent=2, allow_nan=False) + "\n")
    written["metrics.json"] = out_dir / "metrics.json"
    atomic_write_text(out_dir / "report.html", html)
    written["report.html"] = out_dir / "report.html"
    if progress is not None:
        progress("writing outputs", 1, 1)
    return written
