"""Plausibility (contract._plausible, SPEC §1.3): valid numbers that cannot be right."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_tiny_cohort

from onescan.contract._cohort import load_cohort
from onescan.contract._columns import PLAUSIBLE
from onescan.contract._errors import InputError
from onescan.contract._organs import limiting_organ

MASS = limiting_organ().mass_column
VOLUME = limiting_organ().volume_column
REGION = limiting_organ().region


def problems(p, s, **kw):
    try:
        load_cohort(p, s, **dict(dict(allow_implausible=False), **kw))
    except InputError as e:
        return e.problems
    return []


def test_tiny_cohort_is_plausible():
    assert problems(*make_tiny_cohort()) == []


@pytest.mark.parametrize("column, value, words", [
    (MASS, 1.62, "1.62 looks like kilograms"),
    (MASS, 1e308, None),
    ("weight_kg", 172.0 * 2.20462, "looks like pounds"),
    ("height_cm", 1.72, "1.72 looks like metres"),
    ("age_y", 300.0, "300 looks like months"),
    ("age_y", 12.0, None),
    ("dosimetric_activity_mci", 370.0, "370 looks like MBq"),
])
def test_patient_ranges_with_unit_hints(column, value, words):
    p, s = make_tiny_cohort()
    p[column] = p[column].astype(float)
    p.loc[1, column] = value
    (pr,) = problems(p, s)
    rng = PLAUSIBLE[column]
    assert (pr.column, pr.patient_id, pr.row) == (column, "002", 3)
    assert f"{value:g}" in pr.message and f"{rng.low:g}–{rng.high:g} {rng.unit}" in pr.message
    assert (words in pr.message) if words else "looks like" not in pr.message


def test_volume_range_follows_the_mass_range():
    p, s = make_tiny_cohort()
    p = p.drop(columns=MASS).assign(**{VOLUME: [1.5, 1500.0, 2000.0]})
    (pr,) = problems(p, s)
    assert pr.column == VOLUME and "looks like litres" in pr.message


def test_negative_lab_value():
    p, s = make_tiny_cohort()
    p["ast_pre_u_per_l"] = [22.0, -31.0, np.nan]
    p["l3_bone_density_hu"] = [-20.0, 10.0, 5.0]  # not a lab concentration: may be negative
    (pr,) = problems(p, s)
    assert pr.column == "ast_pre_u_per_l" and pr.patient_id == "002" and "-31" in pr.message


def test_scan_times_in_days():
    p, s = make_tiny_cohort()
    s["time_h"] = s["time_h"].map({1.0: 0.04, 24.0: 1.0, 72.0: 3.0})
    probs = problems(p, s)
    assert {q.patient_id for q in probs} == {"001", "002", "010"}
    assert all("looks like days" in q.message for q in probs)


def test_scan_time_above_30_days_looks_like_minutes():
    p, s = make_tiny_cohort()
    s.loc[s["time_h"] == 72.0, "time_h"] = 72.0 * 60
    probs = problems(p, s)
    assert len(probs) == 9 and all("looks like minutes" in q.message and q.column == "time_h" for q in probs)


def test_organ_counts_above_whole_body_at_first_scan():
    p, s = make_tiny_cohort()
    first = (s["patient_id"] == "010") & (s["time_h"] == 1.0) & (s["region"] == REGION)
    s.loc[first, ["counts_anterior", "counts_posterior"]] *= 20.0
    (pr,) = problems(p, s)
    assert pr.patient_id == "010" and REGION in pr.message and "whole_body" in pr.message
    # a later image may be anything relative to the first whole-body one
    p, s = make_tiny_cohort()
    later = (s["patient_id"] == "010") & (s["time_h"] == 24.0) & (s["region"] == REGION)
    s.loc[later, ["counts_anterior", "counts_posterior"]] *= 4.0
    assert problems(p, s) == []


def test_fraction_above_the_whole_body():
    p, s = make_tiny_cohort()
    s["fraction_injected"] = np.where((s["patient_id"] == "001") & (s["time_h"] == 1.0)
                                      & (s["region"] == REGION), 1.2, np.nan)
    (pr,) = problems(p, s)
    assert pr.patient_id == "001" and "fraction_injected" in pr.message


def test_late_first_whole_body_scan():
    p, s = make_tiny_cohort()
    s.loc[s["time_h"] == 1.0, "time_h"] = 8.0
    probs = problems(p, s)
    assert len(probs) == 3 and all("no first scan" in q.message and "8 h" in q.message for q in probs)


def test_library_default_flags_and_cli_default_stops():
    p, s = make_tiny_cohort()
    p.loc[0, MASS] = 1.62
    assert set(load_cohort(p, s).flags) == {"001"}  # the library flags; the command line stops (tests/test_cli_*)


def test_allow_implausible_gives_flags():
    p, s = make_tiny_cohort()
    p.loc[0, MASS] = 1.62
    p.loc[2, "age_y"] = 300
    c = load_cohort(p, s, allow_implausible=True)
    assert set(c.flags) == {"001", "010"}
    assert "looks like kilograms" in c.flags_for("001") and MASS in c.flags_for("001")
    assert "months" in c.flags_for("010") and c.flags_for("002") == ""
    assert c.patients.loc[0, MASS] == 1.62  # nothing is changed, only flagged


def test_other_problems_reported_together():
    p, s = make_tiny_cohort()
    p.loc[0, MASS] = 1.62
    p["weight_kg"] = p["weight_kg"].astype(object)
    p.loc[1, "weight_kg"] = "heavy"
    assert {q.column for q in problems(p, s)} == {MASS, "weight_kg"}


def test_every_range_has_a_reason():
    for col, rng in PLAUSIBLE.items():
        assert rng.reason and rng.low < rng.high, col
