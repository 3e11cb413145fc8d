"""Ensemble members trained side by side (``SegmenterEnsemble(n_jobs=2)``) against the same
members trained one after another, on Pommier's real data.

Both ways fit the same two members. Each is the ``chromoskl train --data`` recipe's network
(U-Net 16-16-32-64-128, one-cycle, edge-weighted Dice + cross-entropy, content boxes,
``precision="auto"``) from random start 0 or 1, trained for ``--epochs`` epochs on
``--n-train`` images of the random split's training side, with no validation split. In turn,
each member has the process's torch threads; side by side, joblib gives each of its two
worker processes ``cpu_count() // 2`` threads. The rounds alternate which way goes first, so
that drift in the machine's speed falls on both.

For each way the table gives ``fit``'s wall seconds (for the side-by-side way, the worker
processes' start and the copying of the images to them included), the training images per
second of the two members together, and the ratio to training in turn. The two ensembles are
also scored on 512 images of the test side: with one thread instead of two per member, the
float sums run in another order, so the scores should agree closely but need not be equal.

Command (from the repository root, after ``pip install .``, on a machine with nothing else
running)::

    python benchmarks/parallel_members.py --data PATH.h5 --n-train 4000 --epochs 3 --rounds 2

Nothing is asserted: numbers go to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import joblib
import numpy as np
import torch
from ensemble import scored  # the sibling script's

from chromoskl import ChromosomeSegmenter
from chromoskl.cli import RECIPES, segmenter_params
from chromoskl.datasets import load_overlapping_chromosomes
from chromoskl.ensemble import SegmenterEnsemble
from chromoskl.splits import holdout_indices

WAYS = {"in turn": None, "side by side": 2}


def members(epochs: int) -> list:
    recipe = {**RECIPES["file"], "module": RECIPES["file"]["module"]["unet"], "epochs": epochs}
    return [(f"start{seed}", ChromosomeSegmenter(
        "unet", **segmenter_params(recipe), precision="auto", train_split=None,
        random_state=seed, verbose=0)) for seed in (0, 1)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the measurements here")
    args = parser.parse_args(argv)

    data = load_overlapping_chromosomes(args.data, labels="raw")
    train, test, _ = holdout_indices(len(data.images), data.groups, kind="random",
                                     random_state=0)
    rng = np.random.default_rng(0)
    train = rng.choice(train, size=min(args.n_train, len(train)), replace=False)
    watch = rng.choice(test, size=min(512, len(test)), replace=False)
    X, y = data.images[train], data.labels[train]
    runs = {way: [] for way in WAYS}
    scores = {}
    for round_ in range(args.rounds):
        order = list(WAYS) if round_ % 2 == 0 else list(reversed(WAYS))
        for way in order:
            started = time.perf_counter()
            ensemble = SegmenterEnsemble(members(args.epochs), n_jobs=WAYS[way]).fit(X, y)
            runs[way].append(time.perf_counter() - started)
            if round_ == args.rounds - 1:  # every round fits the same members
                scores[way] = scored(data.labels[watch], ensemble.predict(data.images[watch]))
            print(f"round {round_ + 1}, {way}: {runs[way][-1]:.1f} s", flush=True)

    images = 2 * len(train) * args.epochs
    base = images / statistics.median(runs["in turn"])
    print(f"\n{len(train)} images x {args.epochs} epochs x 2 members, torch threads "
          f"{torch.get_num_threads()}, joblib cpu_count {joblib.cpu_count()}")
    print("| way | fit s (median) | images/s, both members | ratio | overlap IoU | A | B |")
    print("|---|---|---|---|---|---|---|")
    for way, seconds in runs.items():
        rate = images / statistics.median(seconds)
        s = scores[way]
        print(f"| {way} | {statistics.median(seconds):.1f} | {rate:.1f} | {rate / base:.2f} | "
              f"{s['overlap_iou']:.4f} | {s['chromosome_a_iou']:.4f} | "
              f"{s['chromosome_b_iou']:.4f} |")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "seconds": runs, "scores": scores}, indent=1))


if __name__ == "__main__":
    main()
