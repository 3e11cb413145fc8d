"""Pad chromosome images to a square and resize them to a network's input (sklearn transformers).

The recognition slides: "we adapted the dataset by applying padding and resizing to meet the
requirements of each model. For example, InceptionV3 requires images of size 299x299."
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._stateless import NeedsNoFit

__all__ = ["INPUT_SIZE", "PadToSquare", "ResizeImages"]

#: the input side of each architecture as published (ImageNet): 299 for InceptionV3, else 224
INPUT_SIZE = {"resnet18": 224, "resnet50": 224, "vgg16": 224, "inception_v3": 299}


def _as_images(X, who: str) -> list[np.ndarray]:
    """``X`` (an (n, H, W) array or a sequence of 2-D arrays) as a list of float arrays."""
    if isinstance(X, np.ndarray) and X.ndim == 3:
        images = list(X)
    elif isinstance(X, np.ndarray) and X.ndim == 4 and X.shape[1] == 1:
        images = list(X[:, 0])
    elif isinstance(X, (list, tuple)):
        images = [np.asarray(image) for image in X]
    else:
        shape = getattr(X, "shape", None)
        raise ValueError(
            f"{who} takes an array (n, H, W) or a list of 2-D images, got "
            f"{type(X).__name__}{'' if shape is None else f' of shape {shape}'}."
        )
    for k, image in enumerate(images):
        if image.ndim != 2 or image.size == 0 or image.dtype.kind not in "uif":
            raise ValueError(
                f"{who}: image {k} must be a non-empty 2-D real array, got shape {image.shape} "
                f"and dtype {image.dtype}."
            )
    if not images:
        raise ValueError(f"{who}: no image given.")
    return images


class _Stateless(NeedsNoFit, TransformerMixin, BaseEstimator):
    """Shared ``fit`` and tags of the stateless transformers (like ``FunctionTransformer``)."""

    def fit(self, X, y=None):
        """Validate nothing about ``X`` and return self (stateless)."""
        self._validate_params()
        return self


class PadToSquare(_Stateless):
    """Pad each image with ``fill`` to a square, centred (the longer side is kept).

    Parameters
    ----------
    fill : float, default=0.0
        Value of the added pixels (0: the black background of the slides' images).

    Returns from :meth:`transform` a list of square float32 images (sides may differ between
    images; :class:`ResizeImages` brings them to one size).
    """

    def __init__(self, fill=0.0):
        self.fill = fill

    def _validate_params(self):
        if not (isinstance(self.fill, numbers.Real) and np.isfinite(self.fill)):
            raise ValueError(f"fill must be a finite number, got {self.fill!r}.")

    def transform(self, X):
        """Pad every image of ``X`` (array (n, H, W) or list of 2-D arrays) to a square."""
        self._validate_params()
        out = []
        for image in _as_images(X, "PadToSquare"):
            h, w = image.shape
            side = max(h, w)
            top, left = (side - h) // 2, (side - w) // 2
            square = np.full((side, side), self.fill, dtype=np.float32)
            square[top : top + h, left : left + w] = image
            out.append(square)
        return out


class ResizeImages(_Stateless):
    """Resize every image to ``size`` x ``size`` (anti-aliased, ``skimage.transform.resize``).

    Parameters
    ----------
    size : int, default=224
        The side of the output; ``INPUT_SIZE[arch]`` gives each network's published input
        (299 for InceptionV3, 224 for the others).

    :meth:`transform` returns a float32 array (n, size, size). Non-square input is stretched:
    put :class:`PadToSquare` before it to keep the aspect ratio.
    """

    def __init__(self, size=224):
        self.size = size

    def _validate_params(self):
        size = self.size
        if not (isinstance(size, numbers.Integral) and not isinstance(size, bool) and size >= 8):
            raise ValueError(f"size must be an int >= 8, got {size!r}.")

    def transform(self, X):
        """Resize every image of ``X`` (array (n, H, W) or list of 2-D arrays)."""
        from skimage.transform import resize

        self._validate_params()
        images = _as_images(X, "ResizeImages")
        out = np.empty((len(images), self.size, self.size), dtype=np.float32)
        for k, image in enumerate(images):
            out[k] = resize(
                image.astype(np.float32), (self.size, self.size), order=1,
                anti_aliasing=max(image.shape) > self.size, preserve_range=True,
            )
        return out
