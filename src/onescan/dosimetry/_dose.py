"""MIRD organ dosimetry and the prescribed therapeutic activity (SPEC §2).

Chain: scans → :func:`onescan.dosimetry._quantify.quantify` (fraction of administered
activity per region and time) → :func:`onescan.dosimetry.tac.fit_tacs` (the organ's
time–activity curve and TIAC, h) → S-value scaled to the patient's organ mass
(:mod:`onescan.dosimetry._physics`) → absorbed dose per administered activity

    D/A₀ [Gy/MBq] = TIAC [h] × 3600 s/h × S [mGy/(MBq·s)] / 1000 mGy/Gy

→ prescribed activity = target dose / (D/A₀), in mCi (1 mCi = 37 MBq) and GBq,
and the activity capped at the maximum manufactured activity.

The organ is a parameter (:class:`onescan.contract._organs.Organ`); the default is the
dose-limiting organ of the organ registry (``data/organs.csv``), and every organ column
name is built from it (``Organ.column("tiac_h")``, ``Organ.mass_column`` …).
"""

from __future__ import annotations

import logging
from pathlib import Path
from dataclasses import dataclass
from typing import Literal, Sequence, Union

import numpy as np
import pandas as pd
import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from onescan.contract._errors import InputError, Problem
from onescan.contract._organs import Organ, limiting_organ
from onescan.contract._organs import organ as organ_by_key
from onescan.contract._units import MBQ_PER_MCI, SECONDS_PER_HOUR
from onescan.dosimetry._physics import (
    MASS_SCALINGS,
    SValueTable,
    lambda_phys_per_h,
    load_s_values,
    s_value_mgy_per_mbq_s,
    s_value_pairs,
)
from onescan.dosimetry._organ_data import (
    FIT_COLUMNS,
    ORGAN_QUANTITIES,
    organ_flags as _organ_flags,
    organ_mass_g,
    pivot_region,
)
from onescan.dosimetry._quantify import quantify
from onescan.dosimetry.tac import FIT_METHODS, TacFit, fit_tacs

__all__ = [
    "DoseSettings",
    "DOSE_COLUMNS",
    "ORGAN_QUANTITIES",
    "dose_columns",
    "organ_mass_g",
    "make_dose_settings",
    "dose_gy_per_mbq",
    "dose_gy_per_mci",
    "activity_for_target_mci",
    "compute_dose",
    "compute_dose_details",
    "tac_arrays",
    "pivot_region",
]

log = logging.getLogger(__name__)

OrganLike = Union[Organ, str]

#: The prescription columns (mCi, mCi capped, GBq).
PRESCRIPTION_COLUMNS = ("prescribed_activity_mci", "prescribed_activity_capped_mci", "prescribed_activity_gbq")

def _organ_list(organs: OrganLike | Sequence[OrganLike] | None = None) -> list[Organ]:
    """The organs asked for: ``None`` → the dose-limiting organ; keys are looked up in the registry."""
    if organs is None:
        return [limiting_organ()]
    items = [organs] if isinstance(organs, (Organ, str)) else list(organs)
    out = [o if isinstance(o, Organ) else organ_by_key(str(o)) for o in items]
    if not out:
        raise ValueError("organs must name at least one organ")
    if len({o.key for o in out}) != len(out):
        raise ValueError(f"organs listed twice: {', '.join(o.key for o in out)}")
    return out


def _one_organ(organ: OrganLike | None) -> Organ:
    return _organ_list(organ)[0] if organ is not None else limiting_organ()


def dose_columns(organs: OrganLike | Sequence[OrganLike] | None = None) -> tuple[str, ...]:
    """Output columns of :func:`compute_dose` for ``organs``, in order.

    Parameters
    ----------
    organs : Organ, str, sequence of them, or None
        ``None``: the dose-limiting organ (the columns of :data:`DOSE_COLUMNS`).

    Returns
    -------
    tuple of str
        ``patient_id``, the :data:`ORGAN_QUANTITIES` of each organ, the prescription,
        the fit model and r² (per organ when several) and ``flags``.
    """
    orgs = _organ_list(organs)
    cols = ["patient_id"]
    for o in orgs:
        cols += [o.column(q) for q in ORGAN_QUANTITIES]
    cols += PRESCRIPTION_COLUMNS
    cols += FIT_COLUMNS if len(orgs) == 1 else [o.column(c) for o in orgs for c in FIT_COLUMNS]
    cols.append("flags")
    return tuple(cols)


