"""How often Pommier's labels name B's rim as chromosome A.

Pommier's generator labels a pixel with the sum of two rotated masks, 1 for one chromosome
and 2 for the other (``chromoskl/architectures/summed_masks.py``). B's mask, interpolated from
2, is 1 along its rim, so where that rim lies on the background it reads as label 1, the
label of A. Such pixels are pieces of label 1 apart from A's own body, along B's outline. For
a random draw of images, this script counts, in the raw and the cleaned labels:

- the images with pieces of label 1 apart from the largest one (A's body);
- their pixels, against those of the largest pieces;
- of the pixels just outside B and the overlap (one 8-connected step), how many are such
  pieces and how many are background.

Command (from the repository root)::

    python benchmarks/raw_label_rings.py [--data PATH.h5] [--images 600] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import ndimage

from chromoskl.classes import BACKGROUND, CHROMOSOME_A, CHROMOSOME_B, OVERLAP
from chromoskl.datasets import load_overlapping_chromosomes

DEFAULT_DATA = (Path(__file__).resolve().parents[1].parent / "shared" / "data"
                / "LowRes_13434_overlapping_pairs_regenerated.h5")
EIGHT_CONNECTED = np.ones((3, 3), bool)


def stray_a(labels: np.ndarray) -> np.ndarray:
    """Pixels of label A outside its largest 4-connected piece."""
    is_a = labels == CHROMOSOME_A
    pieces, count = ndimage.label(is_a)
    if count <= 1:
        return np.zeros_like(is_a)
    sizes = ndimage.sum_labels(is_a, pieces, range(1, count + 1))
    return is_a & (pieces != 1 + int(np.argmax(sizes)))


def ring_counts(labels: np.ndarray) -> dict:
    """The counts of the module docstring over a stack of label images."""
    counts = dict(images=len(labels), images_with_stray_a=0, stray_a_pixels=0, a_pixels=0,
                  outside_b_stray_a=0, outside_b_background=0)
    for image_labels in labels:
        stray = stray_a(image_labels)
        counts["images_with_stray_a"] += int(stray.any())
        counts["stray_a_pixels"] += int(stray.sum())
        counts["a_pixels"] += int((image_labels == CHROMOSOME_A).sum())
        b = np.isin(image_labels, (CHROMOSOME_B, OVERLAP))
        outside = ndimage.binary_dilation(b, EIGHT_CONNECTED) & ~b
        counts["outside_b_stray_a"] += int((outside & stray).sum())
        counts["outside_b_background"] += int((outside & (image_labels == BACKGROUND)).sum())
    return counts


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print("| labels | images | with stray A pieces | stray A pixels / all A pixels | just "
          "outside B: stray A / background |")
    print("|---|---|---|---|---|")
    for labelling in ("raw", "cleaned"):
        data = load_overlapping_chromosomes(args.data, labels=labelling, max_samples=args.images,
                                            shuffle=True, random_state=args.seed)
        c = ring_counts(data.labels)
        print(f"| {labelling} | {c['images']} | {c['images_with_stray_a']} "
              f"({c['images_with_stray_a'] / c['images']:.0%}) | {c['stray_a_pixels']:,} / "
              f"{c['a_pixels']:,} ({c['stray_a_pixels'] / max(c['a_pixels'], 1):.1%}) | "
              f"{c['outside_b_stray_a']:,} / {c['outside_b_background']:,} |")


if __name__ == "__main__":
    main()
