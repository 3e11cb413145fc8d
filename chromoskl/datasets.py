"""Pommier's overlapping-chromosome data: a loader, a procedural generator, a pair builder.

- :func:`load_overlapping_chromosomes` reads Pommier's HDF5 files (the original
  ``LowRes_13434_overlapping_pairs.h5`` layout and the regenerated file with cleaned labels and
  generation parameters).
- :func:`make_overlapping_chromosomes` draws synthetic overlapping pairs, like scikit-learn's
  ``make_*`` functions: the embedded default data of the command line and the tests.
- :func:`make_overlapping_pairs` applies Pommier's generation procedure to any segmented
  metaphase, so that a lab can build training data from its own images.

Every function returns a :class:`sklearn.utils.Bunch` with ``images`` float32 ``(n, H, W)``,
``labels`` uint8 ``(n, H, W)`` (0 background, 1 chromosome A = the smaller of the pair,
2 chromosome B, 3 overlap), ``groups`` (the pair each image came from, for ``GroupKFold``)
and ``DESCR``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from numbers import Integral
from pathlib import Path

import h5py
import numpy as np
from scipy import ndimage
from sklearn.utils import Bunch, check_random_state

from ._geometry import centre_offsets

__all__ = [
    "load_overlapping_chromosomes",
    "make_overlapping_chromosomes",
    "make_overlapping_pairs",
]

DATA_SOURCES = (
    'Kaggle dataset "jeanpat/overlapping-chromosomes" '
    "(https://www.kaggle.com/datasets/jeanpat/overlapping-chromosomes) or "
    "https://github.com/jeanpat/DeepFISH"
)
GENERATION_PARAMS = (
    "pair_index",
    "chrom_a",
    "chrom_b",
    "angle_a_deg",
    "angle_b_deg",
    "shift_u",
    "shift_v",
    "orig_index",
)
SPURIOUS_LABEL = 4
READ_BLOCK = 1024  # images per h5 read: bounds memory for the int64 original (2 GB in full)
MIN_SHAPE = 24
MIN_CLASS_PIXELS = 3  # each of classes 1, 2, 3 in a synthetic sample
ANGLE_STEP_DEG = 5  # synthetic rotations are multiples of this (rotations are cached)
MAX_TRIES = 200


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _check_int(value, name: str, minimum: int) -> int:
    """Return ``value`` as an int, or raise if it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def _check_shape(shape, minimum: int = 1) -> tuple[int, int]:
    """Return ``shape`` as a tuple of two ints, each ``>= minimum``."""
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) or len(shape) != 2:
        raise ValueError(f"shape must be a pair (height, width), got {shape!r}.")
    return (_check_int(shape[0], "shape[0]", minimum), _check_int(shape[1], "shape[1]", minimum))


