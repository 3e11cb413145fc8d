"""Argument checks shared by the loader and the generators."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np


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
