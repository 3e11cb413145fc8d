"""Score a saved segmenter on either side of a hold-out of Pommier's pairs: the gap between
the training and the test side says whether a recipe's plateau is fitting or generalising.

Command (from the repository root, a model written by ``convergence.py --save-models``)::

    python benchmarks/score_model.py "runs/w24-crop0/bf16_cl_all_crop0_width24-random images.pt" \\
        --side train test --n-images 2000

Nothing is asserted: numbers go to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from chromoskl import ChromosomeSegmenter
from chromoskl.datasets import load_overlapping_chromosomes
from chromoskl.metrics import segmentation_scores
from chromoskl.splits import holdout_indices

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2]
    / "shared/data/LowRes_13434_overlapping_pairs_regenerated.h5"
)
SCORES = ("overlap_iou", "chromosome_a_iou", "chromosome_b_iou", "chromosome_a_iou_any_order",
          "ab_swapped_share")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("random", "grouped"), default="random")
    parser.add_argument("--side", nargs="+", choices=("train", "test"), default=["test"])
    parser.add_argument("--n-images", type=int, default=2000, help="per side, drawn at random")
    parser.add_argument("--tta", nargs="?", const="dihedral", choices=("dihedral", "shifts"),
                        help="also with test-time augmentation over these views (alone: "
                             "dihedral)")
    parser.add_argument("--labels", choices=("cleaned", "raw"), default="cleaned",
                        help="the labelling the model was trained on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    data = load_overlapping_chromosomes(args.data, labels=args.labels)
    train, test, _ = holdout_indices(len(data.images), data.groups, kind=args.split,
                                     random_state=args.seed)
    seg = ChromosomeSegmenter.load(args.model, device="cpu")
    rng = np.random.default_rng(args.seed)
    print("| side | images | prediction | s | " + " | ".join(SCORES) + " |")
    for side in args.side:
        indices = train if side == "train" else test
        chosen = rng.choice(indices, size=min(args.n_images, len(indices)), replace=False)
        X, y = data.images[chosen], data.labels[chosen]
        for tta in (False, args.tta) if args.tta else (False,):
            started = time.monotonic()
            scores = segmentation_scores(y, seg.set_params(tta=tta).predict(X))
            seconds = time.monotonic() - started
            name = f"test-time augmentation ({tta})" if tta else "plain"
            print(f"| {side} | {len(chosen)} | {name} | {seconds:.1f} | "
                  + " | ".join(f"{scores[k]:.4f}" for k in SCORES) + " |", flush=True)


if __name__ == "__main__":
    main()
