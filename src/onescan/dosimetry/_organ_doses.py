"""Organ doses, cross-dose, organ limits and uncertainties: the SPEC §2.4–§2.6 layout of the dosimetry.

Used by :func:`onescan.dosimetry._dose.compute_dose` when the settings ask for more than the
target organ (``extra_organs``, ``limits``) or for uncertainties. For every organ dosed
(target organs, extra organs, limited organs) and every source organ of a cross-dose S-value row:

* TIAC of the organ's region (the fit of ``settings.fit``);
* dose per activity D_t/A₀ = [TIAC_t·S_tt(m_t) + Σ_{s≠t} TIAC_s·S_st]·3600/1000 Gy/MBq, the
  self-dose S-value scaled to the organ mass (``mass_scaling``), the cross-dose S-values of
  the S-value rows (shipped rows replaced and extended by ``--s-values``) used at their
  reference masses (OLINDA/EXM practice: only self-dose is mass-scaled);
* prescription: the smallest activity that gives any organ its limit (target organs:
  ``target_gy``; others from ``limits``), capped at ``max_activity_mci``; ``limiting_organ``;
* each organ's dose at the capped prescription, Gy;
* with ``uncertainty``: relative standard uncertainties (:mod:`onescan.dosimetry._uncertainty`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from onescan.contract._errors import InputError
from onescan.contract._organs import WHOLE_BODY_REGION, Organ, organs as registry
from onescan.contract._units import MBQ_PER_MCI, SECONDS_PER_HOUR
from onescan.dosimetry._organ_data import FIT_COLUMNS, ORGAN_QUANTITIES, organ_flags, organ_mass_g, pivot_region
from onescan.dosimetry._physics import s_value_mgy_per_mbq_s
from onescan.dosimetry._quantify import counting_u_rel, normaliser_rows, quantify
from onescan.dosimetry._uncertainty import s_mass_sensitivity, tiac_uncertainty
from onescan.dosimetry.tac import fit_tacs

__all__ = ["extended_dose", "extended_columns", "dosed_organs"]

log = logging.getLogger(__name__)

#: Gy/mCi per (h × mGy/(MBq·s)).
_GY_PER_MCI = SECONDS_PER_HOUR / 1000.0 * MBQ_PER_MCI

#: Columns of every other organ dosed.
OTHER_QUANTITIES = ("tiac_h", "dose_gy_per_mci", "dose_gy")

#: Prescription columns of the SPEC §2 layout.
PRESCRIPTION = ("prescribed_activity_mci", "prescribed_activity_capped_mci", "prescribed_activity_gbq",
                "prescribed_activity_capped_gbq")


def dosed_organs(settings, targets: list[Organ], regions=()) -> list[Organ]:
    """The organs dosed besides ``targets``: the extra organs, then the limited ones.

    ``extra_organs="all"`` means every registry organ whose region is among ``regions``
    (the regions of the scans).
    """
    keys = [o.key for o in targets]
    table = registry()
    if settings.extra_organs == "all":
        extra = [k for k, o in table.items() if o.region in set(regions)]
    else:
        extra = list(settings.extra_organs)
    extra += [k for k, _ in settings.limits]
    return [table[k] for k in dict.fromkeys(extra) if k not in keys]


def extended_columns(targets: list[Organ], others: list[Organ], uncertainty: bool) -> list[str]:
    """Output columns of the SPEC §2 layout, in order."""
    cols = ["patient_id"]
    for o in targets:
        cols += [o.column(q) for q in ORGAN_QUANTITIES]
    cols += PRESCRIPTION
    if uncertainty:
        for o in targets:
            cols += [o.column("tiac_u_rel"), o.column("dose_gy_per_mci_u_rel")]
        cols.append("prescribed_activity_u_rel")
    cols.append("limiting_organ")
    cols += FIT_COLUMNS if len(targets) == 1 else [o.column(c) for o in targets for c in FIT_COLUMNS]
    for o in others:
        cols += [o.column(q) for q in OTHER_QUANTITIES]
        if uncertainty:
            cols += [o.column("tiac_u_rel"), o.column("dose_gy_per_mci_u_rel")]
    cols.append("flags")
    return cols


def _mass(patients: pd.DataFrame, o: Organ, reference_ok: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Organ mass (g), where the reference mass stands in for it, and where it is the body weight."""
    n = len(patients)
    try:
        m = organ_mass_g(patients, o)
    except InputError:
        if not reference_ok:
            raise
        m = np.full(n, np.nan)
    weighed = np.zeros(n, dtype=bool)
    if o.region == WHOLE_BODY_REGION and "weight_kg" in patients.columns:
        w = pd.to_numeric(patients["weight_kg"], errors="coerce").to_numpy(dtype=float)
        weighed = np.isnan(m) & (w > 0)
        m = np.where(weighed, w * 1000.0, m)  # 1 kg = 1000 g
    if not reference_ok:
        return m, np.zeros(n, dtype=bool), weighed
    ref = ~(m > 0)
    return np.where(ref, o.reference_mass_g, m), ref, weighed


