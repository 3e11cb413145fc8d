"""The ``nn.Module`` wrappers of the losses, their input checks, and the registry."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import torch
import torch.nn.functional as F
from torch import nn

from ._functional import (
    adaptive_smooth_weights,
    focal_loss_with_logits,
    soft_dice_score,
    tversky_index,
    weighted_bce_with_logits,
)

# ----------------------------------------------------------------------------------------
# Input checks and small adapters shared by the wrappers.
# ----------------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------------
# nn.Module wrappers.
# ----------------------------------------------------------------------------------------


class CELoss(nn.Module):
    """Cross-entropy of softmax over the classes (registry name ``"ce"``).

    Equal to ``F.cross_entropy(y_pred, y_true, weight=weight)``: with weights, the mean is
    weighted, ``sum(w[y] * l) / sum(w[y])``.

    Parameters
    ----------
    weight : sequence of C floats or None, default=None
        Class weights; kept as the buffer ``weight``.
    """

    def __init__(self, weight: Sequence[float] | None = None):
        super().__init__()
        self.register_buffer("weight", _class_weights(weight, "weight"))

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        return F.cross_entropy(y_pred, y_true, weight=_weights_for(self.weight, y_pred, "weight"))


class BCELoss(nn.Module):
    """Binary cross-entropy of a per-class sigmoid against the one-hot target (``"bce"``).

    ``F.binary_cross_entropy_with_logits(y_pred, one_hot(y_true))``, averaged over all
    N * C * H * W elements.
    """

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        y_pred = _as_float(y_pred)
        return weighted_bce_with_logits(y_pred, _one_hot(y_true, y_pred))


class WeightedBCELoss(nn.Module):
    """Weighted BCE with one weight on the positive term (``"wbce"``, ARMS eq. 1).

    ``mean(-(w * y * log(p) + (1 - y) * log(1 - p)))`` over all N * C * H * W elements, with
    a per-class sigmoid and the one-hot target; ``w=1`` is :class:`BCELoss`.

    The text of eq. 1 of the ARMS paper could not be consulted while this was written: this
    is the standard form of a weighted BCE (``w`` multiplies the positive term, as
    ``pos_weight`` of ``F.binary_cross_entropy_with_logits`` does), and the default ``w=1``
    is neutral, not the paper's best value. Search ``criterion__w`` to tune it.

    Parameters
    ----------
    w : float, default=1.0
        Weight of the positive (foreground) term; ``w > 1`` favours recall.

    References
    ----------
    Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 102811 (2021), eq. 1.
    """

    def __init__(self, w: float = 1.0):
        super().__init__()
        _check_non_negative(w=w)
        self.w = w

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        y_pred = _as_float(y_pred)
        return weighted_bce_with_logits(y_pred, _one_hot(y_true, y_pred), pos_weight=self.w)


class AdaptiveSmoothWBCELoss(nn.Module):
    """Adaptive smooth weighted BCE of ARMS Net (``"as_wbce"``, ARMS eq. 2).

    ``mean(-(y * log(p) + w_t * (1 - y) * log(1 - p)))`` over all N * C * H * W elements,
    with a per-class sigmoid, the one-hot target, and for class t the weight
    ``w_t = 1 / (1 + |log_1000(Neg_t / Pos_t)|)`` of :func:`adaptive_smooth_weights`, counted
    afresh on each batch's targets. A class absent from the batch is counted as one pixel
    (counts clamped to >= 1), so its weight stays finite.

    References
    ----------
    Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 102811 (2021), eq. 2.
    """

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        y_pred = _as_float(y_pred)
        target = _one_hot(y_true, y_pred)
        neg_weight = adaptive_smooth_weights(target).view(1, -1, 1, 1)
        return weighted_bce_with_logits(y_pred, target, neg_weight=neg_weight)


class MSELoss(nn.Module):
    """Mean squared error between softmax probabilities and the one-hot target (``"mse"``).

    Averaged over all N * C * H * W elements. The loss the thesis trained its networks with
    (Keras ``mean_squared_error`` on a 4-channel softmax output).
    """

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        probs = F.softmax(_as_float(y_pred), dim=1)
        return F.mse_loss(probs, _one_hot(y_true, probs))


class DiceLoss(nn.Module):
    """Soft Dice loss: ``1 - mean over classes of`` :func:`soft_dice_score` (``"dice"``).

    Softmax over the classes; Dice pooled over the batch and the pixels (SMP's default for
    multi-class), every class counted in the mean. Classes absent from the target are
    handled as MONAI's ``DiceLoss`` does (``smooth_nr = smooth_dr = smooth``, no masking):
    a class absent from both target and prediction scores about 1 (loss 0), and a class
    absent from the target but predicted scores about ``smooth / (sum(p) + smooth)``, so the
    loss pushes its probabilities down. SMP instead zeroes the loss of classes with no target
    pixel. With ``smooth=0`` the denominator is clamped to 1e-7, so nothing is NaN.

    Parameters
    ----------
    smooth : float, default=1.0

    References
    ----------
    F. Milletari, N. Navab, S.-A. Ahmadi. V-Net: Fully Convolutional Neural Networks for
    Volumetric Medical Image Segmentation. 3DV 2016.
    """

    def __init__(self, smooth: float = 1.0):
        super().__init__()
        _check_non_negative(smooth=smooth)
        self.smooth = smooth

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        probs = F.softmax(_as_float(y_pred), dim=1)
        return 1.0 - soft_dice_score(probs, _one_hot(y_true, probs), self.smooth).mean()


class FocalLoss(nn.Module):
    """Multi-class focal loss (``"focal"``); see :func:`focal_loss_with_logits`.

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter; 0 gives cross-entropy.
    alpha : sequence of C floats or None, default=None
        Per-class weights; kept as the buffer ``alpha``.

    References
    ----------
    T.-Y. Lin et al. Focal Loss for Dense Object Detection. ICCV 2017.
    """

    def __init__(self, gamma: float = 2.0, alpha: Sequence[float] | None = None):
        super().__init__()
        _check_non_negative(gamma=gamma)
        self.gamma = gamma
        self.register_buffer("alpha", _class_weights(alpha, "alpha"))

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        y_pred = _as_float(y_pred)
        alpha = _weights_for(self.alpha, y_pred, "alpha")
        return focal_loss_with_logits(y_pred, y_true, self.gamma, alpha)


class TverskyLoss(nn.Module):
    """Tversky loss: ``1 - mean over classes of`` :func:`tversky_index` (``"tversky"``).

    Softmax over the classes, pooled over batch and pixels, absent classes as in
    :class:`DiceLoss`.

    Parameters
    ----------
    alpha : float, default=0.3
        Weight of false positives.
    beta : float, default=0.7
        Weight of false negatives (Salehi et al.'s best pair is 0.3/0.7).
    smooth : float, default=1.0

    References
    ----------
    S. S. M. Salehi, D. Erdogmus, A. Gholipour. Tversky loss function for image segmentation
    using 3D fully convolutional deep networks. MLMI 2017.
    """

    def __init__(self, alpha: float = 0.3, beta: float = 0.7, smooth: float = 1.0):
        super().__init__()
        _check_non_negative(alpha=alpha, beta=beta, smooth=smooth)
        self.alpha = alpha
        self.beta = beta
        self.smooth = smooth

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        probs = F.softmax(_as_float(y_pred), dim=1)
        target = _one_hot(y_true, probs)
        return 1.0 - tversky_index(probs, target, self.alpha, self.beta, self.smooth).mean()


class DiceCELoss(nn.Module):
    """``dice_weight * DiceLoss + ce_weight * CELoss`` (``"dice_ce"``).

    Parameters
    ----------
    dice_weight : float, default=1.0
    ce_weight : float, default=1.0
    smooth : float, default=1.0
        Of the Dice term.
    weight : sequence of C floats or None, default=None
        Class weights of the cross-entropy term.
    """

    def __init__(
        self,
        dice_weight: float = 1.0,
        ce_weight: float = 1.0,
        smooth: float = 1.0,
        weight: Sequence[float] | None = None,
    ):
        super().__init__()
        _check_non_negative(dice_weight=dice_weight, ce_weight=ce_weight, smooth=smooth)
        self.dice_weight = dice_weight
        self.ce_weight = ce_weight
        self.smooth = smooth
        self.register_buffer("weight", _class_weights(weight, "weight"))

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        y_pred = _as_float(y_pred)
        probs = F.softmax(y_pred, dim=1)
        dice = 1.0 - soft_dice_score(probs, _one_hot(y_true, probs), self.smooth).mean()
        ce = F.cross_entropy(y_pred, y_true, weight=_weights_for(self.weight, y_pred, "weight"))
        return self.dice_weight * dice + self.ce_weight * ce


class CombinedLoss(nn.Module):
    """Weighted sum of registry losses (``"combined"``).

    Parameters
    ----------
    losses : sequence of str or nn.Module classes, default=("dice", "ce")
        Each resolved by :func:`resolve_criterion` and built with its defaults, or with the
        keyword arguments that ``loss_params`` gives for it.
    weights : sequence of float, default=(1.0, 1.0)
        One per loss (``criterion__weights`` in a grid search).
    loss_params : mapping or None, default=None
        ``{name: {param: value}}`` for the constructors of the losses given by name, e.g.
        ``{"focal": {"gamma": 1.0}}``.

    Attributes
    ----------
    terms : nn.ModuleList
        The built losses, in the order of ``losses``.

    Raises
    ------
    ValueError
        If ``losses`` is empty, ``weights`` has another length, a weight is negative or not
        finite, or ``loss_params`` names a loss that is not in ``losses``.
    """

    def __init__(
        self,
        losses: Sequence[str | type[nn.Module]] = ("dice", "ce"),
        weights: Sequence[float] = (1.0, 1.0),
        loss_params: Mapping[str, Mapping] | None = None,
    ):
        super().__init__()
        if isinstance(losses, (str, type)):
            raise TypeError(f"losses must be a sequence of names or classes, got {losses!r}.")
        try:
            if isinstance(weights, (str, bytes)):
                raise TypeError
            weights = tuple(float(x) for x in weights)
        except (TypeError, ValueError):
            raise TypeError(f"weights must be a sequence of floats, got {weights!r}.") from None
        losses = tuple(losses)
        if not losses or len(weights) != len(losses):
            raise ValueError(
                f"Give one weight per loss: got losses={losses!r} and weights={weights!r}."
            )
        _check_non_negative(**{f"weights[{i}]": x for i, x in enumerate(weights)})
        params = {str(k).lower(): dict(v) for k, v in (loss_params or {}).items()}
        names = {x.lower() for x in losses if isinstance(x, str)}
        if set(params) - names:
            raise ValueError(
                f"loss_params names {sorted(set(params) - names)}, which are not in "
                f"losses={losses!r}."
            )
        self.losses = losses
        self.weights = weights
        self.loss_params = loss_params
        self.terms = nn.ModuleList(
            resolve_criterion(x)(**params.get(x.lower() if isinstance(x, str) else "", {}))
            for x in losses
        )

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        return sum(w * term(y_pred, y_true) for w, term in zip(self.weights, self.terms))


LOSSES: dict[str, type[nn.Module]] = {
    "ce": CELoss,
    "bce": BCELoss,
    "wbce": WeightedBCELoss,
    "as_wbce": AdaptiveSmoothWBCELoss,
    "mse": MSELoss,
    "dice": DiceLoss,
    "focal": FocalLoss,
    "tversky": TverskyLoss,
    "dice_ce": DiceCELoss,
    "combined": CombinedLoss,
}


def resolve_criterion(criterion: str | type[nn.Module]) -> type[nn.Module]:
    """Return the loss class for a registry name, or ``criterion`` itself if it is a class.

    Parameters
    ----------
    criterion : str or nn.Module subclass
        A key of ``LOSSES`` (case-insensitive), or any ``nn.Module`` subclass.

    Returns
    -------
    cls : type of nn.Module

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    TypeError
        For anything else (an instance, a function, ...).
    """
    known = ", ".join(sorted(LOSSES))
    if isinstance(criterion, str):
        try:
            return LOSSES[criterion.lower()]
        except KeyError:
            raise ValueError(f"Unknown loss {criterion!r}; known losses: {known}.") from None
    if isinstance(criterion, type) and issubclass(criterion, nn.Module):
        return criterion
    raise TypeError(
        f"criterion must be a loss name ({known}) or an nn.Module subclass, got {criterion!r}."
    )
