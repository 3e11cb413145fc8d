"""Checks of images and label maps, with errors that say what is wrong and how to fix it.

Every public entry point (the estimator, the command line) goes through these functions, so a
user gets the same message for the same mistake wherever they make it.
"""

from __future__ import annotations

import numpy as np

from ._geometry import centre_pad

__all__ = ["check_image_array", "check_images", "check_labels", "check_images_and_labels"]


def check_image_array(X, *, name: str = "X") -> np.ndarray:
    """Return ``X`` as an array of real numbers of shape (n, H, W) or (n, C, H, W).

    Layout and dtype are kept; transformers that must give back what they were given use
    this, the estimator uses :func:`check_images`.

    Raises
    ------
    TypeError
        For non-numeric, boolean or complex images.
    ValueError
        For a wrong number of dimensions or an empty array.
    """
    array = np.asarray(X)
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
    return array


def check_images(X, *, name: str = "X") -> np.ndarray:
    """Return images as a float32 array of shape (n, C, H, W), every value finite.

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
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s). Replace them (e.g. "
            f"np.nan_to_num({name})) or drop those images."
        )
    return array


def check_labels(y, *, n_classes: int = 4, name: str = "y") -> np.ndarray:
    """Return label maps as an int64 array of shape (n, h, w) with values in 0..n_classes-1.

    Float arrays are accepted when every value is a whole number (as HDF5 files sometimes store
    them); anything else that is not an integer is an error.

    Raises
    ------
    TypeError
        For non-numeric labels.
    ValueError
        For a wrong shape, an empty array, non-integer values or values out of range.
    """
    array = np.asarray(y)
    if array.dtype == bool or array.dtype == object or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(
            f"{name} must hold integer class labels 0..{n_classes - 1}, got dtype {array.dtype}."
        )
    if array.ndim != 3:
        raise ValueError(
            f"{name} must have shape (n_images, H, W) with one class label per pixel, got an "
            f"array of shape {array.shape}."
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}): give at least one label map.")
    if np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(array)
        if not finite.all() or not np.array_equal(array, np.round(array)):
            raise ValueError(
                f"{name} must hold integer class labels 0..{n_classes - 1}, but it holds "
                "non-integer values (NaN, inf or fractions). Labels are classes, not "
                "probabilities: use y.argmax(axis=1) on one-hot or probability maps."
            )
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
    return array.astype(np.int64, copy=False)


def check_images_and_labels(X, y, *, n_classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
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
    image_shape, label_shape = images.shape[-2:], labels.shape[-2:]
    if label_shape[0] > image_shape[0] or label_shape[1] > image_shape[1]:
        raise ValueError(
            f"Label maps ({label_shape[0]}x{label_shape[1]}) are larger than the images "
            f"({image_shape[0]}x{image_shape[1]}). Labels must have the images' size, or be "
            "smaller and centred on them; pad the images (PadToShape) or crop the labels."
        )
    return images, centre_pad(labels, tuple(image_shape), value=0)
