"""Step 4: tell single chromosomes from clusters of touching or crossing chromosomes."""

from __future__ import annotations

import numpy as np
from skimage.morphology import skeletonize

from ._arms import count_arms, skeleton_width
from ._continuation import sharpest_turn

__all__ = ["classify_components", "segmenter_sees_crossing", "SINGLE", "CLUSTER", "UNRESOLVED"]

SINGLE, CLUSTER, UNRESOLVED = "single", "cluster", "unresolved"


def classify_components(
    regions,
    *,
    min_solidity: float = 0.5,
    max_arms: int = 2,
    arm_width_ratio: float = 0.7,
    area_ratio: float = 2.2,
    max_area_ratio: float = 8.0,
    reference_area: float | None = None,
    max_turn: float | None = None,
    max_width_ratio: float | None = None,
    reference_width: float | None = None,
) -> np.ndarray:
    """Call each connected component a single chromosome, a cluster, or too large to split.

    A single chromosome is a rod, straight or bent: its skeleton has two ends. Two that cross
    make an X (four arms) or a T (three), which also leaves large empty corners in the
    convex hull; two that touch side by side or end to end have about twice the area of a
    chromosome. So a component is a *cluster* when its pruned skeleton has more than
    ``max_arms`` arms (:func:`count_arms`), its solidity (area / convex hull area, from
    :func:`skimage.measure.regionprops`) is below ``min_solidity``, or its area is more than
    ``area_ratio`` times the reference area (the median component, a single chromosome in a
    metaphase where most lie apart). Solidity alone does not do: a long chromosome bent by
    70 degrees is as hollow as an X (about 0.65). Beyond ``max_area_ratio`` times the
    reference, a component is *unresolved*: a nucleus, a clump, or a pile that a
    two-chromosome segmenter cannot split. Two chromosomes that touch end to end at an angle
    pass all three tests (two arms, solid enough, about the area of one long chromosome) but
    meet at a corner, which a chromosome's gentle bends do not make: with ``max_turn``, a
    component whose skeleton turns by more than that many degrees within one width
    (:func:`sharpest_turn`) is a cluster too. Two chromosomes that lie side by side along
    their length also pass them (two arms, solid, about the area of two short ones) but make
    a rod twice as wide: with ``max_width_ratio``, a component wider than that many times
    the reference width (the median component's) is a cluster too.

    No paper gives this rule (Hu et al. and ARMS Net start from crops of pairs); the
    thresholds are set on the generated metaphases and ``DAPI.tif`` (``benchmarks/metaphase.py``).

    Parameters
    ----------
    regions : list of skimage.measure.RegionProperties
        The components (:func:`label_components`).
    min_solidity : float, default=0.5
    max_arms : int, default=2
    arm_width_ratio : float, default=0.7
        The shortest arm that counts, as a multiple of the component's width
        (:func:`count_arms`). Measured on 5 generated metaphases with 10 crossings each and on
        ``DAPI.tif`` (``benchmarks/metaphase.py --arm-rule``): 0.7 catches 43 of 50 crossings
        and flags 1 of DAPI's 45 components, where 1.0 catches 41 and flags 4.
    area_ratio : float, default=2.2
    max_area_ratio : float, default=8.0
    reference_area : float or None, default=None
        Area of a typical single chromosome, in pixels; None takes the median component.
    max_turn : float or None, default=None
        Most degrees by which a single chromosome's skeleton turns over one width
        (:func:`sharpest_turn`); None does not look at turns. Measured only on the components
        that pass the other tests.
    max_width_ratio : float or None, default=None
        Widest a single chromosome may be, as a multiple of the reference width; None does
        not look at widths. The width is twice the median distance from the skeleton to
        the outline (:func:`~chromoskl.metaphase._arms.skeleton_width`).
    reference_width : float or None, default=None
        Width of a typical single chromosome, in pixels; None takes the median component's.

    Returns
    -------
    kinds : ndarray of str, shape (n_components,)
        ``"single"``, ``"cluster"`` or ``"unresolved"`` per component, in label order.
    """
    if not 0.0 < min_solidity <= 1.0:
        raise ValueError(f"min_solidity must lie in (0, 1], got {min_solidity!r}.")
    if not 1.0 <= area_ratio <= max_area_ratio:
        raise ValueError(
            f"need 1 <= area_ratio <= max_area_ratio, got {area_ratio!r} and {max_area_ratio!r}."
        )
    if max_turn is not None and not 0.0 <= max_turn <= 180.0:
        raise ValueError(f"max_turn must be None or degrees from 0 to 180, got {max_turn!r}.")
    if max_width_ratio is not None and not max_width_ratio >= 1.0:
        raise ValueError(
            f"max_width_ratio must be None or a number >= 1 (a single chromosome is as wide "
            f"as the typical one), got {max_width_ratio!r}."
        )
    if not regions:
        return np.array([], dtype=object)
    areas = np.array([r.area for r in regions], dtype=np.float64)
    solidity = np.array([r.solidity for r in regions], dtype=np.float64)
    reference = float(np.median(areas)) if reference_area is None else float(reference_area)
    kinds = np.full(len(regions), SINGLE, dtype=object)
    skeletons = [skeletonize(r.image) for r in regions]  # one thinning for every measure
    widths = np.array([skeleton_width(r.image, skeleton)
                       for r, skeleton in zip(regions, skeletons)])
    arms = np.array([count_arms(r.image, arm_width_ratio * width, skeleton=skeleton)
                     for r, width, skeleton in zip(regions, widths, skeletons)])
    clusters = (arms > max_arms) | (solidity < min_solidity) | (areas > area_ratio * reference)
    if max_turn is not None:
        rods = np.flatnonzero(~clusters)
        turns = np.array([sharpest_turn(regions[k].image, skeleton=skeletons[k],
                                        width=widths[k]) for k in rods], dtype=np.float64)
        clusters[rods[turns > max_turn]] = True
    if max_width_ratio is not None:
        typical = float(np.median(widths)) if reference_width is None else float(reference_width)
        clusters |= widths > max_width_ratio * typical
    kinds[clusters] = CLUSTER
    kinds[areas > max_area_ratio * reference] = UNRESOLVED
    return kinds


