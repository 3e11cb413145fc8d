"""What the command line checks before it starts work, and how it stops when interrupted.

Kept apart from :mod:`chromoskl.cli`, which only parses arguments and calls the library.
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from skorch.history import History

from ._limits import check_memory

__all__ = [
    "UsageError",
    "positive_float",
    "int_or_none",
    "check_output_directory",
    "check_generated_size",
    "interrupt_recorded",
    "keep_checkpoint",
]

def positive_float(text: str) -> float:
    """An ``argparse`` type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def int_or_none(minimum: int, wording: str, none=None):
    """An ``argparse`` type: an integer of at least ``minimum``, or "none" (any case), which
    becomes ``none``; the error says "must be <wording> or none"."""

    def parse(text: str):
        if text.lower() == "none":
            return none
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {wording} or none, got {text!r}")
        return value

    return parse


#: Bytes per pixel of a generated data set while it is made and trained on: float32 image and
#: its float32 copy as a tensor, uint8 label and its int64 copy, and the generator's float64
#: work arrays.
GENERATED_BYTES_PER_PIXEL = 40


class UsageError(Exception):
    """A problem with the command line itself, reported as one line."""


def check_output_directory(path: Path, flag: str = "--out") -> None:
    """Create ``path`` and check that a file can be written there, before any work.

    Raises
    ------
    UsageError
        If ``path`` is a file, or cannot be created or written to.
    """
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path} is a file; give a directory for the results.")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise UsageError(
            f"{flag} {path} cannot be written to ({error.strerror or error}); choose a "
            "directory you can write to."
        ) from None


def check_generated_size(n_samples: int, shape=(94, 93)) -> None:
    """Refuse to generate more images than fit in memory (before generating any)."""
    check_memory(
        n_samples * shape[0] * shape[1] * GENERATED_BYTES_PER_PIXEL,
        f"Generating and training on {n_samples:,} images of {shape[0]}x{shape[1]}",
        "Give a smaller --n-samples (1,500 train in about a minute), or train on a file "
        "with --data and --max-samples.",
    )


class _Interrupt:
    seen = False


@contextmanager
def interrupt_recorded():
    """Record a Ctrl-C (SIGINT) that happens inside the block; it still interrupts.

    skorch ends ``fit`` quietly on ``KeyboardInterrupt`` (and chromoskl's time budget stops
    training that way), so after ``fit`` returns the caller asks ``.seen`` whether the user
    interrupted. Outside the main thread, where signals cannot be caught, nothing is
    recorded.
    """
    flag = _Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag.seen = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def keep_checkpoint(segmenter, checkpoint, path: Path) -> None:
    """After a Ctrl-C: make sure a checkpoint exists, of the epochs that were completed.

    The :class:`~chromoskl.checkpoint.EpochCheckpoint` of the last completed epoch is kept
    as it is; when no epoch was completed, the weights so far are written with an empty
    history (replacing the checkpoint of an older run in the same directory), so that
    ``--resume`` starts from them.
    """
    if not getattr(segmenter, "initialized_", False):
        return
    done = [row for row in segmenter.history_.to_list() if "dur" in row]
    if done and path.is_file():  # written at the end of the last completed epoch
        return
    checkpoint.save(segmenter, history=History(done))
