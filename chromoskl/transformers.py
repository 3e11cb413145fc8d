"""scikit-learn transformers for chromosome images: centred padding and intensity scaling.

Both work on image stacks of shape ``(n, H, W)`` or ``(n, C, H, W)`` and keep that layout, so
they can sit in front of :class:`chromoskl.estimator.ChromosomeSegmenter` in a ``Pipeline``.
Neither touches the labels ``y``: a pipeline passes them to the estimator unchanged.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._geometry import centre_crop, centre_pad
from ._stateless import NeedsNoFit
from ._validation import check_image_array

__all__ = ["PadToShape", "IntensityScaler"]

_METHODS = ("standard", "minmax", "robust")
#: rows per block when statistics are accumulated (bounds the float64 temporaries)
_BLOCK_ROWS = 1024


def _check_shape(shape) -> tuple[int, int]:
    """Validate a target ``(H, W)`` of two positive integers."""
    ok = (
        isinstance(shape, (tuple, list))
        and len(shape) == 2
        and all(isinstance(s, numbers.Integral) and s > 0 for s in shape)
    )
    if not ok:
        raise ValueError(
            f"shape must be two positive integers (H, W), e.g. (128, 128); got {shape!r}."
        )
    return int(shape[0]), int(shape[1])


class PadToShape(NeedsNoFit, TransformerMixin, BaseEstimator):
    """Pad images, centred, to a fixed height and width.

    The image sits with ``(H - h) // 2`` rows above it and ``(W - w) // 2`` columns to its left
    (the convention of :mod:`chromoskl._geometry`, shared with the estimator and the metrics).
    The transformer is stateless, like ``FunctionTransformer``: ``transform`` needs no ``fit``.
    ``fit`` only records the input size so that :meth:`inverse_transform` can crop back.

    Parameters
    ----------
    shape : tuple of int, default=(128, 128)
        Target ``(H, W)``. Every image must be at most this large.
    fill : float, default=0.0
        Value of the added pixels (the background of the raw images is about 0). It is cast to
        the images' dtype.

    Attributes
    ----------
    input_shape_ : tuple of int
        ``(h, w)`` of the images seen by :meth:`fit`; the default target of
        :meth:`inverse_transform`.

    References
    ----------
    Wang et al., "ARMS Net: Overlapping chromosome segmentation based on Adaptive Receptive
    field Multi-Scale network", Biomedical Signal Processing and Control, 2021, section 2.2:
    the 94x93 images of Pommier's data set are padded all round to 128x128 before training.

    Examples
    --------
    >>> import numpy as np
    >>> pad = PadToShape((8, 8))
    >>> pad.fit_transform(np.ones((2, 5, 6))).shape
    (2, 8, 8)
    >>> pad.inverse_transform(np.zeros((2, 4, 8, 8))).shape
    (2, 4, 5, 6)
    """

    def __init__(self, shape=(128, 128), fill=0.0):
        self.shape = shape
        self.fill = fill

    def fit(self, X, y=None):
        """Record the input size; ``y`` is ignored.

        Parameters
        ----------
        X : array-like of shape (n, H, W) or (n, C, H, W)
        y : ignored

        Returns
        -------
        self : PadToShape
        """
        X = check_image_array(X)
        self._check_fits(X)
        self.input_shape_ = tuple(int(s) for s in X.shape[-2:])
        return self

    def transform(self, X):
        """Pad the last two axes of ``X`` to ``shape``, centred.

        Parameters
        ----------
        X : array-like of shape (n, h, w) or (n, C, h, w)

        Returns
        -------
        X_padded : ndarray of shape (n, H, W) or (n, C, H, W)
            Same layout and dtype as ``X``.

        Raises
        ------
        ValueError
            If an image is larger than ``shape``.
        """
        X = check_image_array(X)
        shape = self._check_fits(X)
        return centre_pad(X, shape, value=self.fill)

    def inverse_transform(self, X, original_shape=None):
        """Crop the last two axes back to the original size, centred.

        Works on padded images, predicted label masks (n, H, W) and probability or instance
        maps (n, C, H, W): only the last two axes are cropped.

        Parameters
        ----------
        X : array-like of shape (..., H, W)
        original_shape : tuple of int, default=None
            ``(h, w)`` to crop to; ``None`` uses ``input_shape_`` recorded by :meth:`fit`.

        Returns
        -------
        X_cropped : ndarray of shape (..., h, w)

        Raises
        ------
        ValueError
            If no original size is known, or if ``X`` is smaller than it.
        """
        X = np.asarray(X)
        if X.ndim < 2:
            raise ValueError(f"X must have at least two axes (..., H, W), got shape {X.shape}.")
        if original_shape is None:
            original_shape = getattr(self, "input_shape_", None)
        if original_shape is None:
            raise ValueError(
                "The original image size is unknown: call fit(X) on the unpadded images first, "
                "or pass inverse_transform(X, original_shape=(h, w))."
            )
        original_shape = _check_shape(tuple(original_shape))
        h, w = X.shape[-2:]
        if original_shape[0] > h or original_shape[1] > w:
            raise ValueError(
                f"Cannot crop {h}x{w} arrays back to a larger "
                f"{original_shape[0]}x{original_shape[1]}; pass the size they were padded from."
            )
        return centre_crop(X, original_shape)

    def _check_fits(self, X: np.ndarray) -> tuple[int, int]:
        """Validate ``shape`` and check that the images of ``X`` fit into it."""
        shape = _check_shape(self.shape)
        h, w = X.shape[-2:]
        if h > shape[0] or w > shape[1]:
            raise ValueError(
                f"Images of {h}x{w} are larger than the target shape {shape[0]}x{shape[1]}. "
                f"Use PadToShape(shape=({max(h, shape[0])}, {max(w, shape[1])})) or larger, "
                "or crop the images first."
            )
        return shape


def _block_sums(X: np.ndarray, offset: float = 0.0, power: int = 1) -> float:
    """``sum((X - offset) ** power)`` in float64, a block of rows at a time."""
    total = 0.0
    for start in range(0, X.shape[0], _BLOCK_ROWS):
        block = X[start : start + _BLOCK_ROWS].astype(np.float64) - offset
        total += float(np.sum(block**power))
    return total


def _check_finite(X: np.ndarray) -> None:
    """Raise a ``ValueError`` when ``X`` holds NaN or infinity (min/max propagate both)."""
    if X.size == 0:
        raise ValueError("X is empty: pass at least one image with at least one pixel.")
    if np.issubdtype(X.dtype, np.floating) and not (np.isfinite(X.min()) and np.isfinite(X.max())):
        raise ValueError(
            "X contains NaN or infinity; replace them (e.g. np.nan_to_num) before scaling."
        )


class IntensityScaler(TransformerMixin, BaseEstimator):
    """Scale grey values with one offset and one scale learnt from all training pixels.

    Unlike ``sklearn.preprocessing.StandardScaler``, which scales each feature (pixel position)
    on its own, the statistics here pool every pixel of every image, as is done for the raw
    grey values of Pommier's images (-15..402, mean 5.90, std 21.54). The output is
    ``(X - offset_) / scale_``.

    Parameters
    ----------
    method : {"standard", "minmax", "robust"}, default="standard"
        ``"standard"``: subtract the mean and divide by the standard deviation of all pixels.
        ``"minmax"``: map the minimum to 0 and the maximum to 1.
        ``"robust"``: map the low and high ``percentiles`` to 0 and 1; values beyond them are
        kept (not clipped), so the output may leave 0..1.
    percentiles : tuple of float, default=(1.0, 99.0)
        Low and high percentiles (0..100) used by ``method="robust"``.

    Attributes
    ----------
    offset_ : float
        Mean, minimum or low percentile of the training pixels.
    scale_ : float
        Standard deviation, range or percentile range of the training pixels; 1.0 when that is
        zero (a constant training set), so that no division by zero happens.

    Notes
    -----
    Floating input keeps its dtype; integer input becomes float32, the dtype the networks use.
    Statistics are accumulated in float64.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[[0.0, 2.0], [4.0, 6.0]]])
    >>> IntensityScaler(method="minmax").fit_transform(X).ravel().tolist()
    [0.0, 0.3333333333333333, 0.6666666666666666, 1.0]
    """

    def __init__(self, method="standard", percentiles=(1.0, 99.0)):
        self.method = method
        self.percentiles = percentiles

    def fit(self, X, y=None):
        """Learn ``offset_`` and ``scale_`` from all pixels of ``X``; ``y`` is ignored.

        Parameters
        ----------
        X : array-like of shape (n, H, W) or (n, C, H, W)
        y : ignored

        Returns
        -------
        self : IntensityScaler

        Raises
        ------
        ValueError
            For an unknown ``method``, bad ``percentiles``, or NaN/infinite pixels.
        """
        self._validate_params()
        X = check_image_array(X)
        _check_finite(X)
        if self.method == "standard":
            offset = _block_sums(X) / X.size
            scale = np.sqrt(_block_sums(X, offset, power=2) / X.size)
        elif self.method == "minmax":
            offset, high = float(X.min()), float(X.max())
            scale = high - offset
        else:
            offset, high = np.percentile(X, self.percentiles)
            scale = high - offset
        self.offset_ = float(offset)
        self.scale_ = float(scale)
        # sklearn's rule for near-zero scales (_handle_zeros_in_scale): leave the data unscaled
        if self.scale_ < 10 * np.finfo(np.float64).eps * max(1.0, abs(self.offset_)):
            self.scale_ = 1.0
        return self

    def transform(self, X):
        """Return ``(X - offset_) / scale_``.

        Parameters
        ----------
        X : array-like of shape (n, H, W) or (n, C, H, W)

        Returns
        -------
        X_scaled : ndarray of the same shape, floating
        """
        check_is_fitted(self, ("offset_", "scale_"))
        X = check_image_array(X)
        _check_finite(X)
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float32
        return ((X - self.offset_) / self.scale_).astype(dtype, copy=False)

    def inverse_transform(self, X):
        """Return ``X * scale_ + offset_``, the grey values before scaling.

        Parameters
        ----------
        X : array-like of shape (n, H, W) or (n, C, H, W)

        Returns
        -------
        X_original : ndarray of the same shape, floating
        """
        check_is_fitted(self, ("offset_", "scale_"))
        X = check_image_array(X)
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float32
        return (X * self.scale_ + self.offset_).astype(dtype, copy=False)

    def _validate_params(self) -> None:
        """Raise one ``ValueError`` naming every bad parameter."""
        errors = []
        if self.method not in _METHODS:
            errors.append(
                f"method must be one of {', '.join(map(repr, _METHODS))}, got {self.method!r}"
            )
        p = self.percentiles
        ok = (
            isinstance(p, (tuple, list))
            and len(p) == 2
            and all(isinstance(v, numbers.Real) for v in p)
            and 0 <= p[0] < p[1] <= 100
        )
        if not ok:
            errors.append(f"percentiles must be two numbers with 0 <= low < high <= 100, got {p!r}")
        if errors:
            raise ValueError("Invalid IntensityScaler parameters: " + "; ".join(errors) + ".")
