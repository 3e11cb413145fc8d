"""Test-time augmentation: the mean probability over the 8 flips and quarter turns.

A segmentation of a flipped or turned image, turned back, is as good a guess as the
segmentation of the image itself; averaging the 8 (the dihedral group of the square) removes
the part of the network's error that is not equivariant. Written by hand: 8 calls of
``torch.rot90``/``torch.flip`` and their inverses.
"""

from __future__ import annotations

import torch

__all__ = ["dihedral", "undo_dihedral", "dihedral_mean_log_proba"]


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th (0..7) of the 8 flips/rotations by 90 degrees of the last two axes."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


def undo_dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The inverse of :func:`dihedral`."""
    if k >= 4:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, -(k % 4), dims=(-2, -1))


def dihedral_mean_log_proba(forward, x: torch.Tensor) -> torch.Tensor:
    """The log of the mean class probability over the 8 transforms of the batch ``x``.

    ``forward`` maps (N, C, H, W) images to logits (or a tuple of maps, the final one
    first). A log, so that a softmax of the result returns the mean.
    """
    total = 0.0
    for k in range(8):
        logits = forward(dihedral(x, k))
        logits = logits[0] if isinstance(logits, tuple) else logits
        total = total + undo_dihedral(torch.softmax(logits, dim=1), k)
    return torch.log((total / 8).clamp_min(1e-12))
