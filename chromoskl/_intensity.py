"""Does a batch of images have the grey-value scale that a model was trained on?

A network trained on Pommier's pairs (background-subtracted, background 0, chromosomes up to
about 200) labels a raw 12-bit metaphase (background about 250, chromosomes near 1,800) as
nearly all chromosome B, and says nothing. The estimator records the training images' grey
range at ``fit`` and warns at predict time when new images are far from it, with the numbers
and the fix. No library does this check for arrays of images; it is a few percentiles.
"""

from __future__ import annotations

import warnings

import numpy as np
from skorch.callbacks import Callback
from skorch.utils import is_dataset

from ._validation import check_image_array

__all__ = [
    "IntensityWarning",
    "RecordIntensityRange",
    "intensity_range",
    "intensity_ranges",
    "unlike_reference",
    "warn_if_unlike",
]

#: The background level (low percentile) and the bright chromosome level (high percentile).
PERCENTILES = (1.0, 99.5)
#: Images used for the percentiles: an even sample keeps this cheap for any data size.
MAX_IMAGES = 256
#: Warn when the background moves by more than this share of the training range...
BACKGROUND_TOLERANCE = 0.25
#: ...or when the range (bright minus background) is more than this factor off.
RANGE_FACTOR = 2.0


class IntensityWarning(UserWarning):
    """Images to predict have a grey-value scale unlike the training images'."""


def intensity_range(images, *, name: str = "X") -> tuple[float, float]:
    """The background and bright grey levels of a batch: its 1st and 99.5th percentiles.

    Computed on at most ``MAX_IMAGES`` images, evenly spaced; NaNs are ignored (the
    estimator's own checks reject them). ``name`` names the images in error messages.
    """
    array = check_image_array(images, name=name)
    step = max(1, len(array) // MAX_IMAGES)
    sample = np.asarray(array[::step][:MAX_IMAGES], dtype=np.float64)
    with warnings.catch_warnings():  # all NaN: the estimator's own check says so, clearly
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(sample, PERCENTILES)
    return float(low), float(high)


def intensity_ranges(images, *, name: str = "X") -> np.ndarray:
    """The background and bright grey levels of every image: shape (n, 2).

    Read in blocks of ``MAX_IMAGES`` images, so that memory stays bounded for any number.
    """
    array = check_image_array(images, name=name)
    ranges = np.empty((len(array), 2))
    for start in range(0, len(array), MAX_IMAGES):
        block = np.asarray(array[start : start + MAX_IMAGES], dtype=np.float64)
        flat = block.reshape(len(block), -1)
        if np.isnan(flat).any():
            with warnings.catch_warnings():  # all NaN: the estimator's own check says so
                warnings.simplefilter("ignore", RuntimeWarning)
                ranges[start : start + len(block)] = np.nanpercentile(
                    flat, PERCENTILES, axis=1
                ).T
        else:
            # the same numbers, in one vectorised call: nanpercentile goes image by image
            ranges[start : start + len(block)] = np.percentile(flat, PERCENTILES, axis=1).T
    return ranges


def unlike_reference(ranges: np.ndarray, reference: tuple[float, float]) -> np.ndarray:
    """Which of the (n, 2) per-image ``ranges`` are far from the ``reference`` range.

    Far means: the background level moved by more than ``BACKGROUND_TOLERANCE`` of the
    reference range, or the range (bright minus background) is more than ``RANGE_FACTOR``
    times, or less than its inverse, the reference's.
    """
    ref_low, ref_high = reference
    ref_span = max(ref_high - ref_low, 1e-6)
    span = np.maximum(ranges[:, 1] - ranges[:, 0], 1e-6) / ref_span
    background_moved = np.abs(ranges[:, 0] - ref_low) > BACKGROUND_TOLERANCE * ref_span
    return background_moved | (span > RANGE_FACTOR) | (span < 1 / RANGE_FACTOR)


def warn_if_unlike(images, reference: tuple[float, float]) -> None:
    """Warn (``IntensityWarning``) when images are far from the ``reference`` range.

    Each image is compared on its own, so that a few images on another grey scale in a
    large batch are not averaged away (far: :func:`unlike_reference`). One warning names how
    many images and which.
    """
    ref_low, ref_high = reference
    ranges = intensity_ranges(images)
    low, high = ranges[:, 0], ranges[:, 1]
    far = np.flatnonzero(unlike_reference(ranges, reference))
    if far.size == 0:
        return
    first = far[0]
    which = (
        "The images to predict have"
        if far.size == len(ranges)
        else f"{far.size} of the {len(ranges)} images to predict (indices "
        f"{', '.join(str(i) for i in far[:10])}{', ...' if far.size > 10 else ''}) have"
    )
    warnings.warn(
        f"{which} grey values unlike the training images: background (1st percentile) "
        f"{low[first]:.4g} and bright level (99.5th) {high[first]:.4g} in image {first}, "
        f"against {ref_low:.4g} and {ref_high:.4g} in training. Predictions on them are likely "
        "wrong: prepare them as the training images were (the same background subtraction "
        "and grey-value scale; Pommier's pairs are white top-hat filtered, background 0).",
        IntensityWarning,
        stacklevel=3,
    )


class RecordIntensityRange(Callback):
    """A skorch callback that records the grey range of the training images.

    At the start of every ``fit`` and ``partial_fit`` on arrays, sets the net's
    ``intensity_range_`` to :func:`intensity_range` of the images, the reference that
    prediction compares new images with (:func:`warn_if_unlike`). Datasets are not read.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if X is not None and not is_dataset(X):
            net.intensity_range_ = intensity_range(X)
