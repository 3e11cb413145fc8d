"""Step 4: tell single chromosomes from clusters of touching or crossing chromosomes."""

from __future__ import annotations

import numpy as np

from ._arms import count_arms

__all__ = ["classify_components", "SINGLE", "CLUSTER", "UNRESOLVED"]

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
    two-chromosome segmenter cannot split.

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
    if not regions:
        return np.array([], dtype=object)
    areas = np.array([r.area for r in regions], dtype=np.float64)
    solidity = np.array([r.solidity for r in regions], dtype=np.float64)
    reference = float(np.median(areas)) if reference_area is None else float(reference_area)
    kinds = np.full(len(regions), SINGLE, dtype=object)
    arms = np.array([count_arms(r.image, width_ratio=arm_width_ratio) for r in regions])
    clusters = (arms > max_arms) | (solidity < min_solidity) | (areas > area_ratio * reference)
    kinds[clusters] = CLUSTER
    kinds[areas > max_area_ratio * reference] = UNRESOLVED
    return kinds
