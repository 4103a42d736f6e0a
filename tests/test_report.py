"""Tests for onescan.report._reproduce_report: HTML escaping, agreement with metrics.json, figures."""

from __future__ import annotations

import copy
import html as htmllib
import re
import warnings

import pytest
from _h5_cohort import make_tables
from sklearn.exceptions import ConvergenceWarning

from onescan.contract._cohort import load_cohort
from onescan.models._pipeline import PipelineSettings
from onescan.report._reproduce_report import fmt, make_figures, render_report
from onescan.studies._reproduce import reproduce

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def result():
    p, s = make_tables(24, seed=9)
    p = p.rename(columns={"ast_pre_u_per_l": EVIL})
    for df in (p, s):
        df["patient_id"] = df["patient_id"].str.replace("P0", "<b>&amp;", regex=False)
    c = load_cohort(patients=p, scans=s)
    with warnings.catch_warnings():  # the hybrid's Lasso on all features with a small alpha
        warnings.simplefilter("ignore", ConvergenceWarning)
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
    table = htmllib.unescape(re.search(r'<table id="paper-table">(.*?)</table>', html, re.S).group(1))
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    assert len(rows) == 1 + 8 + 4  # header, the paper's 8 rows, the hybrid's 4 (onescan's addition)

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
    for label, key, d, pct in (("r²", "r2", 2, False), ("RMSE", "rmse_mci", 1, False),
                               ("patients within 30%", "within30_pct", 1, True),
                               ("clinical RMSE", "rmse_mci_clinical", 1, False)):
        c = cells(f"hybrid {label} (onescan's addition)")
        assert c[1] == "—"                                  # not in the paper
        assert c[2] == fmt(S["hybrid"][key], d, pct)
        s = CV["hybrid"][key]
        assert c[3] == f"{fmt(s['mean'], d, pct)} [{fmt(s['low'], d, pct)}, {fmt(s['high'], d, pct)}]"
    assert cells("mean prescribed activity (mCi)")[1] == "716.4"
    for v in ("0.71", "179.8", "63.6%", "167.4", "337.2", "278.3", "331.8"):
        assert v in table


def _text(cell):
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip())


def test_all_metrics_tables_agree_with_metrics_json(result, html):
    """Every cell of the split and CV tables, for every method including the hybrid, equals metrics.json."""
    m = result.metrics
    cols = (("r2", 2, False), ("rmse_mci", 1, False), ("mae_mci", 1, False), ("within30_pct", 1, True),
            ("bias_mci", 1, False), ("rmse_mci_clinical", 1, False), ("within30_pct_clinical", 1, True),
            ("calibration_slope", 2, False), ("calibration_intercept_mci", 1, False))
    for block in ("split", "cv"):
        table = re.search(rf'<table class="metrics-{block}">(.*?)</table>', html, re.S).group(1)
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], re.S)
        assert len(rows) == len(m["methods"]) == 5
        for key, row in zip(m["methods"], rows):
            cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            assert cells[0].startswith(m["method_short"][key])
            assert ("onescan's addition" in cells[0]) == (key == "hybrid")
            for (metric, d, pct), got in zip(cols, cells[1:]):
                if block == "split":
                    assert got == fmt(m["split"]["metrics"][key][metric], d, pct), (key, metric)
                else:
                    s = m["cv"]["summary"][key][metric]
                    assert got == f"{fmt(s['mean'], d, pct)} [{fmt(s['low'], d, pct)}, {fmt(s['high'], d, pct)}]"


def test_hybrid_paragraphs_and_tables_agree_with_metrics_json(result, html):
    m = result.metrics
    h = m["comparison"]["hybrid"]["cv_rmse_clinical_minus_lasso_mci"]
    para = _text(re.search(r'<p id="hybrid-findings">(.*?)</p>', html, re.S).group(1))
    assert f"{fmt(h['mean'])} mCi [{fmt(h['low'])}, {fmt(h['high'])}]" in para
    assert fmt(m["comparison"]["hybrid"]["cv_better_clinical_than_lasso_pct"], 0, True) in para
    summary = _text(re.search(r'<p id="hybrid-summary">(.*?)</p>', html, re.S).group(1))
    assert f"RMSE = {fmt(m['split']['metrics']['hybrid']['rmse_mci'])} mCi" in summary
    coef = re.search(r'<table id="coefficients-hybrid">(.*?)</table>', html, re.S).group(1)
    model = m["split"]["hybrid_model"]
    assert coef.count("<tr>") == 1 + len(model["features"]) + 1
    assert fmt(model["intercept_ln_h"], 4) in coef
    sel = re.search(r'<table id="selection-hybrid">(.*?)</table>', html, re.S).group(1)
    top = next(iter(m["cv"]["selection_frequency"]["hybrid"].items()))
    assert fmt(100 * top[1], 0, True) in sel
    iv = _text(re.search(r'<p id="intervals-hybrid">(.*?)</p>', html, re.S).group(1))
    assert fmt(m["split"]["interval_hybrid"]["coverage_pct"], 1, True) in iv


