"""U-Net with its depth and width as parameters."""

from __future__ import annotations

import torch
from torch import nn

from ..classes import N_CLASSES
from ._blocks import ConvBlock, UpConv, check_divisible, check_network_params

__all__ = ["UNet"]


class UNet(nn.Module):
    """U-Net for 4-class segmentation of overlapping chromosomes.

    An encoder of ``depth`` max-poolings whose levels have ``base_channels * 2**level``
    channels, a decoder of 2x2 transposed convolutions, and skip connections that concatenate
    encoder features into the decoder; a final 1x1 convolution gives the logits.

    The defaults (2 poolings, 64/128/256 channels) are the network of Hu et al. (2017), the
    first U-Net on Pommier's overlapping-chromosome data.

    Departures from Ronneberger et al. (2015): convolutions are padded ("same"), so the output
    has the input's size and no cropping of the skips is needed; batch normalisation follows
    each convolution by default (``batch_norm=False`` removes it).

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input image (1: the grey DAPI image).
    out_channels : int, default=4
        Classes: background, chromosome A, chromosome B, overlap.
    base_channels : int, default=64
        Channels of the first level; each pooling doubles them.
    depth : int, default=2
        Number of max-poolings (the bottleneck has ``base_channels * 2**depth`` channels).
    batch_norm : bool, default=True
    dropout : float, default=0.0
        Dropout after the bottleneck block.
    up_mode : {"transpose", "bilinear"}, default="transpose"

    Attributes
    ----------
    input_divisor : int
        Height and width of an input must be multiples of this (``2**depth``).

    Notes
    -----
    Subclasses change what the skips pass through (``_skip_path``) and what follows the
    bottleneck block (``_context``): ARMS Net and its ablations are built that way.

    References
    ----------
    O. Ronneberger, P. Fischer, T. Brox. U-Net: Convolutional Networks for Biomedical Image
    Segmentation. MICCAI 2015.
    R. L. Hu, J. Karnowski, R. Fadely, J.-P. Pommier. Image Segmentation to Distinguish
    Between Overlapping Human Chromosomes. NIPS 2017 Workshop on Machine Learning for Health.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = N_CLASSES,
        base_channels: int = 64,
        depth: int = 2,
        batch_norm: bool = True,
        dropout: float = 0.0,
        up_mode: str = "transpose",
    ) -> None:
        super().__init__()
        check_network_params(
            type(self).__name__, in_channels=in_channels, out_channels=out_channels,
            dropout=dropout, depth=depth, base_channels=base_channels,
        )
        widths = [base_channels * 2**level for level in range(depth + 1)]
        self.input_divisor = 2**depth
        self.encoder = nn.ModuleList()
        c_in = in_channels
        for width in widths[:-1]:
            self.encoder.append(ConvBlock(c_in, width, batch_norm))
            c_in = width
        self.skips = nn.ModuleList(
            self._skip_path(level, width, depth) for level, width in enumerate(widths[:-1])
        )
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = ConvBlock(widths[-2], widths[-1], batch_norm, dropout)
        self.context, c_bottom = self._context(widths[-1])
        self.ups = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for deep, shallow in zip([c_bottom, *widths[-2:0:-1]], widths[-2::-1]):
            self.ups.append(UpConv(deep, shallow, up_mode))
            self.decoder.append(ConvBlock(2 * shallow, shallow, batch_norm))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def _skip_path(self, level: int, channels: int, depth: int) -> nn.Module:
        """What the skip of encoder ``level`` passes through: nothing in U-Net."""
        return nn.Identity()

    def _context(self, channels: int) -> tuple[nn.Module, int]:
        """Modules after the bottleneck block and the channels leaving them: none in U-Net."""
        return nn.Sequential(), channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_divisible(x, self.input_divisor, type(self).__name__)
        skips = []
        for block, path in zip(self.encoder, self.skips):
            x = block(x)
            skips.append(path(x))
            x = self.pool(x)
        x = self.context(self.bottleneck(x))
        for up, block, skip in zip(self.ups, self.decoder, reversed(skips)):
            x = block(torch.cat([skip, up(x)], dim=1))
        return self.head(x)
