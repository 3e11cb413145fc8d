"""Step 1: background correction by a white top-hat, as Pommier's pairs were made."""

from __future__ import annotations

import numpy as np
from skimage.morphology import disk, white_tophat

from ._checks import check_metaphase_image

__all__ = ["subtract_background"]


def subtract_background(image, radius: float = 25) -> np.ndarray:
    """Remove a smooth or uneven background with a white top-hat (scikit-image).

    The top-hat keeps what is brighter than its surroundings and narrower than a disk of
    ``radius`` pixels (the chromosomes) and sets the rest (background, glow, gradients) to
    about 0. J.-P. Pommier made the overlapping pairs of Hu et al. [1]_ this way from the
    DAPI metaphase, before cutting out the chromosomes; the segmenter expects background 0.

    Parameters
    ----------
    image : array-like of shape (H, W)
        One grey metaphase (any real dtype, e.g. raw 12-bit); RGB is turned grey.
    radius : float, default=25
        Radius of the disk, in pixels of ``image``: larger than half the width of the widest
        chromosome (DAPI.tif: about 10 px), smaller than the gaps of the background.

    Returns
    -------
    corrected : ndarray of float32, shape (H, W)
        ``image`` minus its grey opening; 0 and above.

    Notes
    -----
    The disk is decomposed into a sequence of small footprints (scikit-image's
    ``decomposition="sequence"``), which is much faster for large radii and differs from the
    exact disk only at its rim.

    References
    ----------
    .. [1] R. L. Hu, J. Karnowski, R. Fadely, J.-P. Pommier, "Image segmentation to
       distinguish between overlapping human chromosomes", NIPS ML4H workshop, 2017.
    """
    image = check_metaphase_image(image)
    if not np.isfinite(radius) or radius < 1:
        raise ValueError(f"radius must be a number of pixels >= 1, got {radius!r}.")
    footprint = disk(int(round(radius)), decomposition="sequence")
    return white_tophat(image.astype(np.float32), footprint=footprint)