#: Output columns of :func:`compute_dose` / ``onescan dose`` (SPEC §2) for the
#: dose-limiting organ, in order.
DOSE_COLUMNS = dose_columns()

#: Command-line spelling of each setting (for error messages).
OPTION_NAMES = {
    "fit": "--fit",
    "mass_scaling": "--mass-scaling",
    "s_values": "--s-values",
    "mu_per_cm": "--mu-per-cm",
    "target_gy": "--target-gy",
    "max_activity_mci": "--max-activity-mci",
    "nuclide": "--nuclide",
    "extra_organs": "--organs",
    "limits": "--limit",
    "uncertainty": "--uncertainty",
    "mass_uncertainty": "--mass-uncertainty",
}

#: Default relative standard uncertainty (k = 1) of a CT organ mass: 5 %, the order of the
#: whole-liver CT volumetry differences reported by Hori et al., Liver Transpl 2011;17:1427
#: (1322.5 cm³ from 0.625 mm slices vs 1268.2 cm³ from 10 mm slices, 4.1 %).
DEFAULT_MASS_UNCERTAINTY = 0.05


def _known_organ(key: str) -> None:
    try:
        organ_by_key(key)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None


class DoseSettings(BaseModel):
    """Settings of the reference dosimetry (the options of ``onescan dose``).

    Parameters
    ----------
    fit : {"monoexp", "loglinear", "trapezoid", "auto"}
        Time–activity curve model (SPEC §2.2), a key of
        :data:`onescan.dosimetry.tac.TAC_MODELS`.
    mass_scaling : {"split", "linear", "none"}
        S-value scaling to the patient's organ mass (SPEC §2.4).
    s_values : Path or None
        User S-value file; ``None`` uses the shipped ICRP 107 / ICRP 89 values.
    mu_per_cm : float
        Linear attenuation coefficient for the thickness correction, 1/cm (> 0).
    target_gy : float
        Target absorbed dose of the organ, Gy (> 0).
    max_activity_mci : float
        Maximum manufactured activity, mCi (> 0), for the capped prescription.
    nuclide : str
        Nuclide of the S-value table and the physical decay (radioactivedecay name).
    extra_organs : "all" or tuple of str
        Organs dosed besides the target organ(s), reported but not limiting (SPEC §2.4):
        registry keys, or ``"all"`` for every registry organ whose region has scan rows.
        Their mass is ``<organ>_mass_g`` or ``<organ>_volume_ml`` × density, for the organ
        imaged by ``whole_body`` ``weight_kg``, else the reference mass (flag
        ``<organ>_reference_mass``).
    limits : tuple of (organ, Gy) pairs (a dict is accepted)
        Organ dose limits (SPEC §2.5): the prescription is the smallest activity that gives
        any limit (the target organ's limit is ``target_gy`` unless listed); organs listed
        here are dosed. ``limiting_organ`` names the organ that sets it.
    uncertainty : bool
        Add the relative standard uncertainties (k = 1) ``<organ>_tiac_u_rel``,
        ``<organ>_dose_gy_per_mci_u_rel`` and ``prescribed_activity_u_rel`` (SPEC §2.6).
    mass_uncertainty : float
        Relative standard uncertainty (k = 1) of the organ masses, in [0, 1); default
        :data:`DEFAULT_MASS_UNCERTAINTY`.

    Notes
    -----
    With ``extra_organs``, ``limits`` or ``uncertainty`` set the output has the SPEC §2 layout
    (``prescribed_activity_capped_gbq``, ``limiting_organ``, the organs' doses at the capped
    prescription …); without them it is exactly the columns and values of :data:`DOSE_COLUMNS`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    fit: Literal[FIT_METHODS] = "monoexp"
    mass_scaling: Literal[MASS_SCALINGS] = "split"
    s_values: Path | None = None
    mu_per_cm: float = Field(0.110, gt=0, allow_inf_nan=False)
    target_gy: float = Field(24.0, gt=0, allow_inf_nan=False)
    max_activity_mci: float = Field(1030.0, gt=0, allow_inf_nan=False)
    nuclide: str = "I-131"
    extra_organs: Union[Literal["all"], tuple[str, ...]] = ()
    limits: tuple[tuple[str, float], ...] = ()
    uncertainty: bool = False
    mass_uncertainty: float = Field(DEFAULT_MASS_UNCERTAINTY, ge=0, lt=1, allow_inf_nan=False)

    @field_validator("extra_organs", mode="before")
    @classmethod
    def _organ_keys(cls, v):
        if isinstance(v, str):
            v = v if v == "all" else tuple(x.strip() for x in v.split(",") if x.strip())
        if v != "all":
            v = tuple(v)
            for key in v:
                _known_organ(key)
        return v

    @field_validator("limits", mode="before")
    @classmethod
    def _limit_pairs(cls, v):
        items = list(v.items()) if isinstance(v, dict) else list(v)
        out = []
        for key, gy in items:
            _known_organ(str(key))
            gy = float(gy)
            if not (np.isfinite(gy) and gy > 0):
                raise ValueError(f"limit of {key} must be a positive number of Gy, not {gy}")
            out.append((str(key), gy))
        if len({k for k, _ in out}) != len(out):
            raise ValueError("an organ is limited twice")
        return tuple(out)

    @property
    def extended(self) -> bool:
        """Whether the output has the SPEC §2 layout (organs, limits or uncertainty asked for)."""
        return bool(self.extra_organs) or bool(self.limits) or self.uncertainty

    @field_validator("nuclide")
    @classmethod
    def _known_nuclide(cls, v: str) -> str:
        from onescan.dosimetry._physics import half_life_h

        try:
            half_life_h(v)
        except InputError as exc:
            raise ValueError(exc.problems[0].message) from None
        return v

    def s_table(self, organ: OrganLike | None = None) -> SValueTable:
        """The S-value table these settings select for ``organ`` (InputError on a bad file).

        Parameters
        ----------
        organ : Organ, str or None
            Source and target organ of the self-dose; ``None``: the dose-limiting organ.
        """
        o = _one_organ(organ)
        pairs = self.s_pairs()
        if (o.key, o.key) in pairs:
            return pairs[(o.key, o.key)]
        return load_s_values(self.s_values, nuclide=self.nuclide, source=o.key, target=o.key)

    def s_pairs(self) -> dict:
        """Every (source, target) S-value row: shipped rows replaced and extended by :attr:`s_values`."""
        return s_value_pairs(self.s_values, self.nuclide)

    def lambda_phys_per_h(self) -> float:
        """Physical decay constant of :attr:`nuclide`, 1/h."""
        return lambda_phys_per_h(self.nuclide)


def make_dose_settings(**kwargs) -> DoseSettings:
    """Build :class:`DoseSettings`, turning validation errors into one :class:`InputError`.

    Parameters
    ----------
    **kwargs
        Fields of :class:`DoseSettings`; ``None`` values are dropped (defaults apply).

    Returns
    -------
    DoseSettings

    Raises
    ------
    InputError
        With one problem per bad option, named as on the command line
        (``--target-gy`` …). A user S-value file is also loaded and checked.
    """
    kw = {k: v for k, v in kwargs.items() if v is not None}
    try:
        settings = DoseSettings(**kw)
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err.get("loc") else "settings"
            if err.get("type") == "value_error" and "ctx" in err:
                err = dict(err, msg=str(err["ctx"].get("error", err["msg"])))
            label = OPTION_NAMES.get(name, name)
            problems.append(Problem(label, f"invalid value {err.get('input')!r}: {err['msg']}"))
        raise InputError(problems) from None
    if settings.s_values is not None:
        settings.s_pairs()  # raises InputError listing the file's problems
        settings.s_table()
    return settings


def _settings(settings) -> DoseSettings:
    if settings is None:
        return DoseSettings()
    if isinstance(settings, DoseSettings):
        return settings
    if isinstance(settings, dict):
        return make_dose_settings(**settings)
    raise TypeError(f"settings must be DoseSettings, dict or None, not {type(settings).__name__}")


def dose_gy_per_mbq(tiac_h, mass_g, settings: DoseSettings | None = None,
                    table: SValueTable | None = None, *, organ: OrganLike | None = None) -> np.ndarray:
    """Organ absorbed dose per administered activity (self-dose).

    Parameters
    ----------
    tiac_h : float or array-like
        The organ's time-integrated activity coefficient, h.
    mass_g : float or array-like
        The organ's mass, g.
    settings : DoseSettings or None
        Mass scaling and S-value source.
    table : SValueTable or None
        Pre-loaded S-values (else ``settings.s_table(organ)``).
    organ : Organ, str or None
        The organ (selects the S-values); ``None``: the dose-limiting organ.

    Returns
    -------
    numpy.ndarray
        D/A₀ in Gy/MBq = TIAC·3600·S/1000.
    """
    settings = _settings(settings)
    table = table if table is not None else settings.s_table(organ)
    s = s_value_mgy_per_mbq_s(mass_g, settings.mass_scaling, table)
    return np.asarray(tiac_h, dtype=float) * SECONDS_PER_HOUR * s / 1000.0


def dose_gy_per_mci(tiac_h, mass_g, settings: DoseSettings | None = None,
                    table: SValueTable | None = None, *, organ: OrganLike | None = None) -> np.ndarray:
    """Organ absorbed dose per administered activity in Gy/mCi (= Gy/MBq × 37).

    Parameters are those of :func:`dose_gy_per_mbq` (``mass_g``: the organ mass, g).
    """
    return dose_gy_per_mbq(tiac_h, mass_g, settings, table, organ=organ) * MBQ_PER_MCI


def activity_for_target_mci(tiac_h, mass_g, settings: DoseSettings | None = None,
                            table: SValueTable | None = None, *, organ: OrganLike | None = None) -> np.ndarray:
    """Administered activity that gives ``settings.target_gy`` to the organ, mCi (uncapped).

    Parameters are those of :func:`dose_gy_per_mbq` (``tiac_h`` in h, ``mass_g`` the organ
    mass in g; ``organ`` defaults to the dose-limiting organ).

    Returns
    -------
    numpy.ndarray
        target_gy / (D/A₀ in Gy/mCi); NaN where the dose per activity is not positive.
    """
    settings = _settings(settings)
    d = dose_gy_per_mci(tiac_h, mass_g, settings, table, organ=organ)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, settings.target_gy / d, np.nan)


def tac_arrays(q: pd.DataFrame, patient_ids, region: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pivot quantified rows of one region into NaN-padded (patients × points) arrays.

    Parameters
    ----------
    q : pandas.DataFrame
        Output of :func:`onescan.dosimetry._quantify.quantify` (``patient_id``, ``time_h``,
        ``region``, ``fraction``).
    patient_ids : sequence of str
        Row order of the result.
    region : str or None
        Region to pivot; ``None``: the region of the dose-limiting organ.

    Returns
    -------
    (t_h, f) : tuple of ndarray
        Times (h) and fractions sorted by time per patient, NaN padded; a patient
        without rows of ``region`` is all NaN.
    """
    out = pivot_region(q, patient_ids, region, ("time_h", "fraction"))
    return out["time_h"], out["fraction"]


