"""``chromoskl separate``: whole metaphase images in, one mask per chromosome out.

Writes, per image, into ``--out``:

- ``<stem>_instances.npz``: ``masks`` (k, H, W) bool (overlapping masks where chromosomes
  cross), ``boxes``, ``source``, ``area``, ``length``;
- ``<stem>_overlay.png``: each chromosome in its own colour with its number;
- ``<stem>_gallery.png``: every chromosome cut out and straightened, numbered alike;
- ``<stem>_measurements.json``: per-chromosome measurements and the run's settings.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ._cli_support import int_or_none, positive_float

__all__ = [
    "add_separate_parser", "add_separator_options", "separator_from_args", "separate_file",
    "run_separate",
]


def _threshold(text: str):
    from .metaphase import THRESHOLDS

    if text in THRESHOLDS:
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be one of {', '.join(sorted(THRESHOLDS))} or a number, got {text!r}"
        ) from None


def add_separator_options(parser: argparse.ArgumentParser) -> None:
    """The options of :class:`~chromoskl.metaphase.MetaphaseSeparator`'s steps, shared by
    ``separate`` and ``karyogram``."""
    parser.add_argument("--pixel-scale", type=positive_float, default=0.5,
                        help="segmenter pixels per image pixel (default 0.5: Pommier's pairs "
                        "were down-sampled by 2)")
    parser.add_argument("--background-radius", type=positive_float, default=25,
                        help="top-hat disk radius in pixels (default 25)")
    parser.add_argument("--threshold", type=_threshold, default="li",
                        help="li (default), otsu, triangle, yen, or a grey value")
    parser.add_argument("--min-area", type=int, default=60,
                        help="smallest chromosome in pixels (default 60)")
    parser.add_argument("--grey-scale", type=positive_float,
                        help="grey factor for the segmenter (default: from the model)")
    parser.add_argument("--min-crossing-pixels", default=16,
                        type=int_or_none(1, "a positive integer"),
                        help="split a component that looks single where the segmenter finds "
                        "at least this many pixels of overlap, of A alone and of B alone "
                        "(default 16); none trusts the shape alone. Use none with a model "
                        "trained on images unlike these")


def separator_from_args(args, segmenter):
    """The :class:`~chromoskl.metaphase.MetaphaseSeparator` the options ask for, and the
    settings to record beside its results."""
    from .metaphase import MetaphaseSeparator

    if args.min_area < 1:
        raise ValueError(f"--min-area must be a positive integer, got {args.min_area}")
    settings = {
        "pixel_scale": args.pixel_scale, "background_radius": args.background_radius,
        "threshold": args.threshold, "min_area": args.min_area,
        "grey_scale": "auto" if args.grey_scale is None else args.grey_scale,
        "min_crossing_pixels": args.min_crossing_pixels,
    }
    separator = MetaphaseSeparator(
        segmenter, background_radius=args.background_radius, pixel_scale=args.pixel_scale,
        grey_scale=settings["grey_scale"], threshold=args.threshold, min_area=args.min_area,
        min_crossing_pixels=args.min_crossing_pixels,
    )
    return separator, settings


def separate_file(separator, path: Path):
    """Read the image at ``path`` and separate it: the image, the result, and the seconds that
    the separation took."""
    from .datasets import read_grey_image

    image = read_grey_image(path)
    started = time.perf_counter()
    result = separator.separate(image)
    return image, result, time.perf_counter() - started


def add_separate_parser(commands) -> argparse.ArgumentParser:
    """Add the ``separate`` subcommand to the parser's subcommands."""
    parser = commands.add_parser(
        "separate", help="one mask per chromosome of whole metaphase images",
        description="Find every chromosome of metaphase images; a segmenter splits the "
        "chromosomes that touch or cross. Writes per image an instance file (npz), an "
        "overlay and a gallery (PNG) and measurements (JSON).",
    )
    parser.add_argument("inputs", type=Path, nargs="+",
                        help="metaphase images: TIFF (raw 12/16-bit), PNG, JPEG; RGB is "
                        "turned grey")
    parser.add_argument("--model", type=Path,
                        help="a segmenter written by chromoskl train or chromoskl ensemble; "
                        "without it, touching or crossing chromosomes stay one mask each")
    parser.add_argument("--out", type=Path, default=Path("chromoskl-separated"))
    add_separator_options(parser)
    return parser


def _measurements(result, seconds: float, path: Path, settings: dict) -> dict:
    chromosomes = []
    for k in range(len(result.masks)):
        r0, c0, r1, c1 = (int(v) for v in result.boxes[k])
        chromosomes.append({
            "number": k + 1,
            "source": str(result.source[k]),
            "area_px": int(result.area[k]),
            "length_px": round(float(result.length[k]), 1),
            "box": {"row_start": r0, "col_start": c0, "row_stop": r1, "col_stop": c1},
        })
    sources = [str(s) for s in result.source]
    return {
        "image": str(path),
        "n_chromosomes": len(chromosomes),
        "n_single": sources.count("single"),
        "n_from_clusters": sources.count("cluster"),
        "n_unresolved": sources.count("unresolved"),
        "seconds": round(seconds, 2),
        "grey_factor": round(result.grey_factor, 5),
        "settings": settings,
        "chromosomes": chromosomes,
    }


def run_separate(args) -> int:
    """Run ``chromoskl separate``; return the exit status."""
    from .ensemble import load_segmenter
    from .metaphase import save_gallery, save_overlay

    for path in args.inputs:
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
    segmenter = None if args.model is None else load_segmenter(args.model)
    separator, settings = separator_from_args(args, segmenter)
    settings = {"model": None if args.model is None else str(args.model), **settings}
    if segmenter is None:
        print("chromoskl: no --model: chromosomes that touch or cross stay one mask each")
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.inputs:
        image, result, seconds = separate_file(separator, path)
        stem = args.out / path.stem
        np.savez_compressed(
            f"{stem}_instances.npz", masks=result.masks, boxes=result.boxes,
            source=result.source.astype(str), area=result.area, length=result.length,
        )
        save_overlay(f"{stem}_overlay.png", image, result.masks)
        save_gallery(f"{stem}_gallery.png", image, result.masks)
        report = _measurements(result, seconds, path, settings)
        Path(f"{stem}_measurements.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"chromoskl: {path}: {report['n_chromosomes']} chromosomes ({report['n_single']} "
              f"single, {report['n_from_clusters']} split from clusters, "
              f"{report['n_unresolved']} unresolved) in {seconds:.1f} s -> "
              f"{stem}_instances.npz, _overlay.png, _gallery.png, _measurements.json")
    return 0
