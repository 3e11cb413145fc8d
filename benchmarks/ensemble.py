"""An ensemble of saved segmenters on Pommier's real data: each model's scores, and the scores
of their class probabilities averaged.

Averaging the softmax outputs of independently trained networks is the plainest ensemble
(Lakshminarayanan et al. 2017 average the predictive distributions of networks that differ
only in their random start). Here the models may differ in anything (recipe, network, seed);
each must have been trained on the training side of the same hold-out, and they are scored on
its test side (``chromoskl.splits.holdout_indices``, 20 %, the seed of
``benchmarks/convergence.py``, which writes the models with ``--save-models``).

The mean is the library's :class:`chromoskl.ensemble.SegmenterEnsemble` of the loaded
models. The A/B naming is made comparable before the mean: each model's ``predict_proba`` with
``ab_decoding="area"`` names the smaller chromosome of its own argmax A, and a model trained
with fixed labels names A as the labels do (the smaller in 98 % of the raw labels). The mean
is decoded as the first model decodes (``labels_from_proba``).

With ``--compose`` and two models, the first model's background, overlap and "one
chromosome" probabilities are kept, and the second divides "one chromosome" between A and B
in the proportion of its own A and B: for a first model that finds the overlap best and
names A and B badly, such as one trained with ``ab_loss="orientation"`` (session 43), or
with fixed labels on unseen pairs (session 50). "composed on the mean" takes the background,
overlap and A + B from the mean of the two instead. Both are
``SegmenterEnsemble(ab_names_from=...)`` of the two models (``weights=[1, 0]`` for the first),
scored from one prediction of each model (their ``predict_s``).

Command (from the repository root, after ``pip install .``)::

    python benchmarks/ensemble.py runs/g32/*"-grouped by chromosome pair.pt" --split grouped
    python benchmarks/ensemble.py orientation/model.pt fixed/model.pt --compose
    python benchmarks/ensemble.py fixed.pt swap_invariant.pt --split grouped --tta shifts

A model's ``predict_proba`` and the mean's decoding follow each model's own ``ab_decoding``
(the mean: the first model's), or ``--ab-decoding`` for all of them.

Nothing is asserted: numbers go to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from score_model import DEFAULT_DATA, SCORES  # the sibling script's (run from benchmarks/)

from chromoskl import ChromosomeSegmenter
from chromoskl.datasets import load_overlapping_chromosomes
from chromoskl.ensemble import SegmenterEnsemble
from chromoskl.metrics import segmentation_scores
from chromoskl.splits import holdout_indices


def scored(labels, predicted) -> dict:
    scores = segmentation_scores(labels, predicted)
    return {k: round(scores[k], 4) for k in SCORES}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="files written by save()")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", default="random", choices=("random", "grouped"))
    parser.add_argument("--labels", default="raw", choices=("raw", "cleaned"))
    parser.add_argument("--seed", type=int, default=0, help="the hold-out's random_state")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tta", nargs="?", const="dihedral", default=False,
                        choices=("dihedral", "shifts"),
                        help="each model's probabilities averaged over these views (alone: "
                             "the 8 flips/rotations)")
    parser.add_argument("--ab-decoding", choices=("network", "area"),
                        help="every model's A/B decoding (default: each its own)")
    parser.add_argument("--compose", action="store_true",
                        help="two models: the first's background and overlap, the second's "
                             "A/B share (see the module's docstring)")
    parser.add_argument("--out", type=Path, help="write the scores here as JSON")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    data = load_overlapping_chromosomes(args.data, labels=args.labels)
    _, test, kind = holdout_indices(len(data.images), data.groups, kind=args.split,
                                    random_state=args.seed)
    images, labels = data.images[test], data.labels[test]
    models = [ChromosomeSegmenter.load(path, tta=args.tta) for path in args.models]
    if args.ab_decoding:
        models = [model.set_params(ab_decoding=args.ab_decoding) for model in models]
    results = {}
    for path, model in zip(args.models, models):
        started = time.monotonic()
        results[path.name] = {**scored(labels, model.predict(images)),
                              "predict_s": round(time.monotonic() - started, 1)}
        print(path.name, json.dumps(results[path.name]), flush=True)
    ensemble = SegmenterEnsemble.from_fitted(
        [(f"m{i}", model) for i, model in enumerate(models)])
    started = time.monotonic()
    results["mean of the probabilities"] = {**scored(labels, ensemble.predict(images)),
                                            "predict_s": round(time.monotonic() - started, 1)}
    print("mean of the probabilities", json.dumps(results["mean of the probabilities"]))
    if args.compose:
        if len(models) != 2:
            parser.error("--compose takes exactly two models")
        started = time.monotonic()
        probas = [model.predict_proba(images) for model in models]
        predict_s = round(time.monotonic() - started, 1)
        # weights [1, 0]: the first model's background, overlap and A + B; None: the mean's
        for row, weights in (("composed", [1, 0]), ("composed on the mean", None)):
            composed = SegmenterEnsemble.from_fitted(list(ensemble.named_estimators_.items()),
                                                     weights=weights, ab_names_from="m1")
            results[row] = {**scored(labels, composed.labels_from_proba(
                composed.combined_proba(probas))), "predict_s": predict_s}
            print(row, json.dumps(results[row]))
    report = {"split": kind, "labels": args.labels, "n_test": int(len(test)),
              "tta": args.tta, "ab_decoding": args.ab_decoding, "scores": results}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
