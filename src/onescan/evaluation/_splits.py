"""Row splits of a cohort: the seed study's 70/30 split and repeated k-fold partitions."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import RepeatedKFold, train_test_split

__all__ = ["published_split", "repeated_kfold_splits"]


def published_split(n: int, seed: int = 0, test_size: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """The seed study's train/test split over row positions 0..n−1 (file order).

    ``sklearn.model_selection.train_test_split(range(n), test_size, random_state=seed,
    shuffle=True)``.

    Parameters
    ----------
    n : int
        Patients (rows).
    seed : int, default 0
        ``random_state`` of the split.
    test_size : float, default 0.3
        Share of patients in the test set.

    Returns
    -------
    train, test : ndarray of int
        Row positions, in the order ``train_test_split`` returns them.
    """
    if n < 4:
        raise ValueError(f"need at least 4 patients for a train/test split, got {n}")
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed, shuffle=True)
    return np.asarray(train), np.asarray(test)


def repeated_kfold_splits(n: int, folds: int, repeats: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)`` over rows 0..n−1.

    Parameters
    ----------
    n : int
        Patients (rows).
    folds, repeats, seed : int

    Returns
    -------
    list of (train, test)
        Row positions; split ``i`` belongs to repeat ``i // folds``.
    """
    return list(RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=seed).split(np.arange(n)))
