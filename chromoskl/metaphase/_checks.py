"""Argument checks of the metaphase steps: one clear error for each bad input."""

from __future__ import annotations

import numpy as np

__all__ = ["check_metaphase_image"]


def check_metaphase_image(image, *, name: str = "image") -> np.ndarray:
    """Return one grey metaphase as a float64 ``(H, W)`` array with finite values.

    An RGB(A) image ``(H, W, 3|4)`` is turned grey with :func:`skimage.color.rgb2gray`, so a
    picture saved in colour works; any other shape is an error that says what was expected.

    Raises
    ------
    TypeError
        For non-numeric images.
    ValueError
        For a wrong shape, an empty image or non-finite values.
    """
    array = np.asarray(image)
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real grey values, got dtype {array.dtype}; convert it, e.g. "
            f"{name}.astype(np.float32)."
        )
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        from skimage.color import rgb2gray

        array = rgb2gray(array[..., :3])
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be one grey image (H, W) or an RGB image (H, W, 3), got an array of "
            f"shape {array.shape}; pass one channel, e.g. {name}[..., 0]."
        )
    if min(array.shape) < 8:
        raise ValueError(f"{name} is too small ({array.shape}): a metaphase needs at least 8x8.")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} has NaN or infinite values; replace them first.")
    return array
