"""Which chromosome is A: the A/B assignment diagnostics, from per-image confusion matrices.

See :mod:`chromoskl.metrics` for the conventions and references.
"""

from __future__ import annotations

import numpy as np

from ..classes import A_B_EXCHANGED
from ._confusion import (
    N_CLASSES,
    _check_average,
    _check_labels,
    _chromosome_iou_from_confusion,
    _confusion_matrices_per_image,
    _divide,
    _nanmean,
)

__all__ = ["swapped_share", "chromosome_iou_any_order"]


def _best_order_from_confusion(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image, the confusion matrix of the better of the two A/B assignments.

    Parameters
    ----------
    cm : ndarray of int, shape (n_images, 4, 4)

    Returns
    -------
    best : ndarray of int, shape (n_images, 4, 4)
        ``cm`` where the prediction scores at least as well as predicted, else the confusion
        matrix of the prediction with labels 1 and 2 exchanged.
    swapped : ndarray of bool, shape (n_images,)
        Where the exchange is strictly better: the mean of the two whole-chromosome IoUs
        (NaN skipped) is higher after it.
    defined : ndarray of bool, shape (n_images,)
        Where that mean is defined: the image has a chromosome pixel in the truth or the
        prediction. The exchange keeps the chromosome pixels (labels 1, 2, 3) as a whole, so
        the mean is defined before the exchange exactly where it is after it.
    """
    # the prediction's labels 1 and 2 exchanged: columns reordered, background and overlap kept
    exchanged = cm[..., :, A_B_EXCHANGED]
    as_predicted = _nanmean(_chromosome_iou_from_confusion(cm), axis=-1)
    after_exchange = _nanmean(_chromosome_iou_from_confusion(exchanged), axis=-1)
    swapped = after_exchange > as_predicted  # False where NaN
    best = np.where(swapped[:, np.newaxis, np.newaxis], exchanged, cm)
    return best, swapped, ~np.isnan(as_predicted)


def _swapped_share_from_confusion(cm: np.ndarray) -> float:
    """Share of the defined images (of a (n, 4, 4) stack) that score better with A, B swapped."""
    _, swapped, defined = _best_order_from_confusion(cm)
    return float(_divide(np.count_nonzero(swapped & defined), np.count_nonzero(defined)))


def _chromosome_iou_any_order_from_confusion(cm: np.ndarray, average: str) -> np.ndarray:
    """Chromosome IoU (A, B) of the per-image best assignments of a (n, 4, 4) stack."""
    best = _best_order_from_confusion(cm)[0]
    if average == "pooled":
        return _chromosome_iou_from_confusion(best.sum(axis=0))
    return _nanmean(_chromosome_iou_from_confusion(best))



def swapped_share(y_true, y_pred) -> float:
    """Share of the images that score better with chromosomes A and B swapped in the prediction.

    A network may find both chromosomes and still call A "B" and B "A" (it may have learnt
    which chromosome is A, the smaller, by heart, and fail on pairs it has not seen). For
    each image this compares the mean of the two whole-chromosome IoUs (:func:`chromosome_iou`
    of that image) as predicted, and after exchanging the labels 1 and 2 of the prediction
    (0 and 3 unchanged). Lower is better: 0 means no image would gain from the exchange.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..3``; axis 0 indexes the images and a 2-D array is one image.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.

    Returns
    -------
    share : float
        In ``[0, 1]``: the images whose mean chromosome IoU is strictly higher after the
        exchange, over the images where it is defined. An image with no chromosome pixel
        (label 1, 2 or 3) in the truth nor in the prediction is left out; NaN when every
        image is. A tie (for instance a symmetric prediction) does not count as swapped.

    Raises
    ------
    ValueError
        If the shapes differ or a label is outside ``0..3``.
    TypeError
        If a label array does not hold integers.

    See Also
    --------
    chromosome_iou_any_order : the chromosome IoU after the better assignment of each image.
    """
    y_true, y_pred = _check_labels(y_true, y_pred)
    return _swapped_share_from_confusion(_confusion_matrices_per_image(y_true, y_pred, N_CLASSES))


def chromosome_iou_any_order(y_true, y_pred, *, average: str = "pooled") -> np.ndarray:
    """Chromosome IoU (A, B) after giving each image its better A/B assignment.

    The permutation-invariant score of Kluvanec et al. 2022 [4]_ (permutation-invariant
    scoring of overlapping-chromosome separation): which of the two chromosomes is called A
    is a convention (here the smaller), and a network that separates the two chromosomes
    well but names them the other way round scores 0 with :func:`chromosome_iou` and 1 here.
    For each image, the prediction is taken as it is or with labels 1 and 2 exchanged,
    whichever gives the higher mean of the two whole-chromosome IoUs (as predicted on a
    tie); then the IoU of chromosome A = {1, 3} and B = {2, 3} is computed on those
    per-image best predictions exactly as :func:`chromosome_iou` does. Comparing the two
    tells how much of the chromosome error is only the naming of A and B.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..3``; axis 0 indexes the images and a 2-D array is one image.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.
    average : {"pooled", "image"}, default="pooled"
        See :func:`iou_per_class`. The assignment is chosen per image in both cases.

    Returns
    -------
    iou : ndarray of float64, shape (2,)
        IoU of chromosome A, then of chromosome B; NaN for a chromosome absent from both
        arrays. Per image, their mean is at least that of :func:`chromosome_iou`.

    Raises
    ------
    ValueError
        If the shapes differ, a label is outside ``0..3``, or ``average`` is unknown.
    TypeError
        If a label array does not hold integers.

    Notes
    -----
    The published evaluation code [4]_ (``_calculate_metrics`` in ``semantic_segmentation.py``)
    chooses the assignment by the mean IoU of the classes "A only" and "B only" and scores an
    empty union as 0; this chooses it by the mean whole-chromosome IoU, the quantity that is
    then reported, and keeps NaN for an undefined IoU, as the rest of this module does. The
    two choices can differ where the overlap pixels, or a class absent from an image, tip the
    balance.

    References
    ----------
    .. [4] D. Kluvanec et al., "Using Orientation to Distinguish Overlapping Chromosomes",
       2022; code at https://github.com/KluvaDa/Chromosomes.
    """
    average = _check_average(average)
    y_true, y_pred = _check_labels(y_true, y_pred)
    cm = _confusion_matrices_per_image(y_true, y_pred, N_CLASSES)
    return _chromosome_iou_any_order_from_confusion(cm, average)
