"""Accuracies from one confusion matrix: of every pixel, and of ARMS Net's eq. 4.

See :mod:`chromoskl.metrics` for the conventions and references.
"""

from __future__ import annotations

import numpy as np

from ._confusion import CHROMOSOME_LABELS, _divide, confusion_matrix

__all__ = ["pixel_accuracy", "two_chromosome_accuracy"]


def _pixel_accuracy_from_confusion(cm: np.ndarray) -> float:
    """Fraction of pixels whose label is right."""
    return float(_divide(np.trace(cm), cm.sum()))


def _set_accuracy_from_confusion(cm: np.ndarray, labels: tuple[int, ...]) -> np.ndarray:
    """Accuracy ``(TP + TN) / ALL`` of the binary masks ``y in labels``, from a (..., k, k)
    stack of confusion matrices."""
    labels = list(labels)
    in_true = cm[..., labels, :].sum(axis=(-2, -1))
    in_pred = cm[..., :, labels].sum(axis=(-2, -1))
    both = cm[..., labels, :][..., :, labels].sum(axis=(-2, -1))
    wrong = in_true + in_pred - 2 * both  # in one mask and not in the other
    total = cm.sum(axis=(-2, -1))
    return _divide(total - wrong, total)


def _two_chromosome_accuracy_from_confusion(cm: np.ndarray) -> float:
    """Mean over whole chromosomes A and B of their binary accuracy (ARMS eq. 4)."""
    return float(np.mean([_set_accuracy_from_confusion(cm, labels)
                          for labels in CHROMOSOME_LABELS]))


def pixel_accuracy(y_true, y_pred) -> float:
    """Fraction of all pixels whose label is right.

    Dominated by the background (about 91 % of the pixels of Pommier's data), so a model that
    predicts only background already scores about 0.91.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..3``.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.

    Returns
    -------
    accuracy : float

    Raises
    ------
    ValueError
        If the shapes differ or a label is outside ``0..3``.
    TypeError
        If a label array does not hold integers.
    """
    return _pixel_accuracy_from_confusion(confusion_matrix(y_true, y_pred))


def two_chromosome_accuracy(y_true, y_pred) -> float:
    """Accuracy of ARMS Net (eq. 4), averaged over the two whole chromosomes.

    For each whole chromosome, A = labels {1, 3} and B = labels {2, 3}, as a binary mask:
    ``(TP + TN) / ALL``, the pixels of the chromosome predicted in it plus the pixels outside
    it predicted outside it, over every pixel; then the mean of A and B, as the footnote of
    ARMS Table 3 defines its accuracy ("the average accuracy of two complete chromosomes").
    Counting TP over all chromosome labels as one foreground would ignore whether a pixel
    went to the right chromosome. The background counts: predicting only background scores
    ``1 - mean(|A|, |B|) / ALL`` (0.947 on Pommier's 94x93 images, 0.972 padded to
    128x128), so good models differ in the 4th decimal (ARMS Table 5: 99.9690 % to
    99.9955 %). The paper counts ALL over its 128x128 padded inputs: with this reading, the
    accuracies of ARMS Tables 3 and 5 follow from their chromosome IoUs and the mean
    chromosome sizes within 0.0007 points, and do not at 94x93
    (``benchmarks/arms_eq4_check.py``); ``benchmarks/paper_tables.py`` scores both sizes.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..3``.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.

    Returns
    -------
    accuracy : float
        In ``[0, 1]``, pooled over all pixels of all images.

    Raises
    ------
    ValueError
        If the shapes differ or a label is outside ``0..3``.
    TypeError
        If a label array does not hold integers.

    References
    ----------
    .. [2] Wang et al., "ARMS Net: Overlapping chromosome segmentation based on Adaptive
       Receptive field Multi-Scale network", Biomedical Signal Processing and Control 68,
       102811, 2021; eq. 4 and Table 3, footnote d.
    """
    return _two_chromosome_accuracy_from_confusion(confusion_matrix(y_true, y_pred))
