"""Deep supervision: one loss over every output map of a network, final map first.

A deeply supervised network (UNet++ with ``deep_supervision=True``, or any network whose
``forward`` returns a tuple of (N, C, H, W) maps) is trained on the weighted mean of a loss
over its maps (Zhou et al., UNet++, Sec. 2; Zhang's improved UNet++, eq. 2). Prediction and
the scores always use the final map, the first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

__all__ = ["DeepSupervisionLoss", "loss_over_heads", "wrap_each_map"]


def loss_over_heads(loss, y_pred, y_true: torch.Tensor, weights=None) -> torch.Tensor:
    """``loss`` on one map, or its weighted mean over a tuple of maps (final map first).

    Parameters
    ----------
    loss : callable
        Called as ``loss(logits, labels)`` on each map.
    y_pred : torch.Tensor or tuple of torch.Tensor
    y_true : torch.Tensor
    weights : sequence of float or None, default=None
        One per map; None weighs them equally.

    Raises
    ------
    ValueError
        If ``weights`` does not give one weight per map.
    """
    if not isinstance(y_pred, (tuple, list)):
        return loss(y_pred, y_true)
    weights = [1.0] * len(y_pred) if weights is None else list(weights)
    if len(weights) != len(y_pred):
        raise ValueError(
            f"deep_supervision_weights has {len(weights)} weights but the network returns "
            f"{len(y_pred)} maps; give one weight per map (final map first)."
        )
    total = sum(w * loss(head, y_true) for w, head in zip(weights, y_pred))
    return total / float(sum(weights))


class DeepSupervisionLoss(nn.Module):
    """A registry loss over every output map of a deeply supervised network
    (``"deep_supervision"``).

    ``ChromosomeSegmenter(criterion="deep_supervision", criterion__loss="dice_ce",
    criterion__weights=(1.0, 0.5, 0.25, 0.125))`` trains on the weighted mean of ``loss`` over
    the maps, and ``criterion__weights`` can be searched like any other parameter. The
    estimator's ``deep_supervision_weights`` does the same for any other criterion.

    Parameters
    ----------
    loss : str or nn.Module class, default="ce"
        A registry name or a loss class, called on each map.
    weights : sequence of float or None, default=None
        One per map, final map first; None weighs them equally.
    loss_params : mapping or None, default=None
        Keyword arguments of ``loss``'s constructor.

    Attributes
    ----------
    loss_ : nn.Module
        The built loss. ``ab_loss="swap_invariant"`` wraps it, not this module.

    References
    ----------
    Z. Zhou et al. UNet++: A Nested U-Net Architecture for Medical Image Segmentation. DLMIA
    2018, Sec. 2 (deep supervision). Departure: the mean is weighted and normalised by the sum
    of the weights; Zhou et al. average the heads' losses.
    """

    def __init__(
        self,
        loss: str | type[nn.Module] = "ce",
        weights: Sequence[float] | None = None,
        loss_params: Mapping | None = None,
    ):
        super().__init__()
        from ._modules import resolve_criterion  # the registry imports this module

        self.loss = loss
        self.weights = weights
        self.loss_params = loss_params
        self.loss_ = resolve_criterion(loss)(**dict(loss_params or {}))

    def forward(self, y_pred, y_true: torch.Tensor) -> torch.Tensor:
        return loss_over_heads(self.loss_, y_pred, y_true, self.weights)


def wrap_each_map(criterion: nn.Module, wrapper) -> nn.Module:
    """``wrapper(criterion)``, or, for a :class:`DeepSupervisionLoss`, the loss it applies to
    each map wrapped (so that ``ab_loss`` applies to every head)."""
    if isinstance(criterion, DeepSupervisionLoss):
        criterion.loss_ = wrapper(criterion.loss_)
        return criterion
    return wrapper(criterion)
