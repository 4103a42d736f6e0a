"""Reference-value tests of decay data and S-values (onescan.dosimetry._physics)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onescan.contract._errors import InputError
from onescan.dosimetry._physics import (
    MGY_PER_MBQ_S_PER_MEV_PER_G,
    SValueTable,
    half_life_h,
    lambda_phys_per_h,
    load_s_values,
    s_from_delta,
    s_value_mgy_per_mbq_s,
)


def test_i131_half_life_icrp107():
    # ICRP 107: 8.0207 d
    assert half_life_h("I-131") == pytest.approx(8.0207 * 24, rel=1e-9)
    assert half_life_h("I131") == half_life_h("131I")
    assert lambda_phys_per_h() == pytest.approx(math.log(2) / (8.0207 * 24), rel=1e-9)


def test_unknown_or_stable_nuclide_is_input_error():
    with pytest.raises(InputError, match="unknown nuclide"):
        half_life_h("Xx-999")
    with pytest.raises(InputError, match="stable"):
        half_life_h("C-12")


def test_energy_constant_is_codata():
    # 1 MeV per decay in 1 g at 1 MBq: 1.602176634e-13 J × 1e6 /s / 1e-3 kg = 1.602e-4 Gy/s = 0.1602 mGy/s
    assert MGY_PER_MBQ_S_PER_MEV_PER_G == pytest.approx(1.602176634e-13 * 1e6 / 1e-3 * 1e3, rel=1e-15)


def test_shipped_s_values_reference():
    tab = load_s_values()
    assert tab.nuclide == "I-131"
    assert tab.source_region == tab.target_region == "liver"
    assert tab.reference_mass_g == 1800.0
    # S_np = 0.1919 MeV × 1.602176634e-13 J/MeV × 1e6 /s / 1.8 kg, in mGy
    assert tab.s_np == pytest.approx(0.1919 * 1.602176634e-13 * 1e6 / 1.8 * 1e3, rel=1e-12)
    assert tab.s_p == pytest.approx(0.15 * 0.3828 * 1.602176634e-13 * 1e6 / 1.8 * 1e3, rel=1e-12)
    # SPEC §2.4: S_ref ≈ 2.22e-5 mGy/(MBq·s)
    assert tab.s_ref == pytest.approx(2.22e-5, rel=2e-3)
    assert "ICRP Publication 107" in tab.source_text


@pytest.mark.parametrize("m", [900.0, 1800.0, 2700.0])
def test_mass_scaling_modes(m):
    tab = load_s_values()
    r = 1800.0 / m
    assert s_value_mgy_per_mbq_s(m, "split", tab) == pytest.approx(tab.s_np * r + tab.s_p * r ** (2 / 3), rel=1e-13)
    assert s_value_mgy_per_mbq_s(m, "linear", tab) == pytest.approx(tab.s_ref * r, rel=1e-13)
    assert s_value_mgy_per_mbq_s(m, "none", tab) == pytest.approx(tab.s_ref, rel=1e-13)


def test_half_mass_split_value():
    # m = 900 g: S = S_np·2 + S_p·2^(2/3)
    tab = load_s_values()
    assert s_value_mgy_per_mbq_s(900.0) == pytest.approx(2 * tab.s_np + 2 ** (2 / 3) * tab.s_p, rel=1e-13)
    assert s_value_mgy_per_mbq_s(1800.0) == pytest.approx(tab.s_ref, rel=1e-13)


def test_s_value_vector_and_bad_mass():
    s = s_value_mgy_per_mbq_s(np.array([1800.0, 0.0, np.nan, -5.0]), "split")
    assert np.isfinite(s[0]) and np.isnan(s[1:]).all()
    with pytest.raises(ValueError, match="mass scaling"):
        s_value_mgy_per_mbq_s(1800.0, "cubic")


@settings(max_examples=50, deadline=None)
@given(m=st.floats(100, 10000), k=st.floats(0.1, 10))
def test_linear_scaling_inverse_mass(m, k):
    assert s_value_mgy_per_mbq_s(m * k, "linear") == pytest.approx(s_value_mgy_per_mbq_s(m, "linear") / k, rel=1e-12)


def _write(tmp_path, rows, name="s.csv"):
    p = tmp_path / name
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_user_file_with_s_columns(tmp_path):
    p = _write(tmp_path, [{"nuclide": "I131", "source": "Liver", "target": "liver", "reference_mass_g": 1910,
                           "s_np_mgy_per_mbq_s": 1.6e-5, "s_p_mgy_per_mbq_s": 6.0e-6, "source_text": "OLINDA"}])
    tab = load_s_values(p)
    assert (tab.s_np, tab.s_p, tab.reference_mass_g) == (1.6e-5, 6.0e-6, 1910.0)
    assert s_value_mgy_per_mbq_s(1910.0, "linear", tab) == pytest.approx(2.2e-5)


def test_user_file_with_delta_only_matches_shipped(tmp_path):
    p = _write(tmp_path, [{"nuclide": "I-131", "source": "liver", "target": "liver", "reference_mass_g": 1800,
                           "delta_np_mev": 0.1919, "delta_p_mev": 0.3828, "phi": 0.15}])
    assert load_s_values(p).s_ref == pytest.approx(load_s_values().s_ref, rel=1e-12)


def test_user_file_problems_all_reported(tmp_path):
    p = _write(tmp_path, [{"nuclide": "I-131", "source": "liver", "target": "liver", "reference_mass_g": -3,
                           "s_np_mgy_per_mbq_s": "abc", "s_p_mgy_per_mbq_s": 1e-6}])
    with pytest.raises(InputError) as ei:
        load_s_values(p)
    cols = {pr.column for pr in ei.value.problems}
    assert {"reference_mass_g", "s_np_mgy_per_mbq_s"} <= cols
    assert all(pr.row == 2 for pr in ei.value.problems)


def test_user_file_missing_columns(tmp_path):
    p = _write(tmp_path, [{"nuclide": "I-131", "organ": "liver"}])
    with pytest.raises(InputError) as ei:
        load_s_values(p)
    msgs = " ".join(str(pr) for pr in ei.value.problems)
    assert "source" in msgs and "target" in msgs and "reference_mass_g" in msgs


def test_user_file_inconsistent_delta_and_s(tmp_path):
    p = _write(tmp_path, [{"nuclide": "I-131", "source": "liver", "target": "liver", "reference_mass_g": 1800,
                           "s_np_mgy_per_mbq_s": 3e-5, "s_p_mgy_per_mbq_s": 5.11e-6,
                           "delta_np_mev": 0.1919, "delta_p_mev": 0.3828, "phi": 0.15}])
    with pytest.raises(InputError, match="disagrees"):
        load_s_values(p)


def test_user_file_no_matching_row_and_duplicates(tmp_path):
    row = {"nuclide": "Lu-177", "source": "liver", "target": "liver", "reference_mass_g": 1800,
           "s_np_mgy_per_mbq_s": 1e-5, "s_p_mgy_per_mbq_s": 1e-7}
    with pytest.raises(InputError, match="no S-value row"):
        load_s_values(_write(tmp_path, [row]))
    row2 = dict(row, nuclide="I-131")
    with pytest.raises(InputError, match="2 rows"):
        load_s_values(_write(tmp_path, [row2, row2], "d.csv"))


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError):
        load_s_values(tmp_path / "nope.csv")


def test_s_from_delta_and_table_property():
    s_np, s_p = s_from_delta(1.0, 1.0, 0.5, 1000.0)
    assert s_np == pytest.approx(2 * s_p)
    assert SValueTable("I-131", "liver", "liver", 1.0, 1.0, 2.0).s_ref == 3.0
