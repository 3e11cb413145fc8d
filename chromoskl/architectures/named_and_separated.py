"""Two heads on one network: one names A and B as the labels do, one only separates them.

On pairs it has not seen, a network trained on the labels as given (A the smaller chromosome
of the file) finds the overlap best but names A poorly, because it learns which chromosome is
the smaller by heart; one trained with the swap-invariant loss and A named by area names A
about as well on unseen pairs as on seen ones, and finds the overlap a little worse. On
Pommier's raw labels, 14 unseen pairs, 27.5 minutes each: overlap IoU 0.947 against 0.936,
A IoU 0.85 against 0.92 (``benchmarks/RESULTS.md``, session 49). Averaging one network of
each kept the overlap and named A better, at the cost of two networks.

:class:`NamedAndSeparated` puts both on one trunk. The wrapped network gives eight maps: the
four classes trained on the labels as given (the *named* head) and the four classes trained
swap-invariantly (the *separating* head, :class:`~chromoskl.losses.SwapInvariantLoss`). In
training, the module returns all eight, and
:class:`~chromoskl.losses.NamedAndSeparatedLoss` trains each head on its own loss. In
evaluation it returns the four classes: background and overlap are the named head's, and
the named head's chromosome probability (A + B) is shared between A and B in the proportion
that the separating head gives them once its smaller chromosome is called A, as
:func:`chromoskl.decoding.swap_channels_by_area` orders them. So the overlap is found as the
fixed labels find it and A is named by size, as the swap-invariant loss names it.

Not one of the papers' settings; written by hand, as no segmentation library has it.
"""

from __future__ import annotations

import torch
from torch import nn

from ..classes import BACKGROUND, CHROMOSOME_A, CHROMOSOME_B, N_CLASSES, OVERLAP

__all__ = ["NamedAndSeparated", "NAMED_AND_SEPARATED_MAPS", "named_and_separated_log_probs"]

#: Maps the wrapped network returns: the named head's four classes, then the separating head's.
NAMED_AND_SEPARATED_MAPS = 2 * N_CLASSES
# Probabilities are clamped to this before the log, so a class the heads rule out stays finite.
_TINY = 1e-12


def named_and_separated_log_probs(maps: torch.Tensor) -> torch.Tensor:
    """Log-probabilities of the four classes from the two heads' logits.

    Parameters
    ----------
    maps : torch.Tensor
        ``(N, 8, H, W)`` logits: channels 0-3 the named head's classes, 4-7 the separating
        head's.

    Returns
    -------
    torch.Tensor
        ``(N, 4, H, W)`` float32 log-probabilities. Background and overlap are the named head's
        softmax. Its chromosome probability ``p_A + p_B`` is split between A and B as the
        separating head's A and B are, after exchanging that head's A and B in the images
        where its argmax A has more pixels than its B. Computed in float32, also under
        bfloat16 autocast.
    """
    if maps.ndim != 4 or maps.shape[1] != NAMED_AND_SEPARATED_MAPS:
        raise ValueError(
            f"two heads need (N, {NAMED_AND_SEPARATED_MAPS}, H, W) logits (the named head's "
            f"{N_CLASSES} classes, then the separating head's), got shape {tuple(maps.shape)}."
        )
    maps = maps.float()
    named = torch.softmax(maps[:, :N_CLASSES], dim=1)
    separated = torch.softmax(maps[:, N_CLASSES:], dim=1)
    argmax = separated.argmax(dim=1)
    a_pixels = (argmax == CHROMOSOME_A).sum(dim=(1, 2))
    b_pixels = (argmax == CHROMOSOME_B).sum(dim=(1, 2))
    exchange = (a_pixels > b_pixels).view(-1, 1, 1)
    first, second = separated[:, CHROMOSOME_A], separated[:, CHROMOSOME_B]
    smaller = torch.where(exchange, second, first)
    larger = torch.where(exchange, first, second)
    share_of_a = smaller / (smaller + larger).clamp_min(_TINY)
    chromosome = named[:, CHROMOSOME_A] + named[:, CHROMOSOME_B]
    probs = torch.stack([
        named[:, BACKGROUND], chromosome * share_of_a, chromosome * (1 - share_of_a),
        named[:, OVERLAP],
    ], dim=1)
    return probs.clamp_min(_TINY).log()


class NamedAndSeparated(nn.Module):
    """A network's two heads: all eight maps in training, the four classes in evaluation.

    Parameters
    ----------
    network : torch.nn.Module
        Built with ``out_channels=8`` (:data:`NAMED_AND_SEPARATED_MAPS`). A tuple of maps
        (deep supervision, final map first) is returned as a tuple.

    Attributes
    ----------
    input_divisor : int
        The wrapped network's, so that the estimator pads as it would for the network alone.

    Notes
    -----
    Used by ``ChromosomeSegmenter(label_model="named_and_separated")``. Which of the two it
    returns follows ``self.training``: the estimator's training steps see the eight maps, and
    its validation pass, prediction, test-time augmentation and exported files the four
    classes, as log-probabilities, whose softmax gives the probabilities back unchanged.
    """

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network
        self.input_divisor = int(getattr(network, "input_divisor", 1))

    def forward(self, x: torch.Tensor):
        maps = self.network(x)
        if self.training:
            return maps
        if isinstance(maps, (tuple, list)):
            return tuple(named_and_separated_log_probs(each) for each in maps)
        return named_and_separated_log_probs(maps)
