"""CE-Net: a ResNet-34-style encoder, DAC and RMP context blocks, and an added-skip decoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..classes import N_CLASSES
from ._blocks import MAX_DEPTH, check_divisible, check_network_params, network_widths
from ._context import DAC, RMP

__all__ = ["CENet"]


class _BasicBlock(nn.Module):
    """ResNet's basic block: two 3x3 conv + BN, with a (projected) identity shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


def _encoder_stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    """``blocks`` basic blocks, the first one changing width and stride."""
    layers = [_BasicBlock(in_channels, out_channels, stride)]
    layers += [_BasicBlock(out_channels, out_channels) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class _DecoderBlock(nn.Sequential):
    """CE-Net decoder block: 1x1 conv, 3x3 transposed conv (stride 2), 1x1 conv; BN + ReLU each."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        mid = max(1, in_channels // 4)
        super().__init__(
            nn.Conv2d(in_channels, mid, 1),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(mid, mid, 3, stride=2, padding=1, output_padding=1),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, 1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class CENet(nn.Module):
    """CE-Net (Context Encoder Network) for 4-class segmentation of overlapping chromosomes.

    A ResNet-34-style encoder (stem: 7x7 convolution of stride 2, batch norm, ReLU, 3x3
    max-pool of stride 2; then ``depth + 1`` stages of basic residual blocks, four of
    3/4/6/3 blocks and 64/128/256/512 channels by default, all but the first halving the
    size), a context extractor at the bottom (the dense atrous
    convolution block :class:`~chromoskl.architectures._context.DAC`, then residual
    multi-kernel pooling :class:`~chromoskl.architectures._context.RMP`), and a decoder of
    blocks (1x1 conv -> 3x3 transposed conv of stride 2 -> 1x1 conv) whose outputs are
    *added* to the encoder features of the same size. A 4x4 transposed convolution of stride 2
    and two 3x3 convolutions (half the first stage's width, 32 by default) give the logits at
    the input size. The layout follows the authors' published code (Guzaiwang/CE-Net, ``CE_Net_``).

    Departures from Gu et al. (2019):

    - trained from scratch on one grey channel, without ImageNet weights: the images have a
      single channel (not RGB), nothing can be downloaded where this runs, and the thesis
      this library serves trained CE-Net from scratch;
    - ``forward`` returns logits, not sigmoid probabilities (the estimator applies softmax
      over the classes);
    - RMP pools larger than the bottom feature map are clamped to it (a 96x96 input gives
      a 3x3 map, smaller than the pools of 5 and 6);
    - widths, number of stages and blocks per stage are parameters, so that tests can build a
      tiny network; ``base_channels`` and ``depth`` mean what they mean in the U-Nets (the
      first stage's channels, doubled at each of the ``depth`` halvings between stages).

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input image (1: the grey DAPI image).
    out_channels : int, default=4
        Classes: background, chromosome A, chromosome B, overlap.
    base_channels : int, default=64
        Channels of the first encoder stage (ResNet-34's 64); each further stage doubles them.
    depth : int, default=3
        Halvings between the first and the last encoder stage: ``depth + 1`` stages
        (ResNet-34's four). The stem halves the image twice more.
    channels : sequence of int or None, default=None
        Channels of each encoder stage, for widths that do not double; then
        ``base_channels`` and ``depth`` are not used and there are ``len(channels)`` stages.
    blocks : sequence of int, default=(3, 4, 6, 3)
        Basic residual blocks per encoder stage (ResNet-34's), one count per stage.

    Attributes
    ----------
    input_divisor : int
        Height and width of an input must be multiples of this (``2**(depth + 2)``: 32, five
        halvings, by default).

    Raises
    ------
    ValueError
        If ``channels`` and ``blocks`` do not give one positive integer per stage.

    References
    ----------
    Z. Gu, J. Cheng, H. Fu, K. Zhou, H. Hao, Y. Zhao, T. Zhang, S. Gao, J. Liu. CE-Net:
    Context Encoder Network for 2D Medical Image Segmentation. IEEE Transactions on Medical
    Imaging 38(10), 2019. https://github.com/Guzaiwang/CE-Net
    K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. CVPR 2016.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = N_CLASSES,
        base_channels: int = 64,
        depth: int = 3,
        channels: Sequence[int] | None = None,
        blocks: Sequence[int] = (3, 4, 6, 3),
    ) -> None:
        super().__init__()
        check_network_params(
            type(self).__name__, in_channels=in_channels, out_channels=out_channels,
            depth=depth, base_channels=base_channels,
        )
        if channels is None:
            channels = network_widths(base_channels, depth, None, published=_RESNET34_WIDTHS)
        channels, blocks = _check_stages(channels, blocks)
        self.input_divisor = 2 ** (len(channels) + 1)
        c1 = channels[0]
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c1, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(c1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        self.encoder = nn.ModuleList(
            _encoder_stage(c_in, c_out, n, stride=1 if i == 0 else 2)
            for i, (c_in, c_out, n) in enumerate(zip((c1, *channels[:-1]), channels, blocks))
        )
        bottom = channels[-1]
        self.dac = DAC(bottom)
        self.rmp = RMP(bottom)
        # one block per stage, deepest first; the last one keeps the first stage's width
        widths_in = (bottom + self.rmp.out_channels_added, *channels[-2::-1])
        widths_out = (*channels[-2::-1], c1)
        self.decoder = nn.ModuleList(
            _DecoderBlock(c_in, c_out) for c_in, c_out in zip(widths_in, widths_out)
        )
        head = max(1, c1 // 2)
        self.head = nn.Sequential(
            nn.ConvTranspose2d(c1, head, 4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(head, head, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(head, out_channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_divisible(x, self.input_divisor, type(self).__name__)
        x = self.stem(x)
        features = []
        for stage in self.encoder:
            x = stage(x)
            features.append(x)
        x = self.rmp(self.dac(x))
        for block, skip in zip(self.decoder[:-1], reversed(features[:-1])):
            x = block(x) + skip
        return self.head(self.decoder[-1](x))


_RESNET34_WIDTHS = (64, 128, 256, 512)


def _check_stages(channels: Sequence[int], blocks: Sequence[int]) -> tuple[tuple, tuple]:
    """Validate the stage widths and block counts: one positive integer of each per stage."""
    channels, blocks = tuple(channels), tuple(blocks)
    for name, values in (("channels", channels), ("blocks", blocks)):
        if not 2 <= len(values) <= MAX_DEPTH + 1 or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values
        ):
            raise ValueError(
                f"{name} must be positive integers, one per encoder stage (2 to {MAX_DEPTH + 1} "
                f"stages; ResNet-34's are four positive integers: channels={_RESNET34_WIDTHS}, "
                f"blocks=(3, 4, 6, 3)), got {values!r}."
            )
    if len(channels) != len(blocks):
        raise ValueError(
            f"blocks must give one count per encoder stage, {len(channels)} here (depth + 1), "
            f"got {blocks!r} for the stages of channels={channels!r}; ResNet-34's are four "
            f"positive integers: channels={_RESNET34_WIDTHS}, blocks=(3, 4, 6, 3)."
        )
    return channels, blocks
