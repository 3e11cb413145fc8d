"""Context (bottleneck) blocks and residual skip paths shared by CE-Net, ARMS Net and its ablations.

Blocks whose sizes depend on the feature map (the clamped pools of :class:`RMP`, and ARMS Net's
AMAC and ASSP in ``_adaptive``) compute them in ``forward`` from the map actually seen, so that
one fitted network serves inputs of several sizes. A pure method (``kernel_sizes_for``,
``rates_for``) gives them for a map size, and :func:`chromoskl.architectures.record` collects
them during a forward pass from hooks; nothing is written on the block in ``forward``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ResidualBlock",
    "ResPath",
    "DAC",
    "RMP",
    "PPM",
]


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _upsample_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


# --------------------------------------------------------------------------- residual paths


class ResidualBlock(nn.Module):
    """One unit of MultiResUNet's Res Path: a 3x3 convolution with a 1x1 convolution shortcut.

    The main branch is conv 3x3 -> BN -> ReLU, the shortcut conv 1x1 -> BN; their sum goes
    through ReLU then BN, the order of the published Keras code (``ResPath`` of Ibtehaz &
    Rahman).

    Parameters
    ----------
    in_channels : int
    out_channels : int

    References
    ----------
    N. Ibtehaz, M. S. Rahman. MultiResUNet: Rethinking the U-Net architecture for multimodal
    biomedical image segmentation. Neural Networks 121, 2020.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)
        )
        self.out = nn.Sequential(nn.ReLU(inplace=True), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.conv(x) + self.shortcut(x))


class ResPath(nn.Sequential):
    """MultiResUNet's Res Path: a chain of ``length`` :class:`ResidualBlock` units.

    It replaces a plain U-Net skip so that the shallow encoder features pass through some
    further processing before they meet the deeper decoder features. ARMS Net uses 4, 3, 2
    and 1 units at the levels of 32, 64, 128 and 256 channels (its Res Paths I-IV, Table 1:
    each unit a 3x3 convolution with a 1x1 convolution).

    Parameters
    ----------
    channels : int
        Channels in and out (the width of the encoder level).
    length : int, default=1
        Number of residual units.

    References
    ----------
    N. Ibtehaz, M. S. Rahman. MultiResUNet. Neural Networks 121, 2020.
    G. Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 2021; Table 1.
    """

    def __init__(self, channels: int, length: int = 1) -> None:
        _check_positive("length", length)
        super().__init__(*(ResidualBlock(channels, channels) for _ in range(length)))


# --------------------------------------------------------------------------- CE-Net


class DAC(nn.Module):
    """CE-Net's dense atrous convolution block; keeps channels and spatial size.

    Four cascaded branches, ``relu`` of

    1. ``d1(x)``
    2. ``c(d3(x))``
    3. ``c(d3(d1(x)))``
    4. ``c(d5(d3(d1(x))))``

    are added to the input, where ``d1``, ``d3``, ``d5`` are 3x3 convolutions with dilation
    1, 3, 5 and ``c`` a 1x1 convolution. As in the published code (Guzaiwang/CE-Net,
    ``DACblock``) each of the four convolutions is one module shared by every branch that uses
    it, and its bias starts at zero.

    Parameters
    ----------
    channels : int

    References
    ----------
    Z. Gu et al. CE-Net: Context Encoder Network for 2D Medical Image Segmentation.
    IEEE Transactions on Medical Imaging 38(10), 2019.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.dilate1 = nn.Conv2d(channels, channels, 3, padding=1, dilation=1)
        self.dilate3 = nn.Conv2d(channels, channels, 3, padding=3, dilation=3)
        self.dilate5 = nn.Conv2d(channels, channels, 3, padding=5, dilation=5)
        self.conv1x1 = nn.Conv2d(channels, channels, 1)
        for conv in (self.dilate1, self.dilate3, self.dilate5, self.conv1x1):
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.dilate1(x)
        b = self.dilate3(a)
        branches = (
            a,
            self.conv1x1(self.dilate3(x)),
            self.conv1x1(b),
            self.conv1x1(self.dilate5(b)),
        )
        return x + sum(F.relu(branch) for branch in branches)


class RMP(nn.Module):
    """CE-Net's residual multi-kernel pooling: pooled context maps appended to the input.

    Max-pools of sizes 2, 3, 5 and 6 (stride equal to the size), each followed by a 1x1
    convolution to one channel (one convolution shared by the four pools, as in the published
    code) and bilinear upsampling back to the input size; the four maps are concatenated
    with the input, giving ``channels + len(pool_sizes)`` channels.

    Departure: a pool larger than the feature map is clamped to the map (per axis), so
    that small inputs work (a 96x96 image gives a 3x3 map at the bottom of CE-Net, where
    pools of 5 and 6 would fail); the clamped pool is then a global max over that axis.
    :meth:`kernel_sizes_for` gives the pool sizes of a map size.

    Parameters
    ----------
    channels : int
    pool_sizes : sequence of int, default=(2, 3, 5, 6)

    References
    ----------
    Z. Gu et al. CE-Net. IEEE Transactions on Medical Imaging 38(10), 2019.
    """

    def __init__(self, channels: int, pool_sizes: Sequence[int] = (2, 3, 5, 6)) -> None:
        super().__init__()
        for size in pool_sizes:
            _check_positive("pool size", size)
        self.pool_sizes = tuple(pool_sizes)
        self.conv = nn.Conv2d(channels, 1, 1)

    @property
    def out_channels_added(self) -> int:
        """Channels appended to the input."""
        return len(self.pool_sizes)

    def kernel_sizes_for(self, h: int, w: int) -> tuple[tuple[int, int], ...]:
        """The (height, width) of each pool for an ``h`` x ``w`` input map, clamped to it."""
        return tuple((min(k, h), min(k, w)) for k in self.pool_sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        kernels = self.kernel_sizes_for(h, w)
        maps = [_upsample_to(self.conv(F.max_pool2d(x, k, stride=k)), (h, w)) for k in kernels]
        return torch.cat([*maps, x], dim=1)


# --------------------------------------------------------------------------- PSPNet


class _WindowAvgPool(nn.Module):
    """Average pooling with a ``size`` x ``size`` window and the same stride, clamped per axis
    to a smaller map; the rows and columns that no whole window covers are dropped."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = (min(self.size, x.shape[-2]), min(self.size, x.shape[-1]))
        return F.avg_pool2d(x, kernel, stride=kernel)


