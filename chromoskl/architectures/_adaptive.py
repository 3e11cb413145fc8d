"""ARMS Net's adaptive multi-scale feature extractor: AMAC and ASSP (Wang et al. 2021, 3.2).

Both size themselves from the feature map they see, ``m x n``, with the rule of section 3.2,
``ceil(sqrt(m * n) / 2**l)`` for the l-th branch, and its two corrections, taken from the
worked example of an 8x8 map (the bottom of ARMS Net on 128x128 inputs):

- AMAC, four branches: atrous rates 4, 2, 1 and 0.5; a rate below 1 is not a valid rate,
  and is replaced by 3 (to differ from the rates already present): 4, 2, 1, 3.
- ASSP, three branches: pool sizes 4, 2 and 1; a pool of 1 does not pool, and is replaced
  by 3: 4, 2, 3. Every pool has stride 2.

The paper gives these corrections for the 8x8 map only; here they apply to every map (a rate
below 1, a pool size of 1, become 3). Sizes are computed in ``forward`` from the map actually
seen, so one fitted network serves inputs of several sizes. Nothing is written on the block
during ``forward``: ``AMAC.rates_for(h, w)`` and ``ASSP.kernel_sizes_for(h, w)`` say what a
map of that size gets, and :func:`chromoskl.architectures.record` collects them from forward
hooks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._context import _check_positive, _upsample_to

__all__ = ["AMAC", "ASSP", "amac_rates", "assp_kernel_sizes"]

#: What replaces a rate below 1 (AMAC) or a pool size of 1 (ASSP), as in section 3.2.
_REPLACEMENT = 3


def _rule(m: int, n: int, levels: int) -> list[float]:
    """``sqrt(m * n) / 2**l`` for ``l = 1 .. levels``, before rounding up."""
    for name, value in (("m", m), ("n", n), ("levels", levels)):
        _check_positive(name, value)
    side = math.sqrt(m * n)
    return [side / 2**level for level in range(1, levels + 1)]


def amac_rates(m: int, n: int, levels: int = 4) -> tuple[int, ...]:
    """Atrous rates of ARMS Net's AMAC for an ``m`` x ``n`` feature map (section 3.2.1).

    ``ceil(sqrt(m * n) / 2**l)`` for ``l = 1 .. levels``; a value below 1 becomes 3.

    Parameters
    ----------
    m, n : int
        Height and width of the feature map the block sees.
    levels : int, default=4
        Number of parallel branches (4 in the paper).

    Returns
    -------
    rates : tuple of int

    Examples
    --------
    >>> amac_rates(8, 8)   # 128x128 input, 4 poolings: the paper's worked example
    (4, 2, 1, 3)
    >>> amac_rates(6, 6)   # 96x96 input
    (3, 2, 3, 3)

    References
    ----------
    G. Wang et al. ARMS Net: Overlapping chromosome segmentation based on Adaptive Receptive
    field Multi-Scale network. Biomedical Signal Processing and Control 68, 2021; 3.2.1.
    """
    return tuple(_REPLACEMENT if r < 1 else math.ceil(r) for r in _rule(m, n, levels))


def assp_kernel_sizes(m: int, n: int, levels: int = 3) -> tuple[int, ...]:
    """Pool sizes of ARMS Net's ASSP for an ``m`` x ``n`` map (section 3.2.2).

    ``ceil(sqrt(m * n) / 2**l)`` for ``l = 1 .. levels``; a size of 1 becomes 3.

    Parameters
    ----------
    m, n : int
        Height and width of the feature map the block sees.
    levels : int, default=3
        Number of parallel branches (3 in the paper).

    Returns
    -------
    sizes : tuple of int

    Examples
    --------
    >>> assp_kernel_sizes(8, 8)   # the paper's worked example
    (4, 2, 3)
    >>> assp_kernel_sizes(6, 6)
    (3, 2, 3)

    References
    ----------
    G. Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 2021; 3.2.2.
    """
    sizes = (math.ceil(r) for r in _rule(m, n, levels))
    return tuple(_REPLACEMENT if size == 1 else size for size in sizes)


def _check_sizes(name: str, values) -> tuple[int, ...] | None:
    """A fixed sequence of rates or pool sizes as a tuple of positive ints, or None."""
    if values is None:
        return None
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must be None (adaptive) or a non-empty sequence of ints.")
    for value in values:
        _check_positive(f"every {name[:-1]}", value)
    return values


class AMAC(nn.Module):
    """ARMS Net's Adaptive Multi Atrous Convolution; keeps channels and spatial size.

    Parallel 3x3 atrous convolutions whose rates are computed at run time from the feature
    map seen (:func:`amac_rates`: 4, 2, 1, 3 on an 8x8 map); the output of every branch whose
    rate is above 1 then goes through a 1x1 convolution (the paper's "linear correction");
    each branch passes through ReLU and the branches are added to the input, the residual sum
    of CE-Net's DAC, which AMAC adapts (ARMS Fig. 4). The branch weights do not depend on
    the rate: they are applied with ``F.conv2d(..., dilation=rate, padding=rate)``, so one
    fitted block serves maps of any size. :meth:`rates_for` gives the rates of a map size.

    Readings where the paper is silent: the ReLU on each branch (as in DAC), and one 1x1
    convolution shared by the branches, as CE-Net's published DAC shares its 1x1
    convolution (a per-branch 1x1 would be left untrained whenever the map size makes that
    branch's rate 1).

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
    G. Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 2021; 3.2.1, Fig. 4.
    Z. Gu et al. CE-Net. IEEE Transactions on Medical Imaging 38(10), 2019.
    """

    def __init__(
        self, channels: int, levels: int = 4, rates: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        rates = _check_sizes("rates", rates)
        if rates is not None:
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

    def rates_for(self, h: int, w: int) -> tuple[int, ...]:
        """The atrous rates of the branches for an ``h`` x ``w`` input map."""
        return self.rates if self.rates is not None else amac_rates(h, w, self.levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rates = self.rates_for(*x.shape[-2:])
        out = x
        for weight, bias, rate in zip(self.weights, self.biases, rates):
            branch = F.conv2d(x, weight, bias, padding=rate, dilation=rate)
            if rate > 1:
                branch = self.conv1x1(branch)
            out = out + F.relu(branch)
        return out


class ASSP(nn.Module):
    """ARMS Net's Adaptive Same Stride Pooling: pooled context maps appended to the input.

    Three pool branches, each of stride 2 (a common factor of every map size, so that
    upsampling loses nothing) and of a size computed at run time from the map seen
    (:func:`assp_kernel_sizes`: 4, 2, 3 on an 8x8 map; clamped per axis to a smaller map).
    Each pooled map is reduced by its own 1x1 convolution, upsampled (bilinear) back to the
    map size, and stacked with the input (ARMS Fig. 5), giving ``channels + levels``
    channels. :meth:`kernel_sizes_for` gives the pool sizes of a map size.

    Readings where the paper is silent: max pooling (as CE-Net's RMP) and a reduction to
    one channel per branch (as RMP's).

    Parameters
    ----------
    channels : int
    levels : int, default=3
        Number of branches when the sizes are adaptive.
    sizes : sequence of int or None, default=None
        None: adaptive sizes from the map seen. A sequence fixes them (e.g. ``(4, 2, 3)``,
        the sizes for 128x128 inputs) and sets the number of branches.

    References
    ----------
    G. Wang et al. ARMS Net. Biomedical Signal Processing and Control 68, 2021; 3.2.2, Fig. 5.
    """

    def __init__(
        self, channels: int, levels: int = 3, sizes: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        sizes = _check_sizes("sizes", sizes)
        if sizes is not None:
            levels = len(sizes)
        _check_positive("levels", levels)
        self.levels = levels
        self.sizes = sizes
        self.convs = nn.ModuleList(nn.Conv2d(channels, 1, 1) for _ in range(levels))

    @property
    def out_channels_added(self) -> int:
        """Channels appended to the input."""
        return self.levels

    def kernel_sizes_for(self, h: int, w: int) -> tuple[tuple[int, int], ...]:
        """The (height, width) of each branch's pool for an ``h`` x ``w`` input map."""
        sizes = self.sizes if self.sizes is not None else assp_kernel_sizes(h, w, self.levels)
        return tuple((min(k, h), min(k, w)) for k in sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        kernels = self.kernel_sizes_for(h, w)
        maps = [
            _upsample_to(conv(F.max_pool2d(x, k, stride=2)), (h, w))
            for conv, k in zip(self.convs, kernels)
        ]
        return torch.cat([*maps, x], dim=1)
