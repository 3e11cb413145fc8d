"""Attention U-Net: a U-Net whose skip connections pass through additive attention gates."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ..classes import N_CLASSES
from ._blocks import AttentionGate
from .unet import UNet

__all__ = ["AttentionUNet"]


class AttentionUNet(UNet):
    """Attention U-Net for 4-class segmentation of overlapping chromosomes.

    A U-Net (encoder of double 3x3 convolutions and 2x2 max-poolings, decoder of 2x2
    transposed convolutions and double convolutions) in which every skip connection is
    multiplied by the coefficients of an :class:`~chromoskl.architectures._blocks.AttentionGate`
    before it is concatenated; the gating signal is the coarser decoder level after its
    transposed convolution. A final 1x1 convolution gives the logits. It is
    :class:`~chromoskl.architectures.unet.UNet` with one change, its ``_skip_gate`` hook
    (as ARMS Net changes U-Net's skip paths and bottleneck); the weights of the U-Net part
    have the same names as in U-Net.

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
    base_channels : int, default=64
        Channels of the first level; each pooling doubles them.
    depth : int, default=2
        Number of max-poolings (the bottleneck has ``base_channels * 2**depth`` channels).
    channels : sequence of int or None, default=None
        Channels of each encoder level, the last being the bottleneck, for widths that do
        not double; the decoder uses them in reverse, without the bottleneck. Then
        ``base_channels`` and ``depth`` are not used and there are ``len(channels) - 1``
        max-poolings.
    batch_norm : bool, default=True
        Batch normalisation after every convolution, attention gates included.
    dropout : float, default=0.0
        Dropout after the bottleneck block.
    up_mode : {"transpose", "bilinear"}, default="transpose"
        The thesis's 2x2 transposed convolution, or bilinear upsampling and a 1x1
        convolution.

    Attributes
    ----------
    input_divisor : int
        Height and width of an input must be multiples of this (``2**depth``).
    gates : torch.nn.ModuleList
        The attention gates, deepest first. Their coefficients are seen by a forward hook
        (:func:`chromoskl.architectures.record`).

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
        base_channels: int = 64,
        depth: int = 2,
        channels: Sequence[int] | None = None,
        batch_norm: bool = True,
        dropout: float = 0.0,
        up_mode: str = "transpose",
    ) -> None:
        super().__init__(
            in_channels=in_channels, out_channels=out_channels, base_channels=base_channels,
            depth=depth, channels=channels, batch_norm=batch_norm, dropout=dropout,
            up_mode=up_mode,
        )

    def _skip_gate(self, channels: int, batch_norm: bool) -> nn.Module:
        """An attention gate on the skip, gated by the upsampled coarser level."""
        return AttentionGate(channels, channels, batch_norm=batch_norm)
