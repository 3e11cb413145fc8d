"""How fast does one network learn the real data on a CPU, at a few learning rates?

The evidence behind ``paper_tables.py --scale cpu``: in the few hundred optimiser steps a CPU
can afford per fit, does ARMS Net (or another row's network) learn the overlap at the papers'
Adam lr of 1e-3, or does it need a larger one? One fit per learning rate, on a random subset
of Pommier's file, in the pipeline of the paper tables (robust intensity scaling, padding to
128x128, AS-WBCE, batch 8, the estimator's 10 % validation split). It prints the validation
overlap IoU after every epoch and the scores on held-out images (a random hold-out: the same
pairs appear on both sides, as in the papers).

Command (from the repository root, after ``pip install .``; one thread per run)::

    python benchmarks/learning_rate_probe.py --lr 1e-3 3e-3 --threads 1

Nothing is asserted; runs are recorded in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from chromoskl import ChromosomeSegmenter
from chromoskl._geometry import centre_crop
from chromoskl.datasets import load_overlapping_chromosomes
from chromoskl.metrics import segmentation_scores
from chromoskl.transformers import IntensityScaler, PadToShape

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2]
    / "shared/data/LowRes_13434_overlapping_pairs_regenerated.h5"
)
N_TEST = 400


def load(path: Path, n_train: int, seed: int):
    """``n_train + N_TEST`` images drawn at random from the file, split at random."""
    rng = np.random.RandomState(seed)
    n_total = 13434  # both of Pommier's files hold 13,434 images
    indices = np.sort(rng.choice(n_total, n_train + N_TEST, replace=False))
    data = load_overlapping_chromosomes(path, indices=indices)
    order = rng.permutation(len(indices))
    train, test = order[:n_train], order[n_train:]
    return data.images[train], data.labels[train], data.images[test], data.labels[test]


def probe(arch: str, width: int, lr: float, X, y, X_test, y_test, args) -> dict:
    """Fit one pipeline; return per-epoch validation overlap IoU and held-out scores."""
    segmenter = ChromosomeSegmenter(
        arch=arch, module__base_channels=width, criterion="as_wbce", lr=lr,
        max_epochs=args.epochs, batch_size=args.batch_size, random_state=args.seed, verbose=0,
    )
    pipeline = Pipeline([("scale", IntensityScaler(method="robust")),
                         ("pad", PadToShape((128, 128))), ("segmenter", segmenter)])
    started = time.perf_counter()
    pipeline.fit(X, y)
    seconds = time.perf_counter() - started
    scores = segmentation_scores(y_test, centre_crop(pipeline.predict(X_test), y_test.shape[-2:]))
    return {
        "lr": lr,
        "fit_seconds": seconds,
        "images_per_second": len(X) * args.epochs / seconds,
        "valid_overlap_iou": [epoch["valid_overlap_iou"] for epoch in segmenter.history],
        "scores": scores,
    }


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--arch", default="arms", help="any ARMS-family name (base_channels)")
    parser.add_argument("--width", type=int, default=8, help="module__base_channels")
    parser.add_argument("--lr", type=float, nargs="+", default=[1e-3, 3e-3])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    X, y, X_test, y_test = load(args.data, args.n_train, args.seed)
    results = []
    for lr in args.lr:
        r = probe(args.arch, args.width, lr, X, y, X_test, y_test, args)
        results.append(r)
        s = r["scores"]
        curve = ", ".join(f"{v:.3f}" for v in r["valid_overlap_iou"])
        print(f"lr {lr:g}: fit {r['fit_seconds']:.0f} s ({r['images_per_second']:.1f} images/s);"
              f" validation overlap IoU per epoch {curve}; held-out overlap IoU "
              f"{s['overlap_iou']:.3f}, A {s['chromosome_a_iou']:.3f}, "
              f"B {s['chromosome_b_iou']:.3f}", flush=True)
    return results


if __name__ == "__main__":
    main()
