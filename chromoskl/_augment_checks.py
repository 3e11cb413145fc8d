"""The checks of :class:`chromoskl.augmentation.Augmenter`: its parameters, its batches and
arrays, and its ``random_state``; each bad input becomes one clear error."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from ._validation import check_image_array

__all__ = ["check_augmenter_params", "check_batch", "check_resample_arrays", "seed_from"]

_PROBABILITIES = ("hflip", "vflip", "rot90", "rotate", "scale", "translate", "shift")
_PROBABILITIES += ("brightness", "contrast", "blur", "noise")


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_pair(value, low: float = -math.inf, strict_low: bool = False) -> bool:
    """Whether ``value`` is an ordered pair ``(a, b)`` of finite reals with ``a >= low``."""
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        return False
    a, b = value
    if not (_is_real(a) and _is_real(b)) or a > b:
        return False
    return a > low if strict_low else a >= low


def seed_from(random_state) -> int | None:
    """A torch seed from an int, a numpy ``RandomState``/``Generator``, or None (fresh entropy)."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    raise TypeError(
        "random_state must be None, an int, or a numpy RandomState/Generator, "
        f"got {random_state!r}."
    )


def check_batch(X, y) -> None:
    """Validate the tensors given to :meth:`Augmenter.augment_batch`."""
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(
            "augment_batch takes torch tensors X (n, C, H, W) and y (n, H, W), got "
            f"{type(X).__name__} and {type(y).__name__}; use fit_resample for numpy arrays."
        )
    if not X.is_floating_point():
        raise TypeError(f"X must be a floating tensor, got {X.dtype}; convert it with X.float().")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"y must be an integer label tensor, got {y.dtype}; use y.long().")
    if X.ndim != 4:
        raise ValueError(f"X must have shape (n, C, H, W), got {tuple(X.shape)}.")
    n, _, h, w = X.shape
    if tuple(y.shape) != (n, h, w):
        raise ValueError(
            f"y must have shape (n, H, W) = {(n, h, w)} to match X, got {tuple(y.shape)}; "
            "pad smaller label maps onto the images first (chromoskl._geometry.centre_pad)."
        )
    if X.device != y.device:
        raise ValueError(f"X and y must be on the same device, got {X.device} and {y.device}.")


def check_augmenter_params(aug) -> None:
    """Raise one ``ValueError`` that names every invalid parameter of an ``Augmenter``."""
    errors = [
        f"{name} must be a probability in [0, 1], got {getattr(aug, name)!r}"
        for name in _PROBABILITIES
        if not (_is_real(getattr(aug, name)) and 0 <= getattr(aug, name) <= 1)
    ]
    pairs = {
        "rotate_range": ({}, "(low, high) degrees with low <= high, e.g. (-180, 180)"),
        "scale_range": ({"low": 0, "strict_low": True}, "(low, high) with 0 < low <= high"),
        "brightness_range": ({}, "(low, high) with low <= high"),
        "contrast_range": ({"low": 0}, "(low, high) with 0 <= low <= high"),
        "blur_sigma": ({"low": 0, "strict_low": True}, "(low, high) with 0 < low <= high"),
    }
    for name, (bounds, hint) in pairs.items():
        if not _is_pair(getattr(aug, name), **bounds):
            errors.append(f"{name} must be {hint}, got {getattr(aug, name)!r}")
    for name in ("translate_range", "noise_std"):
        value = getattr(aug, name)
        if not (_is_real(value) and value >= 0):
            errors.append(f"{name} must be a number >= 0, got {value!r}")
    reach = aug.shift_pixels
    if not (isinstance(reach, numbers.Integral) and not isinstance(reach, bool) and reach >= 0):
        errors.append(f"shift_pixels must be an int >= 0 (pixels), got {reach!r}")
    if not _is_real(aug.fill):
        errors.append(f"fill must be a finite number, got {aug.fill!r}")
    n_copies = aug.n_copies
    if not (
        isinstance(n_copies, numbers.Integral)
        and not isinstance(n_copies, bool)
        and n_copies >= 0
    ):
        errors.append(f"n_copies must be an int >= 0, got {n_copies!r}")
    if errors:
        raise ValueError("Invalid Augmenter parameters: " + "; ".join(errors) + ".")


def check_resample_arrays(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Validate the arrays of ``Augmenter.fit_resample``; return X as (n, C, H, W)."""
    X = check_image_array(X)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"y must hold integer labels, got dtype {y.dtype}; use y.astype(np.uint8)."
        )
    X4 = X if X.ndim == 4 else X[:, None]
    n, _, h, w = X4.shape
    if y.shape != (n, h, w):
        raise ValueError(f"y must have shape {(n, h, w)} to match X, got {y.shape}.")
    return X4
