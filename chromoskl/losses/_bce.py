"""The binary cross-entropies of ARMS Net: BCE, weighted BCE (eq. 1), adaptive smooth (eq. 2).

Each class t of the four (background, A only, B only, overlap) is its own binary problem: a
sigmoid of its logit against its one-hot channel, and the loss is averaged over the classes
and the M x N pixels (and the images of the batch), as the ``1 / (4MN)`` of ARMS eq. 1.

Reading of eq. 1 and eq. 2 (Wang et al. 2021, section 3.4), checked against the published text:

- Eq. 1, ``L = -1/(4MN) sum_t sum_ij [w y log p + (1 - y) log(1 - p)]``, puts the weight
  ``w`` on the positive term. :class:`WeightedBCELoss` does; its ``w`` is the fixed weight
  of the rows ``wBCE (1.1)`` ... ``wBCE (3.0)`` of Table 4.
- Eq. 2 gives class t the weight ``(1 + |log_1000(Neg_t / Pos_t)|)^-1`` with a factor in
  ``(1 - y)``: the weight applies where ``y = 0``, the negative term, and positives keep
  weight 1. Put on the positive term instead, as the ``w`` of eq. 1, the ``(1 - y)`` factor
  would cancel it there (``y = 1``) and the loss would be plain BCE. On the negative term
  it does what the paper wants: every weight is at most 1, and the rarer a class the
  smaller the weight of its many negatives, so the imbalance is reduced and, the ratio being
  smoothed by the logarithm, never overturned. :class:`AdaptiveSmoothWBCELoss` does this.
- ``Pos_t`` and ``Neg_t`` are "the number of pixels labelled" in and out of class t, and the
  paper describes the weights as following "the category imbalance of the four labels", a
  property of the data set: the text implies counts over the training set and never
  mentions batches. ``class_fractions`` gives them so; without it the counts are taken on
  each batch, which a Keras loss (the paper's framework) sees, and which gives nearly the
  same weights: on Pommier's labels padded to 128x128 the training-set weights of
  background, A, B and overlap are 0.700, 0.615, 0.663 and 0.584, and over 2,000 random
  batches of 32 images each batch's weights stay within 0.03 of them (standard deviation
  at most 0.006); the logarithm flattens the differences.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._functional import adaptive_smooth_weights, smooth_imbalance_weight, weighted_bce_with_logits
from ._inputs import _as_float, _check_inputs, _check_non_negative, _class_weights, _one_hot

__all__ = ["BCELoss", "WeightedBCELoss", "AdaptiveSmoothWBCELoss"]


class BCELoss(nn.Module):
    """Binary cross-entropy of a per-class sigmoid against the one-hot target (``"bce"``).

    ``F.binary_cross_entropy_with_logits(y_pred, one_hot(y_true))``, averaged over all
    N * C * H * W elements: eq. 1 of ARMS Net with ``w = 1``, the loss that ARMS Table 2
    gives every network of its ablation but ARMS Net itself.

    References
    ----------
    Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 102811 (2021), eq. 1
    and Table 2.
    """

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        y_pred = _as_float(y_pred)
        return weighted_bce_with_logits(y_pred, _one_hot(y_true, y_pred))


class WeightedBCELoss(nn.Module):
    """Weighted BCE with one weight on the positive term (``"wbce"``, ARMS eq. 1).

    ``mean(-(w * y * log(p) + (1 - y) * log(1 - p)))`` over all N * C * H * W elements, with
    a per-class sigmoid and the one-hot target: eq. 1 of ARMS Net, averaged over the 4
    classes and the M x N pixels (and the batch); ``w=1`` is :class:`BCELoss`. The default
    ``w=1`` is neutral: ARMS Table 4 tries w = 1.1, 1.2, 1.3, 1.4, 1.5, 2.0 and 3.0 (best
    test IoU at 1.1); search ``criterion__w`` to tune it.

    Parameters
    ----------
    w : float, default=1.0
        Weight of the positive (foreground) term; ``w > 1`` favours recall.

    References
    ----------
    Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 102811 (2021), eq. 1
    and Table 4.
    """

    def __init__(self, w: float = 1.0):
        super().__init__()
        _check_non_negative(w=w)
        self.w = w

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        y_pred = _as_float(y_pred)
        return weighted_bce_with_logits(y_pred, _one_hot(y_true, y_pred), pos_weight=self.w)


def _check_fractions(values) -> torch.Tensor | None:
    """``class_fractions`` as a float tensor of values strictly between 0 and 1, or None."""
    fractions = _class_weights(values, "class_fractions")
    if fractions is not None and not ((fractions > 0) & (fractions < 1)).all():
        raise ValueError(
            "class_fractions must be strictly between 0 and 1 (the share of the training "
            f"pixels in each class; a class absent from the training set has none), got "
            f"{values!r}."
        )
    return fractions


class AdaptiveSmoothWBCELoss(nn.Module):
    """Adaptive smooth weighted BCE of ARMS Net (``"as_wbce"``, ARMS eq. 2).

    ``mean(-(y * log(p) + w_t * (1 - y) * log(1 - p)))`` over all N * C * H * W elements,
    with a per-class sigmoid, the one-hot target, and for class t the weight
    ``w_t = 1 / (1 + |log_1000(Neg_t / Pos_t)|)`` (:func:`smooth_imbalance_weight`) on the
    negative term; see the module docstring for why the weight goes there.

    Parameters
    ----------
    class_fractions : sequence of C floats in (0, 1), or None, default=None
        The share of the training pixels in each class, ``Pos_t / (Pos_t + Neg_t)``, e.g.
        ``np.bincount(y_train.ravel(), minlength=4) / y_train.size`` (count the images at
        the size the network sees, padding included). The weights are then fixed, as the
        text of the paper implies. None counts ``Pos_t`` and ``Neg_t`` afresh on each
        batch's targets (:func:`adaptive_smooth_weights`; a class absent from the batch is
        counted as one pixel). Kept as the buffer ``class_fractions``.

    Raises
    ------
    ValueError
        If a class fraction is not strictly between 0 and 1, or their number is not the
        number of classes of the logits.

    References
    ----------
    Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 102811 (2021), eq. 1,
    eq. 2 and Table 4 (``AS_wBCE``).
    """

    def __init__(self, class_fractions: Sequence[float] | None = None):
        super().__init__()
        self.register_buffer("class_fractions", _check_fractions(class_fractions))

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        y_pred = _as_float(y_pred)
        target = _one_hot(y_true, y_pred)
        if self.class_fractions is None:
            neg_weight = adaptive_smooth_weights(target)
        else:
            if self.class_fractions.numel() != y_pred.shape[1]:
                raise ValueError(
                    f"class_fractions has {self.class_fractions.numel()} entries but y_pred "
                    f"has {y_pred.shape[1]} classes; give one fraction per class."
                )
            fractions = self.class_fractions.to(dtype=y_pred.dtype, device=y_pred.device)
            neg_weight = smooth_imbalance_weight((1.0 - fractions) / fractions)
        return weighted_bce_with_logits(y_pred, target, neg_weight=neg_weight.view(1, -1, 1, 1))
