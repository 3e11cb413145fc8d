"""Step 3: foreground threshold and connected components (scikit-image, scipy)."""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, measure, morphology

__all__ = ["foreground_mask", "label_components", "THRESHOLDS"]

#: Automatic thresholds by name: the functions of :mod:`skimage.filters`.
THRESHOLDS = {
    "otsu": filters.threshold_otsu,
    "li": filters.threshold_li,
    "triangle": filters.threshold_triangle,
    "yen": filters.threshold_yen,
}


def foreground_mask(corrected, threshold="li", *, min_area: int = 30) -> np.ndarray:
    """Chromosome pixels of a background-corrected metaphase.

    Pixels above the threshold, with holes filled (a pale band inside a chromosome stays in
    it) and objects smaller than ``min_area`` pixels (debris, noise) removed.

    Parameters
    ----------
    corrected : ndarray of shape (H, W)
        A background-corrected image (:func:`subtract_background`), background near 0.
    threshold : {"li", "otsu", "triangle", "yen"} or float, default="li"
        A method of :mod:`skimage.filters` or a grey value of ``corrected``.
    min_area : int, default=30
        Smallest object kept, in pixels.

    Returns
    -------
    mask : ndarray of bool, shape (H, W)
    """
    corrected = np.asarray(corrected)
    if isinstance(threshold, str):
        if threshold not in THRESHOLDS:
            raise ValueError(
                f"threshold must be one of {sorted(THRESHOLDS)} or a number, got {threshold!r}."
            )
        if np.ptp(corrected) == 0:  # a blank image: every method is undefined
            return np.zeros(corrected.shape, dtype=bool)
        level = THRESHOLDS[threshold](corrected)
    elif isinstance(threshold, Real) and not isinstance(threshold, bool):
        level = float(threshold)
    else:
        raise ValueError(f"threshold must be a method name or a number, got {threshold!r}.")
    mask = ndi.binary_fill_holes(corrected > level)
    return morphology.remove_small_objects(mask, max_size=max(int(min_area) - 1, 0), connectivity=2)


def label_components(mask) -> tuple[np.ndarray, list]:
    """Label the 8-connected components of ``mask``; return the labels and their regions.

    Returns
    -------
    labels : ndarray of int32, shape (H, W)
        0 background, ``1..n`` the components.
    regions : list of skimage.measure.RegionProperties
        One per component, in label order (area, bbox, solidity, orientation, ...).
    """
    labels = measure.label(np.asarray(mask, dtype=bool), connectivity=2).astype(np.int32)
    return labels, measure.regionprops(labels)
