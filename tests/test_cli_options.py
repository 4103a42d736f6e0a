"""The shared command-line options (onescan.cli._options)."""

from __future__ import annotations

import dataclasses

import pytest

from onescan.cli._options import (
    DOSE_DEFAULTS,
    DOSE_OPTION_NAMES,
    FitMethod,
    MassScaling,
    dose_settings_from_options,
    dose_settings_from_params,
)
from onescan.contract._errors import InputError
from onescan.dosimetry import FIT_METHODS, MASS_SCALINGS, DoseSettings


def test_choices_come_from_the_dosimetry_registries():
    assert tuple(m.value for m in FitMethod) == tuple(FIT_METHODS)
    assert tuple(m.value for m in MassScaling) == tuple(MASS_SCALINGS)
    assert FitMethod.monoexp == "monoexp" and MassScaling("split") is MassScaling.split


def test_defaults_are_the_dosimetry_defaults():
    ref = DoseSettings()
    for name in DOSE_OPTION_NAMES:
        got = getattr(DOSE_DEFAULTS, name)
        assert (got.value if isinstance(got, FitMethod | MassScaling) else got) == getattr(ref, name), name
    assert dose_settings_from_options() == ref


def test_settings_from_a_commands_parameters():
    params = dataclasses.asdict(DOSE_DEFAULTS) | {"fit": FitMethod.loglinear, "target_gy": 20.0, "other": 1}
    s = dose_settings_from_params(params)
    assert (s.fit, s.target_gy, s.mass_scaling) == ("loglinear", 20.0, "split")


def test_every_bad_option_named(tmp_path):
    params = dataclasses.asdict(DOSE_DEFAULTS) | {"mu_per_cm": 0.0, "target_gy": float("inf"),
                                                 "s_values": tmp_path / "missing.csv"}
    with pytest.raises(InputError) as exc:
        dose_settings_from_params(params)
    text = " ".join(str(p) for p in exc.value.problems)
    assert "--mu-per-cm" in text and "--target-gy" in text and "--s-values" in text


def test_cohort_from_options_stops_on_implausible_values_unless_allowed(tmp_path, capsys):
    from conftest import make_tiny_cohort

    from onescan.cli._options import AllowImplausibleOpt, cohort_from_options

    assert AllowImplausibleOpt.__metadata__[0].default == "--allow-implausible"  # typer keeps the name here
    p, s = make_tiny_cohort()
    p.loc[1, "age_y"] = 300
    p.to_csv(tmp_path / "patients.csv", index=False)
    s.to_csv(tmp_path / "scans.csv", index=False)
    with pytest.raises(InputError, match="300 looks like months"):
        cohort_from_options(tmp_path, None, None)
    c = cohort_from_options(tmp_path, None, None, allow_implausible=True)
    assert list(c.flags) == ["002"] and "bsa_m2" in c.patients.columns  # derived on the command line
    err = capsys.readouterr().err
    assert err.count("bsa_m2 computed") == 1 and "implausible values allowed" in err


def test_a_single_csv_is_not_a_cohort(tmp_path):
    from onescan.cli._options import cohort_from_options

    f = tmp_path / "cohort.csv"
    f.write_text("patient_id\nA\n")
    with pytest.raises(InputError, match="sheets patients and scans"):
        cohort_from_options(f, None, None)
