"""``chromoskl karyogram``: metaphase images in, karyograms out.

The loop that labs run by hand: a metaphase separator finds every chromosome (a segmenter
splits those that cross), a classifier names each one's class (1-22, X, Y), and the karyogram
lays them out in the standard order with a confidence under each. Writes, per image, into
``--out``:

- ``<stem>_karyogram.png``: the chromosomes by class, 1-22, X, Y;
- ``<stem>_gallery.png``: every chromosome straightened, numbered as in the overlay, with its class;
- ``<stem>_overlay.png``: each chromosome in its own colour with its number;
- ``<stem>_karyotype.json``: per chromosome its number, class, confidence and measurements.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ._cli_classify import _load_model as load_classifier
from ._cli_separate import (
    _measurements,
    add_separator_options,
    separate_file,
    separator_from_args,
)

__all__ = ["add_karyogram_parser", "run_karyogram"]


def add_karyogram_parser(commands) -> argparse.ArgumentParser:
    """Add the ``karyogram`` subcommand to the parser's subcommands."""
    parser = commands.add_parser(
        "karyogram", help="separate, classify and lay out the chromosomes of metaphases",
        description="Find every chromosome of metaphase images (the segmenter splits those "
        "that cross), name each one's class (1-22, X, Y) with the classifier, and lay them "
        "out as a karyogram. Writes per image a karyogram, a gallery and an overlay (PNG) "
        "and the classes with their measurements (JSON).",
    )
    parser.add_argument("inputs", type=Path, nargs="+",
                        help="metaphase images: TIFF (raw 12/16-bit), PNG, JPEG")
    parser.add_argument("--segmenter", type=Path, required=True,
                        help="a segmenter written by chromoskl train or chromoskl ensemble")
    parser.add_argument("--classifier", type=Path, required=True,
                        help="a fitted classifier pipeline saved by joblib.dump (see "
                        "chromoskl classify)")
    parser.add_argument("--out", type=Path, default=Path("chromoskl-karyograms"))
    add_separator_options(parser)
    return parser


def run_karyogram(args) -> int:
    """Run ``chromoskl karyogram``; return the exit status."""
    from .ensemble import load_segmenter
    from .metaphase import save_gallery, save_overlay
    from .recognition import karyotype_metaphase

    for path in args.inputs:
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
    classifier = load_classifier(args.classifier)
    segmenter = load_segmenter(args.segmenter)
    separator, settings = separator_from_args(args, segmenter)
    settings = {"segmenter": str(args.segmenter), "classifier": str(args.classifier),
                **settings}
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.inputs:
        image, result, seconds = separate_file(separator, path)
        stem = args.out / path.stem
        report = _measurements(result, seconds, path, settings)
        found = karyotype_metaphase(image, result, classifier, f"{stem}_karyogram.png",
                                    report=report, title=path.name)
        placed = np.flatnonzero(found.classes >= 0)
        save_gallery(f"{stem}_gallery.png", image, result.masks, labels=found.names)
        save_overlay(f"{stem}_overlay.png", image, result.masks)
        report["class_counts"] = {name: found.names.count(name)
                                  for name in sorted(set(found.names), key=_karyogram_order)}
        Path(f"{stem}_karyotype.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"chromoskl: {path}: {len(placed)} chromosomes classified, "
              f"{len(found.names) - len(placed)} unresolved; separated in {seconds:.1f} s -> "
              f"{stem}_karyogram.png, _gallery.png, _overlay.png, _karyotype.json")
    return 0


def _karyogram_order(name: str) -> int:
    """1..22, then X, Y, then "?" (not classified)."""
    from .datasets._karyotype import CLASS_NAMES

    return CLASS_NAMES.index(name) if name in CLASS_NAMES else len(CLASS_NAMES)
