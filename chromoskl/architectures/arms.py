"""ARMS Net and its ablations: one U-Net whose skip paths and bottleneck parts are switches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from ._context import AMAC, ASSP, DAC, PPM, RMP, ResPath
from .unet import UNet

__all__ = ["ARMSNet", "UNetR", "UNetPR", "UNetAR", "UNetDAR", "UNetAAR"]

SKIPS = ("respath", "plain")


def _part_factories(amac_rates: Sequence[int] | None) -> dict[str, Callable[[int], nn.Module]]:
    """Builders of the bottleneck parts, each from the number of channels it receives."""
    return {
        "amac": lambda c: AMAC(c, rates=amac_rates),
        "assp": ASSP,
        "dac": DAC,
        "ppm": PPM,
        "rmp": RMP,
    }


def _build_context(names: Sequence[str], channels: int, amac_rates) -> tuple[nn.Sequential, int]:
    """The bottleneck parts in order, and the number of channels that leaves them."""
    factories = _part_factories(amac_rates)
    parts = []
    for name in names:
        if name not in factories:
            raise ValueError(
                f"Unknown bottleneck part {name!r}; choose any of {sorted(factories)} in a "
                "tuple, in the order they are applied, e.g. bottleneck=('amac', 'assp')."
            )
        part = factories[name](channels)
        channels += getattr(part, "out_channels_added", 0)
        parts.append(part)
    return nn.Sequential(*parts), channels


class ARMSNet(UNet):
    """ARMS Net (Adaptive Receptive field Multi-Scale network), with its parts as switches.

    A U-Net (this class extends :class:`~chromoskl.architectures.unet.UNet`) with ``depth``
    max-poolings (4 in the paper; its Table 3 compares 3, 4 and 5)
    whose levels have ``base_channels * 2**level`` channels (32/64/128/256/512). Two changes
    to U-Net:

    - skips: each skip passes through a Res Path
      (:class:`~chromoskl.architectures._context.ResPath`, MultiResUNet) of ``depth - level``
      residual units, i.e. 4/3/2/1 units at the levels of 32/64/128/256 channels;
    - bottleneck: after the double convolution of the deepest level come AMAC (parallel
      atrous convolutions whose rates follow the feature map seen at run time) and ASSP
      (stride-2 max-pool branches whose sizes follow the map, concatenated with it).

    ``skip`` and ``bottleneck`` switch these parts, which gives the ablation networks of
    the paper's Table 2 as the same class (:class:`UNetR`, :class:`UNetPR`,
    :class:`UNetAR`, :class:`UNetDAR`, :class:`UNetAAR` only change these defaults).

    Departures and readings: convolutions are padded and batch-normalised as in
    :class:`~chromoskl.architectures.unet.UNet`; rates and pool sizes are computed from
    each input's own bottom map, so one fitted network serves several input sizes (for the
    128x128 inputs of the paper the rates are 4, 2, 1, 3 as it computes them). The paper's
    full text could not be consulted here; the AMAC/ASSP details we could not check are
    listed in their docstrings.

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input image (1: the grey DAPI image).
    out_channels : int, default=4
        Classes: background, chromosome A, chromosome B, overlap.
    base_channels : int, default=32
        Channels of the first level; each pooling doubles them.
    depth : int, default=4
        Number of max-poolings.
    skip : {"respath", "plain"} or None, default=None
        Res Paths on the skips, or U-Net's plain concatenated skips. None: the class's
        default (``"respath"`` for every network here).
    bottleneck : sequence of {"amac", "assp", "dac", "ppm", "rmp"} or None, default=None
        Parts applied, in order, after the bottleneck double convolution; ``()`` for none.
        None: the class's default (``("amac", "assp")`` for ARMS Net).
    amac_rates : sequence of int or None, default=None
        None: adaptive AMAC rates. A tuple fixes them (e.g. ``(4, 2, 1, 3)``: the rates
        for 128x128 inputs, whatever the input size).
    batch_norm : bool, default=True
    dropout : float, default=0.0
        Dropout after the bottleneck double convolution.
    up_mode : {"transpose", "bilinear"}, default="transpose"

    Attributes
    ----------
    input_divisor : int
        Height and width of an input must be multiples of this (``2**depth``).

    Raises
    ------
    ValueError
        For a depth below 1, an unknown skip or bottleneck part.

    References
    ----------
    J. Wang, C. Zhou, S. Chen, J. Hu, M. Wu, X. Jiang, C. Xu, D. Qian. ARMS Net:
    Overlapping chromosome segmentation based on Adaptive Receptive field Multi-Scale
    network. Biomedical Signal Processing and Control 68, 2021.
    N. Ibtehaz, M. S. Rahman. MultiResUNet. Neural Networks 121, 2020.
    """

    default_skip: str = "respath"
    default_bottleneck: tuple[str, ...] = ("amac", "assp")

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 4,
        base_channels: int = 32,
        depth: int = 4,
        skip: str | None = None,
        bottleneck: Sequence[str] | None = None,
        amac_rates: Sequence[int] | None = None,
        batch_norm: bool = True,
        dropout: float = 0.0,
        up_mode: str = "transpose",
    ) -> None:
        skip = self.default_skip if skip is None else skip
        parts = self.default_bottleneck if bottleneck is None else bottleneck
        if skip not in SKIPS:
            raise ValueError(f"skip must be one of {SKIPS}, got {skip!r}.")
        # read by _skip_path and _context while UNet assembles the network
        self._skip_kind = skip
        self._parts = (parts,) if isinstance(parts, str) else tuple(parts)
        self._amac_rates = amac_rates
        super().__init__(
            in_channels, out_channels, base_channels, depth, batch_norm, dropout, up_mode
        )

    def _skip_path(self, level: int, channels: int, depth: int) -> nn.Module:
        """A Res Path of ``depth - level`` residual units (4/3/2/1 for 4 poolings)."""
        if self._skip_kind == "respath":
            return ResPath(channels, depth - level)
        return nn.Identity()

    def _context(self, channels: int) -> tuple[nn.Module, int]:
        return _build_context(self._parts, channels, self._amac_rates)


class UNetR(ARMSNet):
    """UNet (R) of ARMS Table 2: U-Net with Res Paths, no bottleneck part.

    :class:`ARMSNet` with ``bottleneck=()`` by default; see it for the parameters.
    """

    default_bottleneck = ()


class UNetPR(ARMSNet):
    """UNet (PR) of ARMS Table 2: Res Paths and PSPNet's pyramid pooling module (PPM).

    :class:`ARMSNet` with ``bottleneck=("ppm",)`` by default; see it for the parameters.
    """

    default_bottleneck = ("ppm",)


class UNetAR(ARMSNet):
    """UNet (AR) of ARMS Table 2: Res Paths and ASSP.

    :class:`ARMSNet` with ``bottleneck=("assp",)`` by default; see it for the parameters.
    """

    default_bottleneck = ("assp",)


class UNetDAR(ARMSNet):
    """UNet (DAR) of ARMS Table 2: Res Paths, CE-Net's DAC, then ASSP.

    :class:`ARMSNet` with ``bottleneck=("dac", "assp")`` by default; see it for the
    parameters.
    """

    default_bottleneck = ("dac", "assp")


class UNetAAR(ARMSNet):
    """UNet (AAR) of ARMS Table 2: Res Paths, AMAC, then ASSP.

    :class:`ARMSNet` with ``bottleneck=("amac", "assp")``: the same network as ARMS Net.
    Our reading of the letters (A = AMAC, A = ASSP, R = Res Path) gives ARMS Net's parts;
    we could not consult the paper to confirm how the two rows of Table 2 differ (most
    likely in training, e.g. the loss, not in the network). Kept as its own registry name
    so that the table's rows can be run by name.
    """
