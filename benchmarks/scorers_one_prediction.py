"""``cross_validate`` with a dict of chromoskl scorers: predictions made and seconds taken.

chromoskl's :data:`~chromoskl.metrics.SCORERS` are scikit-learn scorers (``make_scorer``), so
scikit-learn's multi-metric scoring predicts once per fold and hands the prediction to every
scorer. Plain ``scorer(estimator, X, y)`` callables (what they were before) make
scikit-learn predict once per scorer. This script measures both on the same folds of the same
fitted segmenter: the scorers as they are, and each wrapped in a plain function.

Run::

    python benchmarks/scorers_one_prediction.py --threads 1
    python benchmarks/scorers_one_prediction.py --threads 1 --n-images 96 --folds 3 \
        --width 8 --depth 2
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.model_selection import GroupKFold, cross_validate

from chromoskl import ChromosomeSegmenter
from chromoskl.datasets import make_overlapping_chromosomes
from chromoskl.metrics import SCORERS

NAMES = ("overlap_iou", "mean_iou", "chromosome_iou", "pixel_accuracy", "neg_ab_swapped_share")


class CountedSegmenter(ChromosomeSegmenter):
    """Counts the calls of ``predict`` (class-wide: cross_validate works on clones)."""

    predict_calls = 0

    def predict(self, X):
        type(self).predict_calls += 1
        return super().predict(X)


def _plain(scorer):
    def score(estimator, X, y):
        return scorer(estimator, X, y)

    return score


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=400)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--width", type=int, default=16, help="U-Net base_channels")
    parser.add_argument("--depth", type=int, default=4, help="U-Net depth")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = make_overlapping_chromosomes(args.n_images, random_state=0)
    segmenter = CountedSegmenter(max_epochs=1, batch_size=32, train_split=None, device="cpu",
                                 random_state=0, module__base_channels=args.width,
                                 module__depth=args.depth)
    results = {}
    for label, scoring in (
        ("sklearn scorers (make_scorer)", {name: SCORERS[name] for name in NAMES}),
        ("plain callables", {name: _plain(SCORERS[name]) for name in NAMES}),
    ):
        CountedSegmenter.predict_calls = 0
        started = time.perf_counter()
        scores = cross_validate(segmenter, data.images, data.labels, groups=data.groups,
                                cv=GroupKFold(args.folds), scoring=scoring)
        seconds = time.perf_counter() - started
        results[label] = {
            "predict_calls": CountedSegmenter.predict_calls,
            "seconds": round(seconds, 2),
            "score_seconds": round(float(np.sum(scores["score_time"])), 2),
            "overlap_iou": [round(float(v), 4) for v in scores["test_overlap_iou"]],
        }
        print(f"{label:32s} predict calls {CountedSegmenter.predict_calls:3d}  "
              f"scoring {results[label]['score_seconds']:6.2f} s  total {seconds:6.2f} s")
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
