"""Pommier's generation procedure applied to any segmented metaphase."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage
from sklearn.utils import Bunch, check_random_state

from ._checks import _check_angles, _check_int, _check_shape
from ._compose import _as_dataset, _crop_to_mask, _rotate_chromosome, _shifted_pair


def _check_metaphase(image, mask) -> tuple[np.ndarray, np.ndarray]:
    """Return ``image`` as float64 and ``mask`` as int64 after checking them."""
    image, mask = np.asarray(image), np.asarray(mask)
    if image.ndim != 2 or image.dtype.kind not in "biuf" or image.size == 0:
        raise ValueError(
            f"image must be a non-empty 2-D array of real numbers, got shape {image.shape} "
            f"and dtype {image.dtype}; pass one grey channel."
        )
    if mask.shape != image.shape:
        raise ValueError(f"mask has shape {mask.shape} but image {image.shape}; they must match.")
    if mask.dtype.kind not in "biu":
        raise TypeError(
            f"mask must be an integer label image (0 background, k chromosome k), got dtype "
            f"{mask.dtype}; label a binary mask with skimage.measure.label."
        )
    if not np.isfinite(image).all():
        raise ValueError("image holds NaN or infinite values; replace them first.")
    mask = mask.astype(np.int64)
    if mask.min() < 0:
        raise ValueError("mask holds negative labels; use 0 for background, k > 0 otherwise.")
    return image.astype(np.float64), mask


def _extract_chromosomes(image: np.ndarray, mask: np.ndarray) -> dict[int, tuple]:
    """Each chromosome of ``mask`` as a (grey, mask) patch on a black background."""
    ids = np.unique(mask[mask > 0])
    if ids.size < 2:
        raise ValueError(
            f"mask labels {ids.size} chromosome(s); at least 2 are needed to form a pair."
        )
    boxes = ndimage.find_objects(mask)
    return {int(k): _crop_to_mask(image[boxes[k - 1]], mask[boxes[k - 1]] == k) for k in ids}


def make_overlapping_pairs(
    image,
    mask,
    *,
    shape: tuple[int, int] = (94, 93),
    angles=5,
    shifts: int = 3,
    max_pairs: int | None = None,
    random_state=None,
) -> Bunch:
    """Build overlapping-chromosome training data from a segmented metaphase.

    Pommier's generation procedure, applied to any image: every chromosome of ``mask`` is
    cut out on a black background; for every pair of chromosomes, each one is rotated by each
    of ``angles``, one is shifted over the other by ``shifts x shifts`` offsets, the grey
    values are summed, and the overlap is labelled. Only results in which they overlap are
    kept, as in Pommier's generator.

    What is followed (DeepFISH ``generator_tools.overlapping_generator``, which made
    ``LowRes_13434_overlapping_pairs.h5``): pairs are ``itertools.combinations`` of the
    chromosomes; all ``angles x angles`` rotations of the two (``scipy.ndimage.rotate``,
    cubic spline for the grey values), each cropped to its bounding box; the shifts are the
    interior points of ``linspace(0, 1, shifts + 2)`` in both directions, as fractions of the
    sum of the two heights (widths) along which one chromosome slides across the other,
    truncated to whole pixels as Pommier's ``int()`` did (0.5 lays their centres near each
    other); a pair is kept only when it has overlap pixels; the result is centred on the
    canvas.

    The output grows as ``n_pairs * len(angles)**2 * shifts**2`` images (46 chromosomes
    make 1035 pairs: 233k images with the defaults); ``max_pairs`` bounds it.

    Where it departs: the mask is rotated linearly with a 0.5 threshold instead of by the
    cubic spline, so there are no spurious label values (Pommier's 4s) or outlines, and grey
    values outside the rotated mask are set to 0; label 1 goes to the smaller chromosome of
    each image (by its rotated area; on a tie, the lower mask label) rather than the first
    of the pair; the canvas has a fixed ``shape`` and combinations that do not fit in it are
    dropped (``DESCR`` counts them); Pommier's 12-to-8-bit conversion, top-hat background
    removal, factor-2 down-sampling (``[::2, ::2]`` for the LowRes set) and final shuffle are
    left to the caller; an ``int`` for ``angles`` means evenly spaced angles in [0, 180)
    (Pommier's LowRes set used ``angles=range(0, 180, 40)``).

    Parameters
    ----------
    image : array-like of shape (H_img, W_img)
        The grey metaphase (real numbers; background near 0 is best).
    mask : array-like of int, shape (H_img, W_img)
        Label image: 0 background, ``k > 0`` the pixels of chromosome ``k``.
    shape : tuple of int, default=(94, 93)
        Height and width of each output image.
    angles : int or sequence of float, default=5
        Rotations of each chromosome, in degrees counter-clockwise: an int ``n`` gives
        ``n`` angles evenly spaced in [0, 180).
    shifts : int, default=3
        Offsets per direction; ``shifts * shifts`` relative positions per pair of rotations.
    max_pairs : int or None, default=None
        Use at most this many pairs of chromosomes, drawn at random (``random_state``).
    random_state : int, RandomState instance or None, default=None
        Seed of the draw of pairs when ``max_pairs`` is below the number of pairs; otherwise
        the result is deterministic.

    Returns
    -------
    data : sklearn.utils.Bunch
        - ``images``: float32 ``(n, H, W)``; overlap pixels are the sum of both chromosomes.
        - ``labels``: uint8 ``(n, H, W)``; 0 background, 1 the smaller chromosome, 2 the
          larger, 3 overlap.
        - ``groups``: int64 ``(n,)``, the index of the pair of chromosomes.
        - ``pair``: int64 ``(n, 2)``, the mask labels of the chromosomes labelled 1 and 2.
        - ``DESCR``: how the data were made.
        Images are in generation order: pair, angle of the first, angle of the second,
        shift along rows, shift along columns.

    Raises
    ------
    ValueError
        If ``image`` is not a 2-D real array, ``mask`` does not match it or has fewer than 2
        chromosomes, an argument is out of range, or no pair fits in ``shape``.
    TypeError
        If ``mask`` is not an integer array, or ``shifts``/``max_pairs`` not an integer.

    References
    ----------
    J.-P. Pommier. DeepFISH, ``LowResolution_Overlapping_chromosomes_generator.ipynb`` and
    ``generator_tools.py``, https://github.com/jeanpat/DeepFISH.
    R. L. Hu, J. Karnowski, R. Fadely, J.-P. Pommier. Image Segmentation to Distinguish
    Between Overlapping Human Chromosomes. NIPS 2017 Workshop on Machine Learning for Health.
    """
    image, mask = _check_metaphase(image, mask)
    shape = _check_shape(shape)
    angle_list = _check_angles(angles)
    shifts = _check_int(shifts, "shifts", 1)
    chromosomes = _extract_chromosomes(image, mask)
    pairs = list(itertools.combinations(sorted(chromosomes), 2))
    if max_pairs is not None and _check_int(max_pairs, "max_pairs", 1) < len(pairs):
        chosen = check_random_state(random_state).choice(len(pairs), max_pairs, replace=False)
        pairs = [pairs[i] for i in np.sort(chosen)]
    rotated = {
        (k, i): _rotate_chromosome(*chromosomes[k], angle)
        for k in chromosomes
        for i, angle in enumerate(angle_list)
    }
    fractions = np.linspace(0.0, 1.0, shifts + 2)[1:-1]
    images, labels, groups, ids = [], [], [], []
    n_dropped = 0
    for group, (first, second) in enumerate(pairs):
        for i, j in itertools.product(range(len(angle_list)), repeat=2):
            for u, v in itertools.product(fractions, repeat=2):
                result = _shifted_pair(rotated[first, i], rotated[second, j], u, v, shape)
                if result is None:
                    n_dropped += 1
                elif (result[1] == 3).any():  # Pommier kept only overlapping pairs
                    images.append(result[0])
                    labels.append(result[1])
                    groups.append(group)
                    ids.append((first, second) if result[2] else (second, first))
    if not images:
        raise ValueError(
            f"No overlapping pair fits in a {shape[0]}x{shape[1]} canvas; pass a larger "
            f"shape, or down-sample the metaphase (Pommier used image[::2, ::2])."
        )
    descr = (
        f"Overlapping pairs made by chromoskl.datasets.make_overlapping_pairs (Pommier's "
        f"procedure) from {len(chromosomes)} chromosomes: {len(images)} images of "
        f"{shape[0]}x{shape[1]} from {len(pairs)} pairs, {len(angle_list)} angles "
        f"{np.round(angle_list, 2).tolist()} per chromosome, {shifts}x{shifts} shifts; "
        f"{n_dropped} combinations did not fit in the canvas and were dropped."
    )
    return _as_dataset(
        images, labels, groups, shape, pair=np.asarray(ids, dtype=np.int64), DESCR=descr
    )
