"""How well the random split's overlaps follow from the chromosomes' shapes in training images.

On the papers' random split a test image's two chromosomes are in the training images too:
the same pair at the same two angles, at other shifts (Pommier's 3 x 3 placements of a
group). A model that had learnt each chromosome's labelled outline perfectly would predict a
test overlap as the intersection of the two outlines, moved to where the chromosomes are in
the test image. This script builds that predictor from the labels alone, as a yardstick for
the overlap IoU that the labels' own consistency allows:

1. each chromosome's outline in a training sibling is its own label plus the overlap;
2. it is moved by the whole-pixel shift that best lays it over the same chromosome's
   outline in the test image (the shift of the centroids, then the best of the 3 x 3 pixels
   around it by IoU). This looks at the test labels, so the predictor is told where each
   chromosome lies, and only its outline comes from elsewhere;
3. the predicted overlap is the intersection of the two moved outlines.

It is scored as chromoskl scores a model: overlap IoU pooled over every test image, once with
the sibling whose placement (``shift_u``, ``shift_v``) is nearest the test image's, and once
with the best sibling for each image (an upper bound). What it misses is what the labels
change between placements of the same two chromosomes beyond a whole-pixel move: the
generator's rim of the overlap (``label_consistency.py``). The placements themselves are
whole-pixel moves of fixed patches (``whole_pixel_placements.py``).

Command (from the repository root)::

    python benchmarks/overlap_oracle.py [--data PATH.h5] [--labels raw cleaned] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import ndimage

from chromoskl.datasets import load_overlapping_chromosomes
from chromoskl.splits import holdout_indices

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2]
    / "shared/data/LowRes_13434_overlapping_pairs_regenerated.h5"
)
OVERLAP = 3


def outlines(label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chromosome A's and B's whole labelled extent: its own label plus the overlap."""
    return np.isin(label, (1, OVERLAP)), np.isin(label, (2, OVERLAP))


def moved(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``mask`` moved by whole pixels, what leaves the frame dropped, the rest filled False."""
    out = np.zeros_like(mask)
    h, w = mask.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = mask[ys, xs]
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def laid_over(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source`` moved by the whole-pixel shift that lays it best over ``target``."""
    if not source.any() or not target.any():
        return source
    cy, cx = np.subtract(ndimage.center_of_mass(target), ndimage.center_of_mass(source))
    candidates = [moved(source, round(cy) + ey, round(cx) + ex)
                  for ey in (-1, 0, 1) for ex in (-1, 0, 1)]
    return max(candidates, key=lambda m: _iou(m, target))


def predicted_overlap(sibling: np.ndarray, test: np.ndarray) -> np.ndarray:
    """The test image's overlap from the sibling's outlines, each laid over the test's.

    The two images may name the pair's chromosomes A and B the other way round (A is the
    smaller, and the labels' areas differ between placements), so the sibling's outlines are
    matched to the test's in the order whose laid-over outlines fit them better.
    """
    (a_src, b_src), (a_dst, b_dst) = outlines(sibling), outlines(test)
    orders = [(laid_over(a_src, a_dst), laid_over(b_src, b_dst)),
              (laid_over(b_src, a_dst), laid_over(a_src, b_dst))]
    first, second = max(orders, key=lambda o: _iou(o[0], a_dst) + _iou(o[1], b_dst))
    return first & second


def oracle_scores(labels, groups, shifts, train, test) -> dict:
    """Pooled overlap IoU with the nearest-placement sibling and with the best sibling."""
    by_group: dict[int, list[int]] = {}
    for i in train:
        by_group.setdefault(int(groups[i]), []).append(int(i))
    sums = {"nearest": [0, 0], "best": [0, 0]}
    no_sibling = 0
    for i in test:
        siblings = by_group.get(int(groups[i]), [])
        if not siblings:
            no_sibling += 1
            continue
        truth = labels[i] == OVERLAP
        predictions = [predicted_overlap(labels[j], labels[i]) for j in siblings]
        nearest = int(np.argmin(np.linalg.norm(shifts[siblings] - shifts[i], axis=1)))
        best = int(np.argmax([_iou(p, truth) for p in predictions]))
        for key, k in (("nearest", nearest), ("best", best)):
            sums[key][0] += np.count_nonzero(predictions[k] & truth)
            sums[key][1] += np.count_nonzero(predictions[k] | truth)
    return {
        "test_images": len(test) - no_sibling,
        "without_a_training_sibling": no_sibling,
        **{f"overlap_iou_{key}": inter / union if union else float("nan")
           for key, (inter, union) in sums.items()},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--labels", nargs="+", default=["raw", "cleaned"],
                        choices=("raw", "cleaned"))
    parser.add_argument("--seed", type=int, default=0, help="the random split's seed")
    args = parser.parse_args(argv)
    print("| labels | test images | overlap IoU, nearest placement | overlap IoU, best sibling |")
    print("|---|---|---|---|")
    for name in args.labels:
        data = load_overlapping_chromosomes(args.data, labels=name)
        pair = data.pair_index.astype(np.int64)
        # a placement group: one pair at one pair of angles (as in label_consistency.py)
        groups = (pair * 1_000_000 + data.angle_a_deg.astype(np.int64) * 1_000
                  + data.angle_b_deg.astype(np.int64))
        shifts = np.stack([data.shift_u, data.shift_v], axis=1)
        # the split of benchmarks/convergence.py --split random --seed SEED
        train, test, _ = holdout_indices(len(pair), pair, kind="random",
                                         random_state=args.seed)
        r = oracle_scores(data.labels, groups, shifts, train, test)
        print(f"| {name} | {r['test_images']} ({r['without_a_training_sibling']} without a "
              f"training sibling) | {r['overlap_iou_nearest']:.3f} | "
              f"{r['overlap_iou_best']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
