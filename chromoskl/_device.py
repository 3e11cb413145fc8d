"""Which torch device to run on: checked before anything is built on it, and ``"auto"``.

torch says that a device is missing only when the first tensor reaches it, with a traceback
from deep inside the network's initialisation. These functions say it first, in one sentence
that names the devices this machine has.

:class:`AutoDevice` is a shim for ``device="auto"``, which skorch lacks: skorch 1.4.0 (the
release installed here; ``setup.cfg`` requires ``skorch>=1.0,<2``) takes only real torch
devices. skorch's pull request #1141 (skorch-dev/skorch, merged in May 2026) adds
``device="auto"`` to skorch itself, but no skorch release that we require includes it yet.
Once ``setup.cfg`` can require the first release that does, this mixin goes, and
:func:`resolve_device` only checks that a named device exists.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import torch

__all__ = [
    "DeviceWarning", "available_devices", "resolve_device", "device_or_cpu", "AutoDevice",
]


class DeviceWarning(UserWarning):
    """A model asked for a device this machine lacks and runs on the CPU instead."""


def available_devices() -> list[str]:
    """The device names this machine can use, ``"cpu"`` first."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def _missing(parsed: torch.device) -> str | None:
    """Why ``parsed`` cannot be used here, or None when it can."""
    if parsed.type == "cpu":
        return None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            return "this machine has no CUDA device (or this torch build has no CUDA support)"
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            return f"this machine has {count} CUDA device(s), numbered from 0"
        return None
    if parsed.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        return None if mps is not None and mps.is_available() else "this machine has no MPS device"
    is_available = getattr(getattr(torch, parsed.type, None), "is_available", None)
    if parsed.type == "meta" or is_available is None or not is_available():
        return f"{parsed.type!r} devices are not available here"
    return None


def resolve_device(device) -> str:
    """The device to use: ``"auto"`` becomes ``"cuda"`` when CUDA is available, else ``"cpu"``.

    Raises
    ------
    ValueError
        For a string that is not a torch device, or a device this machine does not have; the
        message lists the ones it has.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(device, (str, torch.device)):
        raise ValueError(
            f"device must be 'auto' or a torch device name such as 'cpu' or 'cuda', got "
            f"{device!r}."
        )
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(
            f"device {str(device)!r} is not a torch device name; use 'auto', 'cpu', 'cuda', "
            f"'cuda:1' or 'mps' (available here: {', '.join(available_devices())})."
        ) from None
    reason = _missing(parsed)
    if reason is not None:
        raise ValueError(
            f"device {str(device)!r} cannot be used: {reason}. Use device='auto' (the GPU when "
            f"there is one, else the CPU) or one of: {', '.join(available_devices())}."
        )
    return str(device)


def device_or_cpu(device, *, source: str) -> str:
    """``device`` when this machine has it, else ``"cpu"`` with a :class:`DeviceWarning`.

    For models read from files: a model trained on a GPU must open anywhere (as skorch's
    unpickling falls back to the CPU).
    """
    try:
        resolve_device(device)
    except ValueError:
        warnings.warn(
            f"{source} was saved for device {device!r}, which this machine does not have; it "
            "runs on the CPU. Pass device=... to choose another.",
            DeviceWarning,
            stacklevel=3,
        )
        return "cpu"
    return device


class AutoDevice:
    """Mixin for a skorch ``NeuralNet``: ``device="auto"`` (the GPU when there is one, else
    the CPU) and one clear error for a device this machine lacks.

    The device in use is ``device_``; ``device`` keeps what was asked for, so that ``clone``,
    ``get_params`` and pickles carry ``"auto"`` to the next machine. Call
    :meth:`_resolve_device` before skorch's ``initialize`` and wrap the calls of skorch that
    move modules in :meth:`_skorch_sees_resolved_device`.
    """

    def _resolve_device(self) -> None:
        self.device_ = resolve_device(self.device)

    @contextmanager
    def _skorch_sees_resolved_device(self):
        """Let skorch's own code move modules to ``device_``, not to ``"auto"``."""
        requested = self.device
        vars(self)["device"] = self.device_
        try:
            yield
        finally:
            vars(self)["device"] = requested

    def set_params(self, **kwargs):
        """skorch's ``set_params``; a new ``device`` moves every module and criterion."""
        if not getattr(self, "initialized_", False):
            return super().set_params(**kwargs)
        if "device" in kwargs:
            vars(self)["device"] = kwargs.pop("device")
            self._resolve_device()
            for name in self._modules + self._criteria:
                part = getattr(self, name + "_", None)
                if isinstance(part, torch.nn.Module):
                    part.to(self.device_)
        # set_params re-initialises the module when module__* changes: skorch then moves it
        with self._skorch_sees_resolved_device():
            super().set_params(**kwargs)
        return self

    def __setstate__(self, state):
        requested = state["device"]
        # skorch's own __setstate__ falls back to the CPU for a CUDA device this machine lacks
        state["device"] = resolve_device(requested) if requested == "auto" else requested
        super().__setstate__(state)
        # skorch may have fallen back to the CPU when the pickle came from a GPU machine
        self.device_ = self.device
        vars(self)["device"] = requested if requested == "auto" else self.device
