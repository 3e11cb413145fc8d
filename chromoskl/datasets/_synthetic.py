"""A procedural generator of overlapping chromosome pairs, like scikit-learn's ``make_*``."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage
from sklearn.utils import Bunch, check_random_state

from .._limits import check_memory
from ..classes import N_CLASSES
from ._checks import _check_int, _check_shape
from ._compose import _as_dataset, _crop_to_mask, _rotate_chromosome, _shifted_pair

MIN_SHAPE = 24
MIN_CLASS_PIXELS = 3  # each of classes 1, 2, 3 in a synthetic sample
ANGLE_STEP_DEG = 5  # synthetic rotations are multiples of this (rotations are cached)
MAX_TRIES = 200


def _centreline(rng: np.random.RandomState, length: float) -> np.ndarray:
    """Points every half pixel along a smoothly bent rod of ``length`` pixels, shape (K, 2)."""
    n_points = max(int(np.ceil(2 * length)), 2)
    s = np.linspace(0.0, 1.0, n_points)
    bend = rng.uniform(-1.3, 1.3)  # total change of heading, radians
    wiggle = rng.uniform(-0.3, 0.3)
    heading = bend * (s - 0.5) + wiggle * np.sin(2 * np.pi * s)
    step = length / (n_points - 1)
    points = np.cumsum(np.stack([np.sin(heading), np.cos(heading)], axis=1) * step, axis=0)
    return points - points.mean(axis=0)


def _band_pattern(rng: np.random.RandomState, n_points: int) -> np.ndarray:
    """Relative brightness along the rod: smooth random bands in [0.6, 1.4]."""
    noise = ndimage.gaussian_filter1d(rng.standard_normal(n_points), sigma=5.0, mode="nearest")
    noise /= noise.std() + 1e-12
    return np.clip(1.0 + 0.25 * noise, 0.6, 1.4)


def _draw_chromosome(
    rng: np.random.RandomState, length: float, width: float, brightness: float
) -> tuple[np.ndarray, np.ndarray]:
    """Render one synthetic chromosome as a (grey, mask) patch.

    A bent rod of ``length`` x ``width`` pixels with round ends, a centromere constriction,
    bands along its length, a rounded profile across it (brightest on the axis) and a small
    bright telomere spot at each end.
    """
    points = _centreline(rng, length)
    n_points = len(points)
    radius = np.full(n_points, width / 2.0)
    centromere = rng.uniform(0.25, 0.5) * n_points
    radius *= 1.0 - 0.25 * np.exp(-0.5 * ((np.arange(n_points) - centromere) / 2.5) ** 2)
    size = int(np.ceil(np.abs(points).max() + width / 2.0 + 2)) * 2 + 1
    centre = size // 2
    yy, xx = np.mgrid[:size, :size].astype(np.float64) - centre
    dist2 = (yy[..., None] - points[:, 0]) ** 2 + (xx[..., None] - points[:, 1]) ** 2
    nearest = dist2.argmin(axis=-1)
    dist = np.sqrt(np.take_along_axis(dist2, nearest[..., None], axis=-1)[..., 0])
    rel = dist / radius[nearest]
    mask = rel <= 1.0
    profile = 0.35 + 0.65 * np.sqrt(np.clip(1.0 - rel**2, 0.0, None))
    grey = brightness * _band_pattern(rng, n_points)[nearest] * profile
    for end in (points[0], points[-1]):
        spot = np.exp(-0.5 * ((yy - end[0]) ** 2 + (xx - end[1]) ** 2) / 1.2**2)
        grey += rng.uniform(0.3, 0.7) * brightness * spot
    return _crop_to_mask(grey, mask)


def _chromosome_pool(
    rng: np.random.RandomState, n_chromosomes: int, shape: tuple[int, int]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Draw ``n_chromosomes`` chromosomes of distinct sizes, scaled to fit ``shape``."""
    scale = min(1.0, min(shape) / 94.0)
    lengths = np.linspace(22.0, 62.0, n_chromosomes) + rng.uniform(-1.0, 1.0, n_chromosomes)
    # width grows with length, so that the larger of a pair is larger in both ways
    widths = 6.0 + 3.5 * (lengths - 22.0) / 40.0 + rng.uniform(-0.4, 0.4, n_chromosomes)
    brightness = rng.uniform(75.0, 130.0, n_chromosomes)
    order = rng.permutation(n_chromosomes)
    return [
        _draw_chromosome(rng, lengths[i] * scale, max(widths[i] * scale, 2.5), brightness[i])
        for i in order
    ]


def _random_overlap(rng, rotated, first, second, shape):
    """One overlapping composite of two chromosomes, or None when a draw fails.

    Both are rotated by random multiples of ``ANGLE_STEP_DEG`` and one slides across the
    other to random fractions in [0.25, 0.75] (Pommier's shifts, drawn instead of on a grid).
    The smaller (by area) gets label 1.
    """
    n_angles = 360 // ANGLE_STEP_DEG
    patches = [rotated(k, int(rng.randint(n_angles)) * ANGLE_STEP_DEG) for k in (first, second)]
    u, v = rng.uniform(0.25, 0.75, size=2)
    result = _shifted_pair(*patches, u, v, shape)
    if result is None:
        return None
    counts = np.bincount(result[1].ravel(), minlength=N_CLASSES)
    return result[:2] if counts[1:].min() >= MIN_CLASS_PIXELS else None


