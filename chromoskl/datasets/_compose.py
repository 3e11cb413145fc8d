"""Shared by both generators: rotate one chromosome, composite a pair."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn.utils import Bunch

from .._geometry import centre_offsets


def _crop_to_mask(grey: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crop both to the bounding box of ``mask`` and zero ``grey`` outside it."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("A chromosome vanished when rotated: its mask is too thin or empty.")
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    mask = mask[box]
    return np.where(mask, grey[box], 0).astype(np.float32), mask


def _rotate_chromosome(
    grey: np.ndarray, mask: np.ndarray, angle: float
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate one chromosome patch counter-clockwise by ``angle`` degrees.

    Multiples of 90 degrees are exact (``np.rot90``). Other angles rotate the grey values
    with a cubic spline, as Pommier's ``scipy.ndimage.rotate`` did, and the mask linearly
    with a 0.5 threshold, so no spurious label values appear. The result is cropped to the
    rotated mask and the grey values are zero outside it.
    """
    angle = float(angle) % 360.0
    if angle % 90.0 == 0.0:
        k = int(angle // 90.0)
        return _crop_to_mask(np.rot90(grey, k), np.rot90(mask, k))
    grey_r = ndimage.rotate(grey.astype(np.float64), angle, order=3, mode="constant")
    mask_r = ndimage.rotate(mask.astype(np.float64), angle, order=1, mode="constant") >= 0.5
    return _crop_to_mask(grey_r, mask_r)


def _composite_pair(
    grey_a: np.ndarray,
    mask_a: np.ndarray,
    grey_b: np.ndarray,
    mask_b: np.ndarray,
    offset: tuple[int, int],
    shape: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Lay chromosome B over chromosome A; sum the grey values and label the overlap.

    ``offset`` is the (row, column) of B's top-left corner relative to A's. The union of both
    patches is centred on a ``shape`` canvas (the convention of :mod:`chromoskl._geometry`).
    A's pixels get label 1, B's 2, pixels of both 3; grey values add up, so the overlap is
    the sum of the two chromosomes.

    Returns
    -------
    (image, labels) : float32 and uint8 arrays of ``shape``, or None when the pair does not
        fit in ``shape``.
    """
    (ha, wa), (hb, wb), (dy, dx) = mask_a.shape, mask_b.shape, offset
    top, left = min(0, dy), min(0, dx)
    union = (max(ha, dy + hb) - top, max(wa, dx + wb) - left)
    if union[0] > shape[0] or union[1] > shape[1]:
        return None
    row, col = centre_offsets(union, shape)
    ra, ca = row - top, col - left
    rb, cb = ra + dy, ca + dx
    image = np.zeros(shape, dtype=np.float32)
    labels = np.zeros(shape, dtype=np.uint8)
    image[ra : ra + ha, ca : ca + wa] += grey_a
    image[rb : rb + hb, cb : cb + wb] += grey_b
    labels[ra : ra + ha, ca : ca + wa] |= mask_a.astype(np.uint8)
    labels[rb : rb + hb, cb : cb + wb] |= mask_b.astype(np.uint8) * 2
    return image, labels


def _as_dataset(images: list, labels: list, groups: list, shape, **extra) -> Bunch:
    """Stack per-sample lists into the arrays of a dataset Bunch."""
    return Bunch(
        images=np.stack(images) if images else np.zeros((0, *shape), np.float32),
        labels=np.stack(labels) if labels else np.zeros((0, *shape), np.uint8),
        groups=np.asarray(groups, dtype=np.int64),
        **extra,
    )


def _shifted_pair(first, second, u: float, v: float, shape: tuple[int, int]):
    """Slide ``first`` across ``second`` to the fractions ``(u, v)``; label the smaller 1.

    Returns
    -------
    (image, labels, first_is_a) or None
        None when the composite does not fit in ``shape``; ``first_is_a`` says whether
        ``first`` got label 1.
    """
    (grey_f, mask_f), (grey_s, mask_s) = first, second
    dy = int(u * (mask_f.shape[0] + mask_s.shape[0])) - mask_f.shape[0]
    dx = int(v * (mask_f.shape[1] + mask_s.shape[1])) - mask_f.shape[1]
    first_is_a = bool(mask_f.sum() <= mask_s.sum())
    if first_is_a:
        composite = _composite_pair(grey_f, mask_f, grey_s, mask_s, (-dy, -dx), shape)
    else:
        composite = _composite_pair(grey_s, mask_s, grey_f, mask_f, (dy, dx), shape)
    return None if composite is None else (*composite, first_is_a)
