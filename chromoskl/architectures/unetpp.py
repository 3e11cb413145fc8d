"""UNet++: nested, dense skip pathways with attention gates and deep supervision."""

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
    network_widths,
)

__all__ = ["UNetPlusPlus"]


class UNetPlusPlus(nn.Module):
    """UNet++ with attention gates and deep supervision, for overlapping chromosomes.

    Node ``X^{i,j}`` (level ``i``, ``j`` convolution blocks along its skip pathway) is a
    double 3x3 convolution. ``X^{i,0}`` is the encoder; for ``j >= 1``, ``X^{i,j}`` convolves
    the concatenation of ``X^{i,0}, ..., X^{i,j-1}`` and of ``U(X^{i+1,j-1})``, the coarser
    node brought to level ``i`` by its own 2x2 transposed convolution (Zhou et al., eq. 1).
    Nodes of level ``i`` have ``base_channels * 2**i`` channels (or ``channels[i]``).

    With ``attention=True`` (Attention UNet++, Li et al. 2020), each node ``X^{i,j}`` with
    ``j >= 1`` passes its newest skip input ``X^{i,j-1}`` through an
    :class:`~chromoskl.architectures._blocks.AttentionGate` gated by ``U(X^{i+1,j-1})``; the
    gated map replaces ``X^{i,j-1}`` in every later node of level ``i``, so there is one gate
    per nested node (``L(L+1)/2`` for ``L`` poolings). With ``deep_supervision=True`` each of
    ``X^{0,1}, ..., X^{0,L}`` has its own 1x1 head (Zhou et al., Sec. 2): the estimator's loss
    combines the heads and prediction uses the final one, ``X^{0,L}``.

    The defaults follow Zhou et al.: 4 poolings, 32/64/128/256/512 channels.

    Zhang's improved UNet++ (the seed of this network), checked against its text: attention
    is added where a node concatenates the feature maps of its skip pathway with the
    upsampled coarser map, the skip features ``x`` gated by the coarser map ``g`` through
    Oktay's additive gate (Zhang eq. 1-2: ``alpha = sigmoid(psi(relu(W_x x + W_g g)))``),
    and deep supervision adds auxiliary classification branches on the hidden nodes
    (section 2). Zhang does not say which of a node's skip inputs are gated, nor how the
    branches' losses are combined, nor which loss is used: here the newest skip input of
    each node is gated (Li et al.'s placement; the gated map then replaces it in the later
    nodes of its level), the heads sit on ``X^{0,1}, ..., X^{0,L}`` (Zhou et al.), and the
    estimator averages the chosen loss over the heads (``deep_supervision_weights``).

    Departures: padded ("same") convolutions, so every map has the input's size (Zhang uses
    unpadded ones, whose maps shrink after each convolution); batch normalisation after
    each convolution by default (Zhou's code has none, and dropout in every block instead);
    the attention gate is the one of the Attention U-Net of this package (gating signal at
    the skip's resolution, MONAI's variant).

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input image (1: the grey DAPI image).
    out_channels : int, default=4
        Classes: background, chromosome A, chromosome B, overlap.
    base_channels : int, default=32
        Channels of the first level; each pooling doubles them.
    depth : int, default=4
        Number of max-poolings, ``L``.
    channels : sequence of int or None, default=None
        Channels of each level, the first level first, for widths that do not double; then
        ``base_channels`` and ``depth`` are not used and ``L = len(channels) - 1``.
    attention : bool, default=True
        Attention gates on the skip inputs; ``False`` gives plain UNet++.
    deep_supervision : bool, default=True
        Return the maps of all ``L`` heads (a tuple, final map first) instead of one tensor.
    batch_norm : bool, default=True
        Batch normalisation after every convolution, attention gates included.
    dropout : float, default=0.0
        Dropout after the bottleneck block ``X^{L,0}``.

    Attributes
    ----------
    input_divisor : int
        Height and width of an input must be multiples of this (``2**L``).
    nodes : torch.nn.ModuleDict
        The convolution block of ``X^{i,j}`` under the key ``"x{i}_{j}"``.
    ups, gates : torch.nn.ModuleDict
        The transposed convolution and (with ``attention``) the gate of ``X^{i,j}``, ``j >= 1``,
        under the same keys.
    heads : torch.nn.ModuleList
        1x1 heads on ``X^{0,1}, ..., X^{0,L}`` (only on ``X^{0,L}`` without deep supervision).

    Raises
    ------
    ValueError
        If ``depth`` is below 1 or ``channels`` has fewer than two entries; in ``forward``, if
        the input's height or width is not a multiple of ``input_divisor``.

    References
    ----------
    Z. Zhou, M. M. R. Siddiquee, N. Tajbakhsh, J. Liang. UNet++: A Nested U-Net Architecture
    for Medical Image Segmentation. DLMIA 2018, arXiv:1807.10165.
    Z. Zhou, M. M. R. Siddiquee, N. Tajbakhsh, J. Liang. UNet++: Redesigning Skip Connections
    to Exploit Multiscale Features in Image Segmentation. IEEE TMI 39(6), 2020.
    C. Li, Y. Tan, W. Chen, et al. Attention UNet++: A Nested Attention-Aware U-Net for Liver
    CT Image Segmentation. ICIP 2020.
    Y. Zhang. Image segmentation based on improved UNET++ (attention and deep supervision
    in UNet++, for cell segmentation); section 2, eq. 1-2.
    O. Oktay, J. Schlemper, L. Le Folgoc, et al. Attention U-Net: Learning Where to Look for
    the Pancreas. MIDL 2018, arXiv:1804.03999.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = N_CLASSES,
        base_channels: int = 32,
        depth: int = 4,
        channels: Sequence[int] | None = None,
        attention: bool = True,
        deep_supervision: bool = True,
        batch_norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_network_params(
            type(self).__name__, in_channels=in_channels, out_channels=out_channels,
            dropout=dropout, depth=depth, base_channels=base_channels,
        )
        widths = network_widths(
            base_channels, depth, channels, published=(32, 64, 128, 256, 512)
        )
        self.depth = len(widths) - 1
        self.input_divisor = 2**self.depth
        self.deep_supervision = deep_supervision
        self.pool = nn.MaxPool2d(2)
        self.nodes = nn.ModuleDict()
        self.ups = nn.ModuleDict()
        self.gates = nn.ModuleDict()
        for i, width in enumerate(widths):
            c_in = in_channels if i == 0 else widths[i - 1]
            self.nodes[f"x{i}_0"] = ConvBlock(
                c_in, width, batch_norm, dropout if i == self.depth else 0.0
            )
            for j in range(1, self.depth - i + 1):
                key = f"x{i}_{j}"
                self.ups[key] = UpConv(widths[i + 1], width)
                if attention:
                    self.gates[key] = AttentionGate(width, width, batch_norm=batch_norm)
                self.nodes[key] = ConvBlock((j + 1) * width, width, batch_norm)
        n_heads = self.depth if deep_supervision else 1
        self.heads = nn.ModuleList(nn.Conv2d(widths[0], out_channels, 1) for _ in range(n_heads))

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Logits of every head, final map first.

        Parameters
        ----------
        x : torch.Tensor
            Images of shape (N, in_channels, H, W), H and W multiples of ``input_divisor``.

        Returns
        -------
        torch.Tensor or tuple of torch.Tensor
            Logits of shape (N, out_channels, H, W): one tensor, or, with deep supervision,
            the tuple ``(head(X^{0,L}), head(X^{0,1}), ..., head(X^{0,L-1}))``, in training and
            in eval mode alike.
        """
        check_divisible(x, self.input_divisor, type(self).__name__)
        maps: dict[tuple[int, int], torch.Tensor] = {}
        skips: list[list[torch.Tensor]] = [[] for _ in range(self.depth + 1)]
        for k in range(self.depth + 1):
            # the k-th backbone node, then the diagonal of nested nodes it feeds
            maps[k, 0] = self.nodes[f"x{k}_0"](x if k == 0 else self.pool(maps[k - 1, 0]))
            for j in range(1, k + 1):
                i = k - j
                maps[i, j] = self._nested_node(i, j, maps, skips[i])
        top = [maps[0, j] for j in range(1, self.depth + 1)]
        if not self.deep_supervision:
            return self.heads[0](top[-1])
        logits = [head(feature) for head, feature in zip(self.heads, top)]
        return (logits[-1], *logits[:-1])

    def _nested_node(
        self,
        i: int,
        j: int,
        maps: dict[tuple[int, int], torch.Tensor],
        skips: list[torch.Tensor],
    ) -> torch.Tensor:
        """Compute ``X^{i,j}``; append its (gated) skip input ``X^{i,j-1}`` to ``skips``."""
        key = f"x{i}_{j}"
        g = self.ups[key](maps[i + 1, j - 1])
        newest = maps[i, j - 1]
        skips.append(self.gates[key](newest, g) if key in self.gates else newest)
        return self.nodes[key](torch.cat([*skips, g], dim=1))
