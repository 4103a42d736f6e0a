"""The column specification of the input tables (onescan.contract._columns)."""

from __future__ import annotations

import pandas as pd

from onescan.contract import _columns
from onescan.contract._cohort import UNIT_FAMILIES, validate_cohort
from onescan.contract._organs import Organ, limiting_organ, organs
from onescan.contract._units import LIVER_DENSITY_G_PER_ML


def test_each_column_is_declared_once_per_table():
    for specs in (_columns.PATIENT_SPECS, _columns.SCAN_SPECS):
        names = [c.name for c in specs]
        assert len(names) == len(set(names))
        for c in specs:
            assert (c.bounds == ()) == (not c.numeric), c.name


def test_unit_families_come_from_the_column_specs_canonical_first():
    by_name = {c.name: c for c in _columns.PATIENT_SPECS}
    for fam in _columns.FAMILIES:
        assert next(iter(fam.columns)) == fam.canonical
        assert set(fam.columns) == {c.name for c in _columns.PATIENT_SPECS if c.family == fam.name}
        for col, factor in fam.columns.items():
            assert by_name[col].to_canonical == factor
        assert UNIT_FAMILIES[fam.name] == (fam.canonical, fam.columns)
    assert UNIT_FAMILIES["dosimetric activity"][1] == {"dosimetric_activity_mbq": 1.0,
                                                       "dosimetric_activity_mci": 37.0}


def test_organ_columns_and_required_region_come_from_the_registry():
    lim = limiting_organ()
    (mass,) = _columns.families_required_by("dosimetry")
    assert mass.canonical == lim.mass_column
    assert mass.columns == {lim.mass_column: 1.0, lim.volume_column: lim.density_g_per_ml}
    assert mass.keep_alternates
    assert _columns.PATIENT_NUMERIC_RULES[lim.volume_column][0].message == "must be > 0"
    assert _columns.time_point_region() == lim.region
    assert LIVER_DENSITY_G_PER_ML == lim.density_g_per_ml


def test_missing_organ_mass_message_names_the_organ_and_its_density():
    lim = limiting_organ()
    probs = validate_cohort(pd.DataFrame({"patient_id": ["1"], "dosimetric_activity_mbq": [200.0]}), None,
                            patients_label="P", scans_label="S", need_scans=False)
    (p,) = probs
    assert p.column == lim.mass_column
    assert p.message == (f"missing {lim.label} mass: give one of the columns {lim.mass_column} or "
                         f"{lim.volume_column} (mass = volume × {lim.density_g_per_ml} g/ml)")


def test_adding_an_organ_adds_its_columns_not_required(monkeypatch):
    lim = limiting_organ()
    kidney = Organ(key="kidneys", region="kidneys", label="kidneys", density_g_per_ml=1.05,
                   reference_mass_g=310.0, dose_limiting=False, source_text="ICRP 89")
    monkeypatch.setattr(_columns, "organs", lambda: {**organs(), "kidneys": kidney})
    specs, families = _columns._patient_table()
    names = [c.name for c in specs]
    assert {"kidneys_mass_g", "kidneys_volume_ml", lim.mass_column} <= set(names)
    fam = {f.name: f for f in families}["kidneys mass"]
    assert fam.required_by is None
    assert fam.columns == {"kidneys_mass_g": 1.0, "kidneys_volume_ml": 1.05}
    # the order of the families, and so of the problems, keeps the registry's order
    assert [f.canonical for f in families][:2] == ["dosimetric_activity_mbq", lim.mass_column]