@dataclass
class _OrganDose:
    """The dosimetry of one organ: its output columns, fit, uncapped activity (mCi) and flags."""

    columns: dict[str, np.ndarray]
    fit: TacFit
    activity_mci: np.ndarray
    flags: list[list[str]]


def _organ_dose(o: Organ, table: SValueTable, q: pd.DataFrame, ids, patients: pd.DataFrame,
                settings: DoseSettings, lam_phys: float, several: bool) -> _OrganDose:
    t, f = tac_arrays(q, ids, o.region)
    fit = fit_tacs(t, f, method=settings.fit, lambda_phys_per_h=lam_phys)
    mass = organ_mass_g(patients, o)
    s = s_value_mgy_per_mbq_s(mass, settings.mass_scaling, table)
    tiac = fit.tiac_h
    d_mci = tiac * SECONDS_PER_HOUR * s / 1000.0 * MBQ_PER_MCI
    with np.errstate(divide="ignore", invalid="ignore"):
        act = np.where(d_mci > 0, settings.target_gy / d_mci, np.nan)
    first = np.argmax(np.isfinite(t), axis=1)
    values = (f[np.arange(len(ids)), first], tiac, fit.effective_half_life_h, s, d_mci)
    columns = {o.column(qty): v for qty, v in zip(ORGAN_QUANTITIES, values)}
    fit_names = [o.column(c) for c in FIT_COLUMNS] if several else list(FIT_COLUMNS)
    columns.update(zip(fit_names, (fit.model, fit.r2)))
    return _OrganDose(columns, fit, act, _organ_flags(o, fit, t, f, mass, several))


