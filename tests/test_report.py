"""Tests for onescan._report: HTML escaping, agreement with metrics.json, figures."""

from __future__ import annotations

import copy
import re

import pytest
from _h5_cohort import make_tables

from onescan._contract import load_cohort
from onescan._pipeline import PipelineSettings
from onescan._report import fmt, make_figures, render_report
from onescan._reproduce import reproduce

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def result():
    p, s = make_tables(24, seed=9)
    p = p.rename(columns={"ast_pre_u_per_l": EVIL})
    for df in (p, s):
        df["patient_id"] = df["patient_id"].str.replace("P0", "<b>&amp;", regex=False)
    c = load_cohort(patients=p, scans=s)
    return reproduce(c, pipeline_settings=PipelineSettings(selector="none"), folds=3, repeats=2)


@pytest.fixture(scope="module")
def html(result):
    return render_report(result.metrics, make_figures(result.plot_data, result.metrics))


def test_fmt():
    assert fmt(179.84) == "179.8"
    assert fmt(0.7149, 2) == "0.71"
    assert fmt(63.64, 1, True) == "63.6%"
    assert fmt(None) == fmt(float("nan")) == "–"
    assert fmt(-0.04) == "0.0"


def test_feature_names_and_patient_ids_are_escaped(result, html):
    feats = [f["feature"] for f in result.metrics["split"]["selected_model"]["features"]]
    assert EVIL in feats                                   # all features kept without a selector
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    pid = result.metrics["example"]["patient_id"]
    assert pid.startswith("<b>&amp;")
    assert pid not in html
    assert "&lt;b&gt;&amp;amp;" in html
    assert "<b>" not in html.replace("<body>", "")


def test_report_shows_the_paper_and_this_run_number_for_number(result, html):
    m = result.metrics
    table = re.search(r'<table id="paper-table">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    assert len(rows) == 1 + 8

    def cells(label):
        row = next(r for r in rows if f"<td>{label}</td>" in r)
        return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]

    S, CV, P = m["split"]["metrics"], m["cv"]["summary"], m["paper"]
    for label, method, key, paper, d, pct in (
        ("LASSO r²", "lasso", "r2", P["lasso"]["r2"], 2, False),
        ("LASSO RMSE", "lasso", "rmse_mci", P["lasso"]["rmse_mci"], 1, False),
        ("LASSO patients within 30%", "lasso", "within30_pct", P["lasso"]["within30_pct"], 1, True),
        ("LASSO clinical RMSE", "lasso", "rmse_mci_clinical", P["lasso"]["rmse_mci_clinical"], 1, False),
        ("body mass RMSE", "body_mass", "rmse_mci", P["body_mass"]["rmse_mci"], 1, False),
        ("liver mass RMSE", "liver_mass", "rmse_mci", P["liver_mass"]["rmse_mci"], 1, False),
        ("single initial time point RMSE", "stp", "rmse_mci", P["stp"]["rmse_mci"], 1, False),
    ):
        c = cells(label)
        assert c[1] == fmt(paper, d, pct)
        assert c[2] == fmt(S[method][key], d, pct)
        s = CV[method][key]
        assert c[3] == f"{fmt(s['mean'], d, pct)} [{fmt(s['low'], d, pct)}, {fmt(s['high'], d, pct)}]"
    assert cells("mean prescribed activity (mCi)")[1] == "716.4"
    for v in ("0.71", "179.8", "63.6%", "167.4", "337.2", "278.3", "331.8"):
        assert v in table


def test_report_is_self_contained_with_all_sections(html, result):
    assert html.count('src="data:image/png;base64,') == 5
    assert not re.search(r'(src|href)="(http|//|file:)', html)
    for heading in ("Cohort", "The paper's table", "Figures", "The selected model", "Limits", "virtual"):
        assert heading in html
    coef = result.metrics["split"]["selected_model"]["intercept_mci"]
    assert fmt(coef) in html


def test_figures_are_png(result):
    figs = make_figures(result.plot_data, result.metrics)
    assert set(figs) == {"predicted_vs_prescribed", "bland_altman", "error_distribution",
                         "selection_frequency", "example_tac"}
    assert all(v.startswith(b"\x89PNG") and len(v) > 5000 for v in figs.values())
