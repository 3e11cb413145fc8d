"""What a network's inner blocks decided during a forward pass, collected by forward hooks.

Attention coefficients (Attention U-Net, Attention UNet++), AMAC atrous rates and ASSP/RMP
pool sizes (ARMS Net, CE-Net) are not kept on the blocks: :func:`record` registers
``register_forward_hook`` hooks on the blocks of a network, collects what they give while
the ``with`` block runs, and removes the hooks when it ends, so that a network that is not
being recorded keeps no state from its last call and runs no extra code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn

from ._adaptive import AMAC, ASSP
from ._blocks import AttentionGate
from ._context import RMP

__all__ = ["KINDS", "Recording", "record"]

#: what can be recorded, and the blocks that give it
KINDS: dict[str, tuple[type[nn.Module], ...]] = {
    "coefficients": (AttentionGate,),
    "rates": (AMAC,),
    "kernel_sizes": (ASSP, RMP),
}


class Recording(Mapping):
    """The values the recorded blocks gave, block by block, in the order they first ran.

    ``recording[block]`` is the value of the block's last call inside :func:`record`;
    :meth:`calls` gives every call's value. A value is, by block:

    - :class:`~chromoskl.architectures._blocks.AttentionGate`: the coefficients ``alpha``,
      a detached tensor of shape (N, 1, H, W) with the skip's H and W;
    - :class:`~chromoskl.architectures._adaptive.AMAC`: the atrous rates, a tuple of int;
    - :class:`~chromoskl.architectures._adaptive.ASSP`,
      :class:`~chromoskl.architectures._context.RMP`: the (height, width) of each pool.
    """

    def __init__(self) -> None:
        self._calls: dict[nn.Module, list] = {}
        self._kinds: dict[nn.Module, str] = {}

    def _add(self, block: nn.Module, kind: str, value) -> None:
        self._kinds.setdefault(block, kind)
        self._calls.setdefault(block, []).append(value)

    def __getitem__(self, block: nn.Module):
        if block not in self._calls:
            raise KeyError(
                f"Nothing was recorded for this {type(block).__name__}: call the network inside "
                "`with record(network) as recording:` and pass a block of that network that "
                f"the forward pass runs (one of {sorted(KINDS)})."
            )
        return self._calls[block][-1]

    def __iter__(self) -> Iterator[nn.Module]:
        return iter(self._calls)

    def __len__(self) -> int:
        return len(self._calls)

    def calls(self, block: nn.Module) -> list:
        """The value of every call of ``block``, in order (empty if it never ran)."""
        return list(self._calls.get(block, []))

    def of_kind(self, kind: str) -> list:
        """The last value of every block of ``kind`` (a key of :data:`KINDS`), in the order
        the blocks first ran."""
        _check_kinds([kind])
        return [self[block] for block in self._calls if self._kinds[block] == kind]


def _check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(
            f"kinds must name one or more of {sorted(KINDS)} (or be None for all), "
            f"got {kinds!r}."
        )
    return kinds


@contextmanager
def record(network: nn.Module, kinds: str | Iterable[str] | None = None) -> Iterator[Recording]:
    """Collect attention coefficients, atrous rates and pool sizes from forward hooks.

    Parameters
    ----------
    network : torch.nn.Module
        A network, or a single block; every block of it of the recorded kinds is hooked.
    kinds : str, iterable of str or None, default=None
        What to record, among ``"coefficients"``, ``"rates"`` and ``"kernel_sizes"``; None
        records all.

    Yields
    ------
    Recording
        Filled by every forward pass run inside the ``with`` block, keyed by block. The
        hooks are removed when the block ends, also on an error.

    Raises
    ------
    ValueError
        For an unknown kind.

    Examples
    --------
    >>> import torch
    >>> from chromoskl.architectures import AttentionUNet, record
    >>> net = AttentionUNet(base_channels=4, depth=2).eval()
    >>> with record(net) as recording, torch.no_grad():
    ...     _ = net(torch.zeros(1, 1, 16, 16))
    >>> [tuple(alpha.shape) for alpha in recording.of_kind("coefficients")]  # deepest first
    [(1, 1, 8, 8), (1, 1, 16, 16)]
    """
    kinds = tuple(KINDS) if kinds is None else _check_kinds(
        (kinds,) if isinstance(kinds, str) else kinds
    )
    recording = Recording()
    handles = []
    for block in network.modules():
        for kind in kinds:
            if isinstance(block, KINDS[kind]):
                handles.append(_hook(block, kind, recording))
    try:
        yield recording
    finally:
        for handle in handles:
            handle.remove()


def _hook(block: nn.Module, kind: str, recording: Recording):
    """Register the hook that records ``kind`` for ``block``; return its handle."""
    if kind == "coefficients":
        # alpha is not among the gate's inputs or outputs: its sigmoid gives it
        def on_sigmoid(module, inputs, output: torch.Tensor) -> None:
            recording._add(block, kind, output.detach())

        return block.sigmoid.register_forward_hook(on_sigmoid)
    sizes = block.rates_for if kind == "rates" else block.kernel_sizes_for

    def on_block(module, inputs, output) -> None:
        recording._add(block, kind, sizes(*inputs[0].shape[-2:]))

    return block.register_forward_hook(on_block)
