"""Attention U-Net: a U-Net whose skip connections pass through additive attention gates."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..classes import N_CLASSES
from ._blocks import (
    AttentionGate,
    ConvBlock,
    UpConv,
    check_divisible,
    check_network_params,
    level_widths,
)

__all__ = ["AttentionUNet"]


class AttentionUNet(nn.Module):
    """Attention U-Net for 4-class segmentation of overlapping chromosomes.

    A U-Net (encoder of double 3x3 convolutions and 2x2 max-poolings, decoder of 2x2
    transposed convolutions and double convolutions) in which every skip connection is
    multiplied by the coefficients of an :class:`~chromoskl.architectures._blocks.AttentionGate`
    before it is concatenated; the gating signal is the coarser decoder level after its
    transposed convolution. A final 1x1 convolution gives the logits.

    The defaults are the network of the thesis (Lemma 2023, Table 1 and section 4.4) on
    Pommier's data, checked against its text: encoder filters 64/128/256 (three blocks of two
    3x3 convolutions with ReLU, 2x2 max-pooling between them: 2 poolings), decoder filters
    128/64 (two blocks, each a 2x2 transposed convolution, an attention gate on the skip,
    concatenation, two 3x3 convolutions with ReLU), a final 1x1 convolution to 4 output
    channels, sigmoid in the attention gates; inputs of 88x88 (a multiple of
    ``input_divisor`` = 4). The thesis trains it with MSE (``criterion="mse"``) and reports a
    validation IoU of 97.23 % (its Table 2).

    Departures from the thesis and from Oktay et al. (2018): 2D instead of 3D; padded
    ("same") convolutions, so the output has the input's size (the thesis does not say);
    the gate takes the upsampled gating signal at the skip's resolution (MONAI's variant)
    rather than subsampling the skip by a strided ``W_x``, as the thesis's Fig. 9 and Oktay
    et al. do, and has no output 1x1 convolution; no deep supervision; batch normalisation
    after each convolution by default (the thesis names none; ``batch_norm=False`` removes
    it); the thesis's ``inter_channel`` of the gates is not given, here half the skip's
    channels.

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input image (1: the grey DAPI image).
    out_channels : int, default=4
        Classes: background, chromosome A, chromosome B, overlap.
    channels : sequence of int, default=(64, 128, 256)
        Channels of each encoder level, the last being the bottleneck; the decoder uses them
        in reverse, without the bottleneck. ``len(channels) - 1`` max-poolings.
    batch_norm : bool, default=True
        Batch normalisation after every convolution, attention gates included.
    dropout : float, default=0.0
        Dropout after the bottleneck block.

    Attributes
    ----------
    input_divisor : int
        Height and width of an input must be multiples of this (``2**(len(channels) - 1)``).
    gates : torch.nn.ModuleList
        The attention gates, deepest first; each keeps its ``last_coefficients``.

    Raises
    ------
    ValueError
        If ``channels`` has fewer than two entries; in ``forward``, if the input's height or
        width is not a multiple of ``input_divisor``.

    References
    ----------
    S. Lemma. Detecting overlapping gene regions using the U-Net attention mechanism.
    Master's paper, Minnesota State University, Mankato, 2023; Table 1, sections 4.3-4.4.
    O. Oktay, J. Schlemper, L. Le Folgoc, et al. Attention U-Net: Learning Where to Look
    for the Pancreas. MIDL 2018, arXiv:1804.03999.
    O. Ronneberger, P. Fischer, T. Brox. U-Net: Convolutional Networks for Biomedical Image
    Segmentation. MICCAI 2015.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = N_CLASSES,
        channels: Sequence[int] = (64, 128, 256),
        batch_norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_network_params(
            type(self).__name__, in_channels=in_channels, out_channels=out_channels,
            dropout=dropout,
        )
        widths = level_widths(channels, published=(64, 128, 256))
        self.input_divisor = 2 ** (len(widths) - 1)
        self.encoder = nn.ModuleList()
        c_in = in_channels
        for width in widths[:-1]:
            self.encoder.append(ConvBlock(c_in, width, batch_norm))
            c_in = width
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = ConvBlock(widths[-2], widths[-1], batch_norm, dropout)
        self.ups = nn.ModuleList()
        self.gates = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for deep, shallow in zip(widths[:0:-1], widths[-2::-1]):
            self.ups.append(UpConv(deep, shallow))
            self.gates.append(AttentionGate(shallow, shallow, batch_norm=batch_norm))
            self.decoder.append(ConvBlock(2 * shallow, shallow, batch_norm))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_divisible(x, self.input_divisor, type(self).__name__)
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, gate, block, skip in zip(self.ups, self.gates, self.decoder, reversed(skips)):
            g = up(x)
            x = block(torch.cat([gate(skip, g), g], dim=1))
        return self.head(x)