def compute_dose_details(patients: pd.DataFrame, scans: pd.DataFrame, settings: DoseSettings | None = None,
                         organs: OrganLike | Sequence[OrganLike] | None = None) -> tuple[pd.DataFrame, TacFit]:
    """Like :func:`compute_dose`, also returning the :class:`~onescan.dosimetry.tac.TacFit` of the (first) organ."""
    settings = _settings(settings)
    orgs = _organ_list(organs)
    if settings.extended:
        from onescan.dosimetry._organ_doses import extended_dose

        return extended_dose(patients, scans, settings, orgs)
    tables = [settings.s_table(o) for o in orgs]
    lam_phys = settings.lambda_phys_per_h()
    ids = patients["patient_id"].astype(str).to_numpy()
    q = quantify(scans, mu_per_cm=settings.mu_per_cm, lambda_phys_per_h=lam_phys)
    doses = [_organ_dose(o, tab, q, ids, patients, settings, lam_phys, len(orgs) > 1)
             for o, tab in zip(orgs, tables)]
    act = doses[0].activity_mci
    for d in doses[1:]:  # the organ that reaches the target dose first limits the activity
        act = np.minimum(act, d.activity_mci)
    data: dict[str, object] = {"patient_id": ids}
    for d in doses:
        data.update(d.columns)
    data.update(zip(PRESCRIPTION_COLUMNS, (act, np.minimum(act, settings.max_activity_mci),
                                           act * MBQ_PER_MCI / 1000.0)))
    data["flags"] = [";".join(x for d in doses for x in d.flags[i]) for i in range(len(ids))]
    out = pd.DataFrame(data, columns=list(dose_columns(orgs)))
    n_flag = int((out["flags"] != "").sum())
    log.info("dosimetry: %d patients, %d flagged, fit=%s, scaling=%s", len(out), n_flag, settings.fit,
             settings.mass_scaling)
    return out, doses[0].fit


