"""Which reading of ARMS eq. 4 do the published accuracies fit? A check on Pommier's labels.

ARMS Net (Wang et al. 2021) prints, for every network of Tables 3 and 5, the IoU of the two
whole chromosomes (alpha, beta) and an accuracy, eq. 4, ``(TP + TN) / ALL``, which the footnote
of Table 3 calls "the average accuracy of two complete chromosomes". If the accuracy is, per
whole chromosome, the binary accuracy over ALL pixels and then the mean of the two
(``chromoskl.metrics.two_chromosome_accuracy``), it follows from the IoUs and the sizes of the
chromosomes:

    wrong pixels of chromosome c = (1 - IoU_c) * |union_c|  ~  (1 - IoU_c) * |c|
    accuracy ~ 1 - mean_c((1 - IoU_c) * |c|) / ALL

(``|union_c| >= |c|``: the estimate is a little too high, by about ``1 - IoU_c`` relative).
This script measures the mean sizes |A| and |B| on the labels of Pommier's file, predicts the
accuracy of every published row from its IoUs for ALL = 128 x 128 (the padded input) and ALL =
94 x 93 (the raw image), and prints them beside the published accuracy. It reads the labels
only; nothing is trained.

Run (from the repository root)::

    python benchmarks/arms_eq4_check.py [--data PATH]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chromoskl.datasets import load_overlapping_chromosomes

DEFAULT_DATA = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "LowRes_13434_overlapping_pairs_regenerated.h5"
)

#: (row, chromosome alpha IoU %, beta IoU %, accuracy %) of ARMS Tables 3 and 5.
PUBLISHED = (
    ("Table 3 UNet (AAR) 3L", 99.59, 99.79, 99.9923),
    ("Table 3 UNet (AAR) 4L", 99.70, 99.85, 99.9943),
    ("Table 3 UNet (AAR) 5L", 99.64, 99.82, 99.9932),
    ("Table 5 UNet", 98.38, 99.16, 99.9690),
    ("Table 5 UNet (R)", 98.85, 99.41, 99.9780),
    ("Table 5 UNet (PR)", 98.84, 99.40, 99.9778),
    ("Table 5 UNet (AR)", 99.12, 99.55, 99.9832),
    ("Table 5 UNet (DAR)", 99.27, 99.62, 99.9860),
    ("Table 5 ARMS Net", 99.77, 99.88, 99.9955),
)


def chromosome_sizes(labels: np.ndarray) -> tuple[float, float]:
    """Mean pixels per image of whole chromosome A = {1, 3} and B = {2, 3}."""
    a = np.isin(labels, (1, 3)).sum(axis=(1, 2)).mean()
    b = np.isin(labels, (2, 3)).sum(axis=(1, 2)).mean()
    return float(a), float(b)


def predicted_accuracy(iou_a: float, iou_b: float, size_a: float, size_b: float,
                       all_pixels: int) -> float:
    """Eq. 4 per whole chromosome, averaged, from the IoUs (fractions) and the mean sizes."""
    wrong = ((1 - iou_a) * size_a + (1 - iou_b) * size_b) / 2
    return 1 - wrong / all_pixels


def main(argv: Sequence[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Pommier's h5 file")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"error: no data file at {args.data}; pass --data PATH", file=sys.stderr)
        raise SystemExit(2)
    labels = load_overlapping_chromosomes(args.data).labels
    size_a, size_b = chromosome_sizes(labels)
    h, w = labels.shape[-2:]
    print(f"{len(labels)} label images of {h}x{w}: mean |A| = {size_a:.1f} px, "
          f"|B| = {size_b:.1f} px")
    background_only = [1 - (size_a + size_b) / 2 / n for n in (128 * 128, h * w)]
    print(f"eq. 4 of a prediction of background only: {background_only[0]:.4f} at 128x128, "
          f"{background_only[1]:.4f} at {h}x{w}")
    print(f"{'row':<24} {'published':>10} {'ALL=128x128':>12} {f'ALL={h}x{w}':>12}")
    rows = []
    for name, iou_a, iou_b, accuracy in PUBLISHED:
        padded, raw = (100 * predicted_accuracy(iou_a / 100, iou_b / 100, size_a, size_b, n)
                       for n in (128 * 128, h * w))
        rows.append({"row": name, "published": accuracy, "all_128": padded, "all_raw": raw})
        print(f"{name:<24} {accuracy:>10.4f} {padded:>12.4f} {raw:>12.4f}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
