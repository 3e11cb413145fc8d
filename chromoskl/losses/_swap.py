"""A loss that does not care which of the two chromosomes is called A.

Which chromosome of a pair is A (the smaller) is a global property: a network that sees only
a neighbourhood memorises it for the chromosomes of its training set and guesses on others.
Trained with this wrapper, the network only has to separate the two chromosomes; which one is
A is decided afterwards by area (:func:`chromoskl.decoding.decode_labels`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..classes import CHROMOSOME_A, CHROMOSOME_B
from ._deep_supervision import wrap_each_map

__all__ = ["SwapInvariantLoss", "image_cross_entropy", "swap_chromosomes", "swap_invariant"]


def swap_chromosomes(labels: torch.Tensor) -> torch.Tensor:
    """Labels with chromosome A (1) and B (2) exchanged; background and overlap unchanged."""
    swapped = labels.clone()
    swapped[labels == CHROMOSOME_A] = CHROMOSOME_B
    swapped[labels == CHROMOSOME_B] = CHROMOSOME_A
    return swapped


def image_cross_entropy(log_probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each image's mean pixel cross-entropy, (n,), from log-probabilities (n, K, H, W) and
    integer labels (n, H, W)."""
    return -log_probs.gather(1, labels.long().unsqueeze(1)).mean(dim=(1, 2, 3))


class SwapInvariantLoss(nn.Module):
    """``loss`` against, per image, whichever of the labels or the labels with A and B
    swapped the prediction is closer to.

    A permutation-invariant training objective in the sense of Yu et al. (2017,
    "Permutation invariant training of deep models for speaker-independent multi-talker
    speech separation"), for two chromosomes instead of two speakers. The assignment is
    chosen per image by the mean pixel cross-entropy of the two labellings (without
    gradient), and ``loss`` is then computed once on the chosen labels. For a cross-entropy
    ``loss`` this is exactly the minimum over the two assignments; for others (Dice+CE) the
    cross-entropy picks the assignment, which costs one extra softmax instead of a second
    evaluation of ``loss`` per image.

    Parameters
    ----------
    loss : nn.Module
        Called as ``loss(logits, labels)``.
    """

    def __init__(self, loss: nn.Module):
        super().__init__()
        self.loss = loss

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            log_probs = F.log_softmax(y_pred.detach().float(), dim=1)
            swapped = swap_chromosomes(y_true)
            as_given = image_cross_entropy(log_probs, y_true)
            exchanged = image_cross_entropy(log_probs, swapped)
            use_swapped = (exchanged < as_given).view(-1, 1, 1)
            target = torch.where(use_swapped, swapped, y_true)
        return self.loss(y_pred, target)


def swap_invariant(criterion: nn.Module) -> nn.Module:
    """``criterion`` made swap-invariant: wrapped in :class:`SwapInvariantLoss`, or, for a
    :class:`~chromoskl.losses.DeepSupervisionLoss`, the loss it applies to each map."""
    return wrap_each_map(criterion, SwapInvariantLoss)
