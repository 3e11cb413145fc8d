"""Readers of a lab's own labelled images: an HDF5 file of named datasets, or a folder of
image/mask pairs (PNG or TIFF).

Both return the Bunch of the other loaders (``images`` float32 (n, H, W), ``labels`` uint8
(n, H, W), ``groups``, ``DESCR``), so that ``chromoskl evaluate --data`` and
``chromoskl train --data`` take them as they take Pommier's file. Reading pictures is left to
scikit-image (``skimage.io.imread``) and HDF5 to h5py; what is written here is the layout
checks and their messages.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
from sklearn.utils import Bunch

from ..classes import N_CLASSES
from ._checks import _check_int
from ._pommier import check_labelling, load_overlapping_chromosomes

__all__ = ["read_grey_image", "load_labelled_h5", "load_image_folder", "load_labelled_data"]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")
MASK_MARKERS = ("_mask", "_labels", "_label")


def read_grey_image(path) -> np.ndarray:
    """One picture as a float32 (H, W) array of grey values, on the file's own scale.

    A colour picture becomes its luminance (``skimage.color.rgb2gray``) on the same scale as
    a grey picture of it (0..255 for 8-bit), not rescaled to [0, 1].

    Raises
    ------
    ValueError
        If the file cannot be read as a picture, or holds a stack rather than one image.
    """
    from skimage import io
    from skimage.color import rgb2gray

    path = Path(path)
    try:
        image = io.imread(path)
    except Exception as error:  # imageio/tifffile raise many kinds for a bad file
        # their messages suggest plugins (imageio[pyav]) that would not help a damaged file
        raise ValueError(
            f"cannot read image {path}: the file is damaged or not a {path.suffix or 'picture'}"
            f" image ({type(error).__name__})"
        ) from None
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        # float input keeps the grey scale: rgb2gray of uint8 would rescale it to [0, 1]
        image = rgb2gray(image[..., :3].astype(np.float32))
    if image.ndim != 2:
        raise ValueError(f"{path}: expected a grey image, got an array of shape {image.shape}")
    return image.astype(np.float32)


def _read_mask(path: Path) -> np.ndarray:
    """A label picture: one channel of whole numbers 0..3."""
    from skimage import io

    try:
        mask = io.imread(path)
    except Exception as error:
        raise ValueError(
            f"cannot read mask {path}: the file is damaged or not an image "
            f"({type(error).__name__})"
        ) from None
    if mask.ndim != 2 or mask.dtype.kind not in "iub":
        raise ValueError(
            f"mask {path} must be one channel of integer labels 0..3 (0 background, 1 "
            f"chromosome A, 2 B, 3 overlap), got shape {mask.shape} and dtype {mask.dtype}; "
            "save label maps as 8-bit grey PNG or TIFF, not as colour pictures."
        )
    if mask.max() >= N_CLASSES:
        raise ValueError(
            f"mask {path} holds label {int(mask.max())}; labels must be 0..3 (a mask saved "
            "as 0/255 must be divided: 255 is not a class)."
        )
    return mask.astype(np.uint8)


def _stack(arrays: list, names: list, what: str, where) -> np.ndarray:
    shapes = {array.shape for array in arrays}
    if len(shapes) > 1:
        first = arrays[0].shape
        odd = next(n for a, n in zip(arrays, names) if a.shape != first)
        raise ValueError(
            f"The {what} in {where} have different sizes ({first} in {names[0]}, "
            f"{arrays[names.index(odd)].shape} in {odd}); crop or pad them to one size first."
        )
    return np.stack(arrays)


def _mask_of(image: Path, folder: Path) -> Path | None:
    """The mask of ``image``: masks/<name> beside images/<name>, or <stem><marker><suffix>."""
    if folder.name == "images":
        for suffix in IMAGE_SUFFIXES:
            candidate = folder.parent / "masks" / (image.stem + suffix)
            if candidate.is_file():
                return candidate
    for marker in MASK_MARKERS:
        for suffix in IMAGE_SUFFIXES:
            candidate = image.with_name(image.stem + marker + suffix)
            if candidate.is_file():
                return candidate
    return None


def load_image_folder(path, *, max_samples: int | None = None) -> Bunch:
    """Read a folder of image/mask pairs (PNG or TIFF).

    Two layouts are read: ``images/`` and ``masks/`` subfolders with the same file names, or
    one folder where ``cell1.png`` has its mask in ``cell1_mask.png`` (or ``_labels``,
    ``_label``). Masks hold the classes 0..3 as grey values; images are grey (colour ones
    are converted by :func:`read_grey_image`). Files are taken in sorted order.

    Parameters
    ----------
    path : str or path-like
        The folder.
    max_samples : int or None
        Read at most this many pairs (the first in sorted order).

    Returns
    -------
    data : Bunch
        ``images`` float32 (n, H, W), ``labels`` uint8 (n, H, W), ``groups`` None, ``names``
        (the image file names), ``DESCR``.

    Raises
    ------
    ValueError
        If the folder has no pairs, an image lacks its mask, a file is unreadable, masks
        hold values outside 0..3, or sizes differ.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder of image/mask pairs.")
    images_dir = folder / "images" if (folder / "images").is_dir() else folder
    candidates = sorted(
        p for p in images_dir.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES
        and not any(p.stem.endswith(marker) for marker in MASK_MARKERS)
    )
    if not candidates:
        raise ValueError(
            f"{folder} holds no images: expected PNG/TIFF pairs, images/<name> with "
            "masks/<name>, or <name>.png with <name>_mask.png."
        )
    if max_samples is not None:
        candidates = candidates[: _check_int(max_samples, "max_samples", 1)]
    images, labels, names = [], [], []
    for image_path in candidates:
        mask_path = _mask_of(image_path, images_dir)
        if mask_path is None:
            raise ValueError(
                f"{image_path} has no mask: expected masks/{image_path.name} or "
                f"{image_path.stem}_mask{image_path.suffix}."
            )
        image, mask = read_grey_image(image_path), _read_mask(mask_path)
        if image.shape != mask.shape:
            raise ValueError(
                f"{image_path} is {image.shape[0]}x{image.shape[1]} but its mask {mask_path} "
                f"is {mask.shape[0]}x{mask.shape[1]}; give masks of the images' size."
            )
        images.append(image)
        labels.append(mask)
        names.append(image_path.name)
    descr = f"{len(images)} image/mask pairs read from the folder {folder}."
    return Bunch(
        images=_stack(images, names, "images", folder),
        labels=_stack(labels, names, "masks", folder),
        groups=None, names=np.array(names), DESCR=descr,
    )