def test_report_without_hybrid_has_no_hybrid(result):
    m = copy.deepcopy(result.metrics)
    for d in (m["split"]["metrics"], m["cv"]["summary"], m["methods"], m["method_short"],
              m["cv"]["selection_frequency"], m["comparison"]):
        d.pop("hybrid", None)
    m["split"]["hybrid_model"] = m["split"]["interval_hybrid"] = None
    m["example"] = {k: v for k, v in m["example"].items() if not k.startswith("hybrid")}
    pd_ = dict(result.plot_data)
    pd_["example"] = {k: v for k, v in pd_["example"].items() if not k.startswith("hybrid")}
    pd_["methods"] = {k: v for k, v in pd_["methods"].items() if k != "hybrid"}
    pd_["split_pred"] = {k: v for k, v in pd_["split_pred"].items() if k != "hybrid"}
    pd_["selection_frequency_hybrid"] = None
    out = render_report(m, make_figures(pd_, m))
    assert "hybrid" not in out.lower()
    assert len(re.findall(r"<tr[ >]", re.search(r'<table id="paper-table">(.*?)</table>', out, re.S).group(1))) == 9


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


def test_finding_says_better_only_when_the_paired_interval_excludes_zero():
    from onescan.report._reproduce_report import finding

    short = {"lasso": "LASSO", "liver_mass": "liver mass"}
    base = {"a": "lasso", "b": "liver_mass", "scale": "raw", "mean": -20.0}
    better = finding({**base, "low": -40.0, "high": -1.0, "verdict": "better"}, short)
    assert better.startswith("LASSO has a lower RMSE than liver mass") and "[-40.0, -1.0]" in better
    worse = finding({**base, "mean": 20.0, "low": 1.0, "high": 40.0, "verdict": "worse"}, short)
    assert worse.startswith("LASSO has a higher RMSE than liver mass")
    unclear = finding({**base, "low": -40.0, "high": 3.0, "verdict": "no clear difference"}, short)
    assert unclear.startswith("no clear difference between LASSO and liver mass")
    for text in (worse, unclear):
        assert "lower RMSE" not in text and "better" not in text


def test_comparisons_table_and_findings_agree_with_metrics_json(result, html):
    m = result.metrics
    c = m["comparison"]
    table = re.search(r'<table id="comparisons">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == len(c["pairs"])
    for p, row in zip(c["pairs"], rows):
        cells = [_text(x) for x in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        assert cells[0] == f"{m['method_short'][p['a']]} − {m['method_short'][p['b']]}"
        assert cells[2] == f"{fmt(p['mean'])} [{fmt(p['low'])}, {fmt(p['high'])}]"
        assert cells[4] == p["verdict"]
    para = _text(re.search(r'<p id="findings">(.*?)</p>', html, re.S).group(1))
    d = c["cv_rmse_difference_mci"]
    assert f"{fmt(d['mean'])} mCi [{fmt(d['low'])}, {fmt(d['high'])}]" in para
    claims = {"better": "the pipeline is better", "worse": "the pipeline is worse",
              "no clear difference": "no clear difference"}
    assert claims[c["verdict"]] in para
    for v, text in claims.items():
        if v != c["verdict"]:
            assert text not in para
    hyb = _text(re.search(r'<p id="hybrid-findings">(.*?)</p>', html, re.S).group(1))
    assert c["hybrid"]["verdict_clinical_vs_lasso"] in hyb and c["hybrid"]["verdict_uncapped_vs_lasso"] in hyb
    assert "lowest" not in html.lower()
    method = _text(re.search(r'<p id="intervals-method">(.*?)</p>', html, re.S).group(1))
    assert "Bates" in method and f"{m['cv']['interval']['ncv_repeats']} repetitions" in method
