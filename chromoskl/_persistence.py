"""Writing model and checkpoint files: atomically, and with the history as JSON."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from skorch.history import History

__all__ = ["atomic_torch_save", "history_to_json", "history_from_json"]


def atomic_torch_save(obj, path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
