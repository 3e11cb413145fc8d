"""How many arms a shape has: 2 for a rod, straight or bent; 3 for a T; 4 for an X."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import label
from skimage.morphology import skeletonize

__all__ = ["count_arms"]

_NEIGHBOURS = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]])
_MAX_PRUNING = 8


def count_arms(mask, min_length: float | None = None) -> int:
    """The number of arms of the skeleton of ``mask`` once its short spurs are pruned.

    A chromosome, however bent, is a rod: its skeleton is a path with two ends. Two that
    cross give four arms, a chromosome whose end lies on another three. Thinning
    (:func:`skimage.morphology.skeletonize`) forks the skeleton near square ends and leaves
    spurs; the end branches shorter than ``min_length`` are removed, again until none is
    left, and the ends of what remains are counted. scikit-image has no skeleton pruning,
    so it is written here.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
        One connected shape.
    min_length : float or None, default=None
        Shortest arm, in skeleton pixels; None: the shape's width (twice the median distance
        from its skeleton to its outline), which no spur exceeds and which crossing
        chromosomes' arms do.

    Returns
    -------
    arms : int
        2 for a rod (also for a skeleton of one point, and 0 for a closed loop).
    """
    mask = np.asarray(mask, dtype=bool)
    skeleton = skeletonize(mask)
    if min_length is None:
        distance = ndi.distance_transform_edt(mask)
        min_length = 2.0 * float(np.median(distance[skeleton])) if skeleton.any() else 0.0
    for _ in range(_MAX_PRUNING):
        neighbours = ndi.convolve(skeleton.astype(np.uint8), _NEIGHBOURS, mode="constant")
        ends = skeleton & (neighbours == 1)
        junctions = skeleton & (neighbours >= 3)
        if not junctions.any():
            return 2 if ends.any() or skeleton.sum() <= 1 else 0
        branches = label(skeleton & ~ndi.binary_dilation(junctions, np.ones((3, 3))),
                         connectivity=2)
        sizes = np.bincount(branches.ravel())
        end_branches = np.unique(branches[ends])
        end_branches = end_branches[end_branches > 0]
        short = end_branches[sizes[end_branches] < min_length]
        if short.size == 0:
            return int(end_branches.size)
        skeleton = skeleton & ~np.isin(branches, short)
    return int(end_branches.size)
