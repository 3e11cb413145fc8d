"""Per-chromosome measurements: area, medial-axis length, box, upright orientation."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

__all__ = ["medial_axis_length", "mask_box"]

_SQRT2 = float(np.sqrt(2.0))


def medial_axis_length(mask) -> float:
    """Length in pixels of the skeleton (medial axis) of one chromosome mask.

    The skeleton comes from :func:`skimage.morphology.skeletonize`; its length is the sum of
    the steps between 8-connected skeleton pixels, 1 for a step along a row or column and
    sqrt(2) for a diagonal one that is not the short cut of two such steps (so a staircase
    is not counted twice). scikit-image measures areas and axes but not skeleton length; this
    sum is written here. Like every medial axis, it stops about half a width short of each
    end, so it is shorter than the chromosome by about its width.
    """
    skeleton = skeletonize(np.asarray(mask, dtype=bool))
    if not skeleton.any():
        return 0.0
    padded = np.pad(skeleton, 1)
    centre = padded[1:-1, 1:-1]

    def shifted(dy: int, dx: int) -> np.ndarray:
        return padded[1 + dy : padded.shape[0] - 1 + dy, 1 + dx : padded.shape[1] - 1 + dx]

    right, down = shifted(0, 1), shifted(1, 0)
    straight = np.count_nonzero(centre & right) + np.count_nonzero(centre & down)
    diagonal = 0
    for dx in (1, -1):
        corner = shifted(1, dx)
        # a diagonal step whose two pixels share an orthogonal neighbour is a staircase corner
        via = shifted(0, dx) | down
        diagonal += np.count_nonzero(centre & corner & ~via)
    length = straight + _SQRT2 * diagonal
    return float(max(length, 1.0))


def mask_box(mask) -> tuple[int, int, int, int]:
    """``(row_start, col_start, row_stop, col_stop)`` of the pixels of ``mask``."""
    box = ndi.find_objects(np.asarray(mask, dtype=np.uint8))
    if not box:
        return (0, 0, 0, 0)
    rows, cols = box[0]
    return (rows.start, cols.start, rows.stop, cols.stop)
