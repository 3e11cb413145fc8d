"""Generated single chromosomes of the 24 human classes, for the recognition classifier.

The classes differ as real ones do in a karyotype: by relative length, by centromere position
and by banding. The lengths and centromere indices are published cytogenetic facts (below);
the banding patterns are not real G-bands (see :func:`make_karyotype_chromosomes`).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.spatial import cKDTree
from sklearn.utils import Bunch, check_random_state

__all__ = ["CLASS_NAMES", "RELATIVE_LENGTH", "CENTROMERE_INDEX", "make_karyotype_chromosomes"]

#: the 24 classes in karyogram order; class index k of ``target`` is ``CLASS_NAMES[k]``
CLASS_NAMES = tuple(str(i) for i in range(1, 23)) + ("X", "Y")

# Mean relative length (% of the haploid autosome set plus X) and centromere index (100 * p-arm
# length / chromosome length) of each class, in CLASS_NAMES order. Source: the ISCN table of
# relative lengths and centromere indices from the Paris Conference (1971) measurements, as
# reproduced in ISCN (1978) and in cytogenetics textbooks; transcribed here rounded to 0.1 %
# and 1 point of index. Cross-check: Oxford Reference, "centromeric index" (chromosome 1: 48,
# chromosome 13: 17). 21 is measured shorter than 22, as in the table.
RELATIVE_LENGTH = (
    8.4, 8.0, 6.8, 6.3, 6.1, 5.9, 5.4, 4.9, 4.8, 4.6, 4.6, 4.7,
    3.7, 3.6, 3.5, 3.4, 3.3, 2.9, 2.7, 2.6, 1.9, 2.0, 5.1, 2.2,
)  # fmt: skip
CENTROMERE_INDEX = (
    48, 39, 47, 29, 29, 39, 39, 34, 35, 34, 40, 30,
    17, 19, 20, 41, 34, 31, 47, 45, 31, 31, 40, 28,
)  # fmt: skip

#: seed of the fixed banding pattern of each class (the same for every call)
_BANDING_SEED = 20240528


def _banding_patterns() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One fixed pattern of dark bands per class: centres and half-widths (fractions of the
    length) and depths. Longer chromosomes get more bands, as at a fixed band resolution."""
    rng = np.random.default_rng(_BANDING_SEED)
    patterns = []
    for length in RELATIVE_LENGTH:
        n_bands = int(round(1.6 * length)) + 2
        centres = np.sort(rng.uniform(0.06, 0.94, n_bands))
        half_widths = rng.uniform(0.015, 0.045, n_bands)
        depths = rng.uniform(0.35, 0.75, n_bands)
        patterns.append((centres, half_widths, depths))
    return patterns


def _centre_line(length: float, bend: float, n_points: int) -> np.ndarray:
    """Points (row, col) of a circular arc of ``length`` pixels and total turn ``bend`` radians,
    centred on the origin, running top to bottom."""
    s = np.linspace(0.0, length, n_points)
    heading = bend * (s / length - 0.5)  # angle of the tangent from the downward direction
    step = length / (n_points - 1)
    rows = np.cumsum(np.cos(heading)) * step
    cols = np.cumsum(np.sin(heading)) * step
    points = np.stack([rows, cols], axis=1)
    return points - points.mean(axis=0)


