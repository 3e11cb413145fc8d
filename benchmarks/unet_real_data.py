"""U-Net on Pommier's real data at a CPU budget: random hold-out versus unseen chromosome pairs.

What is compared: the same U-Net, trained the same way on ``N_TRAIN`` images, scored on

- a random 20 % hold-out of all 13,434 images (the papers' protocol: the same chromosome pair,
  rotated or shifted, is on both sides), and
- a hold-out of 20 % of the chromosome pairs (``chromoskl.splits.holdout_indices``, grouped by
  ``pair_index``), none of which is seen in training: what a user should expect on new chromosomes.

Training images are drawn from the training side of each split only.

Command (from the repository root, after ``pip install .``)::

    python benchmarks/unet_real_data.py \
        --data ../shared/data/LowRes_13434_overlapping_pairs_regenerated.h5

It prints a markdown table (overlap IoU, chromosome A/B IoU, pixel accuracy, fit seconds) and
asserts nothing: the numbers are recorded in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from chromoskl import ChromosomeSegmenter
from chromoskl.datasets import load_overlapping_chromosomes
from chromoskl.metrics import segmentation_scores
from chromoskl.splits import holdout_indices

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2]
    / "shared/data/LowRes_13434_overlapping_pairs_regenerated.h5"
)
N_TRAIN = 2000
TEST_SIZE = 0.2
SEED = 0


def run(data, kind: str, args) -> dict:
    train, test, _ = holdout_indices(len(data.images), data.groups, kind=kind,
                                     test_size=TEST_SIZE, random_state=args.seed)
    rng = np.random.default_rng(args.seed)
    train = rng.choice(train, size=min(args.n_train, len(train)), replace=False)
    seg = ChromosomeSegmenter(
        "unet", module__base_channels=args.base_channels, module__depth=args.depth,
        max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        random_state=args.seed, device=args.device, verbose=args.verbose,
    )
    started = time.perf_counter()
    seg.fit(data.images[train], data.labels[train])
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = seg.predict(data.images[test])
    predict_ms = 1000 * (time.perf_counter() - started) / len(test)
    scores = segmentation_scores(data.labels[test], predicted)
    return {
        "split": kind,
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "test_pairs": int(len(np.unique(data.groups[test]))),
        "pairs_shared_with_training": int(
            len(np.intersect1d(data.groups[test], data.groups[train]))
        ),
        "fit_seconds": round(fit_seconds, 1),
        "predict_ms_per_image": round(predict_ms, 2),
        "scores": scores,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--n-train", type=int, default=N_TRAIN)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--base-channels", type=int, default=16)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--splits", default="random,grouped")
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args(argv)

    data = load_overlapping_chromosomes(args.data)
    results = [run(data, kind, args) for kind in args.splits.split(",")]
    print("\n| hold-out | train images | test images (pairs; shared with training) | "
          "overlap IoU | chromosome A IoU | chromosome B IoU | pixel accuracy | fit s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        s = r["scores"]
        print(f"| {r['split']} | {r['n_train']} | {r['n_test']} ({r['test_pairs']}; "
              f"{r['pairs_shared_with_training']}) | {s['overlap_iou']:.4f} | "
              f"{s['chromosome_a_iou']:.4f} | {s['chromosome_b_iou']:.4f} | "
              f"{s['pixel_accuracy']:.4f} | {r['fit_seconds']} |")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "results": results}, indent=2))


if __name__ == "__main__":
    main()
