"""Writing model and checkpoint files: atomically, with the history as JSON, a checksum of
the weights, and a check that stored weights fit the network they are loaded into."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from skorch.history import History

__all__ = [
    "atomic_write",
    "atomic_torch_save",
    "history_to_json",
    "history_from_json",
    "weights_checksum",
    "check_state_dict_fits",
    "uncompiled",
]


def atomic_write(path, write) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it to ``path``:
    the file is written whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_torch_save(obj, path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: whole or not at all."""
    atomic_write(path, lambda handle: torch.save(obj, handle))


def _jsonable(value):
    """History entries as JSON: numpy numbers become Python numbers."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def history_to_json(history: History) -> str:
    """A skorch ``History`` as a JSON string (stored as a plain string in model files)."""
    return json.dumps(_jsonable(history.to_list()))


def history_from_json(text: str) -> History:
    """The inverse of :func:`history_to_json`."""
    return History(json.loads(text))


def weights_checksum(state_dict) -> str:
    """SHA-256 of a state dict: every tensor's name, dtype, shape and bytes, in key order.

    Stored in model files, so that weights changed after saving (a file overwritten in place)
    are found at load time rather than giving silently different predictions.
    """
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _shape(tensor) -> str:
    return "x".join(str(s) for s in tensor.shape) or "scalar"


def check_state_dict_fits(expected, stored, *, source: str, fix: str) -> None:
    """Raise one ValueError when ``stored`` weights do not fit a network's ``expected`` ones.

    Parameters
    ----------
    expected : mapping of str to tensor
        The network's own state dict (real or on the ``meta`` device).
    stored : mapping of str to tensor
        The weights read from a file.
    source : str
        What the weights came from, for the message.
    fix : str
        What to do, for the message.
    """
    if not isinstance(stored, dict) or not all(
        isinstance(v, torch.Tensor) for v in stored.values()
    ):
        raise ValueError(f"{source} holds no weights (a state dict of tensors). {fix}")
    missing = sorted(set(expected) - set(stored))
    unexpected = sorted(set(stored) - set(expected))
    resized = [
        f"{name} ({_shape(stored[name])} stored, {_shape(expected[name])} in the network)"
        for name in expected
        if name in stored and tuple(stored[name].shape) != tuple(expected[name].shape)
    ]
    problems = []
    if resized:
        problems.append(f"{len(resized)} of different size, e.g. {resized[0]}")
    if missing:
        problems.append(f"{len(missing)} missing, e.g. {missing[0]}")
    if unexpected:
        problems.append(f"{len(unexpected)} the network does not have, e.g. {unexpected[0]}")
    if problems:
        raise ValueError(
            f"The weights in {source} do not fit the network they are loaded into: "
            f"{'; '.join(problems)}. {fix}"
        )


def uncompiled(module: torch.nn.Module) -> torch.nn.Module:
    """The module behind ``torch.compile`` (whose state dict prefixes ``_orig_mod.``)."""
    return getattr(module, "_orig_mod", module)
