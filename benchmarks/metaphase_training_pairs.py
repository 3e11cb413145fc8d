"""Train a pair segmenter on pairs cut from a metaphase prepared as the separator prepares it.

``MetaphaseSeparator`` hands the segmenter crops of a top-hat corrected metaphase at half
size. A segmenter trained on the pair generator's images has not seen such crops (their
chromosomes are drawn at twice the size and halved, so bands, edges and overlaps differ).
This script makes its training pairs the way Pommier made his from ``DAPI.tif``: one
synthetic metaphase with no crossings (``make_metaphase``, a seed that the benchmark's
metaphases do not use), top-hat, halved, and every chromosome paired with others
(``make_overlapping_pairs``). It then trains the default job's recipe, with Dice + CE as
its loss (``--criterion``), and saves the model for ``benchmarks/metaphase.py --synthetic
--model``.

With ``--metaphases N``, pairs are cut from N such metaphases (seeds ``--seed`` onwards), each
its own chromosomes. ``--ab-loss swap_invariant`` trains with the loss that does not care which
chromosome is called A: the separator uses A and B only as two instances, so their names do
not matter to it, only that each chromosome's pixels get one of them.

The defaults (3 metaphases, 9 angles, 40 pairs of chromosomes each, swap-invariant loss,
35 minutes) are what separated the most crossings in ``benchmarks/RESULTS.md`` (issue 10,
session 28): every crossed pair of 108 synthetic metaphases (seeds 0-35, 2 / 5 / 10
crossings), at a mean crossed IoU of 0.969-0.977, where the earlier defaults (2 metaphases,
3 angles, 80 pairs, 10 epochs) lost 3 of them (0.942-0.965). With 3 angles the two
chromosomes of a training pair cross at 0, 60 or 120 degrees only; with 9 every 20 degrees,
which includes the shallow crossings that the earlier model cut across the wrong arms.

Usage::

    python benchmarks/metaphase_training_pairs.py --out runs/metaphase-pairs.pt
    python benchmarks/metaphase_training_pairs.py --metaphases 1 --angles 3 --max-pairs 80 \
        --ab-loss fixed --epochs 8 --out runs/metaphase-pairs-first.pt   # the first version
    python benchmarks/metaphase_training_pairs.py --metaphases 2 --angles 3 --max-pairs 80 \
        --epochs 10 --out runs/metaphase-pairs-base.pt                   # session 18's
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.utils import Bunch

from chromoskl import ChromosomeSegmenter
from chromoskl.cli import BUDGET_EPOCHS, RECIPES, segmenter_params
from chromoskl.datasets import make_metaphase, make_overlapping_pairs
from chromoskl.metaphase import MetaphaseSeparator, subtract_background, to_segmenter_pixels
from chromoskl.metrics import segmentation_scores
from chromoskl.splits import holdout_indices


def metaphase_pairs(seed: int, max_pairs: int, angles: int, shifts: int):
    """Pairs cut from one synthetic metaphase, prepared as the separator's crops are."""
    separator = MetaphaseSeparator(None)
    metaphase = make_metaphase(46, n_overlaps=0, random_state=seed)
    corrected = subtract_background(metaphase.image, separator.background_radius)
    small = to_segmenter_pixels(corrected, separator.pixel_scale)
    labels = np.zeros(metaphase.image.shape, np.int32)
    for k, mask in enumerate(metaphase.masks, 1):
        labels[mask] = k
    step = int(round(1 / separator.pixel_scale))
    small_labels = labels[::step, ::step][: small.shape[0], : small.shape[1]]
    return make_overlapping_pairs(small, small_labels, angles=angles, shifts=shifts,
                                  max_pairs=max_pairs, random_state=seed)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--max-pairs", type=int, default=40)
    parser.add_argument("--angles", type=int, default=9)
    parser.add_argument("--shifts", type=int, default=2)
    parser.add_argument("--metaphases", type=int, default=3)
    parser.add_argument("--ab-loss", choices=["fixed", "swap_invariant"],
                        default="swap_invariant")
    parser.add_argument("--epochs", type=int, default=None,
                        help="train this many epochs instead of the time budget")
    parser.add_argument("--max-minutes", type=float, default=35.0,
                        help="train for this budget, with one-cycle planned over it "
                        "(default 35); 0 for 10 epochs instead")
    # Dice + CE, not the default job's edge-weighted loss: with the separator's check of the
    # components that look single, tuned on a Dice + CE model, the edge-weighted model cut
    # single chromosomes (benchmarks/RESULTS.md, issue 10, session 23)
    parser.add_argument("--criterion", default="dice_ce",
                        help="the loss, e.g. dice_ce (default) or dice_edge_ce")
    parser.add_argument("--content-margin", type=int, default=None,
                        help="train the network on each pair's content box (with per-size "
                        "BatchNorm statistics); default: whole crops")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    parts = [metaphase_pairs(args.seed + k, args.max_pairs, args.angles, args.shifts)
             for k in range(args.metaphases)]
    # pair groups of different metaphases must not collide
    offsets = np.cumsum([0] + [int(p.groups.max()) + 1 for p in parts[:-1]])
    pairs = Bunch(images=np.concatenate([p.images for p in parts]),
                  labels=np.concatenate([p.labels for p in parts]),
                  groups=np.concatenate([p.groups + o for p, o in zip(parts, offsets)]))
    train, test, _ = holdout_indices(len(pairs.images), pairs.groups, kind="grouped",
                                     test_size=0.2, random_state=0)
    on_budget = args.epochs is None and args.max_minutes > 0
    max_minutes = args.max_minutes if on_budget else None
    epochs = BUDGET_EPOCHS if on_budget else (args.epochs or 10)
    recipe = {**RECIPES["generated"], "module": RECIPES["generated"]["module"]["unet"],
              "ab_loss": args.ab_loss, "epochs": epochs, "criterion": args.criterion,
              "content_margin": args.content_margin}
    seg = ChromosomeSegmenter("unet", **segmenter_params(recipe), precision="auto",
                              max_minutes=max_minutes, random_state=0, verbose=1)
    seg.fit(pairs.images[train], pairs.labels[train], groups=pairs.groups[train])
    scores = segmentation_scores(pairs.labels[test], seg.predict(pairs.images[test]))
    seg.save(args.out)
    print(f"{len(pairs.images)} pairs ({args.ab_loss}, {args.criterion}, content margin "
          f"{args.content_margin}); held out by pair: overlap IoU "
          f"{scores['overlap_iou']:.3f}, A {scores['chromosome_a_iou']:.3f}, "
          f"B {scores['chromosome_b_iou']:.3f}; {time.perf_counter() - started:.0f} s; "
          f"wrote {args.out}")


if __name__ == "__main__":
    main()
