"""The per-patient dosimetry report (onescan.report._dose_report)."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

import onescan
from onescan.contract import limiting_organ
from onescan.dosimetry import compute_dose, make_dose_settings
from onescan.report import render_dose_report, write_dose_report
from onescan.report._dose_report import FLAG_TEXT, flag_words

N = 6


@pytest.fixture(scope="module")
def cohort():
    c = onescan.default_cohort()
    ids = c.patients["patient_id"].iloc[:N]
    patients = c.patients.iloc[:N].reset_index(drop=True)
    scans = c.scans[c.scans["patient_id"].isin(ids)].reset_index(drop=True)
    return patients, scans


@pytest.fixture(scope="module")
def hostile(cohort):
    """The cohort with the first patient's id replaced by markup."""
    patients, scans = cohort
    bad = "<script>alert(1)</script>"
    old = patients["patient_id"].iloc[0]
    p = patients.copy()
    p.loc[0, "patient_id"] = bad
    s = scans.copy()
    s.loc[s["patient_id"] == old, "patient_id"] = bad
    return p, s, bad


def _cells(text: str) -> dict[str, list[tuple[float, str]]]:
    """data-col → [(data-value, shown text)] of every numeric cell, in document order."""
    out: dict[str, list] = {}
    for col, value, shown in re.findall(r'<td data-col="([^"]*)" data-value="([^"]*)">([^<]*)', text):
        out.setdefault(col, []).append((float(value), shown.strip()))
    return out


def test_one_html_document_one_section_per_patient_images_embedded(cohort, tmp_path):
    patients, scans = cohort
    path = write_dose_report(patients, scans, None, tmp_path / "dose.html")
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<!doctype html>")
    assert text.count("<html") == 1 and text.count("</html>") == 1
    assert text.count('<section class="patient"') == N
    assert text.count('src="data:image/png;base64,') == N
    assert "src=\"http" not in text and "<link" not in text  # self-contained
    for pid in patients["patient_id"]:
        assert f"Patient {html.escape(pid)}</h2>" in text


def test_a_hostile_patient_id_is_shown_as_text(hostile):
    p, s, bad = hostile
    text = render_dose_report(p, s)
    assert bad not in text
    assert "<script" not in text.lower()
    assert html.escape(bad) in text


def test_dose_numbers_equal_the_dose_table(cohort):
    patients, scans = cohort
    settings = make_dose_settings(extra_organs="all", uncertainty=True)
    dose = compute_dose(patients, scans, settings)
    cells = _cells(render_dose_report(patients, scans, settings))
    organ_cols = [c for c in dose.columns if c.endswith(("_tiac_h", "_dose_gy_per_mci", "_dose_gy"))]
    assert len(organ_cols) > 3
    for col in organ_cols + ["prescribed_activity_mci", "prescribed_activity_capped_mci",
                             "prescribed_activity_gbq", "prescribed_activity_capped_gbq"]:
        shown = cells[col]
        assert len(shown) == N, col
        np.testing.assert_array_equal([v for v, _ in shown], dose[col].to_numpy(dtype=float), err_msg=col)
        for (v, txt), expected in zip(shown, dose[col]):
            assert float(txt) == pytest.approx(expected, rel=1e-3), col


def test_uncertainties_are_shown_as_plus_minus(cohort):
    patients, scans = cohort
    settings = make_dose_settings(uncertainty=True)
    dose = compute_dose(patients, scans, settings)
    text = render_dose_report(patients, scans, settings, dose=dose)
    col = limiting_organ().column("dose_gy_per_mci")
    u = dose[limiting_organ().column("dose_gy_per_mci_u_rel")].iloc[0]
    m = re.search(rf'data-col="{col}"[^>]*>[^<]*<span class="u">± ([0-9.e-]+) \(([0-9.e-]+) %\)', text)
    assert m is not None
    assert float(m.group(1)) == pytest.approx(dose[col].iloc[0] * u, rel=0.01)
    assert float(m.group(2)) == pytest.approx(100 * u, rel=0.01)
    tiac = limiting_organ().column("tiac_h")
    assert re.search(rf'data-col="{tiac}"[^>]*>[^<]*<span class="u">± ', text)
    assert "±" not in render_dose_report(patients, scans)  # no uncertainty columns, no ±


def test_flags_are_rendered_in_words(cohort):
    patients, scans = cohort
    dose = compute_dose(patients, scans).copy()
    spleen = "spleen"
    dose.loc[0, "flags"] = f"uptake_rising;low_r2;{spleen}:fit_not_converged;{spleen}_reference_mass;mystery_code"
    text = html.unescape(render_dose_report(patients, scans, dose=dose))
    assert FLAG_TEXT["uptake_rising"] in text
    assert flag_words("low_r2") in text
    assert "spleen: the curve fit did not converge" in text
    assert "the spleen mass is the ICRP reference mass" in text
    assert "mystery_code" in text  # unknown codes shown as they are


def test_flag_words():
    lim = limiting_organ()
    assert flag_words("unknown_thing") == "unknown_thing"
    assert flag_words("auto_biexp_by_aicc").startswith("automatic model choice: biexp")
    assert lim.label in flag_words(f"{lim.key}_misfit_beyond_counting")
    assert lim.label in flag_words(f"no_{lim.key}_mass")
    assert flag_words("lambda_at_physical_bound") == FLAG_TEXT["lambda_at_physical_bound"]


def test_prescription_in_mci_and_gbq(cohort):
    patients, scans = cohort
    dose = compute_dose(patients, scans)
    cells = _cells(render_dose_report(patients, scans, dose=dose))
    capped = dose["prescribed_activity_capped_mci"].to_numpy(dtype=float)
    # the default table has no capped GBq column: it is computed (1 mCi = 37 MBq)
    np.testing.assert_allclose([v for v, _ in cells[""]], capped * 37.0 / 1000.0)
    np.testing.assert_array_equal([v for v, _ in cells["prescribed_activity_gbq"]], dose["prescribed_activity_gbq"])


def test_trapezoid_fit_is_drawn(cohort):
    patients, scans = cohort
    text = render_dose_report(patients, scans, make_dose_settings(fit="trapezoid"))
    assert text.count('src="data:image/png;base64,') == N
    assert "trapezoid" in text
