"""Four classes as the sum of two chromosome masks, as Pommier's generator labelled them.

Pommier's generator (DeepFISH, ``notebooks/generator_tools.py``: ``add_mask_to_image``,
``rotated_images``, ``merge_and_roll``) stacks each chromosome's grey image with a mask
channel, 1 for the first chromosome and 2 for the second, rotates the stack with
``scipy.ndimage.rotate`` (a cubic spline, rounded back to integers) and adds the two rotated
stacks. The label of a pixel is the sum of the two masks there. A's mask takes the values
0 and 1; B's, interpolated from 2, takes 0, 1 and 2, with 1 along its rim. So B's rim reads
as label 1 (chromosome A) where it lies on the background and as label 2 (B) where it lies on
A, and only B's inside reaches the overlap (1 + 2 = 3). In the raw labels of the regenerated
file, 84 % of 600 images hold pieces of label 1 apart from A's largest piece (14 % of their
A pixels), most of them just outside B (``benchmarks/raw_label_rings.py``).

A network that predicts the four classes directly has to learn each of those sums as its own
case. :class:`SummedMasks` lets it predict what the generator drew instead: per pixel, a
distribution over A's mask value ``a`` in {0, 1} and, independently, over B's ``b`` in
{0, 1, 2}; the class probabilities are those of the sum, ``P(k) = sum_{a + b = k}
P(a) P(b)``. Each mask is one fixed patch moved by whole pixels from one placement of a pair
to the next (``benchmarks/RESULTS.md``, session 45), where the labels' extents are not. The
module returns the log of the four class probabilities, so the softmax, the losses, the
decoding and the exports downstream see what they see from any network.

This is a model of Pommier's raw labels (``labels="raw"``). The cleaned labels
(``labels_cleaned``) take most of B's rim away from A (pieces of label 1 apart from A's body
in 14 % of the same 600 images), which no sum of the two masks gives.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SummedMasks", "summed_mask_log_probs", "MASK_MAPS"]

#: Maps the wrapped network returns: A's mask values 0 and 1, then B's 0, 1 and 2.
MASK_MAPS = 5


def summed_mask_log_probs(maps: torch.Tensor) -> torch.Tensor:
    """Log-probabilities of the four classes from the logits of the two masks' values.

    Parameters
    ----------
    maps : torch.Tensor
        ``(N, 5, H, W)`` logits: channels 0-1 A's mask value (0, 1), channels 2-4 B's (0, 1, 2).

    Returns
    -------
    torch.Tensor
        ``(N, 4, H, W)`` float32 log-probabilities of background, A, B and overlap: the
        distribution of ``a + b`` with ``a`` and ``b`` independent. Computed in float32 (also
        under bfloat16 autocast) and in log space, with ``logsumexp`` where two pairs of
        values give one class.
    """
    if maps.ndim != 4 or maps.shape[1] != MASK_MAPS:
        raise ValueError(
            f"summed masks need (N, {MASK_MAPS}, H, W) logits (A's 2 values, B's 3), got shape "
            f"{tuple(maps.shape)}."
        )
    maps = maps.float()
    log_a = torch.log_softmax(maps[:, :2], dim=1)
    log_b = torch.log_softmax(maps[:, 2:], dim=1)
    a0, a1 = log_a[:, 0], log_a[:, 1]
    b0, b1, b2 = log_b[:, 0], log_b[:, 1], log_b[:, 2]
    chromosome_a = torch.logsumexp(torch.stack([a1 + b0, a0 + b1]), dim=0)
    chromosome_b = torch.logsumexp(torch.stack([a0 + b2, a1 + b1]), dim=0)
    return torch.stack([a0 + b0, chromosome_a, chromosome_b, a1 + b2], dim=1)


class SummedMasks(nn.Module):
    """A network's five mask maps turned into the log-probabilities of the four classes.

    Parameters
    ----------
    network : torch.nn.Module
        Built with ``out_channels=5`` (:data:`MASK_MAPS`). A tuple of maps (deep supervision,
        final map first) becomes a tuple of class maps.

    Attributes
    ----------
    input_divisor : int
        The wrapped network's, so that the estimator pads as it would for the network alone.

    Notes
    -----
    Written by hand: no segmentation library models labels that are sums of masks. Used by
    ``ChromosomeSegmenter(label_model="summed_masks")``; the four-class output is the log of
    probabilities, whose softmax gives them back unchanged.
    """

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network
        self.input_divisor = int(getattr(network, "input_divisor", 1))

    def forward(self, x: torch.Tensor):
        maps = self.network(x)
        if isinstance(maps, (tuple, list)):
            return tuple(summed_mask_log_probs(each) for each in maps)
        return summed_mask_log_probs(maps)
