"""Sequential feature selection: the mlxtend-compatible estimator and its batched kernels."""

from onescan.models.selection._selector import SequentialFeatureSelector

__all__ = ["SequentialFeatureSelector"]
