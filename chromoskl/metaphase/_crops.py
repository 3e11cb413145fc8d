"""Step 5: a crop of each cluster, brought to the segmenter's pixels and input shape."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._geometry import centre_pad
from ._scale import to_segmenter_pixels

__all__ = ["Placement", "crop_cluster"]


class Placement(NamedTuple):
    """Where a segmenter input came from: enough to paste its masks back."""

    box: tuple[int, int, int, int]  # row_start, col_start, row_stop, col_stop in the metaphase
    scaled_shape: tuple[int, int]  # the crop after resampling, before padding


def crop_cluster(
    corrected,
    component,
    box: tuple[int, int, int, int],
    *,
    pixel_scale: float = 0.5,
    grey_factor: float = 1.0,
    input_shape: tuple[int, int] = (94, 93),
    margin: int = 4,
) -> tuple[np.ndarray, Placement]:
    """Cut one cluster out of the metaphase as the segmenter's training images were made.

    As in Pommier's pairs, the chromosomes lie on a black background: pixels outside the
    component are set to 0, so a neighbour that enters the box is not seen. The crop (the
    component's box plus ``margin`` pixels) is scaled in grey by ``grey_factor``, resampled
    by ``pixel_scale`` and padded, centred, to ``input_shape``.

    A crop larger than ``input_shape`` is given whole rather than tiled: the networks are
    fully convolutional (the segmenter pads any size to what its network needs), and tiles
    would cut chromosomes, whose halves then have to be matched across tiles.

    Parameters
    ----------
    corrected : ndarray of shape (H, W)
        The background-corrected metaphase.
    component : ndarray of bool, shape (H, W)
        The cluster's pixels.
    box : tuple of int
        The component's ``(row_start, col_start, row_stop, col_stop)``.
    pixel_scale, grey_factor, input_shape, margin
        As in :class:`MetaphaseSeparator`.

    Returns
    -------
    crop : ndarray of float32, shape at least ``input_shape``
    placement : Placement
    """
    height, width = np.shape(corrected)
    r0, c0, r1, c1 = box
    r0, c0 = max(r0 - margin, 0), max(c0 - margin, 0)
    r1, c1 = min(r1 + margin, height), min(c1 + margin, width)
    window = (slice(r0, r1), slice(c0, c1))
    grey = np.where(component[window], corrected[window], 0.0) * grey_factor
    scaled = to_segmenter_pixels(grey, pixel_scale)
    target = (max(scaled.shape[0], input_shape[0]), max(scaled.shape[1], input_shape[1]))
    crop = centre_pad(scaled, target)
    return crop.astype(np.float32), Placement((r0, c0, r1, c1), scaled.shape)
