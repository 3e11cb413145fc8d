"""Confusion matrices, and the region metrics (IoU, Dice) computed from one.

See :mod:`chromoskl.metrics` for the conventions and references.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ..classes import CHROMOSOME_LABELS, N_CLASSES, SHORT_CLASS_NAMES

__all__ = [
    "confusion_matrix",
    "iou_per_class",
    "dice_per_class",
    "overlap_iou",
    "chromosome_iou",
]

# the class conventions live in chromoskl.classes; CLASS_NAMES here are the short names of
# the score keys, as chromoskl.metrics has always exported them
CLASS_NAMES = SHORT_CLASS_NAMES
AVERAGES = ("pooled", "image")
# Pixels coded at a time: bounds the temporaries (a few MiB) and keeps them in cache.
_CHUNK = 1 << 20


# --------------------------------------------------------------------------------------------
# Validation and small helpers
# --------------------------------------------------------------------------------------------


def _check_n_classes(n_classes) -> int:
    """Return ``n_classes`` as an int, or raise if it is not a positive integer."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, Integral) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}.")
    return int(n_classes)


def _check_average(average) -> str:
    """Return ``average`` if it is one of :data:`AVERAGES`, else raise ``ValueError``."""
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}.")
    return average


def _check_labels(y_true, y_pred, n_classes: int = N_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """Turn both label maps into arrays and check their shapes, dtypes and values.

    Raises
    ------
    ValueError
        If the shapes differ, the arrays are empty, or a label lies outside ``0..n_classes-1``.
    TypeError
        If either array does not hold integers (or booleans).
    """
    n_classes = _check_n_classes(n_classes)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got y_true {y_true.shape} and "
            f"y_pred {y_pred.shape}; crop or pad the prediction to the labels first "
            "(chromoskl._geometry.centre_crop)."
        )
    if y_true.size == 0:
        raise ValueError(f"y_true and y_pred are empty (shape {y_true.shape}).")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
            raise TypeError(
                f"{name} must hold integer class labels, got dtype {y.dtype}; convert "
                "probabilities with argmax over the class axis, or cast with .astype(np.uint8)."
            )
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= n_classes:
            bad = low if low < 0 else high
            raise ValueError(
                f"{name} holds label {bad}, outside 0..{n_classes - 1}; labels are 0 background, "
                "1 chromosome A, 2 chromosome B, 3 overlap (clean or clip spurious labels)."
            )
    return y_true, y_pred


def _as_images(y: np.ndarray) -> np.ndarray:
    """View a label array as a stack of images: a 2-D array is one image, else axis 0 indexes."""
    return y[np.newaxis] if y.ndim <= 2 else y


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ratio as float64, NaN where the denominator is 0, without a warning."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _nanmean(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Mean ignoring NaN; NaN where every value is NaN, without numpy's RuntimeWarning."""
    values = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(values)
    return _divide(np.where(present, values, 0.0).sum(axis=axis), present.sum(axis=axis))


# --------------------------------------------------------------------------------------------
# Confusion matrices
# --------------------------------------------------------------------------------------------


