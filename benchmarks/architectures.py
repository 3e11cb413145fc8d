"""Compare the registered architectures: size, compute and inference speed.

For every name in ``chromoskl.architectures.ARCHITECTURES`` (or the subset given by
``--archs``), built with its default arguments, the script reports:

- the number of parameters;
- GFLOPs of one forward pass per image at ``--size`` x ``--size`` (one input channel),
  counted with ``torch.utils.flop_counter.FlopCounterMode``. These are FLOPs, not MACs: a
  multiply-add counts as 2. Deep-supervision heads are included;
- CPU milliseconds per image for inference (``eval()`` mode, ``torch.no_grad()``) at batch
  ``--batch``, with ``--threads`` intra-op threads: the median over ``--repeats`` timed
  batches after ``--warmup`` untimed ones, divided by the batch size;
- the same on CUDA when ``torch.cuda.is_available()`` (``torch.cuda.synchronize()`` around
  each timed batch).

An input side that is not a multiple of the network's ``input_divisor`` is rounded up to
the next multiple (the padding ``ChromosomeSegmenter`` would do); the table shows the side
used. Nothing is asserted: the script only measures.

Command lines::

    python benchmarks/architectures.py                       # all, 96x96, batch 32
    python benchmarks/architectures.py --repeats 3 --threads 1 --device cpu
    python benchmarks/architectures.py --archs unet attention_unet --json bench.json

The table goes to standard output as markdown; ``--json PATH`` also writes the rows.

Results of each run (command, machine, date) are recorded in ``benchmarks/RESULTS.md``.

Run it after ``pip install -e .`` (or with ``PYTHONPATH=.`` from the repository root).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from chromoskl.architectures import ARCHITECTURES, create_model

SIZE = 96
BATCH = 32
REPEATS = 5
WARMUP = 2


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())


def gflops_per_image(model: nn.Module, side: int) -> float:
    """FLOPs (not MACs) of one eval-mode forward pass on one 1-channel image, in GFLOP."""
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, 1, side, side))
    return counter.get_total_flops() / 1e9


def ms_per_image(
    model: nn.Module, side: int, batch: int, repeats: int, warmup: int, device: str
) -> float:
    """Median inference time of one batch on ``device``, divided by the batch size, in ms."""
    model = model.to(device).eval()
    x = torch.randn(batch, 1, side, side, device=device)
    sync: Callable[[], None] = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times = []
    with torch.no_grad():
        for step in range(warmup + repeats):
            sync()
            start = time.perf_counter()
            model(x)
            sync()
            if step >= warmup:
                times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times) / batch


def padded_side(model: nn.Module, size: int) -> int:
    """``size`` rounded up to a multiple of the network's ``input_divisor``."""
    divisor = getattr(model, "input_divisor", 1)
    return -(-size // divisor) * divisor


def benchmark(name: str, args: argparse.Namespace, devices: Sequence[str]) -> dict:
    """Measure one architecture; return one row of the table."""
    torch.manual_seed(0)
    model = create_model(name)
    side = padded_side(model, args.size)
    row = {
        "arch": name,
        "side": side,
        "params": count_parameters(model),
        "gflops_per_image": gflops_per_image(model, side),
    }
    for device in devices:
        row[f"{device}_ms_per_image"] = ms_per_image(
            model, side, args.batch, args.repeats, args.warmup, device
        )
    return row


def markdown_table(rows: list[dict], devices: Sequence[str]) -> str:
    """The rows as a markdown table."""
    header = ["arch", "input", "params", "GFLOPs/image"]
    header += [f"{device.upper()} ms/image" for device in devices]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        cells = [
            row["arch"],
            f"{row['side']}x{row['side']}",
            f"{row['params']:,}",
            f"{row['gflops_per_image']:.3g}",
        ]
        cells += [f"{row[f'{device}_ms_per_image']:.2f}" for device in devices]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def select_devices(device: str) -> list[str]:
    """The devices to time: the one named, or for "auto" the CPU and CUDA when available."""
    if device != "auto":
        return [device]
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=SIZE, help="image side (default 96)")
    parser.add_argument("--batch", type=int, default=BATCH, help="inference batch (default 32)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed batches")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="untimed batches first")
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads (default: torch's default)"
    )
    parser.add_argument(
        "--archs", nargs="+", default=None, metavar="NAME",
        help=f"subset of the registry (default: all of {', '.join(ARCHITECTURES)})",
    )
    parser.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto",
        help="auto: the CPU, and CUDA too when available",
    )
    parser.add_argument("--json", metavar="PATH", default=None, help="also write rows as JSON")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.archs or ()) - set(ARCHITECTURES))
    if unknown:
        parser.error(f"unknown architectures {unknown}; known: {', '.join(ARCHITECTURES)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but torch.cuda.is_available() is False")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    devices = select_devices(args.device)
    rows = [benchmark(name, args, devices) for name in args.archs or ARCHITECTURES]
    gpu = f", GPU {torch.cuda.get_device_name()}" if "cuda" in devices else ""
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads{gpu}; "
        f"{args.size}x{args.size} input, batch {args.batch}, median of {args.repeats} "
        f"after {args.warmup} warm-up; FLOPs (multiply-add = 2), eval mode, no_grad\n"
    )
    print(markdown_table(rows, devices))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "devices": devices, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
