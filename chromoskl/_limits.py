"""Limits that protect the machine: sizes checked against memory before anything is allocated.

A network built from a model file, a generated data set of a billion images or a network that
pads 94x93 images to 1024x1024 would otherwise grow until the operating system kills the
process. The checks here refuse such requests up front, with the numbers and the fix. No
library offers these checks; they are a few lines of arithmetic on shapes.
"""

from __future__ import annotations

import math
import os

import torch

__all__ = [
    "ResourceLimitError",
    "available_memory",
    "check_memory",
    "network_parameter_count",
    "check_network_size",
    "check_padding",
    "check_images_suit_network",
]

#: Share of the available memory one request may take.
MEMORY_SHARE = 0.8
#: Bytes per network parameter while training: float32 weights, gradients, two Adam moments.
TRAINING_BYTES_PER_PARAMETER = 16
#: The padding the network needs may at most multiply an image's pixels by this.
MAX_PADDING_FACTOR = 4.0


class ResourceLimitError(ValueError):
    """A request that would need more memory (or work) than is sensible; says what fits."""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gigabytes(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GB"


def check_memory(n_bytes: float, what: str, fix: str, *, available: int | None = None) -> None:
    """Refuse a request for more than ``MEMORY_SHARE`` of the available memory.

    Parameters
    ----------
    n_bytes : float
        Estimated bytes the request needs.
    what : str
        What needs them, for the message ("1,000,000 generated 94x93 images").
    fix : str
        What to do instead, for the message.
    available : int or None
        Bytes available; by default read from the system.

    Raises
    ------
    ResourceLimitError
    """
    available = available_memory() if available is None else available
    if available is None:
        return
    if n_bytes > MEMORY_SHARE * available:
        raise ResourceLimitError(
            f"{what} would need about {_gigabytes(n_bytes)} of memory, but {_gigabytes(available)} "
            f"is available. {fix}"
        )


def network_parameter_count(build) -> int | None:
    """Parameters of the network ``build()`` makes, counted without allocating them.

    The network is built on torch's ``meta`` device, where tensors have shapes but no
    storage. Returns None for a network that cannot be built there (its own constructor
    then runs as usual).
    """
    try:
        with torch.device("meta"):
            network = build()
    except (ValueError, TypeError, KeyError):
        raise
    except Exception:  # a custom network that needs real tensors while it is built
        return None
    return sum(p.numel() for p in network.parameters()) + sum(
        b.numel() for b in network.buffers()
    )


def check_network_size(build, name: str, *, available: int | None = None) -> None:
    """Refuse a network whose training state does not fit in memory, before building it.

    Raises
    ------
    ResourceLimitError
        With the parameter count and the memory it needs.
    ValueError, TypeError
        Whatever the network's constructor raises for its parameters.
    """
    count = network_parameter_count(build)
    if count is None:
        return
    check_memory(
        count * TRAINING_BYTES_PER_PARAMETER,
        f"The network {name} has {count:,} parameters and",
        "Choose fewer channels or a smaller depth (module__base_channels, module__depth, or "
        "module__channels for widths that do not double).",
        available=available,
    )


def check_padding(image_shape: tuple[int, int], divisor: int, name: str) -> None:
    """Refuse a network whose input divisor pads the images to many times their size.

    The estimator pads every batch to a multiple of the network's ``input_divisor``
    (``2**depth`` for the U-Nets). A divisor far larger than the images spends nearly all the
    computation on padding (94x93 images at depth 10 become 1024x1024: 120 times the pixels).

    Raises
    ------
    ResourceLimitError
        When the padded image has more than ``MAX_PADDING_FACTOR`` times the pixels; the
        message gives the largest divisor that fits.
    """
    height, width = (int(s) for s in image_shape)
    padded = (math.ceil(height / divisor) * divisor, math.ceil(width / divisor) * divisor)
    factor = padded[0] * padded[1] / (height * width)
    if factor <= MAX_PADDING_FACTOR:
        return
    fitting = [
        2**k for k in range(0, 16)
        if math.ceil(height / 2**k) * 2**k * math.ceil(width / 2**k) * 2**k
        <= MAX_PADDING_FACTOR * height * width
    ]
    largest = max(fitting)
    raise ResourceLimitError(
        f"The network {name} needs inputs whose sides are multiples of {divisor}, so "
        f"{height}x{width} images would be padded to {padded[0]}x{padded[1]} ({factor:.0f} "
        f"times the pixels). For these images use a network whose input divisor is at most "
        f"{largest}: module__depth={int(math.log2(largest))} or less for the U-Nets."
    )


def check_images_suit_network(shape, in_channels: int | None, divisor: int, name: str) -> None:
    """Before training: the channels the network reads, and padding that is not most of
    every image (:func:`check_padding`).

    Parameters
    ----------
    shape : tuple of int
        Shape of the images, (n, H, W) or (n, C, H, W).
    in_channels : int or None
        Channels the network reads (``module__in_channels``); None when it has no such
        parameter (a custom network), and then not checked.
    divisor : int
        The network's ``input_divisor``.
    name : str
        The architecture, for the messages.
    """
    channels = 1 if len(shape) == 3 else shape[1]
    if in_channels is not None and channels != in_channels:
        raise ValueError(
            f"The network reads {in_channels}-channel images (module__in_channels="
            f"{in_channels}), but X has {channels} channel(s) (shape {tuple(shape)}). Set "
            f"module__in_channels={channels}, or convert the images (grey images: shape "
            "(n, H, W))."
        )
    check_padding(tuple(shape[-2:]), divisor, name)
