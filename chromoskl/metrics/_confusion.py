"""Region metrics (IoU, Dice, accuracies) computed from one confusion matrix.

See :mod:`chromoskl.metrics` for the conventions and references.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

__all__ = [
    "confusion_matrix",
    "iou_per_class",
    "dice_per_class",
    "overlap_iou",
    "chromosome_iou",
    "pixel_accuracy",
    "two_chromosome_accuracy",
    "swapped_share",
    "chromosome_iou_any_order",
]

N_CLASSES = 4
CLASS_NAMES = ("background", "a", "b", "overlap")
# Whole chromosomes as sets of labels: A = A only + overlap, B = B only + overlap.
CHROMOSOME_LABELS = ((1, 3), (2, 3))
# Columns of a confusion matrix reordered so that the prediction's labels 1 and 2 are exchanged
# (chromosome A called B and B called A; background and overlap unchanged).
_SWAP_AB = (0, 2, 1, 3)
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
    exchanged = cm[..., :, _SWAP_AB]
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


def _pixel_accuracy_from_confusion(cm: np.ndarray) -> float:
    """Fraction of pixels whose label is right."""
    return float(_divide(np.trace(cm), cm.sum()))


def _two_chromosome_accuracy_from_confusion(cm: np.ndarray) -> float:
    """Right chromosome pixels over pixels that are chromosome in the truth or the prediction."""
    correct = np.trace(cm) - cm[0, 0]
    return float(_divide(correct, cm.sum() - cm[0, 0]))


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
    """Accuracy of the two chromosomes, background left out (the accuracy of ARMS Net, eq. 4).

    ``sum_{c in {1, 2, 3}} cm[c, c] / (N - cm[0, 0])``: the pixels given their right chromosome
    label (A only, B only, overlap), divided by the pixels that are chromosome in the truth, in
    the prediction, or both. Pixels that both call background are left out, so that the 91 % of
    background does not swamp the score, and a chromosome pixel missed (labelled background) or
    invented (background labelled chromosome) counts against it.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..3``.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.

    Returns
    -------
    accuracy : float
        In ``[0, 1]``, pooled over all pixels; NaN when neither array holds a chromosome pixel.

    Raises
    ------
    ValueError
        If the shapes differ or a label is outside ``0..3``.
    TypeError
        If a label array does not hold integers.

    Notes
    -----
    The text of eq. 4 of [2]_ could not be consulted while this was written. This is the
    reading that fits its name: an accuracy over the two chromosomes rather than over the
    image. It equals the pixel accuracy restricted to the union of the true and predicted
    chromosome masks. If eq. 4 turns out to divide by the true chromosome pixels only (a
    recall), this function must change; pixel accuracy over the whole image is
    :func:`pixel_accuracy`.

    References
    ----------
    .. [2] Wang et al., "ARMS Net: Overlapping chromosome segmentation based on Adaptive
       Receptive field Multi-Scale network", Biomedical Signal Processing and Control, 2021.
    """
    return _two_chromosome_accuracy_from_confusion(confusion_matrix(y_true, y_pred))


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
