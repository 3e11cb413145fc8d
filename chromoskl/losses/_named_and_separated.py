"""The loss of a network with a named head and a separating head
(``ChromosomeSegmenter(label_model="named_and_separated")``)."""

from __future__ import annotations

import torch
from torch import nn

from ..classes import N_CLASSES
from ._deep_supervision import wrap_each_map
from ._swap import SwapInvariantLoss

__all__ = ["NamedAndSeparatedLoss", "named_and_separated"]


class NamedAndSeparatedLoss(nn.Module):
    """``loss`` on the named head plus its swap-invariant form on the separating head.

    The network's training output holds eight maps: the first four are the classes as the
    labels name them, the last four the classes up to exchanging A and B
    (:class:`~chromoskl.architectures.NamedAndSeparated`). The first four are trained on the
    labels as given; the last four with :class:`~chromoskl.losses.SwapInvariantLoss` around
    the same ``loss``. In evaluation the module returns the four classes it combined from
    both heads (log-probabilities); those are scored with ``loss`` alone, as any network's
    classes are, so that a validation loss means what it means for other networks.

    Parameters
    ----------
    loss : nn.Module
        Called as ``loss(logits, labels)``, once per head.
    """

    def __init__(self, loss: nn.Module):
        super().__init__()
        self.loss = loss
        self.separating_loss = SwapInvariantLoss(loss)

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        if y_pred.shape[1] == N_CLASSES:
            return self.loss(y_pred, y_true)
        if y_pred.shape[1] != 2 * N_CLASSES:
            raise ValueError(
                f"a named and a separating head give {2 * N_CLASSES} maps in training (or "
                f"{N_CLASSES} classes in evaluation), got {y_pred.shape[1]}."
            )
        named, separating = y_pred[:, :N_CLASSES], y_pred[:, N_CLASSES:]
        return self.loss(named, y_true) + self.separating_loss(separating, y_true)


def named_and_separated(criterion: nn.Module) -> nn.Module:
    """``criterion`` for a named and a separating head: wrapped in
    :class:`NamedAndSeparatedLoss`, or, for a :class:`~chromoskl.losses.DeepSupervisionLoss`,
    the loss it applies to each map."""
    return wrap_each_map(criterion, NamedAndSeparatedLoss)