def _dataset(file: h5py.File, key: str, path: Path, role: str) -> h5py.Dataset:
    if key not in file or not isinstance(file[key], h5py.Dataset):
        found = sorted(k for k in file if isinstance(file[k], h5py.Dataset))
        raise ValueError(
            f"{path} has no dataset {key!r} for the {role} (datasets found: {found}); name "
            f"the right one with the {role} key."
        )
    return file[key]


def load_labelled_h5(
    path, *, images: str = "images", labels: str = "labels", groups: str | None = None,
    max_samples: int | None = None,
) -> Bunch:
    """Read images and label maps (and optional groups) from named datasets of an HDF5 file.

    Parameters
    ----------
    path : str or path-like
    images, labels : str
        Names of the datasets: images (n, H, W) of real grey values; labels (n, H, W) of
        whole numbers 0..3.
    groups : str or None
        Name of an optional (n,) dataset of group ids (e.g. the chromosome pair), for
        ``GroupKFold`` and grouped hold-outs.
    max_samples : int or None
        Read only the first ``max_samples`` images (an HDF5 slice: the rest is not read).

    Raises
    ------
    ValueError
        If the file is not HDF5, a dataset is missing, or the shapes or values do not fit.
    """
    from .._validation import check_labels

    path = Path(path)
    if not path.is_file() or not h5py.is_hdf5(path):
        raise ValueError(f"{path} is not an HDF5 file.")
    stop = None if max_samples is None else _check_int(max_samples, "max_samples", 1)
    with h5py.File(path, "r") as file:
        image_data = _dataset(file, images, path, "images")
        label_data = _dataset(file, labels, path, "labels")
        if image_data.ndim != 3 or label_data.shape != image_data.shape:
            raise ValueError(
                f"In {path}, {images!r} must be (n, H, W) and {labels!r} the same shape; got "
                f"{image_data.shape} and {label_data.shape}."
            )
        if image_data.dtype.kind not in "iuf":
            raise ValueError(f"{path}: {images!r} holds {image_data.dtype}, not grey values.")
        image_array = image_data[:stop].astype(np.float32)
        label_array = check_labels(label_data[:stop], name=f"{labels!r} in {path}")
        group_array = None
        if groups is not None:
            group_data = _dataset(file, groups, path, "groups")
            if group_data.shape != (image_data.shape[0],):
                raise ValueError(
                    f"In {path}, {groups!r} must hold one group per image, shape "
                    f"({image_data.shape[0]},); got {group_data.shape}."
                )
            group_array = np.asarray(group_data[:stop])
    descr = f"{len(image_array)} images read from the datasets {images!r}/{labels!r} of {path}."
    return Bunch(images=image_array, labels=label_array.astype(np.uint8), groups=group_array,
                 DESCR=descr)


