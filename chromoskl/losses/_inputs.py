"""Input checks and small adapters shared by the loss modules."""

from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar

import torch
import torch.nn.functional as F

_LABELS_CHECKED = ContextVar("chromoskl_labels_checked", default=False)


@contextmanager
def labels_already_checked():
    """Skip the label-range check of the losses inside this block.

    The range check reads the labels' minimum and maximum back to the host: on a GPU that
    waits for every queued kernel, once per batch. ``ChromosomeSegmenter`` checks the labels
    of a fit once, up front, and computes its losses inside this block.
    """
    token = _LABELS_CHECKED.set(True)
    try:
        yield
    finally:
        _LABELS_CHECKED.reset(token)


def _check_inputs(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """Check shapes, dtypes and label range; return ``y_true`` as a long tensor."""
    if not isinstance(y_pred, torch.Tensor) or not isinstance(y_true, torch.Tensor):
        raise TypeError(
            f"y_pred and y_true must be torch tensors, got {type(y_pred).__name__} and "
            f"{type(y_true).__name__}."
        )
    if y_pred.ndim != 4:
        raise ValueError(
            f"y_pred must be logits of shape (N, C, H, W), got shape {tuple(y_pred.shape)}."
        )
    n, c, h, w = y_pred.shape
    if tuple(y_true.shape) != (n, h, w):
        raise ValueError(
            f"y_true must be class indices of shape (N, H, W) = {(n, h, w)} to match y_pred "
            f"{tuple(y_pred.shape)}, got {tuple(y_true.shape)}."
        )
    if c < 2:
        raise ValueError(f"y_pred must have at least 2 classes on axis 1, got {c}.")
    if not y_pred.is_floating_point():
        raise TypeError(f"y_pred must be floating-point logits, got dtype {y_pred.dtype}.")
    if y_true.is_floating_point() or y_true.is_complex() or y_true.dtype == torch.bool:
        raise TypeError(f"y_true must hold integer class indices, got dtype {y_true.dtype}.")
    if y_true.numel() and not _LABELS_CHECKED.get():
        # One host read for both ends: on a GPU each read waits for the queued kernels.
        low, high = torch.stack(torch.aminmax(y_true)).tolist()
        if low < 0 or high >= c:
            raise ValueError(
                f"y_true must hold class indices in [0, {c - 1}] for {c} classes, found "
                f"values from {low} to {high}."
            )
    return y_true.long()


def _as_float(y_pred: torch.Tensor) -> torch.Tensor:
    """Half-precision logits (mixed precision) are summed in float32, others kept."""
    return y_pred.float() if y_pred.dtype in (torch.float16, torch.bfloat16) else y_pred


def _one_hot(y_true: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(N, H, W) indices -> (N, C, H, W) one-hot with the dtype and device of ``like``."""
    return F.one_hot(y_true, like.shape[1]).movedim(-1, 1).to(like.dtype)


def _class_weights(values, name: str) -> torch.Tensor | None:
    """A sequence of per-class weights as a 1-D float tensor (None stays None)."""
    if values is None:
        return None
    try:
        if isinstance(values, (str, bytes)):
            raise TypeError
        tensor = torch.as_tensor(values, dtype=torch.float32).detach().clone()
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"{name} must be None or a sequence of floats, one per class, got {values!r}."
        ) from None
    if tensor.ndim != 1 or not torch.isfinite(tensor).all() or (tensor < 0).any():
        raise ValueError(
            f"{name} must be a 1-D sequence of finite non-negative floats, one per class, "
            f"got {values!r}."
        )
    return tensor


def _weights_for(weight: torch.Tensor | None, y_pred: torch.Tensor, name: str):
    """Check a class-weight buffer against C and move it to the logits' dtype and device."""
    if weight is None:
        return None
    if weight.numel() != y_pred.shape[1]:
        raise ValueError(
            f"{name} has {weight.numel()} entries but y_pred has {y_pred.shape[1]} classes; "
            f"give one weight per class."
        )
    return weight.to(dtype=y_pred.dtype, device=y_pred.device)


def _check_non_negative(**values: float) -> None:
    """Raise ValueError naming the first argument that is not a finite number >= 0."""
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