def _pair_codes(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Code ``n_classes * truth + prediction`` of each pixel: uint8 when it fits, else intp."""
    dtype = np.uint8 if n_classes * n_classes <= 256 else np.intp
    codes = y_true.astype(dtype) * dtype(n_classes)
    codes += y_pred.astype(dtype, copy=False)
    return codes


def _histogram(codes: np.ndarray, n_bins: int) -> np.ndarray:
    """``np.bincount(codes, minlength=n_bins)`` for flat codes below ``n_bins``, faster on uint8.

    Counting uint8 codes two at a time (a uint16 view of the same bytes, 65536 bins), then
    adding the counts of the low and of the high byte, halves the work of ``np.bincount``,
    which dominates the confusion matrix of the full data set.
    """
    if codes.dtype != np.uint8:
        return np.bincount(codes, minlength=n_bins)
    codes = np.ascontiguousarray(codes)
    even = codes.size - codes.size % 2
    pairs = np.bincount(codes[:even].view(np.uint16), minlength=1 << 16).reshape(256, 256)
    counts = pairs.sum(axis=0) + pairs.sum(axis=1)
    counts += np.bincount(codes[even:], minlength=256)
    return counts[:n_bins]


def _bincount_pairs(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (truth, prediction) pairs of two flat label arrays, chunked to bound memory."""
    counts = np.zeros(n_classes * n_classes, dtype=np.int64)
    for start in range(0, y_true.size, _CHUNK):
        stop = start + _CHUNK
        codes = _pair_codes(y_true[start:stop], y_pred[start:stop], n_classes)
        counts += _histogram(codes, n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def confusion_matrix(y_true, y_pred, n_classes: int = N_CLASSES) -> np.ndarray:
    """Pixel confusion matrix of two label arrays, pooled over all pixels.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W), (n, H, W) or any shape
        True labels in ``0..n_classes-1``.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.
    n_classes : int, default=4
        Number of classes.

    Returns
    -------
    cm : ndarray of int64, shape (n_classes, n_classes)
        ``cm[i, j]`` is the number of pixels of true class ``i`` predicted as ``j`` (rows are the
        truth, as in :func:`sklearn.metrics.confusion_matrix`).

    Raises
    ------
    ValueError
        If the shapes differ or a label is outside ``0..n_classes-1``.
    TypeError
        If a label array does not hold integers.
    """
    n_classes = _check_n_classes(n_classes)
    y_true, y_pred = _check_labels(y_true, y_pred, n_classes)
    return _bincount_pairs(y_true.ravel(), y_pred.ravel(), n_classes)


def _confusion_matrices_per_image(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int
) -> np.ndarray:
    """One confusion matrix per image, shape (n_images, n_classes, n_classes); inputs checked."""
    images_true, images_pred = _as_images(y_true), _as_images(y_pred)
    n_images, pixels = images_true.shape[0], images_true[0].size
    k2 = n_classes * n_classes
    per_chunk = max(1, _CHUNK // pixels)
    out = np.empty((n_images, k2), dtype=np.int64)
    for start in range(0, n_images, per_chunk):
        stop = start + per_chunk
        codes = _pair_codes(images_true[start:stop], images_pred[start:stop], n_classes)
        for i, image_codes in enumerate(codes.reshape(-1, pixels), start):
            out[i] = np.bincount(image_codes, minlength=k2)
    return out.reshape(n_images, n_classes, n_classes)


def _confusion(y_true, y_pred, average: str, n_classes: int) -> np.ndarray:
    """Checked inputs to a stack of confusion matrices: (1, k, k) pooled, (n, k, k) per image."""
    n_classes = _check_n_classes(n_classes)
    average = _check_average(average)
    y_true, y_pred = _check_labels(y_true, y_pred, n_classes)
    if average == "pooled":
        return _bincount_pairs(y_true.ravel(), y_pred.ravel(), n_classes)[np.newaxis]
    return _confusion_matrices_per_image(y_true, y_pred, n_classes)


# --------------------------------------------------------------------------------------------
# Region metrics from confusion matrices
# --------------------------------------------------------------------------------------------


def _iou_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class IoU ``tp / (tp + fp + fn)`` of a (..., k, k) stack; NaN for an absent class."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    return _divide(tp, cm.sum(axis=-1) + cm.sum(axis=-2) - tp)


def _dice_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class Dice ``2 tp / (2 tp + fp + fn)`` of a (..., k, k) stack; NaN if absent."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    return _divide(2 * tp, cm.sum(axis=-1) + cm.sum(axis=-2))


def _set_iou_from_confusion(cm: np.ndarray, labels: tuple[int, ...]) -> np.ndarray:
    """IoU of the binary masks ``y in labels`` from a (..., k, k) stack of confusion matrices."""
    labels = list(labels)
    in_true = cm[..., labels, :].sum(axis=(-2, -1))
    in_pred = cm[..., :, labels].sum(axis=(-2, -1))
    both = cm[..., labels, :][..., :, labels].sum(axis=(-2, -1))
    return _divide(both, in_true + in_pred - both)


def _chromosome_iou_from_confusion(cm: np.ndarray) -> np.ndarray:
    """IoU of whole chromosome A and B, shape (..., 2), from a (..., 4, 4) stack."""
    return np.stack([_set_iou_from_confusion(cm, labels) for labels in CHROMOSOME_LABELS], -1)


def iou_per_class(
    y_true, y_pred, *, average: str = "pooled", n_classes: int = N_CLASSES
) -> np.ndarray:
    """Intersection over union (Jaccard index) of each class.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..n_classes-1``.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.
    average : {"pooled", "image"}, default="pooled"
        ``"pooled"`` counts the pixels of all images together, as Hu et al. [1]_ and ARMS Net
        [2]_ report. ``"image"`` computes the IoU of each image (axis 0; a 2-D array is one
        image), then averages over the images, skipping those where the class is absent.
    n_classes : int, default=4
        Number of classes.

    Returns
    -------
    iou : ndarray of float64, shape (n_classes,)
        ``tp / (tp + fp + fn)`` per class; NaN for a class absent from both the truth and the
        prediction (with ``average="image"``: absent from every image).

    Raises
    ------
    ValueError
        If the shapes differ, a label is out of range, or ``average`` is unknown.
    TypeError
        If a label array does not hold integers.

    References
    ----------
    .. [1] Hu et al., "Image segmentation to distinguish between overlapping human
       chromosomes", 2017.
    .. [2] Wang et al., "ARMS Net", Biomedical Signal Processing and Control, 2021.
    """
    return _nanmean(_iou_from_confusion(_confusion(y_true, y_pred, average, n_classes)))


def dice_per_class(
    y_true, y_pred, *, average: str = "pooled", n_classes: int = N_CLASSES
) -> np.ndarray:
    """Dice coefficient (F1 score) of each class.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..n_classes-1``.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.
    average : {"pooled", "image"}, default="pooled"
        Pooled over all pixels, or per image (axis 0) then averaged ignoring NaN; see
        :func:`iou_per_class`.
    n_classes : int, default=4
        Number of classes.

    Returns
    -------
    dice : ndarray of float64, shape (n_classes,)
        ``2 tp / (2 tp + fp + fn)`` per class; NaN for a class absent from both arrays.

    Raises
    ------
    ValueError
        If the shapes differ, a label is out of range, or ``average`` is unknown.
    TypeError
        If a label array does not hold integers.
    """
    return _nanmean(_dice_from_confusion(_confusion(y_true, y_pred, average, n_classes)))


def overlap_iou(y_true, y_pred, *, average: str = "pooled") -> float:
    """IoU of the overlap class (label 3), the headline number of Hu et al. and ARMS Net.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..3``.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.
    average : {"pooled", "image"}, default="pooled"
        See :func:`iou_per_class`.

    Returns
    -------
    iou : float
        NaN when neither array holds an overlap pixel.

    Raises
    ------
    ValueError
        If the shapes differ, a label is outside ``0..3``, or ``average`` is unknown.
    TypeError
        If a label array does not hold integers.
    """
    return float(iou_per_class(y_true, y_pred, average=average)[3])


def chromosome_iou(y_true, y_pred, *, average: str = "pooled") -> np.ndarray:
    """IoU of each whole chromosome: A = labels {1, 3} and B = labels {2, 3}.

    A cytogeneticist wants the two chromosomes separated, overlap included; this scores each
    one as a binary mask, as MACS-Net and ARMS Net (Table 5) [2]_ define the chromosome IoU.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..3``.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.
    average : {"pooled", "image"}, default="pooled"
        See :func:`iou_per_class`.

    Returns
    -------
    iou : ndarray of float64, shape (2,)
        IoU of chromosome A, then of chromosome B; NaN for a chromosome absent from both.

    Raises
    ------
    ValueError
        If the shapes differ, a label is outside ``0..3``, or ``average`` is unknown.
    TypeError
        If a label array does not hold integers.

    References
    ----------
    .. [2] Wang et al., "ARMS Net", Biomedical Signal Processing and Control, 2021.
    """
    return _nanmean(_chromosome_iou_from_confusion(_confusion(y_true, y_pred, average, N_CLASSES)))
