"""Read a lab's folder of labelled single-chromosome images (the recognition slides' data)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._karyotype import CLASS_NAMES

__all__ = ["load_chromosome_images"]

IMAGE_SUFFIXES = {".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp"}
# "chr7", "chromosome_X", "class-12" anywhere in a name
_TAGGED = re.compile(r"(?:chromosome|chr|class)[ _\-]?([0-9]{1,2}|[xy])(?![0-9a-z])", re.I)
# a name that starts with the class: "7_0012", "X-3", "21.tif"
_LEADING = re.compile(r"^([0-9]{1,2}|[xy])(?=$|[ _\-.])", re.I)
_ACCEPTED = (
    "a sub-folder named by the class (1..22, X, Y, optionally 'chr7'), or a file name with "
    "'chr<class>', 'chromosome<class>' or 'class<class>' in it or starting with '<class>_'"
)


def _class_token(text: str, *, whole: bool) -> str | None:
    """The class written in a folder name (``whole``) or in a file name, or None."""
    if whole:
        match = re.fullmatch(r"(?:chromosome|chr|class)?[ _\-]?([0-9]{1,2}|[xy])", text, re.I)
    else:
        match = _TAGGED.search(text) or _LEADING.match(text)
    if match is None:
        return None
    token = match.group(1).upper()
    return str(int(token)) if token.isdigit() else token


def _read_grey(path: Path) -> np.ndarray:
    """One image as float32 grey values in [0, 1] (colour averaged, integers scaled by dtype)."""
    from skimage import io  # imports tifffile/imageio plugins; lazy to keep import time low

    try:
        image = np.asarray(io.imread(path))
    except Exception as error:  # imageio/tifffile raise many kinds for a bad file
        raise ValueError(f"cannot read image {path}: {error}") from None
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        image = image[..., :3].mean(axis=-1) if image.dtype.kind == "f" else (
            image[..., :3].astype(np.float64).mean(axis=-1).astype(image.dtype)
        )
    if image.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D grey or RGB image, got shape {image.shape}.")
    scale = np.iinfo(image.dtype).max if image.dtype.kind in "ui" else 1.0
    return (image.astype(np.float64) / scale).astype(np.float32)


def load_chromosome_images(folder, *, verbose=False):
    """Read a folder of single-chromosome images labelled with their class (1-22, X, Y).

    The class of each image comes from the name of the folder that holds it, when that names a
    class (``folder/7/a.tif``, ``folder/chrX/b.png``), else from its file name
    (``chr7_0012.tif``, ``chromosome-X.png``, ``7_0012.tif``). Files are found recursively;
    hidden files and other suffixes are ignored. This reads the recognition slides' data set:
    224 x 224 TIFFs with black backgrounds, the class in the file name.

    Parameters
    ----------
    folder : str or Path
        The folder to read.
    verbose : bool, default=False
        Print the count of each class.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``images``: float32 ndarray (n, H, W) in [0, 1] when all images have one shape, else a
        list of 2-D float32 arrays (pad and resize them with
        :class:`chromoskl.recognition.PadToSquare` and
        :class:`~chromoskl.recognition.ResizeImages`);
        ``target`` int64 (n,), class indices 0..23 into ``target_names`` (1..22, X, Y);
        ``class_counts`` dict class name -> count (every class, zeros included);
        ``filenames`` the paths read, in order (sorted); ``DESCR``.

    Raises
    ------
    ValueError
        If the folder does not exist or holds no image, if a name does not give a class, or if
        it gives an unknown class (such as 23 or 0); the message names the file.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(
            f"chromosome image folder {str(root)!r} does not exist or is not a folder."
        )
    paths = sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
    if not paths:
        raise ValueError(
            f"no image in {str(root)!r}: expected files ending in {sorted(IMAGE_SUFFIXES)}."
        )
    target = []
    for path in paths:
        token = None
        if path.parent != root:
            token = _class_token(path.parent.name, whole=True)
        if token is None:
            token = _class_token(path.stem, whole=False)
        if token is None:
            raise ValueError(f"cannot tell the class of {path}: give it {_ACCEPTED}.")
        if token not in CLASS_NAMES:
            raise ValueError(
                f"unknown class {token!r} for {path}: the classes are 1..22, X and Y."
            )
        target.append(CLASS_NAMES.index(token))
    images = [_read_grey(p) for p in paths]
    if len({im.shape for im in images}) == 1:
        images = np.stack(images)
    counted = Counter(target)
    class_counts = {name: counted.get(k, 0) for k, name in enumerate(CLASS_NAMES)}
    summary = ", ".join(f"{name}: {n}" for name, n in class_counts.items())
    if verbose:
        print(f"{len(paths)} chromosome images in {root}; per class {summary}")
    return Bunch(
        images=images,
        target=np.asarray(target, dtype=np.int64),
        target_names=list(CLASS_NAMES),
        class_counts=class_counts,
        filenames=[str(p) for p in paths],
        DESCR=f"{len(paths)} chromosome images read from {root}; per class {summary}.",
    )