def _check_angles(angles) -> np.ndarray:
    """Degrees to rotate by: an int gives that many angles evenly spaced in [0, 180)."""
    if isinstance(angles, Integral) and not isinstance(angles, bool):
        n = _check_int(angles, "angles", 1)
        return np.arange(n) * (180.0 / n)
    try:
        values = np.asarray(angles, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.ndim != 1 or values.size == 0 or not np.isfinite(values).all():
        raise ValueError(
            f"angles must be a positive int or a non-empty sequence of finite degrees, "
            f"got {angles!r}."
        )
    return values


# --------------------------------------------------------------------------------------------
# Loader
# --------------------------------------------------------------------------------------------


def _open_h5(path: Path) -> h5py.File:
    """Open ``path`` read-only, turning every way it can fail into a one-line error."""
    if not path.is_file():
        raise FileNotFoundError(
            f"No such file: '{path}'. Download LowRes_13434_overlapping_pairs.h5 from "
            f"{DATA_SOURCES}, and pass its path."
        )
    if not h5py.is_hdf5(path):
        raise ValueError(
            f"'{path}' is not an HDF5 file. Pass Pommier's .h5 file "
            f"(LowRes_13434_overlapping_pairs.h5 or its Cleaned_ variant)."
        )
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(
            f"'{path}' is a corrupt or truncated HDF5 file ({exc}); download it again."
        ) from None


def _check_layout(file: h5py.File, path: Path) -> h5py.Dataset:
    """Return ``dataset_1`` after checking that it is ``(n, H, W, 2)`` of an integer dtype."""
    if "dataset_1" not in file or not isinstance(file["dataset_1"], h5py.Dataset):
        raise ValueError(
            f"'{path}' has no dataset 'dataset_1' (found: {sorted(file.keys())}); expected "
            f"Pommier's layout: 'dataset_1' of shape (n, 94, 93, 2), integer, "
            f"channel 0 grey and channel 1 label."
        )
    data = file["dataset_1"]
    if data.ndim != 4 or data.shape[-1] != 2 or 0 in data.shape:
        raise ValueError(
            f"'dataset_1' in '{path}' has shape {data.shape}; expected (n, H, W, 2) with "
            f"n, H, W >= 1 (Pommier's files: (n, 94, 93, 2))."
        )
    if data.dtype.kind not in "iu":
        raise ValueError(
            f"'dataset_1' in '{path}' has dtype {data.dtype}; expected an integer dtype "
            f"(Pommier's original is int64, the regenerated file int16)."
        )
    return data


def _cleaned_dataset(file: h5py.File, data: h5py.Dataset, path: Path) -> h5py.Dataset:
    """Return ``labels_cleaned`` after checking it matches ``dataset_1``."""
    cleaned = file["labels_cleaned"]
    if cleaned.shape != data.shape[:3] or cleaned.dtype.kind not in "iu":
        raise ValueError(
            f"'labels_cleaned' in '{path}' has shape {cleaned.shape} and dtype {cleaned.dtype}; "
            f"expected {data.shape[:3]} of an integer dtype, to match 'dataset_1'. "
            f"Pass labels='raw' to ignore it."
        )
    return cleaned


def _check_label_values(block: np.ndarray, allowed_max: int, what: str, path: Path) -> None:
    """Raise if ``block`` holds a label outside ``0..allowed_max``."""
    low, high = int(block.min()), int(block.max())
    if low < 0 or high > allowed_max:
        raise ValueError(
            f"{what} in '{path}' holds values {low}..{high}; expected 0..{allowed_max}. "
            f"This is not Pommier's overlapping-chromosome layout."
        )


def _rows(dataset, positions: np.ndarray | None, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of ``dataset``, or of its rows at ``positions`` (increasing)."""
    if positions is None:
        return dataset[start:stop]
    return dataset[positions[start:stop]]


def _read_blocks(
    data, cleaned, n: int, path: Path, positions: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Read ``n`` images (the first ones, or those at ``positions``) block by block.

    Returns grey float32, labels uint8 with the spurious 4s set to 0, and how many there were.
    """
    height, width = data.shape[1:3]
    images = np.empty((n, height, width), dtype=np.float32)
    labels = np.empty((n, height, width), dtype=np.uint8)
    n_spurious = 0
    for start in range(0, n, READ_BLOCK):
        stop = min(start + READ_BLOCK, n)
        block = _rows(data, positions, start, stop)
        images[start:stop] = block[..., 0]
        if cleaned is None:
            raw = block[..., 1]
            _check_label_values(raw, SPURIOUS_LABEL, "channel 1 of 'dataset_1'", path)
            spurious = raw == SPURIOUS_LABEL
            n_spurious += int(spurious.sum())
            labels[start:stop] = np.where(spurious, 0, raw)
        else:
            clean = _rows(cleaned, positions, start, stop)
            _check_label_values(clean, 3, "'labels_cleaned'", path)
            labels[start:stop] = clean
    return images, labels, n_spurious


def _read_params(
    file: h5py.File, n_total: int, n: int, path: Path, positions: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The generation parameters present in ``file``: the first ``n``, or those at
    ``positions``."""
    params = {}
    for name in GENERATION_PARAMS:
        if name not in file:
            continue
        dataset = file[name]
        if dataset.shape != (n_total,):
            raise ValueError(
                f"'{name}' in '{path}' has shape {dataset.shape}; expected ({n_total},), "
                f"one value per image of 'dataset_1'."
            )
        params[name] = dataset[:n] if positions is None else dataset[positions]
    return params


def _describe_file(path, n, shape, has_cleaned, use_cleaned, n_spurious) -> str:
    """DESCR of a loaded file: which layout was read and which labels were used."""
    layout = (
        "regenerated layout (dataset_1 + labels_cleaned + generation parameters)"
        if has_cleaned
        else "Pommier's original layout (dataset_1 only)"
    )
    if use_cleaned:
        source = "labels_cleaned (the DeepFISH cleaning of spurious pixels)"
    else:
        source = f"raw labels of dataset_1 channel 1 ({n_spurious} spurious pixels of 4 set to 0)"
        if not has_cleaned:
            source += "; this file has no cleaned variant, so labels='cleaned' reads these"
    return (
        f"Overlapping chromosomes (J.-P. Pommier, GPL-3.0 data), {layout}, read from '{path}': "
        f"{n} images of {shape[0]}x{shape[1]}. Labels: {source}. "
        f"Classes: 0 background, 1 chromosome A (the smaller), 2 chromosome B, 3 overlap."
    )


def load_overlapping_chromosomes(
    path: str | os.PathLike,
    *,
    labels: str = "cleaned",
    max_samples: int | None = None,
    indices=None,
    shuffle: bool = False,
    random_state=None,
) -> Bunch:
    """Load Pommier's overlapping-chromosome images and labels from an HDF5 file.

    Reads both layouts: Pommier's original ``LowRes_13434_overlapping_pairs.h5`` (a single
    dataset ``dataset_1`` of shape ``(n, 94, 93, 2)``, int64; channel 0 grey, channel 1
    label) and the regenerated file, which adds ``labels_cleaned`` and the generation
    parameters of every image. Any integer dtype of ``dataset_1`` is accepted.

    The raw labels hold a few pixels of value 4 (166 pixels in the 13,434 images), an
    artefact of rotating the label channel with a cubic spline; they are set to 0
    (background). Pommier's ``Cleaned_LowRes_13434_overlapping_pairs.h5`` has the same
    layout, with the cleaned labels as channel 1 of ``dataset_1``: read it with the default.

    Parameters
    ----------
    path : str or path-like
        The ``.h5`` file.
    labels : {"cleaned", "raw"}, default="cleaned"
        ``"cleaned"`` uses ``labels_cleaned`` when the file has it (the labelling of the
        ``Cleaned_`` variant: DeepFISH's removal of spurious pixels), and channel 1 of
        ``dataset_1`` when it has not (the original file has no cleaned variant inside;
        ``DESCR`` says which was used). ``"raw"`` always uses channel 1.
    max_samples : int or None, default=None
        Read only ``max_samples`` images: the first ones (an HDF5 slice: the rest is not
        read), or, with ``shuffle=True``, a random draw spread over the whole file.
    indices : array-like of int or None, default=None
        Read only the images at these positions, in this order (e.g. a random subset spread
        over every chromosome pair: the regenerated file is ordered by pair). Only those
        images are read. Not together with ``max_samples`` or ``shuffle``.
    shuffle : bool, default=False
        Return the images in a random order (as scikit-learn's ``fetch_*`` functions do). With
        ``max_samples``, the subset is drawn at random over the whole file, so that it spans
        every chromosome pair, and only that subset is read.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle (see scikit-learn's glossary); unused when ``shuffle`` is False.

    Returns
    -------
    data : sklearn.utils.Bunch
        - ``images``: float32 ``(n, H, W)``, the grey channel (overlaps are the sum of both
          chromosomes, so values run from about -15 to 402).
        - ``labels``: uint8 ``(n, H, W)``, 0 background, 1 chromosome A (the smaller of the
          pair), 2 chromosome B, 3 overlap.
        - ``groups``: int64 ``(n,)``, the ``pair_index`` of each image when the file has it
          (for ``GroupKFold``), else None.
        - ``pair_index``, ``chrom_a``, ``chrom_b``, ``angle_a_deg``, ``angle_b_deg``,
          ``shift_u``, ``shift_v``, ``orig_index``: ``(n,)`` arrays, each when the file has it.
        - ``DESCR``: which layout was read and which labels were used.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file (the message says where to download the data).
    ValueError
        If the file is not HDF5, is corrupt or truncated, has no ``dataset_1``, or its shape,
        dtype or label values are not Pommier's layout; if ``labels`` is unknown.
    TypeError
        If ``max_samples`` is not an integer.

    References
    ----------
    J.-P. Pommier. Overlapping chromosomes. Kaggle dataset ``jeanpat/overlapping-chromosomes``
    and https://github.com/jeanpat/DeepFISH (GPL-3.0 data).

    Examples
    --------
    >>> data = load_overlapping_chromosomes("LowRes_13434_overlapping_pairs.h5")  # doctest: +SKIP
    >>> data.images.shape, data.labels.shape  # doctest: +SKIP
    ((13434, 94, 93), (13434, 94, 93))
    """
    if labels not in ("cleaned", "raw"):
        raise ValueError(f"labels must be 'cleaned' or 'raw', got {labels!r}.")
    if max_samples is not None:
        max_samples = _check_int(max_samples, "max_samples", 1)
        if indices is not None:
            raise ValueError("Give max_samples or indices, not both.")
    if shuffle and indices is not None:
        raise ValueError("Give shuffle=True or indices, not both: indices already fix the order.")
    path = Path(path)
    with _open_h5(path) as file:
        try:
            if shuffle:
                n_total = _check_layout(file, path).shape[0]
                order = check_random_state(random_state).permutation(n_total)
                indices, max_samples = order[:max_samples], None
            return _load_open_file(file, path, labels, max_samples, indices)
        except OSError as exc:  # h5py reports unreadable chunks of a truncated file this way
            raise ValueError(
                f"'{path}' is a corrupt or truncated HDF5 file ({exc}); download it again."
            ) from None


def _check_indices(indices, n_total: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique positions to read (HDF5 needs increasing ones) and the order to return."""
    wanted = np.asarray(indices)
    if wanted.ndim != 1 or wanted.size == 0 or not np.issubdtype(wanted.dtype, np.integer):
        raise ValueError(
            f"indices must be a non-empty 1-D sequence of integer positions, got {indices!r:.80}."
        )
    if wanted.min() < -n_total or wanted.max() >= n_total:
        raise ValueError(
            f"indices must lie in 0..{n_total - 1} (the file has {n_total} images), got "
            f"{int(wanted.min())}..{int(wanted.max())}."
        )
    wanted = np.where(wanted < 0, wanted + n_total, wanted)
    positions, order = np.unique(wanted, return_inverse=True)
    return positions, order


def _load_open_file(
    file: h5py.File, path: Path, labels: str, max_samples, indices=None
) -> Bunch:
    """Body of :func:`load_overlapping_chromosomes` once the file is open."""
    data = _check_layout(file, path)
    n_total = data.shape[0]
    positions = order = None
    if indices is not None:
        positions, order = _check_indices(indices, n_total)
        n = len(positions)
    else:
        n = n_total if max_samples is None else min(max_samples, n_total)
    has_cleaned = "labels_cleaned" in file
    use_cleaned = labels == "cleaned" and has_cleaned
    cleaned = _cleaned_dataset(file, data, path) if use_cleaned else None
    images, label_maps, n_spurious = _read_blocks(data, cleaned, n, path, positions)
    params = _read_params(file, n_total, n, path, positions)
    if order is not None:  # back to the order (and repetitions) the caller asked for
        images, label_maps = images[order], label_maps[order]
        params = {name: values[order] for name, values in params.items()}
        n = len(order)
    groups = params["pair_index"].astype(np.int64) if "pair_index" in params else None
    descr = _describe_file(path, n, data.shape[1:3], has_cleaned, use_cleaned, n_spurious)
    return Bunch(images=images, labels=label_maps, groups=groups, **params, DESCR=descr)


# --------------------------------------------------------------------------------------------
# Shared by both generators: rotate one chromosome, composite a pair
# --------------------------------------------------------------------------------------------


def _crop_to_mask(grey: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crop both to the bounding box of ``mask`` and zero ``grey`` outside it."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("A chromosome vanished when rotated: its mask is too thin or empty.")
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    mask = mask[box]
    return np.where(mask, grey[box], 0).astype(np.float32), mask


def _rotate_chromosome(
    grey: np.ndarray, mask: np.ndarray, angle: float
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate one chromosome patch counter-clockwise by ``angle`` degrees.

    Multiples of 90 degrees are exact (``np.rot90``). Other angles rotate the grey values
    with a cubic spline, as Pommier's ``scipy.ndimage.rotate`` did, and the mask linearly
    with a 0.5 threshold, so no spurious label values appear. The result is cropped to the
    rotated mask and the grey values are zero outside it.
    """
    angle = float(angle) % 360.0
    if angle % 90.0 == 0.0:
        k = int(angle // 90.0)
        return _crop_to_mask(np.rot90(grey, k), np.rot90(mask, k))
    grey_r = ndimage.rotate(grey.astype(np.float64), angle, order=3, mode="constant")
    mask_r = ndimage.rotate(mask.astype(np.float64), angle, order=1, mode="constant") >= 0.5
    return _crop_to_mask(grey_r, mask_r)


def _composite_pair(
    grey_a: np.ndarray,
    mask_a: np.ndarray,
    grey_b: np.ndarray,
    mask_b: np.ndarray,
    offset: tuple[int, int],
    shape: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Lay chromosome B over chromosome A; sum the grey values and label the overlap.

    ``offset`` is the (row, column) of B's top-left corner relative to A's. The union of both
    patches is centred on a ``shape`` canvas (the convention of :mod:`chromoskl._geometry`).
    A's pixels get label 1, B's 2, pixels of both 3; grey values add up, so the overlap is
    the sum of the two chromosomes.

    Returns
    -------
    (image, labels) : float32 and uint8 arrays of ``shape``, or None when the pair does not
        fit in ``shape``.
    """
    (ha, wa), (hb, wb), (dy, dx) = mask_a.shape, mask_b.shape, offset
    top, left = min(0, dy), min(0, dx)
    union = (max(ha, dy + hb) - top, max(wa, dx + wb) - left)
    if union[0] > shape[0] or union[1] > shape[1]:
        return None
    row, col = centre_offsets(union, shape)
    ra, ca = row - top, col - left
    rb, cb = ra + dy, ca + dx
    image = np.zeros(shape, dtype=np.float32)
    labels = np.zeros(shape, dtype=np.uint8)
    image[ra : ra + ha, ca : ca + wa] += grey_a
    image[rb : rb + hb, cb : cb + wb] += grey_b
    labels[ra : ra + ha, ca : ca + wa] |= mask_a.astype(np.uint8)
    labels[rb : rb + hb, cb : cb + wb] |= mask_b.astype(np.uint8) * 2
    return image, labels


def _as_dataset(images: list, labels: list, groups: list, shape, **extra) -> Bunch:
    """Stack per-sample lists into the arrays of a dataset Bunch."""
    return Bunch(
        images=np.stack(images) if images else np.zeros((0, *shape), np.float32),
        labels=np.stack(labels) if labels else np.zeros((0, *shape), np.uint8),
        groups=np.asarray(groups, dtype=np.int64),
        **extra,
    )


# --------------------------------------------------------------------------------------------
# Procedural generator
# --------------------------------------------------------------------------------------------


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
    counts = np.bincount(result[1].ravel(), minlength=4)
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
        If ``n_samples < 1``, ``n_chromosomes < 2`` or a side of ``shape`` is below 24.

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


# --------------------------------------------------------------------------------------------
# Pommier's procedure on a segmented metaphase
# --------------------------------------------------------------------------------------------


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


def _shifted_pair(first, second, u: float, v: float, shape: tuple[int, int]):
    """Slide ``first`` across ``second`` to the fractions ``(u, v)``; label the smaller 1.

    Returns
    -------
    (image, labels, first_is_a) or None
        None when the composite does not fit in ``shape``; ``first_is_a`` says whether
        ``first`` got label 1.
    """
    (grey_f, mask_f), (grey_s, mask_s) = first, second
    dy = int(u * (mask_f.shape[0] + mask_s.shape[0])) - mask_f.shape[0]
    dx = int(v * (mask_f.shape[1] + mask_s.shape[1])) - mask_f.shape[1]
    first_is_a = bool(mask_f.sum() <= mask_s.sum())
    if first_is_a:
        composite = _composite_pair(grey_f, mask_f, grey_s, mask_s, (-dy, -dx), shape)
    else:
        composite = _composite_pair(grey_s, mask_s, grey_f, mask_f, (dy, dx), shape)
    return None if composite is None else (*composite, first_is_a)
