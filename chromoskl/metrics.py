"""Segmentation metrics for overlapping chromosomes, and scorers for scikit-learn searches.

Label arrays hold one class per pixel: 0 background, 1 chromosome A only, 2 chromosome B only,
3 the overlap of A and B. ``y_true`` and ``y_pred`` are integer arrays of equal shape: one image
``(H, W)`` or a stack ``(n, H, W)`` (any leading axes are accepted; where metrics are computed
per image, the first axis indexes the images and a 2-D array is one image).

Everything that a confusion matrix determines is computed from one, built with
:func:`numpy.bincount`. A class absent from both the truth and the prediction has no defined
IoU or Dice: it gives NaN, never 0, and averages skip it. The boundary metrics (HD95, ASSD)
follow MONAI's conventions and give NaN for a class missing from the truth or the prediction.

The scorers (:data:`SCORERS`, :func:`get_scorer`) have scikit-learn's ``scorer(estimator, X, y)``
signature, so that ``GridSearchCV(scoring=SCORERS["overlap_iou"])`` or a dict of them works.

References
----------
.. [1] R. L. Hu, J. Karnowski, R. Fadely, J.-P. Pommier, "Image segmentation to distinguish
   between overlapping human chromosomes", NIPS ML4H workshop, 2017. arXiv:1712.07639.
.. [2] Wang et al., "ARMS Net: Overlapping chromosome segmentation based on Adaptive Receptive
   field Multi-Scale network", Biomedical Signal Processing and Control, 2021.
.. [3] MONAI, ``monai.metrics.compute_hausdorff_distance`` and
   ``compute_average_surface_distance``.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral

import numpy as np
from scipy import ndimage

from ._geometry import centre_crop

__all__ = [
    "confusion_matrix",
    "iou_per_class",
    "dice_per_class",
    "overlap_iou",
    "chromosome_iou",
    "pixel_accuracy",
    "two_chromosome_accuracy",
    "hd95_per_class",
    "assd_per_class",
    "segmentation_scores",
    "SCORERS",
    "get_scorer",
]

N_CLASSES = 4
CLASS_NAMES = ("background", "a", "b", "overlap")
# Whole chromosomes as sets of labels: A = A only + overlap, B = B only + overlap.
CHROMOSOME_LABELS = ((1, 3), (2, 3))
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


# --------------------------------------------------------------------------------------------
# Boundary distances
# --------------------------------------------------------------------------------------------


def _boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` that its erosion removes (scipy's default cross-shaped element).

    The erosion treats outside the image as background, so a mask touching the image border
    has a boundary there: the same as MONAI's ``get_mask_edges``.
    """
    return mask & ~ndimage.binary_erosion(mask)


def _directed_distances(edges_from: np.ndarray, edges_to: np.ndarray, spacing) -> np.ndarray:
    """Distance from each pixel of ``edges_from`` to the nearest pixel of ``edges_to``."""
    return ndimage.distance_transform_edt(~edges_to, sampling=spacing)[edges_from]


def _surface_distances(
    mask_true: np.ndarray, mask_pred: np.ndarray, spacing
) -> tuple[np.ndarray, np.ndarray] | None:
    """Both directed boundary distances of one image's masks; None if either mask is empty."""
    if not (mask_true.any() and mask_pred.any()):
        return None
    edges_true, edges_pred = _boundary(mask_true), _boundary(mask_pred)
    # Every nearest boundary pixel lies inside the bounding box of both boundaries: computing
    # the distance transform there only is exact and much cheaper for small chromosomes.
    rows = np.nonzero(edges_true | edges_pred)
    box = tuple(slice(int(r.min()), int(r.max()) + 1) for r in rows)
    edges_true, edges_pred = edges_true[box], edges_pred[box]
    return (
        _directed_distances(edges_pred, edges_true, spacing),
        _directed_distances(edges_true, edges_pred, spacing),
    )


def _hd95(distances: tuple[np.ndarray, np.ndarray]) -> float:
    """MONAI's symmetric HD95: the larger of the two directed 95th percentiles."""
    return float(max(np.percentile(d, 95) for d in distances))


def _assd(distances: tuple[np.ndarray, np.ndarray]) -> float:
    """Mean of both directed boundary distances pooled together (MONAI, symmetric=True)."""
    return float(np.concatenate(distances).mean())


def _check_spacing(spacing, ndim: int):
    """Return ``spacing`` as a float or a tuple of ``ndim`` positive floats, or raise."""
    values = np.atleast_1d(np.asarray(spacing, dtype=np.float64))
    if values.ndim != 1 or values.size not in (1, ndim) or not np.all(values > 0):
        raise ValueError(
            f"spacing must be a positive number or {ndim} positive numbers (one per image axis),"
            f" got {spacing!r}."
        )
    return float(values[0]) if values.size == 1 else tuple(float(v) for v in values)


def _distances_per_class(
    y_true, y_pred, reducers: dict[str, Callable[[tuple], float]], spacing, n_classes: int
) -> dict[str, np.ndarray]:
    """Each reducer on each class of each image, then the mean over images ignoring NaN."""
    n_classes = _check_n_classes(n_classes)
    y_true, y_pred = _check_labels(y_true, y_pred, n_classes)
    images_true, images_pred = _as_images(y_true), _as_images(y_pred)
    spacing = _check_spacing(spacing, images_true.ndim - 1)
    values = {name: np.full((images_true.shape[0], n_classes), np.nan) for name in reducers}
    for i, (image_true, image_pred) in enumerate(zip(images_true, images_pred)):
        for c in range(n_classes):
            distances = _surface_distances(image_true == c, image_pred == c, spacing)
            if distances is None:
                continue
            for name, reduce in reducers.items():
                values[name][i, c] = reduce(distances)
    return {name: _nanmean(v) for name, v in values.items()}


