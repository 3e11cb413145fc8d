"""Test-time augmentation: the mean probability over views of each image.

A segmentation of a transformed image, transformed back, is another guess at the same
segmentation; averaging several removes the part of the network's error that does not move
with the transform. Two sets of views:

- ``"dihedral"`` (or ``True``): the 8 flips and quarter turns (the dihedral group of the
  square). It suits networks trained on those views; a network trained without them scores
  lower on them, and the mean then loses (``benchmarks/RESULTS.md``, issue 9).
- ``"shifts"``: the 9 translations by at most one pixel in each direction. A U-Net's
  max-pooling answers a one-pixel shift with other pooled features (its output is not
  translation-equivariant, Zhang 2019), so each shift is a slightly different guess; and an
  image moved by one pixel is as likely an input as the image itself, so the views need no
  training of their own. On Pommier's pairs they raised the overlap IoU of every network
  tried: five trained without augmentation by 0.002-0.004, two trained on one-pixel shifts
  by 0.002.

Written by hand: a few calls of ``torch.rot90``/``torch.flip``/``F.pad`` and their inverses
(kornia's ``AugmentationSequential`` draws random views, not a fixed set with exact inverses).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["tta_kind", "dihedral", "undo_dihedral", "shifted", "SHIFTS", "mean_log_proba"]

#: The (rows, columns) offsets of the ``"shifts"`` views.
SHIFTS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def tta_kind(tta) -> str | None:
    """``None``, ``"dihedral"`` or ``"shifts"`` for a ``tta`` parameter.

    Raises
    ------
    ValueError
        For anything but False (or None), True, ``"dihedral"`` or ``"shifts"``, with the
        choices in the message.
    """
    if isinstance(tta, str):
        if tta in ("dihedral", "shifts"):
            return tta
    elif tta is None or isinstance(tta, (bool, np.bool_)):
        return "dihedral" if tta else None
    raise ValueError(
        f"tta must be False, True (the same as 'dihedral'), 'dihedral' (the 8 flips and "
        f"rotations by 90 degrees) or 'shifts' (the 9 one-pixel shifts), got {tta!r}."
    )


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th (0..7) of the 8 flips/rotations by 90 degrees of the last two axes."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


def undo_dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The inverse of :func:`dihedral`."""
    if k >= 4:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, -(k % 4), dims=(-2, -1))


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``x`` (N, C, H, W) moved ``dy`` rows down and ``dx`` columns right, at the same size.

    The rows and columns that come in repeat the edge (background, for an image or a content
    box with background at its border); those pushed out are lost, so ``shifted(shifted(x,
    dy, dx), -dy, -dx)`` equals ``x`` except within ``|dy|``/``|dx|`` pixels of the edge.
    """
    height, width = x.shape[-2], x.shape[-1]
    pad_y, pad_x = abs(dy), abs(dx)
    padded = F.pad(x, [pad_x, pad_x, pad_y, pad_y], mode="replicate") if pad_y or pad_x else x
    top, left = pad_y - dy, pad_x - dx
    return padded[..., top:top + height, left:left + width]


def _views(kind: str):
    """(transform, inverse) pairs of the views of ``kind``."""
    if kind == "dihedral":
        return [(lambda x, k=k: dihedral(x, k), lambda p, k=k: undo_dihedral(p, k))
                for k in range(8)]
    return [(lambda x, s=s: shifted(x, *s), lambda p, s=s: shifted(p, -s[0], -s[1]))
            for s in SHIFTS]


def mean_log_proba(forward, x: torch.Tensor, kind: str) -> torch.Tensor:
    """The log of the mean class probability over the views of ``kind`` of the batch ``x``.

    ``forward`` maps (N, C, H, W) images to logits (or a tuple of maps, the final one
    first). A log, so that a softmax of the result returns the mean.
    """
    views = _views(kind)
    total = 0.0
    for transform, inverse in views:
        logits = forward(transform(x))
        logits = logits[0] if isinstance(logits, tuple) else logits
        total = total + inverse(torch.softmax(logits.float(), dim=1))
    return torch.log((total / len(views)).clamp_min(1e-12))
