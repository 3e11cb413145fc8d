"""Good continuation: a chromosome runs on through the place where it crosses another."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import measure
from skimage.morphology import skeletonize

__all__ = ["bend_at_overlap"]


def bend_at_overlap(piece, overlap, *, min_share: float = 0.1) -> float:
    """How sharply one chromosome of a split cluster turns where it crosses the other.

    Two chromosomes that cross form an X: each runs on through the crossing in about the
    direction it came from (the Gestalt law of good continuation). A split that cuts the X
    into two L's gives pieces that turn there instead. The piece is looked at in a ring
    around the overlap's centroid that starts half a chromosome width beyond the overlap's
    farthest pixel (where the arms of an L touch) and is one width wide; the width is twice
    the median distance from the piece's skeleton to its outline
    (:func:`skimage.morphology.skeletonize`, :func:`scipy.ndimage.distance_transform_edt`).
    Each arm of the piece crosses the ring once; its direction is from the centroid to the
    centroid of its pixels in the ring (:func:`skimage.measure.regionprops`). Near the
    crossing, not along whole arms: a chromosome may curve further out, and the two arms of
    a cut may join beyond the overlap where the segmenter's overlap is smaller than the
    crossing. The bend is the angle by which the second arm departs from the straight
    continuation of the first: 0 for a straight rod, 90 for a right-angled L, 180 for a
    piece that doubles back.

    Parameters
    ----------
    piece : ndarray of bool, shape (H, W)
        One chromosome of the split.
    overlap : ndarray of bool, shape (H, W)
        The pixels it shares with the other chromosome.
    min_share : float, default=0.1
        Smallest arm, as a share of the piece's pixels in the ring: smaller parts (a stub
        of the other chromosome left on this one, resampling specks) are not arms.

    Returns
    -------
    bend : float
        Degrees in [0, 180]; 0 when fewer than two arms leave the overlap (the piece ends
        there, or there is no overlap): nothing to continue.
    """
    piece = np.asarray(piece, dtype=bool)
    overlap = np.asarray(overlap, dtype=bool) & piece
    if not overlap.any():
        return 0.0
    centre = np.argwhere(overlap).mean(axis=0)
    rows, cols = np.indices(piece.shape)
    distance = np.hypot(rows - centre[0], cols - centre[1])
    skeleton = skeletonize(piece)
    width = 2.0 * float(np.median(ndi.distance_transform_edt(piece)[skeleton]))
    # the arms of an L touch at the overlap's corners: start half a width beyond them
    inner = distance[overlap].max() + width / 2
    ring = piece & (distance > inner) & (distance <= inner + width)
    arms = [r for r in measure.regionprops(measure.label(ring, connectivity=2))
            if r.area >= min_share * np.count_nonzero(ring)]
    if len(arms) < 2:
        return 0.0
    first, second = sorted(arms, key=lambda r: r.area, reverse=True)[:2]
    out_first = np.asarray(first.centroid) - centre
    out_second = np.asarray(second.centroid) - centre
    cosine = np.dot(out_first, out_second) / (np.linalg.norm(out_first)
                                              * np.linalg.norm(out_second))
    # straight on: the two arms leave in opposite directions (cosine -1)
    return float(np.degrees(np.arccos(np.clip(-cosine, -1.0, 1.0))))
