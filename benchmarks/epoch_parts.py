"""Where an epoch of the ``chromoskl train --data`` recipe goes: training steps, the
validation pass, and what runs after the epoch's timed ``dur``.

The recipe's network (U-Net 16-16-32-64-128, one-cycle, edge-weighted Dice + cross-entropy,
content boxes, one-pixel shifts, ``precision="auto"``) is fitted on the first ``--n-images``
images of Pommier's file (raw labels), holding 10 % apart for validation, as ``chromoskl
train`` does. For each epoch the table gives skorch's ``dur`` and, from callbacks around the
epoch, the seconds of the training steps, of the validation pass (from its first batch to the
last callback's ``on_epoch_end``: the validation loss and score), and of the whole epoch to
that point. The last column is the validation overlap IoU the epoch recorded.

To compare two versions of chromoskl, run the script under each, one after the other, on a
machine with nothing else running (``PYTHONPATH`` set to a ``git archive`` of each)::

    python benchmarks/epoch_parts.py --data PATH.h5 --n-images 3000 --epochs 3 --threads 1

Nothing is asserted: numbers go to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from skorch.callbacks import Callback

from chromoskl import ChromosomeSegmenter
from chromoskl.cli import RECIPES, segmenter_params
from chromoskl.datasets import load_overlapping_chromosomes


class EpochStart(Callback):
    """Notes when the epoch and its validation pass start (the first batch not in training)."""

    def on_epoch_begin(self, net, **kwargs):
        self.started = time.perf_counter()
        self.validation_started = None

    def on_batch_begin(self, net, training=None, **kwargs):
        if not training and self.validation_started is None:
            self.validation_started = time.perf_counter()


class EpochEnd(Callback):
    """Placed last: records the parts of the epoch that ``EpochStart`` began timing."""

    def __init__(self, start):
        self.start = start

    def on_epoch_end(self, net, **kwargs):
        now = time.perf_counter()
        net.history.record("train_s", self.start.validation_started - self.start.started)
        net.history.record("valid_s", now - self.start.validation_started)
        net.history.record("epoch_s", now - self.start.started)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--n-images", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    data = load_overlapping_chromosomes(args.data, labels="raw")
    X, y = data.images[: args.n_images], data.labels[: args.n_images]
    recipe = {**RECIPES["file"], "module": RECIPES["file"]["module"]["unet"]}
    params = {**segmenter_params(recipe), "max_epochs": args.epochs}
    start = EpochStart()
    seg = ChromosomeSegmenter("unet", **params, random_state=0, verbose=0,
                              callbacks=[("epoch_start", start), ("epoch_end", EpochEnd(start))])
    began = time.perf_counter()
    seg.fit(X, y)
    fit_seconds = time.perf_counter() - began

    print(f"{args.n_images} images (10 % validation), {args.threads} thread(s), "
          f"fit {fit_seconds:.1f} s")
    print("| epoch | dur s | training steps s | validation pass s | epoch s | valid overlap IoU |")
    print("|---|---|---|---|---|---|")
    for row in seg.history:
        print(f"| {row['epoch']} | {row['dur']:.2f} | {row['train_s']:.2f} | "
              f"{row['valid_s']:.2f} | {row['epoch_s']:.2f} | {row['valid_overlap_iou']:.4f} |")


if __name__ == "__main__":
    main()
