"""Good continuation: a chromosome runs on through the place where it crosses another, and
bends gently along its length."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from skimage import measure
from skimage.morphology import skeletonize

from ._arms import skeleton_width

__all__ = ["bend_at_overlap", "sharpest_turn"]

# the 4 of a pixel's 8 neighbours that come after it in row-major order: each edge once
_FORWARD = ((0, 1), (1, -1), (1, 0), (1, 1))


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
    width = skeleton_width(piece, skeletonize(piece))
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


def sharpest_turn(mask, *, width_ratio: float = 1.0, skeleton=None, width=None) -> float:
    """How sharply a shape's skeleton turns, in degrees, at its sharpest place.

    A chromosome bends gently along its length; two that touch end to end at an angle meet
    at a corner, and pass as one rod by their arms, solidity and area. The longest path of
    the skeleton (:func:`skimage.morphology.skeletonize`; two sweeps of
    :func:`scipy.sparse.csgraph.dijkstra` over its 8-connected pixels) is followed, less half
    a width at each end, where the skeleton of a square end forks into its corners. At each
    point of it at least one chord from its ends, the chords to the points ``width_ratio``
    widths back and ahead along the path make an angle (180 on a straight stretch); the turn
    is 180 less the smallest. The width is twice the median distance from the skeleton to
    the outline. A chord as long as the width spans a corner, so the turn reads a little
    less than the angle between two bars (86 for a right angle).

    No paper gives this measure. On generated metaphases (46 chromosomes, 2 / 5 / 10
    crossings, seeds 0-11) the 1,243 single chromosomes that the other tests call single
    turn by at most 42.6 degrees (99th percentile 34.0), the 44 of ``DAPI.tif`` by at most
    33.1; the pairs that pass those tests, lying end to end at an angle or crossing near an
    end, by up to 111 (seed 11's pair, lost before, by 81.9; ``benchmarks/RESULTS.md``,
    issue 10). A shape shorter than about three widths is not measured (35 of DAPI's 44).

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
        One connected shape.
    width_ratio : float, default=1.0
        Length of each chord along the skeleton, as a multiple of the shape's width.
    skeleton : ndarray of bool or None, default=None
        ``skeletonize(mask)``, when the caller has it already; None computes it.
    width : float or None, default=None
        ``skeleton_width(mask, skeleton)``, when the caller has it already; None computes it.

    Returns
    -------
    turn : float
        Degrees in [0, 180]: 0 for a straight rod, about 90 for a right-angled L, up to 180
        for a shape that doubles back; 0 for a skeleton shorter than two chords.
    """
    mask = np.asarray(mask, dtype=bool)
    skeleton = skeletonize(mask) if skeleton is None else np.asarray(skeleton, dtype=bool)
    if not skeleton.any():
        return 0.0
    width = skeleton_width(mask, skeleton) if width is None else float(width)
    chord = width_ratio * width
    path = _longest_path(skeleton)
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    # the skeleton forks into the corners of a square end, over about half a width
    kept = (along >= width / 2) & (along <= along[-1] - width / 2)
    path, along = path[kept], along[kept]
    if chord <= 0 or not len(along):
        return 0.0
    inner = np.flatnonzero((along >= along[0] + chord) & (along <= along[-1] - chord))
    if not inner.size:
        return 0.0
    back = np.searchsorted(along, along[inner] - chord, side="right") - 1
    ahead = np.searchsorted(along, along[inner] + chord, side="left")
    to_back, to_ahead = path[back] - path[inner], path[ahead] - path[inner]
    cosine = np.sum(to_back * to_ahead, axis=1) / (np.linalg.norm(to_back, axis=1)
                                                   * np.linalg.norm(to_ahead, axis=1))
    return float(180.0 - np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))).min())


def _longest_path(skeleton: np.ndarray) -> np.ndarray:
    """Pixel coordinates ``(n, 2)``, in order, of the longest shortest path of an
    8-connected skeleton (from the pixel farthest from any pixel to the pixel farthest from
    it; exact on a tree, which a rod's skeleton is)."""
    points = np.argwhere(skeleton)
    index = np.full((skeleton.shape[0] + 2, skeleton.shape[1] + 2), -1)
    index[points[:, 0] + 1, points[:, 1] + 1] = np.arange(len(points))
    starts, ends, lengths = [], [], []
    for dr, dc in _FORWARD:
        neighbour = index[points[:, 0] + 1 + dr, points[:, 1] + 1 + dc]
        linked = neighbour >= 0
        starts.append(np.flatnonzero(linked))
        ends.append(neighbour[linked])
        lengths.append(np.full(np.count_nonzero(linked), np.hypot(dr, dc)))
    graph = csr_matrix((np.concatenate(lengths), (np.concatenate(starts), np.concatenate(ends))),
                       shape=(len(points), len(points)))
    first = _farthest(dijkstra(graph, directed=False, indices=0))
    distance, previous = dijkstra(graph, directed=False, indices=first, return_predecessors=True)
    node, path = _farthest(distance), []
    while node >= 0:  # -9999 before the start
        path.append(node)
        node = int(previous[node])
    return points[path[::-1]].astype(np.float64)


def _farthest(distance: np.ndarray) -> int:
    """The index of the largest finite distance (the pixels reached)."""
    return int(np.argmax(np.where(np.isfinite(distance), distance, -1.0)))