def _render(cls: int, size: int, rng: np.random.Generator, patterns, noise: float):
    """One chromosome of class ``cls``: image (size, size) float32 in [0, 1] and its mask."""
    longest = max(RELATIVE_LENGTH)
    length = 0.8 * size * RELATIVE_LENGTH[cls] / longest * rng.uniform(0.9, 1.1)
    half_width = size * rng.uniform(0.04, 0.05)
    centromere = CENTROMERE_INDEX[cls] / 100.0
    n_points = max(int(length * 2), 8)
    line = _centre_line(length, rng.uniform(-1.2, 1.2), n_points)
    angle = rng.uniform(-np.pi, np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    line = line @ rotation.T + (size - 1) / 2 + rng.uniform(-0.05, 0.05, 2) * size

    grid = np.stack(np.mgrid[0:size, 0:size], axis=-1).reshape(-1, 2).astype(float)
    distance, nearest = cKDTree(line).query(grid)
    t = nearest / (n_points - 1)  # position along the chromosome, 0 at the p-arm tip
    # the primary constriction narrows the chromatids at the centromere
    width = half_width * (1.0 - 0.35 * np.exp(-(((t - centromere) / 0.03) ** 2)))
    # beyond either end the nearest point is the end itself, so the tips come out round
    inside = np.clip(width - distance + 0.5, 0.0, 1.0)  # one pixel of anti-aliased edge

    centres, half_widths, depths = patterns[cls]
    bands = np.exp(-(((t[:, None] - centres) / half_widths) ** 2)) @ depths
    brightness = rng.uniform(0.6, 1.0)
    value = brightness * inside * np.clip(1.0 - bands, 0.15, 1.0)
    image = value.reshape(size, size) + rng.normal(0.0, noise, (size, size))
    return np.clip(image, 0.0, 1.0).astype(np.float32), (inside.reshape(size, size) >= 0.5)


def make_karyotype_chromosomes(n_per_class=20, *, image_size=64, noise=0.03, random_state=None):
    """Generate single chromosomes of the 24 human classes (1-22, X, Y) on black backgrounds.

    Each image holds one bent, rotated chromosome: a band of constant width along a circular
    arc, narrowed at the centromere, with dark bands along it, bright on black as in the
    recognition slides' data set (224 x 224 TIFFs with black backgrounds), plus Gaussian noise.

    What comes from published facts:

    - the length of each class is proportional to its mean relative length (``RELATIVE_LENGTH``,
      the longest, chromosome 1, spans 0.8 of the frame), with +-10 % variation;
    - the centromere (the primary constriction) sits at the class's mean centromere index
      (``CENTROMERE_INDEX``): metacentric 1, 3, 19, 20; acrocentric 13-15, 21, 22, Y.

    Source of both: the ISCN table of relative lengths and centromere indices from the Paris
    Conference (1971) measurements, reproduced in ISCN (1978) and cytogenetics textbooks;
    transcribed rounded (0.1 % of length, 1 point of index).

    Parameters
    ----------
    n_per_class : int, default=20
        Chromosomes of each class; the result holds ``24 * n_per_class``.
    image_size : int, default=64
        Side of the square images in pixels (the slides' data is 224).
    noise : float, default=0.03
        Standard deviation of the additive Gaussian noise (images are in [0, 1]).
    random_state : int, RandomState instance or None, default=None
        Seeds the lengths, bends, rotations, positions, intensities and noise.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images`` float32 (n, image_size, image_size) in [0, 1]; ``masks`` bool, the same
        shape (the chromosome's pixels, for :func:`chromoskl.recognition.straighten`);
        ``target`` int64 (n,), class indices 0..23; ``target_names`` the 24 class names
        (index k is ``target_names[k]``); ``DESCR``.

    Raises
    ------
    ValueError
        If ``n_per_class`` or ``image_size`` is not a positive int (image_size >= 32), or
        ``noise`` is negative.

    Notes
    -----
    Departures from real karyotypes: the banding pattern of each class is a fixed random
    pattern (the same in every call), NOT the ISCN ideogram's G-bands; there are no
    satellites, sister chromatids, or overlaps. The classes are therefore separable by length,
    centromere position and banding, as real ones are, but the numbers a classifier reaches on
    them show that the machinery works, not how it does on a lab's images.

    Examples
    --------
    >>> data = make_karyotype_chromosomes(2, image_size=48, random_state=0)
    >>> data.images.shape, data.target[:3], data.target_names[22]
    ((48, 48, 48), array([0, 0, 1]), 'X')
    """
    if not (isinstance(n_per_class, numbers.Integral) and n_per_class >= 1):
        raise ValueError(f"n_per_class must be a positive int, got {n_per_class!r}.")
    if not (isinstance(image_size, numbers.Integral) and image_size >= 32):
        raise ValueError(f"image_size must be an int >= 32, got {image_size!r}.")
    if not (isinstance(noise, numbers.Real) and noise >= 0):
        raise ValueError(f"noise must be a number >= 0, got {noise!r}.")
    rng = np.random.default_rng(check_random_state(random_state).randint(0, 2**31 - 1))
    patterns = _banding_patterns()
    target = np.repeat(np.arange(len(CLASS_NAMES)), n_per_class)
    images = np.empty((len(target), image_size, image_size), np.float32)
    masks = np.empty(images.shape, bool)
    for i, cls in enumerate(target):
        images[i], masks[i] = _render(int(cls), int(image_size), rng, patterns, float(noise))
    return Bunch(
        images=images,
        masks=masks,
        target=target.astype(np.int64),
        target_names=list(CLASS_NAMES),
        DESCR=(
            f"{len(target)} generated chromosomes, {n_per_class} per class (1-22, X, Y), "
            f"{image_size}x{image_size}: ISCN relative lengths and centromere indices, "
            "fixed random banding per class (not real G-bands)."
        ),
    )