def load_labelled_data(
    path: str | os.PathLike, *, images: str = "images", labels: str = "labels",
    groups: str | None = None, max_samples: int | None = None,
    pommier_labels: str = "cleaned",
) -> Bunch:
    """Read labelled images from any of the layouts chromoskl knows.

    A folder: image/mask pairs (:func:`load_image_folder`). An HDF5 file with Pommier's
    ``dataset_1``: :func:`load_overlapping_chromosomes`. Any other HDF5 file: the named
    datasets (:func:`load_labelled_h5`).

    Parameters
    ----------
    path : str or path-like
        The folder or ``.h5`` file.
    images, labels, groups : str, str, str or None
        The dataset names of an HDF5 file of your own (ignored for folders and for
        Pommier's layout).
    max_samples : int or None, default=None
        Read at most this many images.
    pommier_labels : {"cleaned", "raw"}, default="cleaned"
        Which labelling of Pommier's file to read (``labels`` of
        :func:`load_overlapping_chromosomes`). ``"raw"`` is refused for any other layout,
        which has one labelling only.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images``, ``labels``, ``groups`` (or None) and ``DESCR``, as the reader returns them.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file or folder does not hold labelled images (the reader says what is wrong),
        or ``pommier_labels`` is not "cleaned" for a layout other than Pommier's.
    """
    check_labelling(pommier_labels, "pommier_labels")
    path = Path(path)
    if path.is_dir():
        _check_one_labelling(pommier_labels, path)
        return load_image_folder(path, max_samples=max_samples)
    if not path.exists():
        raise FileNotFoundError(f"No such file or folder: {path}")
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as file:
            pommier = "dataset_1" in file and images not in file
        if not pommier:
            _check_one_labelling(pommier_labels, path)
            return load_labelled_h5(path, images=images, labels=labels, groups=groups,
                                    max_samples=max_samples)
    return load_overlapping_chromosomes(path, labels=pommier_labels, max_samples=max_samples)


def _check_one_labelling(pommier_labels: str, path: Path) -> None:
    if pommier_labels != "cleaned":
        raise ValueError(
            f"pommier_labels={pommier_labels!r} applies only to Pommier's h5 layout (a "
            f"'dataset_1'), and {path} is not in it: it has one labelling. Leave "
            "pommier_labels at 'cleaned' (for an h5 of your own, name its labels dataset)."
        )