def compute_dose(patients: pd.DataFrame, scans: pd.DataFrame, settings: DoseSettings | None = None,
                 organs: OrganLike | Sequence[OrganLike] | None = None) -> pd.DataFrame:
    """Reference MIRD organ dosimetry for every patient (SPEC §2).

    Parameters
    ----------
    patients : pandas.DataFrame
        Canonical patients table (``patient_id``, the organ mass ``<organ>_mass_g`` [g],
        e.g. ``liver_mass_g``).
    scans : pandas.DataFrame
        Canonical scans table (``patient_id``, ``time_h`` [h], ``region``, counts or
        ``fraction_injected``; ``whole_body`` rows for count normalisation).
    settings : DoseSettings or None
        Dosimetry settings (defaults: mono-exponential fit, split mass scaling,
        μ = 0.110 /cm, 24 Gy, 1030 mCi cap).
    organs : Organ, str, sequence of them, or None
        The organ(s) dosed (self-dose); ``None``: the dose-limiting organ of the registry
        (the liver). With several organs the prescription is the smallest activity that
        gives ``target_gy`` to any of them, the fit columns are per organ and the fit flags
        are prefixed ``<organ>:``.

    Returns
    -------
    pandas.DataFrame
        One row per patient in ``patients`` order with exactly the columns
        :func:`dose_columns` (:data:`DOSE_COLUMNS` for the default organ): uptake
        (fraction), TIAC (h), effective half-life (h), S (mGy/(MBq·s)), dose (Gy/mCi),
        prescribed activity (mCi, capped mCi, GBq), fit model, r², and ``;``-joined flags.
        A doubtful patient is flagged, never dropped; activities are NaN where the
        dosimetry failed. Flags: those of :func:`onescan.dosimetry.tac.fit_tacs`
        (``few_points``, ``fit_failed``, ``fit_not_converged``, ``lambda_at_physical_bound``,
        ``uptake_rising``, ``low_r2``) and, for the liver, ``no_liver_data``,
        ``no_liver_mass``, ``unquantified_liver_points`` (liver counts without a usable
        first whole-body scan to normalise them).
    """
    return compute_dose_details(patients, scans, settings, organs)[0]