class _Fits:
    """The TAC fit (and uncertainty) of each organ needed, fitted once."""

    def __init__(self, q, ids, settings, lam_phys, u_row, norm_row):
        self.q, self.ids, self.settings, self.lam = q, ids, settings, lam_phys
        self.q = q.assign(u_row=u_row, norm_row=norm_row.astype(float))
        self.cache: dict[str, tuple] = {}

    def get(self, o: Organ):
        if o.key not in self.cache:
            arr = pivot_region(self.q, self.ids, o.region, ("time_h", "fraction", "u_row", "norm_row"))
            t, f = arr["time_h"], arr["fraction"]
            fit = fit_tacs(t, f, method=self.settings.fit, lambda_phys_per_h=self.lam)
            unc = None
            if self.settings.uncertainty:
                unc = tiac_uncertainty(t, f, arr["u_row"], arr["norm_row"] == 1.0, self.settings.fit, self.lam, fit)
            self.cache[o.key] = (t, f, fit, unc)
        return self.cache[o.key]


def _organ_dose(o, fits: _Fits, pairs, mass, u_mass, settings, u_norm):
    """Dose per activity (Gy/mCi) of target ``o``, self + cross, and its relative uncertainty."""
    table = registry()
    _, _, fit, unc = fits.get(o)
    self_row = pairs.get((o.key, o.key))
    n = len(mass)
    s_self = s_value_mgy_per_mbq_s(mass, settings.mass_scaling, self_row) if self_row else np.zeros(n)
    d = fit.tiac_h * SECONDS_PER_HOUR * s_self / 1000.0 * MBQ_PER_MCI
    var_own = (unc.var_own * s_self ** 2) if unc else None
    d_norm = (unc.d_dln_norm * s_self) if unc else None
    for (src, tgt), row in pairs.items():
        if tgt != o.key or src == o.key or src not in table:
            continue
        _, _, f_s, u_s = fits.get(table[src])
        d = d + np.nan_to_num(f_s.tiac_h) * row.s_ref * _GY_PER_MCI
        if unc:
            var_own = var_own + np.nan_to_num(u_s.var_own) * row.s_ref ** 2
            d_norm = d_norm + np.nan_to_num(u_s.d_dln_norm) * row.s_ref
    u_rel = None
    if unc:
        sens = s_mass_sensitivity(mass, settings.mass_scaling, self_row) if self_row else np.zeros(n)
        var_mass = (fit.tiac_h * s_self * sens * u_mass) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            u_rel = np.sqrt(var_own + (d_norm * u_norm) ** 2 + var_mass) * _GY_PER_MCI / d
    d = np.where(self_row is not None or d > 0, d, np.nan)
    return s_self, d, u_rel


