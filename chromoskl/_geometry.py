"""Centring of one 2-D grid on another: the one convention used everywhere.

A label map (or image) of shape ``(h, w)`` placed on a larger grid ``(H, W)`` sits with
``(H - h) // 2`` rows above it and ``(W - w) // 2`` columns to its left; the remainder goes
below and to the right. Padding, cropping back, the estimator's handling of labels smaller
than images, and the metrics all go through these functions, so they always agree.
"""

from __future__ import annotations

import numpy as np

__all__ = ["centre_offsets", "centre_pad", "centre_crop"]


def centre_offsets(inner: tuple[int, int], outer: tuple[int, int]) -> tuple[int, int]:
    """Row and column of the top-left corner of ``inner`` centred on ``outer``.

    Parameters
    ----------
    inner : tuple of int
        ``(h, w)`` of the smaller grid.
    outer : tuple of int
        ``(H, W)`` of the larger grid; each side must be at least as large as ``inner``'s.

    Returns
    -------
    top, left : int
    """
    (h, w), (big_h, big_w) = inner, outer
    if h > big_h or w > big_w:
        raise ValueError(
            f"Cannot centre a {h}x{w} grid on a smaller {big_h}x{big_w} grid."
        )
    return (big_h - h) // 2, (big_w - w) // 2


def centre_pad(array, shape: tuple[int, int], value=0):
    """Pad the last two axes of ``array`` (numpy or torch) to ``shape``, centred.

    Parameters
    ----------
    array : ndarray or torch.Tensor of shape (..., h, w)
    shape : tuple of int
        Target ``(H, W)``, each side ``>=`` the array's.
    value : scalar, default=0
        Fill value.

    Returns
    -------
    padded : same type as ``array``, shape (..., H, W)
    """
    h, w = array.shape[-2:]
    top, left = centre_offsets((h, w), shape)
    bottom, right = shape[0] - h - top, shape[1] - w - left
    if not (top or left or bottom or right):
        return array
    if isinstance(array, np.ndarray):
        widths = [(0, 0)] * (array.ndim - 2) + [(top, bottom), (left, right)]
        return np.pad(array, widths, mode="constant", constant_values=value)
    import torch.nn.functional as F  # local: keeps this module importable without torch

    return F.pad(array, (left, right, top, bottom), mode="constant", value=value)


def centre_crop(array, shape: tuple[int, int]):
    """Crop the last two axes of ``array`` (numpy or torch) to ``shape``, centred.

    The inverse of :func:`centre_pad` for the same pair of shapes.
    """
    top, left = centre_offsets(tuple(shape), tuple(array.shape[-2:]))
    return array[..., top : top + shape[0], left : left + shape[1]]

