"""Building blocks shared by the architectures.

Each block is a small ``nn.Module``; the networks in this package are assembled from them
so that a change to, say, the double convolution reaches every network that uses it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = [
    "AttentionGate",
    "ConvBlock",
    "UpConv",
    "check_divisible",
    "check_network_params",
    "level_widths",
    "network_widths",
    "MAX_DEPTH",
]

#: The most poolings a network may have: an input divisor of 2**8 = 256 already pads 94x93
#: images to 256x256.
MAX_DEPTH = 8


class ConvBlock(nn.Sequential):
    """Two 3x3 convolutions, each followed by batch normalisation (optional) and ReLU.

    The double convolution of U-Net (Ronneberger et al., 2015), with ``padding=1`` so that the
    spatial size is kept (the original used unpadded convolutions and cropped the skips).

    Parameters
    ----------
    in_channels : int
    out_channels : int
    batch_norm : bool, default=True
        Insert ``BatchNorm2d`` after each convolution (the convolution then has no bias).
    dropout : float, default=0.0
        Dropout probability applied after the block (``Dropout2d``); 0 disables it.
    """

    def __init__(
        self, in_channels: int, out_channels: int, batch_norm: bool = True, dropout: float = 0.0
    ) -> None:
        layers: list[nn.Module] = []
        for c_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        super().__init__(*layers)


class UpConv(nn.Module):
    """Double the spatial size: a 2x2 transposed convolution, or bilinear upsampling + 1x1 conv.

    Parameters
    ----------
    in_channels : int
    out_channels : int
    mode : {"transpose", "bilinear"}, default="transpose"
    """

    def __init__(self, in_channels: int, out_channels: int, mode: str = "transpose") -> None:
        super().__init__()
        if mode == "transpose":
            self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        elif mode == "bilinear":
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, out_channels, 1),
            )
        else:
            raise ValueError(f"mode must be 'transpose' or 'bilinear', got {mode!r}.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x)


class AttentionGate(nn.Module):
    """Additive attention gate: weight a skip connection by coefficients in [0, 1].

    ``alpha = sigmoid(psi(relu(W_x x + W_g g)))`` (Oktay et al.; eq. 1-2 of Zhang's improved
    UNet++; Fig. 9 of the thesis) and the output is ``x * alpha``, where ``x``
    is the skip connection (encoder features), ``g`` the gating signal from the coarser
    level, and ``W_x``, ``W_g``, ``psi`` are 1x1 convolutions (``psi`` has one output
    channel, so one coefficient per pixel is shared by all channels of ``x``).

    The gating signal must already have the skip's height and width: the networks pass the
    coarser features after the decoder's 2x2 transposed convolution, as MONAI's
    ``attentionunet.py`` does. Oktay et al. instead keep ``g`` at the coarse resolution,
    subsample ``x`` by a stride-2 ``W_x``, and upsample ``alpha`` bilinearly; they also add
    a 1x1 convolution with batch normalisation after the product, which is left out here.
    With ``batch_norm=True``, each of the three convolutions is followed by
    ``BatchNorm2d`` (as in MONAI); without it, ``W_g`` and ``psi`` carry a bias.

    Parameters
    ----------
    skip_channels : int
        Channels of ``x``; the output has the same number.
    gate_channels : int
        Channels of ``g``.
    inter_channels : int or None, default=None
        Channels of the intermediate map (``F_int`` in Oktay et al.); ``None`` uses
        ``max(skip_channels // 2, 1)``.
    batch_norm : bool, default=True

    Attributes
    ----------
    sigmoid : torch.nn.Sigmoid
        Gives the coefficients ``alpha``, of shape (N, 1, H, W) with the skip's H and W: a
        forward hook on it sees them (:func:`chromoskl.architectures.record` does that).

    Raises
    ------
    ValueError
        In ``forward``, when ``x`` and ``g`` differ in batch size, height or width.

    References
    ----------
    O. Oktay, J. Schlemper, L. Le Folgoc, et al. Attention U-Net: Learning Where to Look
    for the Pancreas. MIDL 2018, arXiv:1804.03999.
    """

    def __init__(
        self,
        skip_channels: int,
        gate_channels: int,
        inter_channels: int | None = None,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        inter = max(skip_channels // 2, 1) if inter_channels is None else inter_channels
        self.w_x = _conv1x1(skip_channels, inter, batch_norm, bias=False)
        self.w_g = _conv1x1(gate_channels, inter, batch_norm, bias=True)
        self.psi = _conv1x1(inter, 1, batch_norm, bias=True)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        if x.shape[0] != g.shape[0] or x.shape[-2:] != g.shape[-2:]:
            raise ValueError(
                f"AttentionGate needs a gating signal with the skip's batch size, height and "
                f"width, got skip {tuple(x.shape)} and gate {tuple(g.shape)}; upsample the "
                "gating signal first (e.g. with UpConv)."
            )
        alpha = self.sigmoid(self.psi(torch.relu(self.w_x(x) + self.w_g(g))))
        return x * alpha


def _conv1x1(in_channels: int, out_channels: int, batch_norm: bool, bias: bool) -> nn.Module:
    """A 1x1 convolution, followed by batch normalisation (and then without a bias) or not."""
    if not batch_norm:
        return nn.Conv2d(in_channels, out_channels, 1, bias=bias)
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)
    )


def check_divisible(x: torch.Tensor, divisor: int, name: str) -> None:
    """Raise a ``ValueError`` that names the padded size when H or W is not a multiple."""
    h, w = x.shape[-2:]
    if h % divisor or w % divisor:
        good_h = -(-h // divisor) * divisor
        good_w = -(-w // divisor) * divisor
        raise ValueError(
            f"{name} needs height and width divisible by {divisor}, got {h}x{w}. Pad the input "
            f"to {good_h}x{good_w} (chromoskl.transformers.PadToShape), or let "
            "ChromosomeSegmenter pad it for you."
        )


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_network_params(
    name: str, *, in_channels, out_channels, dropout=0.0, depth=None, **widths
) -> None:
    """One ValueError for the constructor parameters of a network that cannot work.

    ``widths`` are further channel counts (``base_channels=...``) that must be positive
    integers. The message names every bad value and the values that work.
    """
    problems = []
    for label, value in (("in_channels", in_channels), ("out_channels", out_channels),
                         *widths.items()):
        if not _is_int(value) or value < 1:
            problems.append(f"{label} must be a positive integer, got {value!r}")
    if depth is not None and (not _is_int(depth) or not 1 <= depth <= MAX_DEPTH):
        problems.append(
            f"depth must be an integer from 1 to {MAX_DEPTH} (each level halves the image; "
            f"94x93 images suit 2 to 5), got {depth!r}"
        )
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float, np.floating)) or not (
        0.0 <= dropout < 1.0
    ):
        problems.append(f"dropout must be a probability in [0, 1), got {dropout!r}")
    if problems:
        raise ValueError(f"Invalid {name} parameters: " + "; ".join(problems) + ".")


def network_widths(
    base_channels: int, depth: int, channels, published: tuple[int, ...]
) -> list[int]:
    """Channels of every level, the first level first: the size parameters every network
    of this package shares.

    ``base_channels * 2**level`` for ``level = 0 .. depth`` (each halving of the map doubles
    the channels), unless ``channels`` gives them level by level (then ``base_channels``
    and ``depth`` are not used). ``base_channels`` and ``depth`` must already be checked
    (:func:`check_network_params`); ``channels`` is checked here (:func:`level_widths`).
    """
    if channels is None:
        return [int(base_channels) * 2**level for level in range(int(depth) + 1)]
    return level_widths(channels, published)


def level_widths(channels, published: tuple[int, ...]) -> list[int]:
    """Channels per level as ints; at least two levels (one pooling), at most
    ``MAX_DEPTH + 1``, each a positive integer; else a ValueError that names the
    ``published`` configuration."""
    channels = tuple(channels) if isinstance(channels, (list, tuple)) else (channels,)
    if len(channels) < 2 or len(channels) > MAX_DEPTH + 1 or not all(
        _is_int(c) and c >= 1 for c in channels
    ):
        raise ValueError(
            f"channels must give at least two levels and at most {MAX_DEPTH + 1} (one pooling "
            f"between levels), each a positive integer, got {channels!r}; the published "
            f"network uses {published}."
        )
    return [int(c) for c in channels]
