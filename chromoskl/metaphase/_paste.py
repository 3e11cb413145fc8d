"""Step 6: the segmenter's two chromosomes pasted back into the metaphase at full resolution."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.transform import resize

from .._geometry import centre_crop
from ._crops import Placement

__all__ = ["paste_instances"]


def paste_instances(
    instances, placement: Placement, component, *, max_distance: float | None = None
) -> np.ndarray:
    """Bring the segmenter's chromosome masks back to the metaphase's pixels.

    Each mask is cropped from the padded input, resized to the box at full resolution
    (linear interpolation of the 0/1 mask, then 0.5: smooth edges rather than blocks), and
    kept inside the component, whose outline the full-resolution threshold draws more
    precisely than the network does at half resolution. Component pixels that no mask
    covers, within ``max_distance`` of one, go to the nearest mask
    (:func:`scipy.ndimage.distance_transform_edt`): the slivers that resampling leaves
    between the masks and the outline. Where masks overlap, a pixel belongs to both.

    Parameters
    ----------
    instances : ndarray of bool, shape (m, H_in, W_in)
        Whole chromosomes on the segmenter's input (e.g. A = classes {1, 3}, B = {2, 3}).
    placement : Placement
        From :func:`crop_cluster`.
    component : ndarray of bool, shape (H, W)
        The cluster's pixels in the metaphase.
    max_distance : float or None, default=None
        Farthest uncovered pixel given to a mask, in pixels; None: every one, so that the
        masks together cover the component. Pixels farther away (a third chromosome that the
        segmenter did not label) stay uncovered.

    Returns
    -------
    masks : ndarray of bool, shape (m, h_box, w_box)
        The chromosomes within ``placement.box``.
    """
    r0, c0, r1, c1 = placement.box
    inside = np.asarray(component[r0:r1, c0:c1], dtype=bool)
    instances = np.asarray(instances, dtype=bool)
    scaled = centre_crop(instances, placement.scaled_shape)
    masks = np.stack([
        resize(m.astype(np.float32), inside.shape, order=1, anti_aliasing=False) >= 0.5
        for m in scaled
    ]) if len(scaled) else np.zeros((0, *inside.shape), dtype=bool)
    masks &= inside
    covered = masks.any(axis=0)
    left = inside & ~covered
    if left.any() and covered.any():
        # label the covered pixels by the first mask that holds them, then give every pixel
        # left over the label of the nearest covered pixel
        owner = np.argmax(masks, axis=0)
        distance, (rows, cols) = ndi.distance_transform_edt(~covered, return_indices=True)
        nearest = owner[rows, cols]
        if max_distance is not None:
            left &= distance <= max_distance
        for k in range(len(masks)):
            masks[k] |= left & (nearest == k)
    return masks
