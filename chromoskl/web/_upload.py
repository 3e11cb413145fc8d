"""An uploaded picture: its type checked by suffix, its size in pixels checked from the file's
header before it is decoded, then read by :func:`chromoskl.datasets.read_grey_image`."""

from __future__ import annotations

from pathlib import Path, PurePath

import numpy as np

__all__ = ["SUFFIXES", "UploadError", "read_upload"]

#: The file types a user may upload (TIFF, raw 12/16-bit included; PNG; JPEG).
SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")


class UploadError(ValueError):
    """An upload the application refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _suffix(filename: str | None) -> str:
    if not filename:
        raise UploadError("no file was sent: choose a TIFF, PNG or JPEG image.")
    suffix = PurePath(filename.replace("\\", "/")).suffix.lower()
    if suffix not in SUFFIXES:
        raise UploadError(
            f"unsupported file type {suffix or '(none)'!r}: upload a TIFF (.tif, .tiff), PNG "
            "or JPEG (.jpg, .jpeg) image.", status=415,
        )
    return suffix


def _pixels(path: Path) -> int:
    """Pixels of the picture in ``path``, read from its header (nothing is decoded)."""
    import imageio.v3 as iio

    try:
        shape = iio.improps(path).shape
    except Exception:  # imageio's plugins raise many kinds for a damaged file
        raise UploadError(
            "cannot read the image: the file is damaged or not the picture its name says."
        ) from None
    if len(shape) == 3 and shape[-1] in (3, 4):
        shape = shape[:2]
    return int(np.prod(shape, dtype=np.int64))


def read_upload(storage, directory: Path, *, max_pixels: int) -> np.ndarray:
    """Write the upload into ``directory`` under a fixed name and read it as a grey image.

    Parameters
    ----------
    storage : werkzeug.datastructures.FileStorage or None
        The form field's file. Its name gives only the suffix; it never names a file here.
    directory : Path
        The result's own directory, inside the application's temporary directory.
    max_pixels : int
        Largest image accepted, in pixels (checked before decoding).

    Returns
    -------
    image : ndarray of float32, shape (H, W)

    Raises
    ------
    UploadError
        415 for a file type other than TIFF/PNG/JPEG, 413 for an image over ``max_pixels``,
        400 for a missing, damaged or multi-page file.
    """
    from ..datasets import read_grey_image

    suffix = _suffix(None if storage is None else storage.filename)
    path = directory / f"upload{suffix}"
    storage.save(path)
    pixels = _pixels(path)
    if pixels > max_pixels:
        raise UploadError(
            f"the image has {pixels:,} pixels; this server accepts at most {max_pixels:,}. "
            "Crop or down-sample it first.", status=413,
        )
    try:
        return read_grey_image(path)
    except ValueError as error:
        # the reader's message names the temporary path; the user knows the file as theirs
        raise UploadError(str(error).replace(str(path), "the upload")) from None
