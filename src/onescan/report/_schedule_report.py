"""The ``onescan schedule`` outputs: figures, the HTML report and the files of a study.

Rendered from the ``metrics`` dict of :class:`onescan.studies._schedule.ScheduleResult`
(the same content as ``metrics.json``); the methods' colours and line styles come from the
method registry :data:`onescan.studies.schedule._methods.METHODS`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from onescan.contract._organs import limiting_organ
from onescan.report._render import new_figure, png, render, base64_figures
from onescan.studies._schedule import METRICS, ScheduleResult, _jsonable
from onescan.studies.schedule._methods import KINDS, METHODS

__all__ = ["write_schedule_outputs"]

_ORGAN = limiting_organ()
_GREY = "#7f7f7f"


def _overdose_title(metrics: dict, prefix: str) -> str:
    margin = metrics.get("settings", {}).get("overdose_margin", 0.10)
    target = metrics.get("dose_settings", {}).get("target_gy", 24.0)
    return f"{prefix}{_ORGAN.label} dose > {1.0 + margin:g} × {target:g} Gy (%)"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _drawn(metrics: dict, methods) -> list[str]:
    """The methods a figure draws: all but the reference."""
    return [m for m in methods if metrics["methods"][m].get("kind") != "reference"]


def _cv_figure(metrics: dict):
    summ = metrics["cohort_cv"]["summary"]
    methods = _drawn(metrics, summ)
    labels = [metrics["methods"][m]["label"] for m in methods]
    fig = new_figure((11, 0.45 * len(methods) + 1.6))
    axes = fig.subplots(1, 2, sharey=True)
    ypos = np.arange(len(methods))[::-1]
    for ax, key, title in ((axes[0], "rmse_mci", "RMSE vs full dosimetry (mCi)"),
                           (axes[1], "overdose_pct", _overdose_title(metrics, "Patients with "))):
        mean = np.array([summ[m][key]["mean"] for m in methods], dtype=float)
        lo = np.array([summ[m][key]["low"] for m in methods], dtype=float)
        hi = np.array([summ[m][key]["high"] for m in methods], dtype=float)
        colors = [KINDS[metrics["methods"][m]["kind"]].colour for m in methods]
        # the mean of a skewed metric can lie (or round) just outside its percentile interval
        xerr = np.clip(np.nan_to_num(np.vstack([mean - lo, hi - mean])), 0.0, None)
        ax.errorbar(mean, ypos, xerr=xerr, fmt="none", ecolor="grey", capsize=3)
        ax.scatter(mean, ypos, c=colors, zorder=3)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlim(left=0)
    axes[0].set_yticks(ypos)
    axes[0].set_yticklabels(labels, fontsize=8)
    n = metrics["cohort_cv"]["n_patients"]
    fig.suptitle(f"Scan subsets vs all scans: {metrics['settings']['folds']}-fold CV × "
                 f"{metrics['settings']['repeats']} repeats, {n} patients (mean, 95 % interval); "
                 "blue = dosimetry, red = ML", fontsize=9)
    fig.tight_layout()
    return fig


def _size_figure(metrics: dict):
    vc = metrics["virtual"]
    sizes = [int(s) for s in vc["sizes"]]
    methods = _drawn(metrics, metrics["methods"])
    fig = new_figure((11, 5.0))
    axes = fig.subplots(1, 2)
    for ax, key, title in ((axes[0], "rmse_mci", "RMSE vs full dosimetry (mCi)"),
                           (axes[1], "overdose_pct", _sentence(_overdose_title(metrics, "")))):
        for m in methods:
            mean = np.array([vc["summary"][str(s)][m][key]["mean"] for s in sizes], dtype=float)
            lo = np.array([vc["summary"][str(s)][m][key]["low"] for s in sizes], dtype=float)
            hi = np.array([vc["summary"][str(s)][m][key]["high"] for s in sizes], dtype=float)
            info = METHODS.get(m)
            colour = info.colour if info is not None else _GREY
            ls = KINDS[metrics["methods"][m]["kind"]].linestyle
            ax.plot(sizes, mean, ls, marker="o", color=colour, label=metrics["methods"][m]["label"])
            ax.fill_between(sizes, lo, hi, color=colour, alpha=0.12)
        ax.set_xscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(s) for s in sizes])
        ax.set_xlabel("training patients")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.suptitle(f"Sample size: {vc['n_cohorts']} virtual cohorts per size, tested on "
                 f"{vc['test_patients']} independent virtual patients (mean, 95 % interval); "
                 "dashed = dosimetry, solid = ML", fontsize=9)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    return fig


def _render_html(metrics: dict, figures: dict[str, bytes]) -> str:
    return render("schedule.html.j2", m=metrics, figures=base64_figures(figures), metric_labels=METRICS,
                  organ=_ORGAN.label)


def write_schedule_outputs(result: ScheduleResult, out_dir) -> dict[str, Path]:
    """Write ``report.html``, ``metrics.json``, ``schedule_table.csv`` and figure PNGs.

    Every file is written atomically (:mod:`onescan.contract._io`). Also written when available:
    ``cv_per_repeat.csv`` and ``virtual_per_cohort.csv``.

    Parameters
    ----------
    result : ScheduleResult
    out_dir : path-like
        Output folder (created).

    Returns
    -------
    dict of str → pathlib.Path
        The files written.
    """
    from onescan.contract._io import atomic_write_bytes, atomic_write_text, write_table

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    metrics = _jsonable(result.metrics)
    paths: dict[str, Path] = {}
    # numbers first: a long study's results survive even if a figure or the report fails
    paths["metrics"] = out / "metrics.json"
    atomic_write_text(paths["metrics"], json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    paths["table"] = out / "schedule_table.csv"
    write_table(result.table, paths["table"])
    for name, table in (("cv_per_repeat", result.cv_per_repeat), ("virtual_per_cohort", result.virtual_per_cohort)):
        if table is not None:
            paths[name] = out / f"{name}.csv"
            write_table(table, paths[name])
    figures: dict[str, bytes] = {}
    if "cohort_cv" in metrics:
        figures["schedule_cv"] = png(_cv_figure(metrics))
    if "virtual" in metrics:
        figures["sample_size"] = png(_size_figure(metrics))
    for name, data in figures.items():
        p = out / "figures" / f"{name}.png"
        atomic_write_bytes(p, data)
        paths[f"figure_{name}"] = p
    paths["report"] = out / "report.html"
    atomic_write_text(paths["report"], _render_html(metrics, figures))
    return paths
