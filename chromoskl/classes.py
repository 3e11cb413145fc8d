"""The pixel classes of a crop of two overlapping chromosomes, defined once.

Every pixel is one of four classes (DESIGN): 0 background, 1 chromosome A only (A is the
smaller chromosome), 2 chromosome B only, 3 the overlap of A and B. A whole chromosome is
its own class plus the overlap: A = {1, 3}, B = {2, 3}. The metrics, the decoding, the
plots, the checks of labels and the networks' default number of outputs read these
constants from here.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "N_CLASSES",
    "BACKGROUND",
    "CHROMOSOME_A",
    "CHROMOSOME_B",
    "OVERLAP",
    "CLASS_NAMES",
    "SHORT_CLASS_NAMES",
    "CHROMOSOME_LABELS",
    "A_B_EXCHANGED",
    "labels_to_instances",
]

BACKGROUND, CHROMOSOME_A, CHROMOSOME_B, OVERLAP = 0, 1, 2, 3
#: number of classes, and of output channels of every network by default
N_CLASSES = 4
#: names for people (legends, reports), indexed by class
CLASS_NAMES = ("background", "chromosome A", "chromosome B", "overlap")
#: names inside score keys (``iou_a``, ``dice_overlap``), indexed by class
SHORT_CLASS_NAMES = ("background", "a", "b", "overlap")
#: the classes that make each whole chromosome: A = A only + overlap, B = B only + overlap
CHROMOSOME_LABELS = ((CHROMOSOME_A, OVERLAP), (CHROMOSOME_B, OVERLAP))
#: the class each class becomes when A and B are exchanged, indexed by class: (0, 2, 1, 3)
A_B_EXCHANGED = (BACKGROUND, CHROMOSOME_B, CHROMOSOME_A, OVERLAP)


def labels_to_instances(labels) -> np.ndarray:
    """Split label masks into one boolean mask per whole chromosome.

    Parameters
    ----------
    labels : array-like of int, shape (n, H, W)
        Class labels, as :data:`CLASS_NAMES`.

    Returns
    -------
    ndarray of bool, shape (n, 2, H, W)
        Chromosome A (labels {1, 3}) in channel 0, chromosome B (labels {2, 3}) in
        channel 1; the overlap belongs to both.

    Examples
    --------
    >>> labels_to_instances([[[0, 1, 2, 3]]]).astype(int).tolist()
    [[[[0, 1, 0, 1]], [[0, 0, 1, 1]]]]
    """
    labels = np.asarray(labels)
    return np.stack([np.isin(labels, classes) for classes in CHROMOSOME_LABELS], axis=1)
