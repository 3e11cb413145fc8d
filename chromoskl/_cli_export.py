"""``chromoskl export``: a model file of ``chromoskl train`` as an ONNX or TorchScript file.

What the file computes, and for which image sizes, is described in :mod:`chromoskl.export`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._cli_support import UsageError

__all__ = ["add_export_parser", "run_export"]


def _side(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of pixels, got {text}")
    return value


def add_export_parser(commands) -> None:
    """Register ``export`` on the ``chromoskl`` sub-command parsers."""
    export = commands.add_parser(
        "export",
        help="write a model as ONNX or TorchScript (padding and softmax inside)",
        description="Write the prediction of a model file (chromoskl train's model.pt) as an "
        "ONNX or TorchScript file: images (N, 1, H, W) float32 in, class probabilities "
        "(N, 4, H, W) out, with the padding, the softmax and the model's A/B decoding inside.",
    )
    export.add_argument("--model", type=Path, required=True,
                        help="a model file written by chromoskl train or ChromosomeSegmenter.save")
    export.add_argument("--out", type=Path, required=True,
                        help="the file to write: .onnx, or .pt/.ts for TorchScript")
    export.add_argument("--format", choices=("onnx", "torchscript"),
                        help="default: from the suffix of --out")
    export.add_argument("--image-size", type=_side, nargs=2, metavar=("H", "W"),
                        help="export for images of this size only (needed for ARMS Net and "
                        "its adaptive ablations); default: any size")


def run_export(args: argparse.Namespace) -> int:
    """Export ``--model`` to ``--out``; return the exit status."""
    from . import ChromosomeSegmenter
    from .export import export_segmenter, format_of

    if args.out.is_dir():
        raise UsageError(f"--out {args.out} is a directory; give the file to write")
    kind = format_of(args.out, args.format)  # a bad suffix fails before the model is read
    if not args.model.is_file():
        raise UsageError(f"no such model file: {args.model}")
    seg = ChromosomeSegmenter.load(args.model, device="cpu")
    try:
        export_segmenter(seg, args.out, format=kind, image_shape=args.image_size)
    except ImportError as error:
        raise UsageError(str(error)) from None
    size = "any image size" if args.image_size is None else "{}x{} images".format(
        *args.image_size
    )
    print(f"chromoskl: wrote {args.out} ({kind}, {size})")
    return 0
