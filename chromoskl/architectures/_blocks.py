"""Building blocks shared by the architectures.

Each block is a small ``nn.Module``; the networks in this package are assembled from them
so that a change to, say, the double convolution reaches every network that uses it.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ConvBlock", "UpConv", "check_divisible"]


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
