"""ARMS Net and its ablations: one U-Net whose skip paths and bottleneck parts are switches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from ..classes import N_CLASSES
from ._adaptive import AMAC, ASSP
from ._context import DAC, PPM, RMP, ResPath
from .unet import UNet

__all__ = ["ARMSNet", "UNetR", "UNetPR", "UNetAR", "UNetDAR", "UNetAAR"]

SKIPS = ("respath", "plain")
#: Pool sizes (and strides) of the PPM of UNet (PR): ARMS section 4.3, for its 8x8 map.
ARMS_PPM_SIZES = (2, 3, 4)


def _part_factories(
    amac_rates: Sequence[int] | None, assp_sizes: Sequence[int] | None
) -> dict[str, Callable[[int], nn.Module]]:
    """Builders of the bottleneck parts, each from the number of channels it receives."""
    return {
        "amac": lambda c: AMAC(c, rates=amac_rates),
        "assp": lambda c: ASSP(c, sizes=assp_sizes),
        "dac": DAC,
        "ppm": lambda c: PPM(c, pool_sizes=ARMS_PPM_SIZES),
        "pspnet_ppm": PPM,
        "rmp": RMP,
    }


def _build_context(
    names: Sequence[str], channels: int, amac_rates, assp_sizes
) -> tuple[nn.Sequential, int]:
    """The bottleneck parts in order, and the number of channels that leaves them."""
    factories = _part_factories(amac_rates, assp_sizes)
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
    max-poolings (4 in the paper, section 3.1; its Table 3 compares 3, 4 and 5) whose levels
    have ``base_channels * 2**level`` channels (32/64/128/256, and 512 at the bottom). Two
    changes to U-Net (ARMS Fig. 3):

    - skips: each skip passes through a Res Path
      (:class:`~chromoskl.architectures._context.ResPath`, MultiResUNet) of ``depth - level``
      residual blocks (a 3x3 convolution with a 1x1 convolution shortcut): 4/3/2/1 blocks
      of 32/64/128/256 channels for Res Paths I-IV, as ARMS Table 1;
    - bottleneck: after the double convolution of the deepest level come AMAC (four
      parallel atrous convolutions whose rates follow the map seen at run time: 4, 2, 1, 3
      on the 8x8 map of a 128x128 input) and ASSP (three stride-2 pool branches whose sizes
      follow the map: 4, 2, 3), section 3.2 (:mod:`~chromoskl.architectures._adaptive`).

    ``skip`` and ``bottleneck`` switch these parts, which gives the ablation networks of
    the paper's Table 2 as the same class (:class:`UNetR`, :class:`UNetPR`,
    :class:`UNetAR`, :class:`UNetDAR`, :class:`UNetAAR` only change these defaults). Table
    2 also sets the loss, which is not part of the network: BCE for every ablation network
    and AS-wBCE for ARMS Net (``criterion="bce"`` or ``"as_wbce"`` of the estimator).

    Departures: convolutions are padded and batch-normalised as in
    :class:`~chromoskl.architectures.unet.UNet` (the paper does not describe its convolution
    blocks); rates and pool sizes are computed from each input's own bottom map, so one
    fitted network serves several input sizes, which is the point of the adaptive module.
    The paper also starts from a pre-trained model (section 4.1), which it does not
    identify; here the weights start at random.

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
    channels : sequence of int or None, default=None
        Channels of each level, the first level first and the bottleneck last, for widths
        that do not double; then ``base_channels`` and ``depth`` are not used.
    skip : {"respath", "plain"} or None, default=None
        Res Paths on the skips, or U-Net's plain concatenated skips. None: the class's
        default (``"respath"`` for every network here).
    bottleneck : sequence of str or None, default=None
        Parts applied, in order, after the bottleneck double convolution, among ``"amac"``,
        ``"assp"``, ``"dac"``, ``"ppm"``, ``"pspnet_ppm"``, ``"rmp"``; ``()`` for none.
        ``"ppm"`` is the PPM of UNet (PR) (pool sizes and strides 2, 3, 4), ``"pspnet_ppm"``
        PSPNet's own (adaptive bins 1, 2, 3, 6). None: the class's default (``("amac",
        "assp")`` for ARMS Net).
    amac_rates : sequence of int or None, default=None
        None: adaptive AMAC rates. A tuple fixes them (e.g. ``(4, 2, 1, 3)``: the rates
        for 128x128 inputs, whatever the input size).
    assp_sizes : sequence of int or None, default=None
        None: adaptive ASSP pool sizes. A tuple fixes them (e.g. ``(4, 2, 3)``: the sizes
        for 128x128 inputs). Table 5's "UNet (AAR)128" on 256x256 inputs fixes both.
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
    G. Wang, H. Liu, X. Yi, J. Zhou, L. Zhang. ARMS Net: Overlapping chromosome
    segmentation based on Adaptive Receptive field Multi-Scale network. Biomedical Signal
    Processing and Control 68, 102811, 2021 (Fig. 3, Tables 1 and 2, section 3).
    N. Ibtehaz, M. S. Rahman. MultiResUNet. Neural Networks 121, 2020.
    """

    published_channels = (32, 64, 128, 256, 512)
    default_skip: str = "respath"
    default_bottleneck: tuple[str, ...] = ("amac", "assp")

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = N_CLASSES,
        base_channels: int = 32,
        depth: int = 4,
        channels: Sequence[int] | None = None,
        skip: str | None = None,
        bottleneck: Sequence[str] | None = None,
        amac_rates: Sequence[int] | None = None,
        assp_sizes: Sequence[int] | None = None,
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
        self._assp_sizes = assp_sizes
        super().__init__(
            in_channels=in_channels, out_channels=out_channels, base_channels=base_channels,
            depth=depth, channels=channels, batch_norm=batch_norm, dropout=dropout,
            up_mode=up_mode,
        )

    def _skip_path(self, level: int, channels: int, depth: int) -> nn.Module:
        """A Res Path of ``depth - level`` residual units (4/3/2/1 for 4 poolings)."""
        if self._skip_kind == "respath":
            return ResPath(channels, depth - level)
        return nn.Identity()

    def _context(self, channels: int) -> tuple[nn.Module, int]:
        return _build_context(self._parts, channels, self._amac_rates, self._assp_sizes)


class UNetR(ARMSNet):
    """UNet (R) of ARMS Table 2: U-Net with Res Paths, no bottleneck part (trained with BCE).

    :class:`ARMSNet` with ``bottleneck=()`` by default; see it for the parameters.
    """

    default_bottleneck = ()


class UNetPR(ARMSNet):
    """UNet (PR) of ARMS Table 2: Res Paths and a pyramid pooling module (PPM).

    :class:`ARMSNet` with ``bottleneck=("ppm",)`` by default; see it for the parameters.
    The PPM pools windows of sizes 2, 3 and 4 with strides equal to the sizes, the sizes of
    ASSP (ARMS section 4.3); trained with BCE in the paper (Table 2).
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
    The two rows of ARMS Table 2 differ in the loss only: UNet (AAR) trains with BCE, ARMS
    Net with AS-wBCE (``criterion="bce"`` or ``"as_wbce"``), so their scores in Table 5
    come from two fits. Kept as its own registry name so that the tables' rows can be
    built by name.
    """
