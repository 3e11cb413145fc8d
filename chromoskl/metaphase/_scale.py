"""Step 2: match the grey scale and the pixel size to the segmenter's training images."""

from __future__ import annotations

import numpy as np
from skimage.transform import rescale

__all__ = ["grey_factor", "to_segmenter_pixels", "FOREGROUND_QUANTILE", "BRIGHT_SHARE"]

#: The grey level of a metaphase's chromosomes is read at this quantile of its foreground.
FOREGROUND_QUANTILE = 0.9
#: ...and mapped to this share of the span of the training images' grey range (1st to
#: 99.5th percentile; the 99.5th lies in the overlaps, the sum of two chromosomes). In the
#: training pairs themselves, the 90th percentile of the single-chromosome pixels is 0.708 of
#: that span in Pommier's pairs and 0.763 in the generated ones (benchmarks/metaphase.py
#: --calibrate); on DAPI.tif, 0.73 gives a factor 2 % from the one that maps its chromosomes
#: onto the pairs cut from it (0.0646 against 0.0631, about 1/16: 12 bits to 8).
BRIGHT_SHARE = 0.73


def grey_factor(corrected, foreground, intensity_range) -> float:
    """The factor that brings a corrected metaphase to the grey scale of the training pairs.

    Pommier's pairs are 8-bit top-hat images: background 0, chromosomes up to about 200, the
    overlaps the sum of two. A raw 12-bit metaphase is about 16 times brighter. The
    segmenter keeps the 1st and 99.5th percentiles of its training images
    (``intensity_range_``); this factor maps the ``FOREGROUND_QUANTILE`` quantile of the
    metaphase's chromosome pixels to ``BRIGHT_SHARE`` times the span from the 1st to the
    99.5th percentile: where the single chromosomes of the training pairs have theirs.

    Parameters
    ----------
    corrected : ndarray of shape (H, W)
        The background-corrected metaphase.
    foreground : ndarray of bool, shape (H, W)
        Its chromosome pixels.
    intensity_range : tuple of float
        ``(background, bright)`` of the training images (``segmenter.intensity_range_``).

    Returns
    -------
    factor : float
        1.0 when the metaphase has no foreground.
    """
    values = np.asarray(corrected)[np.asarray(foreground, dtype=bool)]
    if values.size == 0:
        return 1.0
    level = float(np.quantile(values, FOREGROUND_QUANTILE))
    low, high = intensity_range
    if level <= 0 or high <= low:
        return 1.0
    return BRIGHT_SHARE * (high - low) / level


def to_segmenter_pixels(image, pixel_scale: float, *, order: int = 1) -> np.ndarray:
    """Resample ``image`` by ``pixel_scale`` (0.5: half the rows and columns).

    Pommier's pairs were cut from the metaphase down-sampled by 2 (``pixel_scale=0.5``).
    Grey images are smoothed first (scikit-image's anti-aliasing) when shrinking.
    """
    image = np.asarray(image)
    if pixel_scale == 1.0:
        return image.astype(np.float32, copy=False)
    is_mask = image.dtype == bool
    out = rescale(
        image.astype(np.float32), pixel_scale, order=order, preserve_range=True,
        anti_aliasing=bool(pixel_scale < 1.0 and not is_mask),
    )
    return (out >= 0.5) if is_mask else out.astype(np.float32)
