"""Checks of images and label maps, with errors that say what is wrong and how to fix it.

Every public entry point (the estimator, the command line) goes through these functions, so a
user gets the same message for the same mistake wherever they make it.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ._geometry import centre_offsets, centre_pad
from .classes import N_CLASSES

__all__ = [
    "check_image_array",
    "check_images",
    "check_labels",
    "integer_labels",
    "check_images_and_labels",
    "check_label_window",
]

#: An image axis this short is a channel axis, not a height or width.
MAX_CHANNELS_LAST = 4


def check_image_array(X, *, name: str = "X") -> np.ndarray:
    """Return ``X`` as an array of real numbers of shape (n, H, W) or (n, C, H, W).

    Layout and dtype are kept; transformers that must give back what they were given use
    this, the estimator uses :func:`check_images`.

    Raises
    ------
    TypeError
        For non-numeric or boolean images, or a sparse matrix.
    ValueError
        For complex images, a wrong number of dimensions or an empty array.
    """
    if sparse.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix, and sparse input is not supported: chromoskl takes "
            "dense stacks of images, (n_images, H, W) or (n_images, channels, H, W)."
        )
    array = np.asarray(X)
    if np.iscomplexobj(array):
        raise ValueError(
            f"Complex data not supported: {name} has dtype {array.dtype}. Give real grey "
            f"values (e.g. np.abs({name}) of a complex image)."
        )
    if array.dtype == bool or array.dtype == object or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(
            f"{name} must hold real numbers (integer or float grey values), got dtype "
            f"{array.dtype}. Convert it, e.g. {name}.astype(np.float32)."
        )
    if array.ndim not in (3, 4):
        hint = (
            f" A single image of shape {array.shape} must be given as a batch of one: "
            f"{name}[None]."
            if array.ndim == 2
            else ""
        )
        raise ValueError(
            f"{name} must have shape (n_images, H, W) or (n_images, channels, H, W), got an "
            f"array of shape {array.shape}.{hint}"
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}): give at least one image.")
    _refuse_channels_last(array.shape, name)
    return array


def _refuse_channels_last(shape: tuple, name: str) -> None:
    """An array whose last axis is as short as a channel axis is ambiguous: (94, 93, 1) would
    be read as 94 images of 93x1 pixels, (n, 94, 93, 3) as images 93 wide and 3 high."""
    if shape[-1] > MAX_CHANNELS_LAST or shape[-2] <= MAX_CHANNELS_LAST:
        return
    if len(shape) == 3:
        raise ValueError(
            f"{name} of shape {shape} would be read as {shape[0]} images of {shape[1]}x"
            f"{shape[2]} pixels; it looks like one image with its {shape[2]} channel(s) last. "
            f"Give one grey image as {name}[None, :, :, 0] (shape (1, {shape[0]}, "
            f"{shape[1]})), convert a colour image to grey first (skimage.color.rgb2gray), "
            "or give images as (n_images, H, W)."
        )
    raise ValueError(
        f"{name} of shape {shape} looks like images with their {shape[3]} channel(s) last; "
        f"give (n_images, channels, H, W): {name}.transpose(0, 3, 1, 2), or for grey "
        f"images {name}[..., 0]."
    )


def check_images(X, *, name: str = "X") -> np.ndarray:
    """Return images as a C-contiguous float32 array of shape (n, C, H, W), every value
    finite.

    Parameters
    ----------
    X : array-like of shape (n, H, W) or (n, C, H, W)
        Images of any real dtype (Pommier's grey values run from -15 to 402).
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    images : ndarray of shape (n, C, H, W), float32

    Raises
    ------
    TypeError
        For non-numeric, boolean or complex images.
    ValueError
        For a wrong number of dimensions, an empty array or non-finite values.
    """
    array = check_image_array(X, name=name)
    if array.ndim == 3:
        array = array[:, None]
    # contiguous: torch.from_numpy refuses views with negative strides, such as X[::-1]
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s). Replace them (e.g. "
            f"np.nan_to_num({name})) or drop those images."
        )
    return array


def integer_labels(y, *, n_classes: int = N_CLASSES, name: str = "y") -> np.ndarray:
    """The one rule for the dtype of labels everywhere (``fit``, ``score``, the scorers and
    :func:`~chromoskl.metrics.segmentation_scores`), as an int64 array.

    Integer arrays, and float arrays whose every value is a whole number (as HDF5 files
    sometimes store them), are accepted; boolean arrays (a True/False mask is not a labelling
    of four classes) and anything else are refused. Shapes and ranges are not checked here.

    Raises
    ------
    TypeError
        For boolean or non-numeric labels.
    ValueError
        For NaN, inf or fractions.
    """
    array = np.asarray(y)
    if array.dtype == bool:
        raise TypeError(
            f"{name} is boolean, but must hold integer class labels 0..{n_classes - 1} (0 "
            "background, 1 chromosome A, 2 chromosome B, 3 overlap). A True/False mask is not "
            f"a labelling: give the integer labels (or {name}.astype(np.uint8) if True really "
            "means chromosome A)."
        )
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(
            f"{name} must hold integer class labels 0..{n_classes - 1}, got dtype {array.dtype}."
        )
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or not np.array_equal(array, np.round(array)):
            raise ValueError(
                f"{name} must hold integer class labels 0..{n_classes - 1}, but it holds "
                "non-integer values (NaN, inf or fractions). Labels are classes, not "
                "probabilities: use y.argmax(axis=1) on one-hot or probability maps."
            )
    return np.ascontiguousarray(array, dtype=np.int64)


def check_labels(y, *, n_classes: int = N_CLASSES, name: str = "y", ndims=(3,)) -> np.ndarray:
    """Return label maps as an int64 array of shape (n, h, w) with values in 0..n_classes-1.

    The dtype follows :func:`integer_labels` (whole-number floats yes, booleans no).
    ``ndims`` lists the accepted numbers of dimensions (None: any).

    Raises
    ------
    TypeError
        For boolean or non-numeric labels.
    ValueError
        For a wrong shape, an empty array, non-integer values or values out of range.
    """
    array = np.asarray(y)
    if ndims is not None and array.ndim not in ndims:
        integer_labels(array[:0], n_classes=n_classes, name=name)  # a dtype error first
        raise ValueError(
            f"{name} must have shape (n_images, H, W) with one class label per pixel, got an "
            f"array of shape {array.shape}."
        )
    if array.size == 0:
        integer_labels(array, n_classes=n_classes, name=name)
        raise ValueError(f"{name} is empty (shape {array.shape}): give at least one label map.")
    array = integer_labels(array, n_classes=n_classes, name=name)
    low, high = array.min(), array.max()
    if low < 0 or high >= n_classes:
        values = np.unique(array)
        bad = values[(values < 0) | (values >= n_classes)]
        raise ValueError(
            f"{name} must hold class labels 0..{n_classes - 1} (0 background, 1 chromosome A, "
            f"2 chromosome B, 3 overlap), but it holds {bad[:10].tolist()}. Pommier's raw "
            "labels mark a few spurious pixels 4: map them to 0 (y[y == 4] = 0) or load the "
            "cleaned labels."
        )
    return array


def check_images_and_labels(X, y, *, n_classes: int = N_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """Check images and labels together; centre smaller labels on the images.

    Label maps smaller than the images (for instance 94x93 labels of images padded to 128x128
    by :class:`~chromoskl.transformers.PadToShape`) are centred on them and padded with
    background (0), the same convention as the padding itself.

    Returns
    -------
    images : ndarray of shape (n, C, H, W), float32
    labels : ndarray of shape (n, H, W), int64
    """
    images = check_images(X)
    labels = check_labels(y, n_classes=n_classes)
    if len(images) != len(labels):
        raise ValueError(
            f"X and y have different numbers of images: {len(images)} images and "
            f"{len(labels)} label maps. Give one label map per image."
        )
    check_label_window(images, labels.shape[-2:])
    return images, centre_pad(labels, tuple(images.shape[-2:]), value=0)


def check_label_window(images, label_shape) -> None:
    """Check that label maps of ``label_shape`` can be centred on ``images``.

    Smaller labels are accepted for one reason only: images padded (centred, with a constant
    fill) by :class:`~chromoskl.transformers.PadToShape` around the labelled area. Labels of
    another resolution (half-size labels of full-size images) would otherwise be padded with
    background and trained on without a word. So every image must be constant outside the
    centred label window; anything else is refused.

    Parameters
    ----------
    images : ndarray of shape (n, C, H, W) or (n, H, W)
    label_shape : tuple of int
        ``(h, w)`` of the label maps.

    Raises
    ------
    ValueError
        For labels larger than the images, or smaller ones where the images are not padding
        outside the centred window.
    """
    images = np.asarray(images)
    (height, width), (h, w) = images.shape[-2:], tuple(int(s) for s in label_shape)
    if h > height or w > width:
        raise ValueError(
            f"Label maps ({h}x{w}) are larger than the images ({height}x{width}). Labels must "
            "have the images' size, or be smaller and centred on padded images (PadToShape); "
            "pad the images or crop the labels."
        )
    if (h, w) == (height, width):
        return
    top, left = centre_offsets((h, w), (height, width))
    outside = np.ones((height, width), dtype=bool)
    outside[top : top + h, left : left + w] = False
    flat = images.reshape(len(images), -1, height, width)[:, :, outside]
    not_padding = np.flatnonzero(flat.max(axis=(1, 2)) > flat.min(axis=(1, 2)))
    if not_padding.size:
        raise ValueError(
            f"Label maps ({h}x{w}) are smaller than the images ({height}x{width}), and "
            f"{not_padding.size} image(s) (e.g. index {not_padding[0]}) are not constant "
            "padding outside the centred label area, so the labels are not a centred crop of "
            "them. Give labels of the images' size (resize them with nearest-neighbour "
            "interpolation if they are of another resolution); smaller labels are only for "
            "images padded with PadToShape."
        )
