"""Boundary distances per class (HD95, ASSD) from Euclidean distance transforms.

See :mod:`chromoskl.metrics` for the conventions and references.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from ._confusion import N_CLASSES, _as_images, _check_labels, _check_n_classes, _nanmean

__all__ = [
    "hd95_per_class",
    "assd_per_class",
]


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
    percentile of both directions pooled into one set, which can be smaller. The Attention
    U-Net slides [5]_ evaluate with it ("the 95th percentile of the distances between the
    edges", the worst case without the outliers) beside Dice per class and ASSD; they do not
    say which of the two definitions they use.

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
    .. [5] E. Passos Martins, N. Ygé. Attention-based U-Net for segmentation (slides), IMT
       Atlantique, 2024: Dice per class, ASSD and HD95 as evaluation metrics.
    """
    return _distances_per_class(y_true, y_pred, {"hd95": _hd95}, spacing, n_classes)["hd95"]


def assd_per_class(
    y_true, y_pred, *, spacing: float | tuple[float, ...] = 1.0, n_classes: int = N_CLASSES
) -> np.ndarray:
    """Average symmetric surface distance of each class, per image, averaged over images.

    Boundaries and distances as in :func:`hd95_per_class`; the ASSD of an image is the mean of
    the distances of both directions pooled together, as MONAI's
    ``compute_average_surface_distance(symmetric=True)`` [3]_: the slides' "average distance
    between the edges of the ground truth and the predicted mask" [5]_.

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
    .. [5] E. Passos Martins, N. Ygé. Attention-based U-Net for segmentation (slides), 2024.
    """
    return _distances_per_class(y_true, y_pred, {"assd": _assd}, spacing, n_classes)["assd"]
