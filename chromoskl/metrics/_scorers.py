"""Every score at once, and scikit-learn scorers (``make_scorer``) of each of them.

See :mod:`chromoskl.metrics` for the conventions and references.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import make_scorer

from .._geometry import centre_crop
from .._validation import integer_labels
from ..exceptions import UnknownNameError
from ._accuracy import _pixel_accuracy_from_confusion, _two_chromosome_accuracy_from_confusion
from ._assignment import _chromosome_iou_any_order_from_confusion, _swapped_share_from_confusion
from ._confusion import (
    CLASS_NAMES,
    N_CLASSES,
    _check_labels,
    _chromosome_iou_from_confusion,
    _confusion_matrices_per_image,
    _dice_from_confusion,
    _iou_from_confusion,
    _nanmean,
)
from ._distance import _assd, _distances_per_class, _hd95

__all__ = [
    "segmentation_scores",
    "SCORERS",
    "get_scorer",
    "mask_score",
]


# --------------------------------------------------------------------------------------------
# All scores at once
# --------------------------------------------------------------------------------------------


def _scores_from_confusion(cm: np.ndarray) -> dict[str, float]:
    """Every scalar region metric of a pooled 4x4 confusion matrix, as Python floats."""
    iou, dice = _iou_from_confusion(cm), _dice_from_confusion(cm)
    chromosome = _chromosome_iou_from_confusion(cm)
    scores = {"overlap_iou": float(iou[3]), "mean_iou": float(_nanmean(iou))}
    scores.update({f"iou_{name}": float(v) for name, v in zip(CLASS_NAMES, iou)})
    scores["mean_dice"] = float(_nanmean(dice))
    scores.update({f"dice_{name}": float(v) for name, v in zip(CLASS_NAMES, dice)})
    scores["chromosome_a_iou"] = float(chromosome[0])
    scores["chromosome_b_iou"] = float(chromosome[1])
    scores["chromosome_iou"] = float(_nanmean(chromosome))
    scores["pixel_accuracy"] = _pixel_accuracy_from_confusion(cm)
    scores["two_chromosome_accuracy"] = _two_chromosome_accuracy_from_confusion(cm)
    return scores


def _scores_from_confusion_per_image(cm: np.ndarray) -> dict[str, float]:
    """Every scalar region metric of a (n_images, 4, 4) stack of confusion matrices.

    The pooled metrics of :func:`_scores_from_confusion` (of their sum), and the A/B
    diagnostics, which need the images apart: ``ab_swapped_share`` and the chromosome IoUs
    after the better A/B assignment of each image (pooled).
    """
    scores = _scores_from_confusion(cm.sum(axis=0))
    scores["ab_swapped_share"] = _swapped_share_from_confusion(cm)
    any_order = _chromosome_iou_any_order_from_confusion(cm, "pooled")
    scores["chromosome_a_iou_any_order"] = float(any_order[0])
    scores["chromosome_b_iou_any_order"] = float(any_order[1])
    scores["chromosome_iou_any_order"] = float(_nanmean(any_order))
    return scores


def segmentation_scores(
    y_true, y_pred, *, distances: bool = False, spacing: float | tuple[float, ...] = 1.0
) -> dict[str, float]:
    """Every scalar metric at once, as plain Python floats (for a metrics JSON file).

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..3``.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.
    distances : bool, default=False
        Also compute the boundary metrics (``hd95_*``, ``assd_*``), one distance transform per
        class and image: much slower than the rest.
    spacing : float or tuple of float, default=1.0
        Pixel size for the boundary metrics.

    Returns
    -------
    scores : dict of str to float
        ``overlap_iou``, ``mean_iou`` (mean of the four pooled class IoUs, NaN skipped),
        ``iou_background``, ``iou_a``, ``iou_b``, ``iou_overlap``, ``mean_dice``,
        ``dice_background``, ``dice_a``, ``dice_b``, ``dice_overlap``, ``chromosome_a_iou``,
        ``chromosome_b_iou``, ``chromosome_iou`` (their mean), ``pixel_accuracy``,
        ``two_chromosome_accuracy``, ``ab_swapped_share`` (:func:`swapped_share`; lower is
        better), ``chromosome_a_iou_any_order``, ``chromosome_b_iou_any_order``,
        ``chromosome_iou_any_order`` (their mean; :func:`chromosome_iou_any_order`, pooled);
        with ``distances=True`` also ``hd95_<class>`` and ``assd_<class>`` for the four
        classes. Region metrics are pooled over all pixels (the A/B assignment of the
        ``*_any_order`` scores is chosen per image); values may be NaN (see the functions
        above). Axis 0 indexes the images; a 2-D array is one image.

    Raises
    ------
    ValueError
        If the shapes differ or a label is outside ``0..3``.
    TypeError
        If a label array does not hold integers.
    """
    y_true = integer_labels(y_true, name="y_true")
    y_pred = integer_labels(y_pred, name="y_pred")
    y_true, y_pred = _check_labels(y_true, y_pred)
    # One confusion matrix per image (their sum is the pooled one): the A/B diagnostics
    # choose the assignment of each image.
    scores = _scores_from_confusion_per_image(
        _confusion_matrices_per_image(y_true, y_pred, N_CLASSES)
    )
    if distances:
        reducers = {"hd95": _hd95, "assd": _assd}
        per_class = _distances_per_class(y_true, y_pred, reducers, spacing, N_CLASSES)
        for prefix, values in per_class.items():
            scores.update({f"{prefix}_{name}": float(v) for name, v in zip(CLASS_NAMES, values)})
    return scores


# --------------------------------------------------------------------------------------------
# Scorers for scikit-learn
# --------------------------------------------------------------------------------------------


def _match_prediction_to_labels(y_pred, y_true) -> tuple[np.ndarray, np.ndarray]:
    """Crop a prediction, centred, to the labels' (H, W); labels smaller than images are
    centred on them (:class:`~chromoskl.transformers.PadToShape`), so this undoes that.

    Raises
    ------
    ValueError
        If the labels are larger than the prediction, or their dimensions do not match.
    """
    y_pred, y_true = np.asarray(y_pred), np.asarray(y_true)
    if y_true.ndim not in (2, 3):
        raise ValueError(f"y must have shape (n, H, W) or (H, W), got {y_true.shape}.")
    # the labels' rule of fit (whole-number floats yes, booleans no), for score as well
    y_true = integer_labels(y_true)
    if y_true.ndim == 2 and y_pred.ndim == 3 and y_pred.shape[0] == 1:
        y_pred = y_pred[0]
    if y_pred.ndim != y_true.ndim:
        raise ValueError(
            f"The prediction of shape {y_pred.shape} does not match labels y of shape "
            f"{y_true.shape}; y must have shape (n, H, W) or (H, W)."
        )
    (h, w), (big_h, big_w) = y_true.shape[-2:], y_pred.shape[-2:]
    if h > big_h or w > big_w:
        raise ValueError(
            f"Labels y of size {h}x{w} are larger than the predictions ({big_h}x{big_w}); "
            "labels must be the size of the images or smaller (centred on them)."
        )
    return centre_crop(y_pred, (h, w)), y_true


def mask_score(y_true, y_pred, *, metric: str) -> float:
    """The metric named ``metric`` of :func:`segmentation_scores`, after cropping the
    prediction, centred, to the labels' size: the score function of :data:`SCORERS`.

    Parameters
    ----------
    y_true : array-like of int, shape (n, h, w) or (h, w)
    y_pred : array-like of int, shape (n, H, W) or (1, H, W), H >= h and W >= w
    metric : str
        A key of :func:`segmentation_scores`.
    """
    y_pred, y_true = _match_prediction_to_labels(y_pred, y_true)
    y_true, y_pred = _check_labels(y_true, y_pred)
    cm = _confusion_matrices_per_image(y_true, y_pred, N_CLASSES)
    return _scores_from_confusion_per_image(cm)[metric]


_SCORER_NAMES = (
    "overlap_iou",
    "mean_iou",
    "iou_background",
    "iou_a",
    "iou_b",
    "iou_overlap",
    "mean_dice",
    "dice_background",
    "dice_a",
    "dice_b",
    "dice_overlap",
    "chromosome_iou",
    "chromosome_a_iou",
    "chromosome_b_iou",
    "pixel_accuracy",
    "two_chromosome_accuracy",
    "chromosome_iou_any_order",
)
# Metrics where lower is better: their scorers return minus the metric, under "neg_<name>".
_LOWER_IS_BETTER = ("ab_swapped_share",)

#: Scorers for ``GridSearchCV``/``cross_validate``, by name; pass one
#: (``scoring=SCORERS["overlap_iou"]``) or a dict of several for multi-metric search. They are
#: scikit-learn scorers (``make_scorer`` of :func:`mask_score`), so a dict of them calls
#: ``predict`` once per fold and shares the prediction. Each crops the prediction, centred, to
#: the labels' size. All are greater-is-better: ``"neg_ab_swapped_share"`` is minus the
#: ``ab_swapped_share`` of :func:`segmentation_scores`, as scikit-learn's ``"neg_*"`` scorers.
SCORERS: dict = {
    **{name: make_scorer(mask_score, metric=name) for name in _SCORER_NAMES},
    **{
        f"neg_{name}": make_scorer(mask_score, greater_is_better=False, metric=name)
        for name in _LOWER_IS_BETTER
    },
}


def get_scorer(scoring) -> Callable:
    """Return the scorer named ``scoring``, or ``scoring`` itself if it is already callable.

    Parameters
    ----------
    scoring : str or callable
        A key of :data:`SCORERS` (e.g. ``"overlap_iou"``) or a ``scorer(estimator, X, y)``.

    Returns
    -------
    scorer : callable

    Raises
    ------
    chromoskl.exceptions.UnknownNameError
        For an unknown name (a ``ValueError`` and a ``KeyError``); the message lists the
        known ones.
    TypeError
        For anything that is neither a string nor callable.
    """
    if isinstance(scoring, str):
        try:
            return SCORERS[scoring]
        except KeyError:
            raise UnknownNameError("scorer", scoring, SCORERS) from None
    if callable(scoring):
        return scoring
    raise TypeError(f"scoring must be a scorer name or a callable, got {scoring!r}.")
