"""Context (bottleneck) blocks and residual skip paths shared by CE-Net, ARMS Net and its ablations.

Blocks whose sizes depend on the feature map (:class:`AMAC`, :class:`ASSP`, the clamped pools
of :class:`RMP`) compute them in ``forward`` from the map actually seen, so that one fitted
network serves inputs of several sizes; the sizes used by the last call are kept on the block
(``last_rates``, ``last_kernel_sizes``) for inspection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ResidualBlock",
    "ResPath",
    "DAC",
    "RMP",
    "AMAC",
    "ASSP",
    "PPM",
    "amac_rates",
    "assp_kernel_sizes",
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
    and 1 units at the levels of 32, 64, 128 and 256 channels.

    Parameters
    ----------
    channels : int
        Channels in and out (the width of the encoder level).
    length : int, default=1
        Number of residual units.

    References
    ----------
    N. Ibtehaz, M. S. Rahman. MultiResUNet. Neural Networks 121, 2020.
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
    The sizes used by the last call are in ``last_kernel_sizes``.

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
        self.last_kernel_sizes: tuple[tuple[int, int], ...] | None = None

    @property
    def out_channels_added(self) -> int:
        """Channels appended to the input."""
        return len(self.pool_sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        kernels = tuple((min(k, h), min(k, w)) for k in self.pool_sizes)
        self.last_kernel_sizes = kernels
        maps = [_upsample_to(self.conv(F.max_pool2d(x, k, stride=k)), (h, w)) for k in kernels]
        return torch.cat([*maps, x], dim=1)


# --------------------------------------------------------------------------- ARMS Net


def amac_rates(m: int, n: int, levels: int = 4) -> tuple[int, ...]:
    """Dilation rates of ARMS Net's AMAC for an ``m`` x ``n`` feature map.

    ``r_l = sqrt(m * n) / 2**l`` for ``l = 1 .. levels``; a rate below 1 is replaced by 3,
    any other is rounded up.

    Parameters
    ----------
    m, n : int
        Height and width of the feature map the block sees.
    levels : int, default=4
        Number of parallel branches.

    Returns
    -------
    rates : tuple of int

    Examples
    --------
    >>> amac_rates(8, 8)   # 128x128 input, 4 poolings
    (4, 2, 1, 3)
    >>> amac_rates(6, 6)   # 96x96 input
    (3, 2, 3, 3)

    References
    ----------
    J. Wang et al. ARMS Net: Overlapping chromosome segmentation based on Adaptive Receptive
    field Multi-Scale network. Biomedical Signal Processing and Control 68, 2021.
    """
    for name, value in (("m", m), ("n", n), ("levels", levels)):
        _check_positive(name, value)
    side = math.sqrt(m * n)
    rates = []
    for level in range(1, levels + 1):
        rate = side / 2**level
        rates.append(3 if rate < 1 else math.ceil(rate))
    return tuple(rates)


def assp_kernel_sizes(m: int, n: int, levels: int = 4) -> tuple[int, ...]:
    """Pool sizes of ARMS Net's ASSP for an ``m`` x ``n`` map: ``ceil(sqrt(m*n) / 2**l)``.

    ``l = 1 .. levels``; a size is at least 1 by construction.

    Examples
    --------
    >>> assp_kernel_sizes(8, 8)
    (4, 2, 1, 1)
    """
    for name, value in (("m", m), ("n", n), ("levels", levels)):
        _check_positive(name, value)
    side = math.sqrt(m * n)
    return tuple(math.ceil(side / 2**level) for level in range(1, levels + 1))


class AMAC(nn.Module):
    """ARMS Net's adaptive multi-scale atrous convolution; keeps channels and spatial size.

    Parallel 3x3 atrous convolutions whose dilation rates are computed at run time from the
    feature map seen (:func:`amac_rates`); the output of every branch whose rate is above 1
    then goes through a 1x1 convolution; each branch is passed through ReLU and the branches
    are added to the input (the residual sum of CE-Net's DAC, which AMAC adapts). The
    branch weights do not depend on the rate: they are applied with
    ``F.conv2d(..., dilation=rate, padding=rate)``, so one fitted block serves maps of any
    size. The rates of the last call are in ``last_rates``.

    Departure (not specified in the paper as far as we could determine): the 1x1
    convolution is one module shared by the branches, as CE-Net's published DAC shares
    its 1x1 convolution; a per-branch 1x1 would be left untrained whenever the map size
    makes that branch's rate 1.

    Parameters
    ----------
    channels : int
    levels : int, default=4
        Number of branches when the rates are adaptive.
    rates : sequence of int or None, default=None
        None: adaptive rates from the map seen. A sequence fixes the rates (e.g. ``(4, 2, 1,
        3)``, the rates the paper computes for 128x128 inputs) and sets the number of
        branches.

    References
    ----------
    J. Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 2021.
    Z. Gu et al. CE-Net. IEEE Transactions on Medical Imaging 38(10), 2019.
    """

    def __init__(
        self, channels: int, levels: int = 4, rates: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        if rates is not None:
            rates = tuple(rates)
            if not rates:
                raise ValueError("rates must be None (adaptive) or a non-empty sequence of ints.")
            for rate in rates:
                _check_positive("every AMAC rate", rate)
            levels = len(rates)
        _check_positive("levels", levels)
        self.levels = levels
        self.rates = rates
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(channels, channels, 3, 3)) for _ in range(levels)
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(channels)) for _ in range(levels)
        )
        for weight in self.weights:
            # the default initialisation of an nn.Conv2d weight
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        self.conv1x1 = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.conv1x1.bias)
        self.last_rates: tuple[int, ...] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        rates = self.rates if self.rates is not None else amac_rates(h, w, self.levels)
        self.last_rates = rates
        out = x
        for weight, bias, rate in zip(self.weights, self.biases, rates):
            branch = F.conv2d(x, weight, bias, padding=rate, dilation=rate)
            if rate > 1:
                branch = self.conv1x1(branch)
            out = out + F.relu(branch)
        return out


class ASSP(nn.Module):
    """ARMS Net's adaptive spatial pyramid pooling: pooled context maps appended to the input.

    Max-pool branches of stride 2 whose sizes are computed at run time from the feature map
    seen (:func:`assp_kernel_sizes`, clamped per axis to the map), each followed by its own
    1x1 convolution to one channel and bilinear upsampling back to the map size; the maps
    are concatenated with the input, giving ``channels + levels`` channels. The sizes of the
    last call are in ``last_kernel_sizes``.

    Our reading, where the paper could not be consulted: four branches (``l = 1..4``, as
    for AMAC) and one 1x1 convolution per branch.

    Parameters
    ----------
    channels : int
    levels : int, default=4

    References
    ----------
    J. Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 2021.
    """

    def __init__(self, channels: int, levels: int = 4) -> None:
        super().__init__()
        _check_positive("levels", levels)
        self.levels = levels
        self.convs = nn.ModuleList(nn.Conv2d(channels, 1, 1) for _ in range(levels))
        self.last_kernel_sizes: tuple[tuple[int, int], ...] | None = None

    @property
    def out_channels_added(self) -> int:
        """Channels appended to the input."""
        return self.levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        kernels = tuple((min(k, h), min(k, w)) for k in assp_kernel_sizes(h, w, self.levels))
        self.last_kernel_sizes = kernels
        maps = [
            _upsample_to(conv(F.max_pool2d(x, k, stride=2)), (h, w))
            for conv, k in zip(self.convs, kernels)
        ]
        return torch.cat([*maps, x], dim=1)


# --------------------------------------------------------------------------- PSPNet


class PPM(nn.Module):
    """PSPNet's pyramid pooling module: average-pooled context appended to the input.

    For each bin size ``b``, adaptive average pooling to ``b x b``, a 1x1 convolution to
    ``channels // len(bins)`` channels and ReLU, then bilinear upsampling back to the map
    size; the maps are concatenated with the input (``channels + len(bins) * (channels //
    len(bins))`` channels).

    Departure: no batch normalisation after the 1x1 convolutions (PSPNet has it): on the
    1x1 map of bin 1 it is undefined for a batch of one image in training.

    Parameters
    ----------
    channels : int
    bins : sequence of int, default=(1, 2, 3, 6)

    References
    ----------
    H. Zhao, J. Shi, X. Qi, X. Wang, J. Jia. Pyramid Scene Parsing Network. CVPR 2017.
    """

    def __init__(self, channels: int, bins: Sequence[int] = (1, 2, 3, 6)) -> None:
        super().__init__()
        for size in bins:
            _check_positive("bin size", size)
        self.bins = tuple(bins)
        reduced = max(1, channels // len(self.bins))
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(channels, reduced, 1),
                          nn.ReLU(inplace=True))
            for b in self.bins
        )
        self._added = reduced * len(self.bins)

    @property
    def out_channels_added(self) -> int:
        """Channels appended to the input."""
        return self._added

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = tuple(x.shape[-2:])
        return torch.cat([*(_upsample_to(stage(x), size) for stage in self.stages), x], dim=1)
