"""The ``onescan schedule`` outputs: figures, the HTML report and the files of a study.

Rendered from the ``metrics`` dict of :class:`onescan.studies._schedule.ScheduleResult`
(the same content as ``metrics.json``).
"""

from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path

import numpy as np

from onescan.studies._schedule import METRICS, ScheduleResult, _jsonable

__all__ = ["write_schedule_outputs"]


def _figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _cv_figure(metrics: dict):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    summ = metrics["cohort_cv"]["summary"]
    methods = [m for m in summ if m != "all_scans"]
    labels = [metrics["methods"][m]["label"] for m in methods]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(methods) + 1.6), sharey=True)
    ypos = np.arange(len(methods))[::-1]
    for ax, key, title in ((axes[0], "rmse_mci", "RMSE vs full dosimetry (mCi)"),
                           (axes[1], "overdose_pct", "Patients with liver dose > 1.1 × 24 Gy (%)")):
        mean = np.array([summ[m][key]["mean"] for m in methods], dtype=float)
        lo = np.array([summ[m][key]["low"] for m in methods], dtype=float)
        hi = np.array([summ[m][key]["high"] for m in methods], dtype=float)
        colors = ["#1f77b4" if metrics["methods"][m]["kind"] == "dosimetry" else "#d62728" for m in methods]
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
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    vc = metrics["virtual"]
    sizes = [int(s) for s in vc["sizes"]]
    methods = [m for m in metrics["methods"] if m != "all_scans"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.0))
    cmap = plt.get_cmap("tab10")
    for ax, key, title in ((axes[0], "rmse_mci", "RMSE vs full dosimetry (mCi)"),
                           (axes[1], "overdose_pct", "Liver dose > 1.1 × 24 Gy (%)")):
        for i, m in enumerate(methods):
            mean = np.array([vc["summary"][str(s)][m][key]["mean"] for s in sizes], dtype=float)
            lo = np.array([vc["summary"][str(s)][m][key]["low"] for s in sizes], dtype=float)
            hi = np.array([vc["summary"][str(s)][m][key]["high"] for s in sizes], dtype=float)
            ls = "-" if metrics["methods"][m]["kind"] == "ml" else "--"
            ax.plot(sizes, mean, ls, marker="o", color=cmap(i % 10), label=metrics["methods"][m]["label"])
            ax.fill_between(sizes, lo, hi, color=cmap(i % 10), alpha=0.12)
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


def _fmt(v, digits=1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.{digits}f}"


def _render_html(metrics: dict, figures: dict[str, bytes]) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("onescan.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["num"] = _fmt
    tmpl = env.get_template("schedule.html.j2")
    figs = {k: base64.b64encode(v).decode("ascii") for k, v in figures.items()}
    return tmpl.render(m=metrics, figures=figs, metric_labels=METRICS)


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
    import matplotlib.pyplot as plt

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
    if result.cv_per_repeat is not None:
        paths["cv_per_repeat"] = out / "cv_per_repeat.csv"
        write_table(result.cv_per_repeat, paths["cv_per_repeat"])
    if result.virtual_per_cohort is not None:
        paths["virtual_per_cohort"] = out / "virtual_per_cohort.csv"
        write_table(result.virtual_per_cohort, paths["virtual_per_cohort"])
    figures: dict[str, bytes] = {}
    if "cohort_cv" in metrics:
        fig = _cv_figure(metrics)
        figures["schedule_cv"] = _figure_png(fig)
        plt.close(fig)
    if "virtual" in metrics:
        fig = _size_figure(metrics)
        figures["sample_size"] = _figure_png(fig)
        plt.close(fig)
    for name, png in figures.items():
        p = out / "figures" / f"{name}.png"
        atomic_write_bytes(p, png)
        paths[f"figure_{name}"] = p
    paths["report"] = out / "report.html"
    atomic_write_text(paths["report"], _render_html(metrics, figures))
    return paths
