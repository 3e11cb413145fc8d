"""How many arms a shape has: 2 for a rod, straight or bent; 3 for a T; 4 for an X."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

__all__ = ["count_arms"]

_NEIGHBOURS = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]])
_EIGHT = np.ones((3, 3), dtype=bool)


def skeleton_width(mask: np.ndarray, skeleton: np.ndarray) -> float:
    """A shape's width: twice the median distance from its skeleton to its outline (0 for
    an empty skeleton). Outside the array counts as outside the shape: a shape cut to its
    bounding box (``regionprops(...).image``) touches the array's edges."""
    if not skeleton.any():
        return 0.0
    distance = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    return 2.0 * float(np.median(distance[skeleton]))


def _ends(skeleton: np.ndarray) -> np.ndarray:
    """Pixels of the skeleton with exactly one 8-neighbour in it."""
    neighbours = ndi.convolve(skeleton.astype(np.uint8), _NEIGHBOURS, mode="constant")
    return skeleton & (neighbours == 1)


def count_arms(
    mask, min_length: float | None = None, *, width_ratio: float = 1.0, skeleton=None
) -> int:
    """The number of arms of the skeleton of ``mask`` once its short spurs are pruned.

    A chromosome, however bent, is a rod: its skeleton is a path with two ends. Two that
    cross give four arms, a chromosome whose end lies on another three. Thinning
    (:func:`skimage.morphology.skeletonize`) forks the skeleton near square ends and leaves
    spurs, so the skeleton is pruned first, by the textbook method (Gonzalez and Woods,
    *Digital Image Processing*, "pruning"): its end pixels are peeled ``min_length`` times,
    which removes every branch shorter than that, and the arms that survive are grown back
    along the original skeleton by as many steps. The ends of the result are counted.
    scikit-image has no skeleton pruning, so it is written here.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
        One connected shape.
    min_length : float or None, default=None
        Shortest arm, in skeleton pixels; None: ``width_ratio`` times the shape's width
        (twice the median distance from its skeleton to its outline).
    width_ratio : float, default=1.0
        The shortest arm as a multiple of the width, when ``min_length`` is None. Spurs of
        a rod's square ends stay under about half its width; the arms of crossing
        chromosomes are longer than that, but an arm cut short by the edge of the other
        chromosome may be shorter than one width.
    skeleton : ndarray of bool or None, default=None
        ``skeletonize(mask)``, when the caller has it already; None computes it.

    Returns
    -------
    arms : int
        2 for a rod (also for one shorter than twice ``min_length``), 0 for a closed loop.
    """
    mask = np.asarray(mask, dtype=bool)
    skeleton = skeletonize(mask) if skeleton is None else np.asarray(skeleton, dtype=bool)
    if min_length is None:
        min_length = width_ratio * skeleton_width(mask, skeleton)
    steps = int(np.ceil(min_length))
    pruned = skeleton.copy()
    for _ in range(steps):
        neighbours = ndi.convolve(pruned.astype(np.uint8), _NEIGHBOURS, mode="constant")
        pruned &= neighbours >= 2  # peel the ends (and isolated pixels)
    if not pruned.any():
        return 2  # a short rod: everything was peeled
    grown = _ends(pruned)
    for _ in range(steps):
        grown = ndi.binary_dilation(grown, _EIGHT) & skeleton
    return int(_ends(pruned | grown).sum())
