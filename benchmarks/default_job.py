"""The embedded default job (``chromoskl train`` with no options) under variations of its recipe.

Each variant is the recipe that the command line trains on this machine
(``recipe_for("generated", precision)``: the precision ``"auto"`` resolves to here decides the
epochs) with one change, trained on the same generated pairs and scored on the same pairs held
out, as ``chromoskl train`` scores them (a grouped 20 % hold-out; every generated pair is its
own group). It prints one JSON line per variant and seed: the seconds to generate, to fit, in
all, and the held-out scores.

Usage::

    python benchmarks/default_job.py --variants swap_invariant fixed --seeds 0 1 2
    python benchmarks/default_job.py --variants dice_ce recipe --seeds 0 1 2
    python benchmarks/default_job.py --variants recipe batch16_e8 --seeds 0 1 2 3 4 5 --tta shifts

A variant's ``estimator`` entry holds ``ChromosomeSegmenter`` parameters passed as they are
(for those that are not recipe keys, such as a callback's).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from chromoskl import ChromosomeSegmenter
from chromoskl._device import resolve_device
from chromoskl._precision import resolve_precision
from chromoskl.cli import DEFAULT_N_SAMPLES, recipe_for, segmenter_params
from chromoskl.datasets import make_overlapping_chromosomes
from chromoskl.metrics import segmentation_scores
from chromoskl.splits import holdout_indices

#: One change each to the recipe (``n_samples`` is not a recipe key).
VARIANTS = {
    "recipe": {},
    "swap_invariant": {"ab_loss": "swap_invariant"},
    # the two chromosomes named by their axes' order in training (A and B still by area):
    # far better overlap, far worse A (benchmarks/RESULTS.md, session 43)
    "orientation": {"ab_loss": "orientation"},
    "fixed": {"ab_loss": "fixed"},
    "fixed_network": {"ab_loss": "fixed", "ab_decoding": "network"},
    "dihedral": {"augment": "dihedral"},
    "shifts": {"augment": "shifts"},
    "batch32_e10": {"batch_size": 32, "epochs": 10},
    "n2000_e6": {"n_samples": 2000, "epochs": 6},
    "n2000": {"n_samples": 2000},
    # content boxes: on the generated pairs' noisy background each box is the whole image,
    # so this variant only estimates BatchNorm's statistics again after fit
    "boxes": {"content_margin": 0},
    "dice_ce": {"criterion": "dice_ce"},
    "dice_ce_boxes": {"criterion": "dice_ce", "content_margin": 0},
    # other epoch counts: fewer for a slower machine's 90 s, more for what they buy
    "e6": {"epochs": 6},
    "e7": {"epochs": 7},
    "e8": {"epochs": 8},
    "e10": {"epochs": 10},
    "e12": {"epochs": 12},
    "batch32": {"batch_size": 32},
    # the recipe's base width until 2026-12-04 (16), and 12 (0.56x the multiply-adds of 16,
    # yet no faster on this CPU's bfloat16 kernels, benchmarks/RESULTS.md)
    "base16": {"module": {"unet": {"base_channels": 16, "depth": 4}}},
    "base12": {"module": {"unet": {"base_channels": 12, "depth": 4}}},
    # width 16 at full resolution and width 8's channels below it (as fast as base width 8)
    "narrow16": {"module": {"unet": {"channels": [16, 16, 32, 64, 128]}}},
    "narrow16_e12": {"module": {"unet": {"channels": [16, 16, 32, 64, 128]}}, "epochs": 12},
    # width 8 at the two finest levels and half of base 8's widths below them: 1.5x the
    # training images/s of base 8 in float32 on a CPU without bfloat16 instructions (AVX2
    # only, where ``precision="auto"`` trains in float32), and far lower scores
    # (benchmarks/RESULTS.md, session 38)
    "half8": {"module": {"unet": {"channels": [8, 8, 16, 32, 64]}}},
    "half8_e10": {"module": {"unet": {"channels": [8, 8, 16, 32, 64]}}, "epochs": 10},
    # the NCHW memory format (BatchNorm alone runs faster in it in float32 on an AVX2 CPU)
    "nchw": {"channels_last": False},
    # one-cycle's shape and the number of updates: estimator parameters passed as they are
    "pct15": {"estimator": {"callbacks__lr_schedule__pct_start": 0.15}},
    "lr2e-2": {"lr": 2e-2},
    # half the peak rate for half the batch (the recipe's 1e-2 was chosen at batch 16)
    "lr5e-3": {"lr": 5e-3},
    # the recipe until 2026-12-06 (8 epochs of batches of 16; since then 6 epochs of 8, so the
    # epoch variants above and "batch32" now change that)
    "batch16_e8": {"batch_size": 16, "epochs": 8},
    # a fifth pooling, for a wider view when naming the smaller chromosome: slower, and no
    # better on the two seeds of lowest A IoU (benchmarks/RESULTS.md, session 40)
    "depth5": {"module": {"unet": {"base_channels": 8, "depth": 5}}},
    # decoupled weight decay (Loshchilov & Hutter 2019) against the memorising of which
    # chromosome of a training pair is A: no gain on seeds 3, 5 and 8 (RESULTS.md, session 41)
    "adamw": {"estimator": {"optimizer": torch.optim.AdamW, "optimizer__weight_decay": 0.05}},
}
#: Pairs whose smaller chromosome has at least this share of the larger one's area.
NEAR_EQUAL_RATIO = 0.9
SCORES = ("overlap_iou", "chromosome_a_iou", "chromosome_b_iou", "chromosome_a_iou_any_order",
          "ab_swapped_share")


def near_equal_share(labels) -> float:
    """The share of images whose chromosome A (labels 1 and 3) has at least
    ``NEAR_EQUAL_RATIO`` of chromosome B's area (labels 2 and 3): the pairs that the rule
    "A is the smaller" names by a small difference."""
    a_area = np.isin(labels, (1, 3)).sum(axis=(1, 2))
    b_area = np.isin(labels, (2, 3)).sum(axis=(1, 2))
    return float(np.mean(a_area >= NEAR_EQUAL_RATIO * b_area))


def run(name: str, seed: int, tta=None) -> dict:
    change = dict(VARIANTS[name])
    n_samples = change.pop("n_samples", DEFAULT_N_SAMPLES)
    estimator_extra = change.pop("estimator", {})
    precision = resolve_precision("auto", resolve_device("auto"))
    recipe = {**recipe_for("generated", precision), **change}
    recipe["module"] = recipe["module"]["unet"]
    started = time.perf_counter()
    data = make_overlapping_chromosomes(n_samples=n_samples, random_state=seed)
    generated_s = time.perf_counter() - started
    train, test, _ = holdout_indices(len(data.images), data.groups, kind="grouped",
                                     test_size=0.2, random_state=seed)
    seg = ChromosomeSegmenter(
        "unet", **segmenter_params(recipe), precision="auto", random_state=seed, verbose=0,
        **estimator_extra,
    )
    seg.fit(data.images[train], data.labels[train], groups=data.groups[train])
    fit_s = time.perf_counter() - started - generated_s

    def held_out_scores(prefix=""):
        scores = segmentation_scores(data.labels[test], seg.predict(data.images[test]))
        return {f"{prefix}{key}": round(scores[key], 4) for key in SCORES}

    result = {"variant": name, "seed": seed, "generate_s": round(generated_s, 1),
              "fit_s": round(fit_s, 1), **held_out_scores(),
              "total_s": round(time.perf_counter() - started, 1),
              "held_out_near_equal_share": round(near_equal_share(data.labels[test]), 3)}
    if tta:  # the same fitted network, scored again with test-time views
        seg.set_params(tta=tta)
        predict_started = time.perf_counter()
        result.update(held_out_scores(prefix=f"tta_{tta}_"))
        result[f"tta_{tta}_predict_s"] = round(time.perf_counter() - predict_started, 1)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["swap_invariant", "fixed"],
                        choices=sorted(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--tta", choices=("shifts", "dihedral"),
                        help="also score each fitted network with these test-time views")
    args = parser.parse_args(argv)
    for seed in args.seeds:
        for name in args.variants:
            print(json.dumps(run(name, seed, args.tta)), flush=True)


if __name__ == "__main__":
    main()
