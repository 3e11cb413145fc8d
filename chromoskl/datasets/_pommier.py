"""Reader of Pommier's HDF5 files of overlapping chromosome pairs (both layouts)."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
from sklearn.utils import Bunch, check_random_state

from ._checks import _check_int

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
#: The labellings of Pommier's regenerated file (``labels`` of ``load_overlapping_chromosomes``).
LABELLINGS = ("cleaned", "raw")
READ_BLOCK = 1024  # images per h5 read: bounds memory for the int64 original (2 GB in full)


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
        ``DESCR`` says which was used). ``"raw"`` always uses channel 1. In the regenerated
        file the two overlaps agree only to an IoU of 0.90 (they differ mostly in a
        one-pixel rim around the overlap), and the cleaning names A by size where the raw
        labels do not in 1.9 % of the images. The same U-Net recipe learns the raw overlap
        better (0.940 against 0.925 overlap IoU side by side after 8 minutes on a CPU;
        ``benchmarks/RESULTS.md``); the papers do not say which labelling they scored.
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
    check_labelling(labels, "labels")
    if max_samples is not None:
        max_samples = _check_int(max_samples, "max_samples", 1)
        if indices is not None:
            raise ValueError("Give max_samples or indices, not both.")
    if shuffle and indices is not None:
        raise ValueError("Give shuffle=True or indices, not both: indices already fix the order.")
    path = Path(path)
    with _open_h5(path) as file:
        try:
            rng = check_random_state(random_state) if shuffle else None
            return _load_open_file(file, path, labels, max_samples, indices, rng)
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
    file: h5py.File, path: Path, labels: str, max_samples, indices=None, shuffle_rng=None
) -> Bunch:
    """Body of :func:`load_overlapping_chromosomes` once the file is open.

    With ``shuffle_rng`` (a RandomState), the images read are the first ``max_samples`` of a
    random permutation of the whole file, in that order.
    """
    data = _check_layout(file, path)
    n_total = data.shape[0]
    if shuffle_rng is not None:
        indices, max_samples = shuffle_rng.permutation(n_total)[:max_samples], None
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


def check_labelling(value, name: str) -> None:
    """Refuse a labelling of Pommier's file other than those in :data:`LABELLINGS`."""
    if value not in LABELLINGS:
        raise ValueError(f"{name} must be 'cleaned' or 'raw', got {value!r}.")
