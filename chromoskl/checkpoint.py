"""Save training state after every epoch and resume a run that was stopped midway."""

from __future__ import annotations

from pathlib import Path

import torch
from skorch.callbacks import Callback

from ._persistence import (
    atomic_torch_save,
    check_state_dict_fits,
    history_from_json,
    history_to_json,
)

__all__ = ["EpochCheckpoint", "resume_training"]


class EpochCheckpoint(Callback):
    """Write the network, optimizer and history to one file at the end of every epoch.

    The file is replaced atomically (written beside it, then renamed), so a run killed at any
    moment leaves the previous epoch's checkpoint intact. It holds only tensors, numbers and
    strings: ``torch.load(path, weights_only=True)`` reads it. skorch's own ``Checkpoint``
    writes several files one after the other, which a kill can leave out of step.

    Parameters
    ----------
    path : str or Path
        Checkpoint file.
    """

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, net, **kwargs):
        self.save(net)

    def save(self, net, history=None):
        """Write the checkpoint now; ``history`` replaces the network's (e.g. without the
        epoch a Ctrl-C cut short)."""
        history = net.history_ if history is None else history
        atomic_torch_save(
            {
                "module": net.module_.state_dict(),
                "optimizer": net.optimizer_.state_dict(),
                "history": history_to_json(history),
                "network": _network_description(net),
            },
            Path(self.path),
        )


def _network_description(net) -> str:
    """The architecture and its ``module__*`` parameters, for the message of a bad resume."""
    arch = net.arch if isinstance(net.arch, str) else net.arch.__name__
    params = " ".join(f"{k}={v!r}" for k, v in sorted(net.get_params_for("module").items()))
    return f"arch={arch!r}" + (f", module: {params}" if params else "")


def resume_training(segmenter, path, X, y, *, max_epochs: int, **fit_params):
    """Load the state of an :class:`EpochCheckpoint` and train up to ``max_epochs`` in all.

    ``segmenter`` must be built with the same parameters as the interrupted run. Epochs
    already in the checkpoint's history are not repeated.

    Returns
    -------
    segmenter : ChromosomeSegmenter
        Fitted, with the history of the whole run.
    """
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        history = history_from_json(state["history"])
    except Exception as error:  # a damaged or foreign file: say which and stop
        raise ValueError(
            f"Cannot resume from {path}: not a readable chromoskl checkpoint "
            f"({type(error).__name__})."
        ) from None
    segmenter.initialize()
    made_with = state.get("network")
    check_state_dict_fits(
        segmenter.module_.state_dict(), state["module"], source=f"the checkpoint {path}",
        fix="Resume with the architecture and network parameters (--arch, --module) the run "
        "was started with" + (f" ({made_with})." if made_with else "."),
    )
    segmenter.module_.load_state_dict(state["module"])
    segmenter.module_.to(segmenter.device_)
    segmenter.optimizer_.load_state_dict(state["optimizer"])
    segmenter.history_ = history
    remaining = max_epochs - len(history)
    if remaining > 0:
        segmenter.partial_fit(X, y, epochs=remaining, **fit_params)
    return segmenter
