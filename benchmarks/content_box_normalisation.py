"""One model trained on content boxes (``content_margin``), scored five ways on held-out pairs.

1. boxes with BatchNorm's running statistics (one average over every box size);
2. whole images with the running statistics (what an exported model would do);
3. boxes, each batch of 32 normalised by its own statistics (BatchNorm in training mode, no
   gradient), as the network was trained (the network's argmax: for a model trained with the
   swap-invariant loss, which needs ``ab_decoding="area"``, its A and B scores mean nothing);
4. boxes with the statistics of their size (``box_norm_stats_``, what ``predict`` does since
   :mod:`chromoskl._box_norm`; estimated here from the split's training images when the model
   file has none);
5. whole images with the statistics of the box size nearest to the whole frame (what an
   exported model could do).

A gap between 1 and 3 is the cost of one running average for boxes of every size; 4 is meant
to close it without depending on the batch. Command (from the repository root, a model
written by ``convergence.py --save-models``)::

    python benchmarks/content_box_normalisation.py \\
        "runs/goal-random-crop0/bf16_cl_all_crop0-random images.pt" --n-images 800

Nothing is asserted: numbers go to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from chromoskl import ChromosomeSegmenter
from chromoskl._box_norm import statistics_loaded
from chromoskl._content_crops import proba_by_content
from chromoskl.datasets import load_overlapping_chromosomes
from chromoskl.metrics import segmentation_scores
from chromoskl.splits import holdout_indices

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2]
    / "shared/data/LowRes_13434_overlapping_pairs_regenerated.h5"
)
SCORES = ("overlap_iou", "chromosome_a_iou", "chromosome_b_iou", "chromosome_a_iou_any_order")


def batch_statistics_proba(seg, crops, batch_size=32):
    """Probabilities of boxes of one size, BatchNorm normalising each batch by its own
    statistics (training mode, no gradient; the running averages are restored after)."""
    saved = {k: v.clone() for k, v in seg.module_.state_dict().items()}
    seg.module_.train()
    parts = []
    with torch.no_grad():
        for start in range(0, len(crops), batch_size):
            logits = seg.infer(torch.from_numpy(crops[start : start + batch_size]))
            parts.append(torch.softmax(logits, dim=1).numpy())
    seg.module_.eval()
    seg.module_.load_state_dict(saved)
    return np.concatenate(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", choices=("random", "grouped"), default="random")
    parser.add_argument("--n-images", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.set_num_threads(2)
    data = load_overlapping_chromosomes(args.data)
    train, test, _ = holdout_indices(len(data.images), data.groups, kind=args.split,
                                 random_state=args.seed)
    test = np.random.default_rng(args.seed).choice(test, min(args.n_images, len(test)),
                                                   replace=False)
    X, y = data.images[test], data.labels[test]
    seg = ChromosomeSegmenter.load(args.model, device="cpu")
    margin = seg.content_margin
    if margin is None:
        parser.error("the model was not trained on content boxes (content_margin is None)")

    def show(name, labels):
        scores = segmentation_scores(y, labels)
        print(f"| {name} | " + " | ".join(f"{scores[k]:.3f}" for k in SCORES) + " |")

    per_size = seg.box_norm_stats_
    if per_size is None:
        started = time.monotonic()
        per_size = seg._statistics_per_box_size(data.images[train])
        print(f"statistics of {len(per_size)} box sizes estimated from {len(train)} training "
              f"images in {time.monotonic() - started:.1f} s")
    print("| prediction | " + " | ".join(SCORES) + " |")
    seg.box_norm_stats_ = None
    show("boxes, running statistics", seg.predict(X))
    show("whole images, running statistics",
         seg.set_params(content_margin=None).predict(X))
    seg.set_params(content_margin=margin)
    images = X[:, None].astype(np.float32)
    proba = proba_by_content(images, seg._content_boxes(images),
                             lambda crops: batch_statistics_proba(seg, crops))
    show("boxes, batch statistics", proba.argmax(axis=1).astype(np.uint8))
    seg.box_norm_stats_ = per_size
    show("boxes, statistics of their size", seg.predict(X))
    # what an export could do: whole images, normalised by the statistics of the box size
    # nearest to the whole frame
    seg.set_params(content_margin=None)
    with statistics_loaded(seg.module_, per_size, *X.shape[-2:]):
        show("whole images, statistics of the frame's size", seg.predict(X))
    seg.set_params(content_margin=margin)


if __name__ == "__main__":
    main()