def make_overlapping_chromosomes(
    n_samples: int = 200,
    *,
    shape: tuple[int, int] = (94, 93),
    n_chromosomes: int = 12,
    random_state=None,
) -> Bunch:
    """Generate images of two overlapping synthetic chromosomes with their labels.

    A procedural stand-in for Pommier's data, in the manner of scikit-learn's ``make_*``
    functions; it needs no download. As in Pommier's generation, a pool of
    ``n_chromosomes`` single chromosomes is drawn once, every pair of them is formed, and
    each sample rotates both members of one pair and lays one over the other, summing the
    intensities where they overlap (so the overlap is brighter: the sum of both).

    The synthetic chromosomes are bent, banded rods, 22-62 px long and 6-9.5 px wide (at the
    default shape; smaller canvases scale them down), with a centromere constriction, a
    rounded profile across the width, and a bright telomere spot at each end. Their
    brightness is 75-130, so a single chromosome runs from about 20 to 220 (mean about 85)
    and an overlap up to about 400 (mean about 165); the background is 0 plus Gaussian noise
    of standard deviation 1, so it can go slightly negative, and covers about 92 % of the
    pixels (90.7 % in Pommier's set). Longer chromosomes are also wider, so the two of a pair differ
    in size, as label 1 (the smaller) and label 2 (the larger) require.

    Departures from Pommier: the chromosomes are drawn, not segmented from a metaphase; each
    sample draws its two rotations (multiples of 5 degrees in [0, 360)) and its shift (one
    chromosome slides across the other to fractions in [0.25, 0.75] of the way, as in
    :func:`make_overlapping_pairs`) at random, instead of a grid of 5 x 5 angles and 3 x 3
    shifts; every
    sample has at least 3 pixels of each of the classes 1, 2 and 3; the pair is centred on
    the canvas, as Pommier's ``ResizeImages`` did.

    Parameters
    ----------
    n_samples : int, default=200
        Number of images.
    shape : tuple of int, default=(94, 93)
        Height and width of each image; each at least 24.
    n_chromosomes : int, default=12
        Size of the pool of chromosomes; they form ``n_chromosomes * (n_chromosomes - 1) / 2``
        pairs, used in turn (each pair appears ``n_samples / n_pairs`` times, rounded).
    random_state : int, RandomState instance or None, default=None
        Seed of the draw; the same seed gives identical arrays.

    Returns
    -------
    data : sklearn.utils.Bunch
        - ``images``: float32 ``(n_samples, H, W)``.
        - ``labels``: uint8 ``(n_samples, H, W)``; 0 background, 1 the smaller chromosome,
          2 the larger, 3 their overlap.
        - ``groups``: int64 ``(n_samples,)``, the index of the pair: ``GroupKFold`` on it
          keeps a pair out of training when it is tested, as on the real data.
        - ``DESCR``: how the data were made.

    Raises
    ------
    TypeError
        If ``n_samples``, ``n_chromosomes`` or a side of ``shape`` is not an integer.
    ValueError
        If ``n_samples < 1``, ``n_chromosomes < 2`` or a side of ``shape`` is below 24;
        ``chromoskl.ResourceLimitError`` (a ValueError) if the images would not fit in memory.

    References
    ----------
    J.-P. Pommier. DeepFISH: overlapping chromosomes generator (notebooks and Kaggle kernel),
    https://github.com/jeanpat/DeepFISH.

    Examples
    --------
    >>> from chromoskl.datasets import make_overlapping_chromosomes
    >>> data = make_overlapping_chromosomes(10, random_state=0)
    >>> data.images.shape, data.labels.dtype
    ((10, 94, 93), dtype('uint8'))
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    n_chromosomes = _check_int(n_chromosomes, "n_chromosomes", 2)
    shape = _check_shape(shape, MIN_SHAPE)
    # float32 images, uint8 labels, the lists they are stacked from and the float64 noise
    check_memory(
        n_samples * shape[0] * shape[1] * 22,
        f"make_overlapping_chromosomes({n_samples:,}) of {shape[0]}x{shape[1]}",
        "Ask for fewer images (n_samples).",
    )
    rng = check_random_state(random_state)
    pool = _chromosome_pool(rng, n_chromosomes, shape)
    cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def rotated(k: int, angle: int) -> tuple[np.ndarray, np.ndarray]:
        """Chromosome ``k`` of the pool rotated by ``angle`` degrees, computed once."""
        if (k, angle) not in cache:
            cache[k, angle] = _rotate_chromosome(*pool[k], angle)
        return cache[k, angle]

    pairs = list(itertools.combinations(range(n_chromosomes), 2))
    groups = rng.permutation(np.arange(n_samples) % len(pairs))
    images, labels = [], []
    for group in groups:
        for _ in range(MAX_TRIES):
            result = _random_overlap(rng, rotated, *pairs[group], shape)
            if result is not None:
                break
        else:  # pragma: no cover - not reached for shapes >= MIN_SHAPE
            raise RuntimeError(f"Could not place an overlapping pair in a {shape} canvas.")
        images.append(result[0])
        labels.append(result[1])
    data = _as_dataset(images, labels, groups, shape)
    data.images += rng.normal(0.0, 1.0, data.images.shape).astype(np.float32)
    data.DESCR = (
        f"Synthetic overlapping chromosomes (chromoskl.datasets.make_overlapping_chromosomes): "
        f"{n_samples} images of {shape[0]}x{shape[1]} from {len(pairs)} pairs of "
        f"{n_chromosomes} drawn chromosomes. Classes: 0 background, 1 chromosome A (the "
        f"smaller), 2 chromosome B, 3 overlap (grey value = sum of both)."
    )
    return data
