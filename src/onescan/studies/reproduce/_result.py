"""What ``onescan reproduce`` computed, as typed objects; ``to_dict()`` gives ``metrics.json``."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["SelectedModel", "SplitResult", "CVSummary", "ReproduceSummary", "ReproduceResult"]


def _clean(obj):
    from onescan.studies._reproduce import _clean as clean  # the study's JSON cleaner (NaN → None, numpy → Python)

    return clean(obj)


@dataclass
class SelectedModel:
    """The LASSO pipeline of the published split: selected features and coefficients (mCi per scaled unit)."""

    features: list[dict]
    intercept_mci: float
    coefficient_unit: str

    def to_dict(self) -> dict:
        """``metrics.json``'s ``split.selected_model``."""
        return {"features": self.features, "intercept_mci": self.intercept_mci,
                "coefficient_unit": self.coefficient_unit}


@dataclass
class SplitResult:
    """The published 70/30 split: sizes, every method's metrics, prediction intervals, fitted models.

    Attributes
    ----------
    n_train, n_test : int
    test_mean_actual_mci : float
    metrics : dict
        method → metric → value (:func:`onescan.evaluation.regression_metrics`, calibration,
        Bland–Altman).
    interval, interval_hybrid : dict or None
        CV+ prediction-interval summaries of the LASSO pipeline and the hybrid model.
    stp_half_life_pop_h : float or None
        Population effective half-life (h) of the single-time-point baseline.
    selected_model : SelectedModel
    hybrid_model : dict or None
        The fitted hybrid model's clearance model.
    """

    n_train: int
    n_test: int
    test_mean_actual_mci: float
    metrics: dict
    interval: dict | None
    interval_hybrid: dict | None
    stp_half_life_pop_h: float | None
    selected_model: SelectedModel
    hybrid_model: dict | None

    def to_dict(self) -> dict:
        """``metrics.json``'s ``split``."""
        return {"n_train": self.n_train, "n_test": self.n_test, "test_mean_actual_mci": self.test_mean_actual_mci,
                "metrics": self.metrics, "interval": self.interval, "interval_hybrid": self.interval_hybrid,
                "stp_half_life_pop_h": self.stp_half_life_pop_h, "selected_model": self.selected_model.to_dict(),
                "hybrid_model": self.hybrid_model}


@dataclass
class CVSummary:
    """The repeated cross-validation: its settings, metric summaries and selection frequencies (0–1)."""

    seed: int
    folds: int
    repeats: int
    summary: dict
    selection_frequency: dict[str, dict[str, float]]

    def to_dict(self) -> dict:
        """``metrics.json``'s ``cv``."""
        return {"seed": self.seed, "folds": self.folds, "repeats": self.repeats, "summary": self.summary,
                "selection_frequency": self.selection_frequency}


@dataclass
class ReproduceSummary:
    """Every number of the reproduce report (``metrics.json``), typed by part."""

    created_utc: str
    seed: int
    settings: dict
    versions: dict
    inputs: dict
    cohort: dict
    paper: dict
    methods: dict[str, str]
    method_short: dict[str, str]
    notes: list[str]
    split: SplitResult
    cv: CVSummary
    comparison: dict
    robust_features: list[dict]
    example: dict | None = None

    def to_dict(self) -> dict:
        """The ``metrics.json`` content: strictly JSON-serialisable (NaN → None)."""
        out = {
            "onescan_report": "reproduce", "created_utc": self.created_utc, "seed": self.seed,
            "settings": self.settings, "versions": self.versions, "inputs": self.inputs, "cohort": self.cohort,
            "paper": self.paper, "methods": self.methods, "method_short": self.method_short, "notes": self.notes,
            "split": self.split.to_dict(), "cv": self.cv.to_dict(), "comparison": self.comparison,
            "robust_features": self.robust_features,
        }
        if self.example is not None:
            out["example"] = {k: v for k, v in self.example.items() if k not in ("time_h", "fraction")}
        return _clean(out)


@dataclass
class ReproduceResult:
    """What :func:`onescan.studies.reproduce` computed.

    Attributes
    ----------
    summary : ReproduceSummary
        Every number of the report; ``metrics`` (= ``summary.to_dict()``) is ``metrics.json``.
    predictions : pandas.DataFrame
        One row per test patient of the published split (mCi).
    plot_data : dict
        Arrays for the figures (out-of-fold predictions, the example patient's curve).
    """

    summary: ReproduceSummary
    predictions: pd.DataFrame
    plot_data: dict = field(default_factory=dict)

    @property
    def metrics(self) -> dict:
        """The ``metrics.json`` content (settings, inputs, cohort, the paper's table, split, CV, …)."""
        return self.summary.to_dict()

    def to_dict(self) -> dict:
        """Same as :attr:`metrics`."""
        return self.metrics
