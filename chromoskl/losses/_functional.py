"""The losses' pure tensor functions: no checks, no modules, any number of classes."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_EPS = 1e-7
_ARMS_LOG_BASE = 1000.0


# ----------------------------------------------------------------------------------------
# Pure functions. Shapes: (N, C, *spatial); the class axis is 1.
# ----------------------------------------------------------------------------------------


def _reduce_dims(x: torch.Tensor) -> tuple[int, ...]:
    """Every axis except the class axis 1: batch and pixels are pooled."""
    return (0, *range(2, x.ndim))


def weighted_bce_with_logits(
    logits: torch.Tensor,
    target: torch.Tensor,
    pos_weight: float | torch.Tensor = 1.0,
    neg_weight: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """Binary cross-entropy on logits with separate weights on the two terms, averaged.

    ``mean(-(pos_weight * y * log(p) + neg_weight * (1 - y) * log(1 - p)))`` with
    ``p = sigmoid(logits)``, computed with ``logsigmoid`` for numerical stability.

    Parameters
    ----------
    logits : Tensor of shape (N, C, ...)
    target : Tensor of the same shape, values in [0, 1]
    pos_weight, neg_weight : float or Tensor broadcastable to ``logits``, default=1.0
        A tensor of shape (1, C, 1, 1) weights each class separately.

    Returns
    -------
    loss : Tensor, scalar
    """
    pos = target * F.logsigmoid(logits)
    neg = (1.0 - target) * F.logsigmoid(-logits)
    return -(pos_weight * pos + neg_weight * neg).mean()


def smooth_imbalance_weight(neg_over_pos: torch.Tensor) -> torch.Tensor:
    """ARMS Net's weight of a class from its ratio of negative to positive pixels (eq. 2).

    ``w = 1 / (1 + |log_1000(Neg / Pos)|)``: 1 for a balanced class, 1/2 for a ratio of
    1000 or 1/1000, 1/3 for 10**6. The logarithm "smooths" the ratio (the paper borrows
    the idea from the smooth L1 loss), so that a very rare class does not get a weight that
    makes the gradients explode.

    Parameters
    ----------
    neg_over_pos : Tensor of positive floats, any shape

    Returns
    -------
    weight : Tensor of the same shape, in (0, 1]

    References
    ----------
    Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 102811 (2021), eq. 2.
    """
    return 1.0 / (1.0 + torch.log(neg_over_pos).abs() / math.log(_ARMS_LOG_BASE))


def adaptive_smooth_weights(target: torch.Tensor) -> torch.Tensor:
    """Per-class weights of the ARMS adaptive smooth weighted BCE, counted on ``target``.

    For class t, :func:`smooth_imbalance_weight` of ``Neg_t / Pos_t``, with ``Pos_t`` the
    pixels of class t in ``target`` (all images pooled) and ``Neg_t`` the others.

    Counts are clamped to at least 1 before the ratio is taken, so a class absent from the
    batch (``Pos_t = 0``) or filling all of it (``Neg_t = 0``) gets a finite weight, that of a
    single pixel against all the others, instead of a division by zero. The weights depend
    only on the target and carry no gradient.

    Parameters
    ----------
    target : Tensor of shape (N, C, ...)
        One-hot target.

    Returns
    -------
    weights : Tensor of shape (C,)

    References
    ----------
    Wang et al. ARMS Net: Overlapping chromosome segmentation based on Adaptive Receptive
    field Multi-Scale network. Biomedical Signal Processing and Control 68, 102811 (2021),
    eq. 2.
    """
    with torch.no_grad():
        pos = target.sum(dim=_reduce_dims(target))
        neg = target[:, :1].numel() - pos
        return smooth_imbalance_weight(neg.clamp_min(1.0) / pos.clamp_min(1.0))


def soft_dice_score(
    probs: torch.Tensor, target: torch.Tensor, smooth: float = 1.0
) -> torch.Tensor:
    """Soft Dice score of each class, pooled over the batch and the pixels.

    ``(2 * sum(p * y) + smooth) / (sum(p) + sum(y) + smooth)``, the denominator clamped to
    ``1e-7`` so that ``smooth=0`` cannot divide by zero.

    Parameters
    ----------
    probs : Tensor of shape (N, C, ...)
        Probabilities.
    target : Tensor of the same shape
        One-hot target.
    smooth : float, default=1.0
        Added to numerator and denominator.

    Returns
    -------
    score : Tensor of shape (C,)

    References
    ----------
    F. Milletari, N. Navab, S.-A. Ahmadi. V-Net. 3DV 2016.
    """
    dims = _reduce_dims(probs)
    intersection = (probs * target).sum(dims)
    cardinality = probs.sum(dims) + target.sum(dims)
    return (2.0 * intersection + smooth) / (cardinality + smooth).clamp_min(_EPS)


def tversky_index(
    probs: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 0.3,
    beta: float = 0.7,
    smooth: float = 1.0,
) -> torch.Tensor:
    """Soft Tversky index of each class, pooled over the batch and the pixels.

    ``(TP + smooth) / (TP + alpha * FP + beta * FN + smooth)`` with the soft counts
    ``TP = sum(p * y)``, ``FP = sum(p * (1 - y))``, ``FN = sum((1 - p) * y)``;
    ``alpha = beta = 0.5`` gives the soft Dice score.

    Parameters
    ----------
    probs, target : Tensor of shape (N, C, ...)
        Probabilities and one-hot target.
    alpha : float, default=0.3
        Weight of the false positives.
    beta : float, default=0.7
        Weight of the false negatives.
    smooth : float, default=1.0

    Returns
    -------
    index : Tensor of shape (C,)

    References
    ----------
    S. S. M. Salehi, D. Erdogmus, A. Gholipour. Tversky loss function for image segmentation
    using 3D fully convolutional deep networks. MLMI 2017 (alpha=0.3, beta=0.7 their best).
    """
    dims = _reduce_dims(probs)
    tp = (probs * target).sum(dims)
    fp = (probs * (1.0 - target)).sum(dims)
    fn = ((1.0 - probs) * target).sum(dims)
    return (tp + smooth) / (tp + alpha * fp + beta * fn + smooth).clamp_min(_EPS)


def focal_loss_with_logits(
    logits: torch.Tensor,
    y_true: torch.Tensor,
    gamma: float = 2.0,
    alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """Multi-class focal loss on logits, averaged over pixels.

    ``mean(-alpha_t * (1 - p_t) ** gamma * log(p_t))`` with ``p_t`` the softmax probability
    of the true class. ``gamma=0`` and no ``alpha`` give cross-entropy.

    Parameters
    ----------
    logits : Tensor of shape (N, C, ...)
    y_true : LongTensor of shape (N, ...)
    gamma : float, default=2.0
    alpha : Tensor of shape (C,) or None, default=None
        Weight of each true class. Departs from Lin et al., whose scalar alpha is for the
        binary case: here it is a per-class weight, and the mean is a plain mean over pixels
        (not normalised by the weights, unlike weighted ``F.cross_entropy``).

    Returns
    -------
    loss : Tensor, scalar

    References
    ----------
    T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollar. Focal Loss for Dense Object
    Detection. ICCV 2017.
    """
    log_pt = F.log_softmax(logits, dim=1).gather(1, y_true.unsqueeze(1)).squeeze(1)
    loss = -((1.0 - log_pt.exp()) ** gamma) * log_pt
    if alpha is not None:
        loss = alpha[y_true] * loss
    return loss.mean()
