"""The hold-out of a fraction of the images, random or grouped by chromosome pair, written once.

:func:`holdout_indices` is the one place that draws it: the estimator's internal validation
split (:class:`ValidationSplit`), ``chromoskl train`` and the benchmarks all call it.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from torch.utils.data import Subset

__all__ = ["ValidationSplit", "holdout_indices"]


class ValidationSplit(BaseEstimator):
    """Hold out a fixed, non-stratified fraction of the training images for validation.

    A drop-in ``train_split`` for skorch: ``split(dataset, y=None, groups=None)`` returns the
    training and validation subsets. When ``groups`` is given (``seg.fit(X, y, groups=pairs)``),
    whole groups are held out (``GroupShuffleSplit``), so that early stopping is judged on
    chromosome pairs the network has not seen, as on a grouped test set. skorch's own
    ``ValidSplit`` is stratified for classifiers and ignores groups; neither fits masks.

    Parameters
    ----------
    fraction : float, default=0.1
        Fraction of the images (or of the groups) held out, in (0, 1).
    random_state : int, default=0
        Seed of the split, fixed so that repeated fits validate on the same images.
    """

    def __init__(self, fraction: float = 0.1, random_state: int = 0):
        self.fraction = fraction
        self.random_state = random_state

    def __call__(self, dataset, y=None, groups=None):
        if not 0.0 < self.fraction < 1.0:
            raise ValueError(
                f"ValidationSplit.fraction must lie strictly between 0 and 1, got "
                f"{self.fraction!r}; use train_split=None to train without validation."
            )
        n = len(dataset)
        if groups is not None:
            groups = np.asarray(groups)
            if len(groups) != n:
                raise ValueError(
                    f"groups has {len(groups)} entries but there are {n} images: give one group "
                    "label per image."
                )
            if len(np.unique(groups)) < 2:
                raise ValueError(
                    "A grouped validation split needs at least 2 distinct groups, got 1."
                )
        elif n < 2:
            raise ValueError(
                "A validation split needs at least 2 images; give more images or set "
                "train_split=None."
            )
        train, valid, _ = holdout_indices(
            n, groups, kind="random" if groups is None else "grouped",
            test_size=self.fraction, random_state=self.random_state,
        )
        return Subset(dataset, train), Subset(dataset, valid)


def holdout_indices(n_images: int, groups=None, *, kind="grouped", test_size=0.2, random_state=0):
    """Training and test indices of a single hold-out, random or grouped by chromosome pair.

    Parameters
    ----------
    n_images : int
    groups : array-like of shape (n_images,) or None
        Chromosome-pair labels; a grouped hold-out needs at least 2 distinct ones, else the
        hold-out is random.
    kind : {"grouped", "random"}, default="grouped"
        ``"grouped"`` keeps every pair of the test set out of training (what a user should
        expect on new chromosomes); ``"random"`` is the papers' split, where the same pair,
        rotated or shifted, is on both sides.
    test_size : float, default=0.2
    random_state : int, default=0

    Returns
    -------
    train, test : ndarray of int
    kind : str
        What was done, in words ("grouped by chromosome pair" or "random images").
    """
    if kind not in ("grouped", "random"):
        raise ValueError(f"kind must be 'grouped' or 'random', got {kind!r}.")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must lie between 0 and 1, got {test_size}.")
    indices = np.arange(n_images)
    if kind == "grouped" and groups is not None and len(np.unique(groups)) > 1:
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
        train, test = next(splitter.split(indices, groups=groups))
        return train, test, "grouped by chromosome pair"
    splitter = ShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
    train, test = next(splitter.split(indices))
    return train, test, "random images"