class PPM(nn.Module):
    """PSPNet's pyramid pooling module: average-pooled context appended to the input.

    For each bin size ``b``, adaptive average pooling to ``b x b``, a 1x1 convolution to
    ``channels // len(bins)`` channels and ReLU, then bilinear upsampling back to the map
    size; the maps are concatenated with the input (``channels + len(bins) * (channels //
    len(bins))`` channels).

    With ``pool_sizes``, the branches pool fixed windows instead: for each size ``k``, an
    average pool of ``k x k`` with stride ``k`` (the same size and stride within a branch,
    different between branches), as ARMS Net configures the PPM of its UNet (PR) for the
    8x8 map at its bottom: sizes and strides 2, 3 and 4 (Wang et al. 2021, section 4.3,
    the same pooling sizes as its ASSP). A stride that does not divide the map (3 on 8x8)
    drops the last rows and columns, the loss of information that the paper blames for the
    weaker scores of UNet (PR).

    Departure: no batch normalisation after the 1x1 convolutions (PSPNet has it): on the
    1x1 map of bin 1 it is undefined for a batch of one image in training.

    Parameters
    ----------
    channels : int
    bins : sequence of int, default=(1, 2, 3, 6)
        Output sizes of the adaptive pools (PSPNet's); ignored when ``pool_sizes`` is given.
    pool_sizes : sequence of int or None, default=None
        Window sizes (and strides) of fixed pools, e.g. ``(2, 3, 4)`` for ARMS Net's UNet
        (PR); a window larger than the map is clamped to it.

    References
    ----------
    H. Zhao, J. Shi, X. Qi, X. Wang, J. Jia. Pyramid Scene Parsing Network. CVPR 2017.
    G. Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 2021 (Table 2,
    UNet (PR); section 4.3).
    """

    def __init__(
        self,
        channels: int,
        bins: Sequence[int] = (1, 2, 3, 6),
        pool_sizes: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        sizes = tuple(bins) if pool_sizes is None else tuple(pool_sizes)
        if not sizes:
            raise ValueError("PPM needs at least one bin or pool size.")
        for size in sizes:
            _check_positive("bin size" if pool_sizes is None else "pool size", size)
        self.bins = tuple(bins)
        self.pool_sizes = None if pool_sizes is None else sizes
        reduced = max(1, channels // len(sizes))
        pools = (
            [nn.AdaptiveAvgPool2d(b) for b in sizes]
            if pool_sizes is None
            else [_WindowAvgPool(k) for k in sizes]
        )
        self.stages = nn.ModuleList(
            nn.Sequential(pool, nn.Conv2d(channels, reduced, 1), nn.ReLU(inplace=True))
            for pool in pools
        )
        self._added = reduced * len(sizes)

    @property
    def out_channels_added(self) -> int:
        """Channels appended to the input."""
        return self._added

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = tuple(x.shape[-2:])
        return torch.cat([*(_upsample_to(stage(x), size) for stage in self.stages), x], dim=1)