def extended_dose(patients: pd.DataFrame, scans: pd.DataFrame, settings, targets: list[Organ]):
    """The SPEC §2 dosimetry table (see the module docstring) and the first target organ's fit."""
    lam = settings.lambda_phys_per_h()
    ids = patients["patient_id"].astype(str).to_numpy()
    q = quantify(scans, mu_per_cm=settings.mu_per_cm, lambda_phys_per_h=lam)
    norm = normaliser_rows(scans, settings.mu_per_cm)
    u_row = counting_u_rel(scans)
    u_norm = pd.Series(u_row[norm], index=q["patient_id"].to_numpy()[norm]).reindex(ids).to_numpy(dtype=float)
    fits = _Fits(q, ids, settings, lam, u_row, norm)
    pairs = settings.s_pairs()
    for o in targets:
        settings.s_table(o)  # a target organ needs its self-dose row (InputError otherwise)
    others = dosed_organs(settings, targets, set(q["region"]))
    several = len(targets) > 1
    data: dict[str, object] = {"patient_id": ids}
    flags = [[] for _ in ids]
    per_mci, u_dose = {}, {}
    for o in targets + others:
        is_target = o in targets
        t, f, fit, unc = fits.get(o)
        mass, ref, weighed = _mass(patients, o, reference_ok=not is_target)
        u_mass = np.where(weighed, 0.0, settings.mass_uncertainty)  # a scale weighs far better than CT
        s_self, d, u_d = _organ_dose(o, fits, pairs, mass, u_mass, settings, u_norm)
        per_mci[o.key], u_dose[o.key] = d, u_d
        if is_target:
            first = np.argmax(np.isfinite(t), axis=1)
            vals = (f[np.arange(len(ids)), first], fit.tiac_h, fit.effective_half_life_h, s_self, d)
            data.update({o.column(qty): v for qty, v in zip(ORGAN_QUANTITIES, vals)})
            names = [o.column(c) for c in FIT_COLUMNS] if several else list(FIT_COLUMNS)
            data.update(zip(names, (fit.model, fit.r2)))
        else:
            data[o.column("tiac_h")], data[o.column("dose_gy_per_mci")] = fit.tiac_h, d
        if unc is not None:
            data[o.column("tiac_u_rel")] = unc.u_rel(fit.tiac_h, u_norm)
            data[o.column("dose_gy_per_mci_u_rel")] = u_d
        for i, fl in enumerate(organ_flags(o, fit, t, f, mass, several or not is_target)):
            flags[i] += fl + ([f"{o.key}_reference_mass"] if ref[i] else [])
            if unc is not None and unc.misfit[i]:
                flags[i].append(f"{o.key}_misfit_beyond_counting")
    limits = {o.key: settings.target_gy for o in targets} | dict(settings.limits)
    keys = list(limits)
    with np.errstate(divide="ignore", invalid="ignore"):
        acts = np.column_stack([np.where(per_mci[k] > 0, limits[k] / per_mci[k], np.nan) for k in keys])
    act = np.min(acts, axis=1)  # NaN when any limited organ has no dose (cannot be checked)
    which = np.argmin(np.where(np.isnan(acts), np.inf, acts), axis=1)
    capped = np.minimum(act, settings.max_activity_mci)
    data.update(zip(PRESCRIPTION, (act, capped, act * MBQ_PER_MCI / 1000.0, capped * MBQ_PER_MCI / 1000.0)))
    data["limiting_organ"] = np.where(np.isfinite(act), np.asarray(keys, dtype=object)[which], "")
    if settings.uncertainty:
        u_all = np.column_stack([u_dose[k] for k in keys])
        data["prescribed_activity_u_rel"] = np.where(np.isfinite(act), u_all[np.arange(len(ids)), which], np.nan)
    for o in others:
        data[o.column("dose_gy")] = per_mci[o.key] * capped
    data["flags"] = [";".join(x) for x in flags]
    out = pd.DataFrame(data, columns=extended_columns(targets, others, settings.uncertainty))
    log.info("dosimetry (organs %s; limits %s): %d patients", ", ".join(o.key for o in targets + others),
             ", ".join(f"{k}={v:g} Gy" for k, v in limits.items()), len(out))
    return out, fits.get(targets[0])[2]