def segmenter_sees_crossing(labels, min_pixels: int = 16) -> bool:
    """Whether a segmenter's labels of one component show two chromosomes that cross.

    The shape rule of :func:`classify_components` misses a crossing whose arms are short (a
    short chromosome across the end of a long one leaves a rod with a bulge). The segmenter
    sees it: it labels the doubled grey of the crossing as overlap (class 3) and the two
    chromosomes beside it as A only (1) and B only (2). On a single chromosome a pair
    segmenter may still split the rod into A and B, or call a bright band overlap, but not
    both at once. So a crossing needs at least ``min_pixels`` of each of the three classes.

    No paper gives this test (they segment crops known to hold two chromosomes). With the
    swap-invariant model of ``benchmarks/metaphase_training_pairs.py`` on 9 generated
    metaphases (46 chromosomes, 2 / 5 / 10 crossings, seeds 0-2), the 51 crossings had at
    least 33 overlap pixels and 111 of each chromosome alone; of the 312 single chromosomes,
    those with 20 or more of each chromosome alone had at most 4 overlap pixels, and those
    with more overlap pixels (up to 35) had none of one chromosome alone. On seeds 3-5 the
    check raised the share of crossed pairs separated from 100 / 87 / 87 % to 100 / 100 / 97 %.

    It trusts the segmenter, so the segmenter must have been trained on images like the
    metaphase's: the synthetic pairs' model sees crossings in 17 of ``DAPI.tif``'s 44 single
    chromosomes (it takes their bright bands for overlap), a model trained on Pommier's pairs
    (cut from ``DAPI.tif``) in none (``benchmarks/RESULTS.md``, issue 10).

    Parameters
    ----------
    labels : array-like of int, shape (H, W)
        The segmenter's labels ``0..3`` of the component's crop, in the segmenter's pixels.
    min_pixels : int, default=16
        The least pixels of overlap, of A alone and of B alone.

    Returns
    -------
    bool
    """
    counts = np.bincount(np.asarray(labels).ravel(), minlength=4)
    return bool(counts[1:4].min() >= min_pixels)
