"""Are the placements of Pommier's pairs whole-pixel moves of fixed chromosome patches?

In a group of Pommier's images (one pair, the same two angles) only ``shift_u`` and
``shift_v`` change, the partners' placement against each other. If each chromosome at one
angle is one fixed patch and a placement moves it by whole pixels, then in two images of a
group the pixels where the same chromosome is shown alone carry the same grey values, up to
one whole-pixel shift. If the placements were sub-pixel moves (resampled), they would
differ everywhere. For random pairs of images of one group, this script:

1. finds, for chromosome A (label 1) and B (label 2) in turn, the whole-pixel shift that lays
   the first image's pixels of it shown alone best over the second's: the most such pixels
   in common, less the sum of their squared grey differences / 100, computed for every
   shift at once as cross-correlations (``scipy.signal.correlate``);
2. counts the pixels shown alone in both images whose grey values are equal, over all of
   them and over those 4 or more pixels away from the other chromosome and the overlap in
   both images (near the partner its faint rim adds to the grey value).

Command (from the repository root)::

    python benchmarks/whole_pixel_placements.py [--data PATH.h5] [--groups 300] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from overlap_oracle import DEFAULT_DATA, moved  # the sibling script's (run from benchmarks/)
from scipy import ndimage
from scipy.signal import correlate

from chromoskl.classes import CHROMOSOME_A, CHROMOSOME_B, OVERLAP
from chromoskl.datasets import load_overlapping_chromosomes

PARTNER = {CHROMOSOME_A: CHROMOSOME_B, CHROMOSOME_B: CHROMOSOME_A}
#: How many grey levels of squared difference weigh as much as one more pixel in common.
GREY_SCALE = 100.0


def _correlation(template: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``sum_x template[x] * image[x + shift]`` for every whole-pixel shift, rounded."""
    return np.rint(correlate(image.astype(float), template.astype(float), method="fft"))


def best_shift(grey_from, alone_from, grey_to, alone_to) -> tuple[int, int]:
    """The whole-pixel shift laying one image's chromosome over the other's, by grey values."""
    mask_from, mask_to = alone_from.astype(float), alone_to.astype(float)
    values_from, values_to = grey_from * mask_from, grey_to * mask_to
    in_common = _correlation(mask_from, mask_to)
    squared_differences = (
        _correlation(values_from**2, mask_to)
        - 2 * _correlation(values_from, values_to)
        + _correlation(mask_from, values_to**2)
    )
    score = in_common - squared_differences / GREY_SCALE
    row, col = np.unravel_index(np.argmax(score), score.shape)
    height, width = grey_from.shape
    return int(row - (height - 1)), int(col - (width - 1))


def near_partner(labels: np.ndarray, chromosome: int) -> np.ndarray:
    """Pixels within 3 pixels of the other chromosome or of the overlap."""
    partner = np.isin(labels, (PARTNER[chromosome], OVERLAP))
    return ndimage.binary_dilation(partner, iterations=3)


def compare(data, first: int, second: int, chromosome: int) -> tuple[int, int, int, int]:
    """Pixels of ``chromosome`` shown alone in both images, and how many have equal grey."""
    grey, labels = data.images, data.labels
    alone_first, alone_second = labels[first] == chromosome, labels[second] == chromosome
    dy, dx = best_shift(grey[first], alone_first, grey[second], alone_second)
    both = alone_second & moved(alone_first, dy, dx)
    equal = both & (moved(grey[first], dy, dx) == grey[second])
    far = both & ~near_partner(labels[second], chromosome)
    far &= ~moved(near_partner(labels[first], chromosome), dy, dx)
    return int(both.sum()), int(equal.sum()), int(far.sum()), int((equal & far).sum())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--groups", type=int, default=300, help="groups drawn, 2 images each")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    data = load_overlapping_chromosomes(args.data, labels="raw")
    keys = np.stack([data.pair_index, data.angle_a_deg, data.angle_b_deg], axis=1)
    _, group_of = np.unique(keys, axis=0, return_inverse=True)
    rng = np.random.default_rng(args.seed)
    drawn = rng.choice(group_of.max() + 1, size=args.groups, replace=False)
    image_pairs = [rng.choice(np.flatnonzero(group_of == group), 2, replace=False)
                   for group in drawn]
    print("| chromosome | image pairs | pixels shown alone in both | equal grey | "
          "of them 4+ pixels from the partner and the overlap | equal grey |")
    print("|---|---|---|---|---|---|")
    for chromosome, name in ((CHROMOSOME_A, "A"), (CHROMOSOME_B, "B")):
        totals = np.zeros(4, dtype=np.int64)
        for first, second in image_pairs:
            totals += compare(data, first, second, chromosome)
        both, equal, far, far_equal = totals
        print(f"| {name} | {len(image_pairs)} | {both:,} | {equal / both:.4f} | {far:,} | "
              f"{far_equal / far:.4f} |")


if __name__ == "__main__":
    main()
