"""The organ registry (data/organs.csv)."""

from __future__ import annotations

import pytest

from onescan.contract import limiting_organ, organ, organs


def test_one_dose_limiting_organ_with_sourced_numbers():
    lim = limiting_organ()
    assert lim.dose_limiting
    assert [o.key for o in organs().values() if o.dose_limiting] == [lim.key]
    for o in organs().values():
        assert o.density_g_per_ml > 0 and o.reference_mass_g > 0
        assert "ICRP" in o.source_text


def test_columns_are_built_from_the_key_and_region():
    lim = limiting_organ()
    assert lim.mass_column == f"{lim.key}_mass_g"
    assert lim.volume_column == f"{lim.key}_volume_ml"
    assert lim.uptake_first_column == f"uptake_first_{lim.region}"
    assert lim.column("tiac_h") == f"{lim.key}_tiac_h"


def test_unknown_organ_names_the_known_ones():
    with pytest.raises(KeyError, match=limiting_organ().key):
        organ("appendix")
