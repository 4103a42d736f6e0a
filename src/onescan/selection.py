"""Fast sequential feature selection (public import path).

``onescan.selection.SequentialFeatureSelector`` is the mlxtend-compatible
selector of :mod:`onescan.models.selection`; this module keeps the short
import path stable.
"""

from onescan.models.selection import SequentialFeatureSelector

__all__ = ["SequentialFeatureSelector"]
