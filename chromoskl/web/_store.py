"""Where the web application keeps uploads and results: one temporary directory per
application, one sub-directory per result, named by a random id.

Nothing a user sends names a file: an upload is written as ``upload`` plus one of the
allowed suffixes, its results under the fixed names of :data:`RESULT_FILES`, and a result is
found again only by its id, which must be 32 hexadecimal digits.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import weakref
from pathlib import Path

__all__ = ["RESULT_FILES", "ResultStore"]

#: The files a result may hold, by the name its address uses, with their MIME types.
RESULT_FILES = {
    "input.png": "image/png",
    "overlay.png": "image/png",
    "gallery.png": "image/png",
    "karyogram.png": "image/png",
    "instances.npz": "application/octet-stream",
    "measurements.json": "application/json",
}

_ID = re.compile(r"[0-9a-f]{32}")


class ResultStore:
    """A temporary directory of results, removed when the store is collected or at exit.

    Parameters
    ----------
    max_results : int, default=100
        Results kept; the oldest are removed beyond it, so that a server left running does
        not fill the disk.
    """

    def __init__(self, max_results: int = 100):
        if max_results < 1:
            raise ValueError(f"max_results must be at least 1, got {max_results}")
        self.max_results = max_results
        self.root = Path(tempfile.mkdtemp(prefix="chromoskl-serve-"))
        self._order: list[str] = []
        self._lock = threading.Lock()
        # runs when the store is garbage-collected or, at the latest, when Python exits
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.root, ignore_errors=True)

    def new(self) -> tuple[str, Path]:
        """A new result's id and its empty directory."""
        result_id = secrets.token_hex(16)
        directory = self.root / result_id
        directory.mkdir()
        with self._lock:
            self._order.append(result_id)
            stale, self._order = self._order[: -self.max_results], self._order[-self.max_results:]
        for old in stale:
            shutil.rmtree(self.root / old, ignore_errors=True)
        return result_id, directory

    def discard(self, result_id: str) -> None:
        """Remove a result (one that failed half-way)."""
        with self._lock:
            if result_id in self._order:
                self._order.remove(result_id)
        shutil.rmtree(self.root / result_id, ignore_errors=True)

    def directory(self, result_id: str) -> Path | None:
        """The directory of a stored result, or None for an id that is not one."""
        if not _ID.fullmatch(result_id):
            return None
        directory = self.root / result_id
        return directory if directory.is_dir() else None

    def file(self, result_id: str, name: str) -> Path | None:
        """The path of one of a result's files, or None if there is no such file."""
        directory = self.directory(result_id)
        if directory is None or name not in RESULT_FILES:
            return None
        path = directory / name
        return path if path.is_file() else None

    def close(self) -> None:
        """Remove the directory and everything in it now."""
        self._cleanup()
