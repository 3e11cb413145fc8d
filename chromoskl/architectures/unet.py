"""U-Net with its depth and width as parameters."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from kornia.filters import MaxBlurPool2D
from torch import nn

from ..classes import N_CLASSES
from ._blocks import ConvBlock, UpConv, check_divisible, check_network_params, network_widths

__all__ = ["UNet"]

#: The down-sampling of each level, by ``pool`` name.
POOLS = {
    "max": lambda: nn.MaxPool2d(2),
    "maxblur": lambda: MaxBlurPool2D(kernel_size=3, stride=2, max_pool_size=2),
}


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
    channels : sequence of int or None, default=None
        Channels of each level, the first level first and the bottleneck last, for widths
        that do not double; then ``base_channels`` and ``depth`` are not used and there
        are ``len(channels) - 1`` max-poolings.
    batch_norm : bool, default=True
    dropout : float, default=0.0
        Dropout after the bottleneck block.
    up_mode : {"transpose", "bilinear"}, default="transpose"
    pool : {"max", "maxblur"}, default="max"
        How each level is down-sampled. ``"max"``: 2x2 max-pooling, as the papers. ``"maxblur"``:
        max-pooling at stride 1, then a 3x3 binomial blur at stride 2 (anti-aliased pooling,
        Zhang 2019, with :class:`kornia.filters.MaxBlurPool2D`), so that the network's output
        moves with its input more nearly for shifts that are not multiples of ``2**depth``.

    Attributes
    ----------
    input_divisor : int
        Height and width of an input must be multiples of this (``2**depth``).
    gates : torch.nn.ModuleList
        What each decoder level does to its skip before concatenating it, deepest first:
        ``gate(skip, upsampled)``, which returns the skip unchanged in U-Net (no weights).

    Notes
    -----
    ``base_channels``, ``depth`` and ``channels`` are the size parameters of every network
    in :mod:`chromoskl.architectures`. Subclasses change what the skips pass through on the
    way down (``_skip_path``), what follows the bottleneck block (``_context``) and how the
    decoder gates a skip before concatenating it (``_skip_gate``): ARMS Net and its
    ablations change the first two, Attention U-Net the third.

    References
    ----------
    O. Ronneberger, P. Fischer, T. Brox. U-Net: Convolutional Networks for Biomedical Image
    Segmentation. MICCAI 2015.
    R. L. Hu, J. Karnowski, R. Fadely, J.-P. Pommier. Image Segmentation to Distinguish
    Between Overlapping Human Chromosomes. NIPS 2017 Workshop on Machine Learning for Health.
    R. Zhang. Making Convolutional Networks Shift-Invariant Again. ICML 2019.
    """

    #: the channels of the published network, named by the error for a bad ``channels``
    published_channels: tuple[int, ...] = (64, 128, 256)

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = N_CLASSES,
        base_channels: int = 64,
        depth: int = 2,
        channels: Sequence[int] | None = None,
        batch_norm: bool = True,
        dropout: float = 0.0,
        up_mode: str = "transpose",
        pool: str = "max",
    ) -> None:
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"{type(self).__name__}: pool must be one of {sorted(POOLS)}, "
                             f"got {pool!r}.")
        check_network_params(
            type(self).__name__, in_channels=in_channels, out_channels=out_channels,
            dropout=dropout, depth=depth, base_channels=base_channels,
        )
        widths = network_widths(
            base_channels, depth, channels, published=self.published_channels
        )
        depth = len(widths) - 1
        self.input_divisor = 2**depth
        self.encoder = nn.ModuleList()
        c_in = in_channels
        for width in widths[:-1]:
            self.encoder.append(ConvBlock(c_in, width, batch_norm))
            c_in = width
        self.skips = nn.ModuleList(
            self._skip_path(level, width, depth) for level, width in enumerate(widths[:-1])
        )
        self.pool = POOLS[pool]()
        self.bottleneck = ConvBlock(widths[-2], widths[-1], batch_norm, dropout)
        self.context, c_bottom = self._context(widths[-1])
        self.ups = nn.ModuleList()
        self.gates = nn.ModuleList()  # deepest first, as the decoder
        self.decoder = nn.ModuleList()
        for deep, shallow in zip([c_bottom, *widths[-2:0:-1]], widths[-2::-1]):
            self.ups.append(UpConv(deep, shallow, up_mode))
            self.gates.append(self._skip_gate(shallow, batch_norm))
            self.decoder.append(ConvBlock(2 * shallow, shallow, batch_norm))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def _skip_path(self, level: int, channels: int, depth: int) -> nn.Module:
        """What the skip of encoder ``level`` passes through: nothing in U-Net."""
        return nn.Identity()

    def _context(self, channels: int) -> tuple[nn.Module, int]:
        """Modules after the bottleneck block and the channels leaving them: none in U-Net."""
        return nn.Sequential(), channels

    def _skip_gate(self, channels: int, batch_norm: bool) -> nn.Module:
        """What the decoder does to a skip of ``channels`` channels, called as
        ``gate(skip, upsampled)`` before the two are concatenated: nothing in U-Net."""
        return _Ungated()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_divisible(x, self.input_divisor, type(self).__name__)
        skips = []
        for block, path in zip(self.encoder, self.skips):
            x = block(x)
            skips.append(path(x))
            x = self.pool(x)
        x = self.context(self.bottleneck(x))
        for up, gate, block, skip in zip(self.ups, self.gates, self.decoder, reversed(skips)):
            x = up(x)
            x = block(torch.cat([gate(skip, x), x], dim=1))
        return self.head(x)


class _Ungated(nn.Module):
    """U-Net's skip, concatenated as it is: ``gate(skip, upsampled)`` returns ``skip``."""

    def forward(self, skip: torch.Tensor, upsampled: torch.Tensor) -> torch.Tensor:
        return skip