def hd95_per_class(
    y_true, y_pred, *, spacing: float | tuple[float, ...] = 1.0, n_classes: int = N_CLASSES
) -> np.ndarray:
    """95th-percentile Hausdorff distance of each class, per image, averaged over images.

    The boundary of a mask is the mask minus its erosion (cross-shaped element); the distance
    from each boundary pixel of one mask to the nearest boundary pixel of the other comes from
    :func:`scipy.ndimage.distance_transform_edt`. The HD95 of an image is the larger of the two
    directed 95th percentiles (prediction to truth, truth to prediction; linear interpolation,
    :func:`numpy.percentile`'s default). This is MONAI's
    ``compute_hausdorff_distance(percentile=95, directed=False)`` [3]_; it is not the 95th
    percentile of both directions pooled into one set, which can be smaller.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..n_classes-1``.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.
    spacing : float or tuple of float, default=1.0
        Pixel size, one number or one per image axis (rows, columns); distances come in its
        unit.
    n_classes : int, default=4
        Number of classes.

    Returns
    -------
    hd95 : ndarray of float64, shape (n_classes,)
        Mean over the images (axis 0; a 2-D array is one image) of each class's HD95. A class
        empty in the truth or the prediction of an image gives NaN for that image, and the mean
        skips it; NaN if it is so in every image.

    Raises
    ------
    ValueError
        If the shapes differ, a label is out of range, or ``spacing`` is not positive.
    TypeError
        If a label array does not hold integers.

    References
    ----------
    .. [3] MONAI, ``monai.metrics.hausdorff_distance.compute_hausdorff_distance``.
    """
    return _distances_per_class(y_true, y_pred, {"hd95": _hd95}, spacing, n_classes)["hd95"]


def assd_per_class(
    y_true, y_pred, *, spacing: float | tuple[float, ...] = 1.0, n_classes: int = N_CLASSES
) -> np.ndarray:
    """Average symmetric surface distance of each class, per image, averaged over images.

    Boundaries and distances as in :func:`hd95_per_class`; the ASSD of an image is the mean of
    the distances of both directions pooled together, as MONAI's
    ``compute_average_surface_distance(symmetric=True)`` [3]_.

    Parameters
    ----------
    y_true : array-like of int, shape (H, W) or (n, H, W)
        True labels in ``0..n_classes-1``.
    y_pred : array-like of int, same shape as ``y_true``
        Predicted labels.
    spacing : float or tuple of float, default=1.0
        Pixel size, one number or one per image axis.
    n_classes : int, default=4
        Number of classes.

    Returns
    -------
    assd : ndarray of float64, shape (n_classes,)
        Mean over images; NaN for an image where the class is empty in the truth or prediction.

    Raises
    ------
    ValueError
        If the shapes differ, a label is out of range, or ``spacing`` is not positive.
    TypeError
        If a label array does not hold integers.

    References
    ----------
    .. [3] MONAI, ``monai.metrics.surface_distance.compute_average_surface_distance``.
    """
    return _distances_per_class(y_true, y_pred, {"assd": _assd}, spacing, n_classes)["assd"]


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
        ``two_chromosome_accuracy``; with ``distances=True`` also ``hd95_<class>`` and
        ``assd_<class>`` for the four classes. Region metrics are pooled over all pixels;
        values may be NaN (see the functions above).

    Raises
    ------
    ValueError
        If the shapes differ or a label is outside ``0..3``.
    TypeError
        If a label array does not hold integers.
    """
    y_true, y_pred = _check_labels(y_true, y_pred)
    scores = _scores_from_confusion(_bincount_pairs(y_true.ravel(), y_pred.ravel(), N_CLASSES))
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
    centred on them (DESIGN), so this undoes that.

    Raises
    ------
    ValueError
        If the labels are larger than the prediction, or their dimensions do not match.
    """
    y_pred, y_true = np.asarray(y_pred), np.asarray(y_true)
    if y_true.ndim not in (2, 3):
        raise ValueError(f"y must have shape (n, H, W) or (H, W), got {y_true.shape}.")
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


class _MaskScorer:
    """A scikit-learn scorer ``scorer(estimator, X, y) -> float`` for one region metric.

    Calls ``estimator.predict(X)`` once, crops the prediction (centred) to the labels' size,
    and returns the metric named ``name`` of :func:`segmentation_scores`. Greater is better.
    """

    def __init__(self, name: str):
        self.name = name

    def __call__(self, estimator, X, y) -> float:
        y_pred, y_true = _match_prediction_to_labels(estimator.predict(X), y)
        return _scores_from_confusion(confusion_matrix(y_true, y_pred))[self.name]

    def __repr__(self) -> str:
        return f"chromoskl.metrics.SCORERS[{self.name!r}]"


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
)

#: Scorers for ``GridSearchCV``/``cross_validate``, by name; pass one
#: (``scoring=SCORERS["overlap_iou"]``) or a dict of several for multi-metric search.
SCORERS: dict[str, _MaskScorer] = {name: _MaskScorer(name) for name in _SCORER_NAMES}


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
    ValueError
        For an unknown name; the message lists the known ones.
    TypeError
        For anything that is neither a string nor callable.
    """
    if isinstance(scoring, str):
        try:
            return SCORERS[scoring]
        except KeyError:
            known = ", ".join(sorted(SCORERS))
            raise ValueError(f"Unknown scorer {scoring!r}; known scorers: {known}.") from None
    if callable(scoring):
        return scoring
    raise TypeError(f"scoring must be a scorer name or a callable, got {scoring!r}.")
