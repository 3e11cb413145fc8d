"""Which floating-point precision a device trains fastest in."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import torch

PRECISIONS = (None, "bf16", "auto")


class PrecisionWarning(UserWarning):
    """A precision was asked for where the device runs it slowly (bfloat16 on a CPU without
    bfloat16 instructions)."""


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether the CPU has bfloat16 instructions (AVX512-BF16 or AMX-BF16).

    Read from ``/proc/cpuinfo`` (Linux; False elsewhere). torch exposes no public query for
    it: ``torch.backends.cpu.get_cpu_capability()`` stops at "AVX512", and on an AVX512 CPU
    without these instructions oneDNN emulates bfloat16, slower than float32.
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split()))


def resolve_precision(precision, device: str):
    """``"auto"`` becomes ``"bf16"`` where bfloat16 is fast (a CUDA device that supports it,
    or a CPU with bfloat16 instructions), else None (float32); others pass."""
    if precision != "auto":
        return precision
    kind = torch.device(device).type
    if kind == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else None
    if kind == "cpu":
        return "bf16" if cpu_has_native_bf16() else None
    return None


def warn_if_emulated(precision, device: str) -> None:
    """A :class:`PrecisionWarning` when ``precision`` is ``"bf16"`` on a CPU without bfloat16
    instructions: torch emulates it there, many times slower than float32."""
    if precision == "bf16" and torch.device(device).type == "cpu" and not cpu_has_native_bf16():
        warnings.warn(
            "precision='bf16' on a CPU without bfloat16 instructions (AVX512-BF16 or "
            "AMX-BF16): torch emulates bfloat16 there, and a U-Net trained about 23 times "
            "fewer images per second than in float32 on a 2-core AVX2 CPU "
            "(benchmarks/RESULTS.md). Use precision='auto' (bfloat16 only where it is fast) "
            "or None (float32); on the command line, --precision auto or fp32.",
            PrecisionWarning, stacklevel=3,
        )
