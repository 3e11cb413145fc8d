"""A loss against the labels with the two chromosomes named by their axes' orientation.

Which chromosome is A (the smaller) is a property of both whole chromosomes, and a pixel far
from the other one cannot see it. Trained with this wrapper, the network names the two
chromosomes by a rule that the crossing shows: the order of their principal axes
(:func:`orientation_order`). At short budgets such a network found the overlap better than one
trained on the labels as given: 0.925-0.961 against 0.866-0.931 on six seeds of the default
job's generated pairs, 0.940 against 0.930 after 8 minutes on Pommier's random split. After
27.5 minutes the gain was gone (0.948 against 0.946). It always grouped the pixels of each
chromosome worse, so that its A and B, named afterwards by area, were far worse (chromosome A
IoU 0.61-0.64 against 0.72-0.81; 0.44 against 0.96 on Pommier's pairs;
``benchmarks/RESULTS.md``, session 43). Use it where the overlap alone counts and time is short.

Not from the papers: a labelling rule of chromoskl's own. The principal axis of a chromosome
is that of the second central moments of its pixels (label 1 or 3, or label 2 or 3), as in
``skimage.measure.regionprops``' ``orientation``. It is computed here in torch, on the
device and per batch, because that is where the batch's labels are, after any augmentation
(a mirror image reverses the rule, so it must see the labels as augmented).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..classes import CHROMOSOME_A, CHROMOSOME_B, OVERLAP
from ._deep_supervision import wrap_each_map
from ._swap import swap_chromosomes

__all__ = ["OrientationOrderLoss", "axis_angles", "orientation_order", "orientation_ordered"]


def axis_angles(masks: torch.Tensor) -> torch.Tensor:
    """The angle in radians, in ``(-pi/2, pi/2]``, of each mask's principal axis.

    Measured from the column axis (x, to the right) towards the row axis (y, down), from the
    mask's second central moments. A mask without pixels gets angle 0.

    Parameters
    ----------
    masks : torch.Tensor of shape (n, H, W)
        Boolean or 0/1 masks.
    """
    masks = masks.float()
    height, width = masks.shape[-2:]
    rows = torch.arange(height, device=masks.device, dtype=torch.float32).view(1, -1, 1)
    cols = torch.arange(width, device=masks.device, dtype=torch.float32).view(1, 1, -1)
    count = masks.sum(dim=(1, 2)).clamp_min(1.0)
    # centred before squaring, so that float32 keeps the variances exact enough
    d_row = rows - ((masks * rows).sum(dim=(1, 2)) / count).view(-1, 1, 1)
    d_col = cols - ((masks * cols).sum(dim=(1, 2)) / count).view(-1, 1, 1)
    var_col = (masks * d_col * d_col).sum(dim=(1, 2)) / count
    var_row = (masks * d_row * d_row).sum(dim=(1, 2)) / count
    cov = (masks * d_col * d_row).sum(dim=(1, 2)) / count
    return 0.5 * torch.atan2(2.0 * cov, var_col - var_row)


def orientation_order(labels: torch.Tensor) -> torch.Tensor:
    """The labels with A and B named per image by their axes' order instead of their size.

    Label 1 goes to the chromosome from whose principal axis the other's lies less than 90
    degrees further on (angles modulo 180 degrees, turning from x towards y). The rule depends
    only on the difference of the two axes, so a rotation of the whole image does not change
    it, and both axes are in view at the crossing. A mirror image reverses it, and it is
    ambiguous for axes about 0 or 90 degrees apart. Background and overlap are unchanged.

    Parameters
    ----------
    labels : torch.Tensor of shape (n, H, W)
        Integer labels 0..3.
    """
    labels = labels.long()
    first = axis_angles((labels == CHROMOSOME_A) | (labels == OVERLAP))
    second = axis_angles((labels == CHROMOSOME_B) | (labels == OVERLAP))
    exchange = torch.remainder(second - first, math.pi) >= math.pi / 2
    return torch.where(exchange.view(-1, 1, 1), swap_chromosomes(labels), labels)


class OrientationOrderLoss(nn.Module):
    """``loss`` against the labels reordered by :func:`orientation_order`.

    ``ChromosomeSegmenter(ab_loss="orientation")`` trains with it; the network's channels 1
    and 2 then mean "first" and "second axis", not A and B, so the segmenter names A and B by
    area (``ab_decoding="area"``).

    Parameters
    ----------
    loss : nn.Module
        Called as ``loss(logits, labels)``.
    """

    def __init__(self, loss: nn.Module):
        super().__init__()
        self.loss = loss

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        return self.loss(y_pred, orientation_order(y_true))


def orientation_ordered(criterion: nn.Module) -> nn.Module:
    """``criterion`` trained on the orientation order: wrapped in
    :class:`OrientationOrderLoss`, or, for a :class:`~chromoskl.losses.DeepSupervisionLoss`,
    the loss it applies to each map."""
    return wrap_each_map(criterion, OrientationOrderLoss)
