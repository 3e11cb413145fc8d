"""Convergence against wall-clock time on Pommier's real data: recipes and their levers.

Each run trains a ``ChromosomeSegmenter`` recipe for a wall-clock budget (``max_minutes``) on
the training side of a hold-out, and logs, every ``--eval-every`` seconds, the held-out
overlap IoU and whole-chromosome A/B IoU (on ``--eval-images`` test images) against the
seconds since the process started. At the end the whole test side is scored. Runs are made one
after the other in one process, so that the levers compare side by side as ratios to the
first recipe named.

The two hold-outs (``chromoskl.splits.holdout_indices``, 20 %, seed 0):

- ``random``: the papers' split; the same chromosome pair, rotated or shifted, is on both sides.
- ``grouped``: 20 % of the 66 chromosome pairs are kept out of training entirely.

Commands (from the repository root, after ``pip install .``)::

    # the levers, 4 minutes each, random split
    python benchmarks/convergence.py --recipes onecycle constant ce channels_last bf16 \\
        --minutes 4 --split random --out runs/levers
    # the 30-minute goal, both splits
    python benchmarks/convergence.py --recipes onecycle --minutes 28 --split random grouped \\
        --out runs/goal30

Output in ``--out``: ``results.json`` (every curve point and final score), ``curves.png`` and
a markdown table on standard output. Nothing is asserted: numbers go to
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

PROCESS_START = time.monotonic()

import numpy as np  # noqa: E402 (the clock starts before the imports)
import torch  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from chromoskl import ChromosomeSegmenter  # noqa: E402
from chromoskl.augmentation import Augmenter  # noqa: E402
from chromoskl.averaging import WeightAveraging  # noqa: E402
from chromoskl.cli import AUGMENTATIONS  # noqa: E402
from chromoskl.datasets import load_overlapping_chromosomes  # noqa: E402
from chromoskl.metrics import segmentation_scores  # noqa: E402
from chromoskl.sampling import LossProportionalSampling  # noqa: E402
from chromoskl.splits import holdout_indices  # noqa: E402

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2]
    / "shared/data/LowRes_13434_overlapping_pairs_regenerated.h5"
)

BASE = {
    "arch": "unet", "module__base_channels": 16, "module__depth": 4,
    "batch_size": 32, "lr": 1e-2, "lr_schedule": "onecycle", "criterion": "dice_ce",
}
#: The content-box recipe (bfloat16, channels-last, every training image, margin 0) that the
#: box recipes below change one lever of; and the swap-invariant loss with area decoding.
BOXES = {"precision": "bf16", "channels_last": True, "train_split": None, "content_margin": 0}
SWAP_INVARIANT = {"ab_loss": "swap_invariant", "ab_decoding": "area"}
#: The boxes with Dice + cross-entropy that weighs the edges between A, B and the overlap 4 times.
BOXES_EDGE = {**BOXES, "criterion": "dice_edge_ce"}
#: The 2-hour shift recipe (sessions 35-37): the narrow network (16-16-32-64-128) on the raw
#: labels, trained on one-pixel shifts; the recipes named ``..._raw_narrow16_shift1_...``
#: change one lever of it.
RAW_NARROW_SHIFT = {**BOXES_EDGE, "labels": "raw", "module__channels": [16, 16, 32, 64, 128],
                    "augment": "shift1"}
#: Each recipe is the base with one lever changed.
RECIPES = {
    "onecycle": {},
    "constant": {"lr": 3e-3, "lr_schedule": None, "criterion": "ce", "batch_size": 16},
    "ce": {"criterion": "ce"},
    "as_wbce": {"criterion": "as_wbce"},
    "batch16": {"batch_size": 16},
    "batch64": {"batch_size": 64},
    "lr3e-3": {"lr": 3e-3},
    "lr2e-2": {"lr": 2e-2},
    "width8": {"module__base_channels": 8},
    "width24": {"module__base_channels": 24},
    "depth3": {"module__depth": 3},
    "channels_last": {"channels_last": True},
    "bf16": {"precision": "bf16"},
    "bf16_channels_last": {"precision": "bf16", "channels_last": True},
    "bf16_cl_swap_invariant": {"precision": "bf16", "channels_last": True,
                               "ab_loss": "swap_invariant", "ab_decoding": "area"},
    # the 8 flips and rotations by 90 degrees of each training batch, on the device
    "bf16_cl_dihedral": {"precision": "bf16", "channels_last": True, "augment": "dihedral"},
    "bf16_cl_dihedral_swap_invariant": {"precision": "bf16", "channels_last": True,
                                        "augment": "dihedral", "ab_loss": "swap_invariant",
                                        "ab_decoding": "area"},
    # AdamW's decoupled weight decay: the 30-minute run's validation loss rose from epoch 14
    # while its training loss kept falling (0.030 to 0.016)
    "bf16_cl_adamw": {"precision": "bf16", "channels_last": True, "optimizer": "adamw",
                      "optimizer__weight_decay": 1e-2},
    "bf16_cl_batch16": {"precision": "bf16", "channels_last": True, "batch_size": 16},
    "bf16_cl_width24": {"precision": "bf16", "channels_last": True,
                        "module__base_channels": 24},
    # no internal validation split: every training image is trained on, the last epoch kept
    # (one-cycle ends at a rate of 0, where the best validation epoch was the last anyway)
    "bf16_cl_all": {"precision": "bf16", "channels_last": True, "train_split": None},
    "bf16_cl_all_swap_invariant": {"precision": "bf16", "channels_last": True,
                                   "train_split": None, "ab_loss": "swap_invariant",
                                   "ab_decoding": "area"},
    # the network run on each image's content box (margin 0 or 4 pixels), batched by box size
    "bf16_cl_all_crop0": BOXES,
    "bf16_cl_all_crop4": {**BOXES, "content_margin": 4},
    "bf16_cl_all_crop0_swap_invariant": {**BOXES, **SWAP_INVARIANT},
    "bf16_cl_all_crop4_swap_invariant": {**BOXES, "content_margin": 4, **SWAP_INVARIANT},
    # the boxes in float32: does bfloat16's 8-bit mantissa cost the overlap's edge?
    "cl_all_crop0_fp32": {"channels_last": True, "train_split": None, "content_margin": 0},
    "bf16_cl_all_crop0_edge4": BOXES_EDGE,
    "bf16_cl_all_crop0_edge10": {**BOXES_EDGE,
                                 "criterion__loss_params": {"edge_ce": {"edge_weight": 10.0}}},
    # the training side fits the edge better than the test side once the edges weigh more:
    # the 8 flips and rotations by 90 degrees as more views of each pair
    "bf16_cl_all_crop0_edge4_dihedral": {**BOXES_EDGE, "augment": "dihedral"},
    # the recipe of `chromoskl train --data` (swap-invariant, boxes) with the edge-weighted loss
    "bf16_cl_all_crop0_swap_invariant_edge4": {**BOXES_EDGE, **SWAP_INVARIANT},
    # the random split's test images are the training pairs at other whole-pixel placements,
    # and max-pooling is not shift-equivariant: anti-aliased pooling (Zhang 2019)
    "bf16_cl_all_crop0_edge4_maxblur": {**BOXES_EDGE, "module__pool": "maxblur"},
    # the 2-hour run memorised its training placements as the rate annealed: an exponential
    # moving average of the weights (``ema`` is the decay; the curve scores both weights)
    "bf16_cl_all_crop0_edge4_ema": {**BOXES_EDGE, "ema": 0.9995},
    # ... and a rate that anneals to lr / 10 instead of almost 0, so that the last weights
    # stay noisy (less memorising) and the average does the annealing (as in Izmailov 2018)
    "bf16_cl_all_crop0_edge4_ema_floor": {**BOXES_EDGE, "ema": 0.9995,
                                          "callbacks__lr_schedule__final_div_factor": 0.4},
    # more capacity at the boxes' speed: base width 24 (2.25x the multiply-adds)
    "bf16_cl_all_crop0_width24": {**BOXES, "module__base_channels": 24},
    # Pommier's labels as generated (channel 1 of dataset_1), for training and scoring alike
    "bf16_cl_all_crop0_edge4_raw": {**BOXES_EDGE, "labels": "raw"},
    "bf16_cl_all_crop0_edge4_ema_floor_raw": {**BOXES_EDGE, "ema": 0.9995, "labels": "raw",
                                              "callbacks__lr_schedule__final_div_factor": 0.4},
    # the 2-hour budget on the raw labels: at 2 hours the cleaned labels' training side was
    # memorised (0.997) while the test side fell; the 8 flips and rotations keep it from that
    "bf16_cl_all_crop0_edge4_dihedral_raw": {**BOXES_EDGE, "augment": "dihedral",
                                             "labels": "raw"},
    # `chromoskl train --data`'s recipe on the raw labels (A by size where they name it so)
    "bf16_cl_all_crop0_swap_invariant_edge4_raw": {**BOXES_EDGE, **SWAP_INVARIANT,
                                                   "labels": "raw"},
    # the scores are IoUs: add the Lovász-softmax surrogate of the IoU (Berman et al. 2018)
    # to Dice + edge CE, each weighted 1
    "bf16_cl_all_crop0_edge4_lovasz_raw": {**BOXES_EDGE, "criterion": "combined",
                                           "criterion__losses": ("dice", "edge_ce", "lovasz"),
                                           "criterion__weights": (1.0, 1.0, 1.0),
                                           "labels": "raw"},
    # the same recipe on the Attention U-Net (Oktay et al. 2018) at the same widths and depth
    "bf16_cl_all_crop0_edge4_raw_attention": {**BOXES_EDGE, "labels": "raw",
                                              "arch": "attention_unet"},
    # one-cycle's peak rate doubled (2e-2): more of the noise that keeps the test side up
    "bf16_cl_all_crop0_edge4_raw_lr2e-2": {**BOXES_EDGE, "labels": "raw", "lr": 2e-2},
    # base width 8: a quarter of the multiply-adds, and 1.9x the training steps per second
    # of width 16 in bfloat16 on a 2-core AVX512-BF16 CPU (batch 16, 96x96): more epochs in
    # the budget, if the capacity holds
    "bf16_cl_all_crop0_edge4_raw_width8": {**BOXES_EDGE, "labels": "raw",
                                           "module__base_channels": 8},
    # width 16 at full resolution and width 8's channels below it: as fast as width 8 per
    # step (the full- and half-resolution levels cost most), width 16 where the edges are
    "bf16_cl_all_crop0_edge4_raw_narrow16": {**BOXES_EDGE, "labels": "raw",
                                             "module__channels": [16, 16, 32, 64, 128]},
    # the first level's width counted (8 to 16: 0.944 to 0.953 at 30 minutes) and the deeper
    # levels' did not: width 32 at full resolution, at width 16's speed (1.85x the step time
    # of 16-16-32-64-128)
    "bf16_cl_all_crop0_edge4_raw_full32": {**BOXES_EDGE, "labels": "raw",
                                           "module__channels": [32, 16, 32, 64, 128]},
    # the narrow network from another random start (the estimator's ``random_state`` only; the
    # hold-out stays ``--seed``'s): a second member for an ensemble that differs only in its start
    "bf16_cl_all_crop0_edge4_raw_narrow16_start1": {**BOXES_EDGE, "labels": "raw",
                                                    "module__channels": [16, 16, 32, 64, 128],
                                                    "random_state": 1},
    # the narrow network trained on each image at one of its 9 whole-pixel shifts (by at most
    # one pixel) drawn per batch: new pooling phases of every placement, where the flips and
    # turns of the dihedral recipe also changed the framing
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1": RAW_NARROW_SHIFT,
    # the same augmentation for the other members of session 33's ensemble, and a second start
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1_start1": {**RAW_NARROW_SHIFT,
                                                           "random_state": 1},
    "bf16_cl_all_crop0_edge4_raw_full32_shift1": {**BOXES_EDGE, "labels": "raw",
                                                  "module__channels": [32, 16, 32, 64, 128],
                                                  "augment": "shift1"},
    "bf16_cl_all_crop0_edge4_raw_shift1": {**BOXES_EDGE, "labels": "raw", "augment": "shift1"},
    # the raw labels are the sum of two rotated masks, A's 0/1 and B's 0/1/2 (Pommier's
    # generator): the network predicts the two masks' values and the classes are their sum
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1_summed": {
        **RAW_NARROW_SHIFT, "label_model": "summed_masks"},
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1_summed_start1": {
        **RAW_NARROW_SHIFT, "label_model": "summed_masks", "random_state": 1},
    # the 2-hour shift-trained network's curve was flat and noisy over its last 25 minutes:
    # with a moving average of the weights and a rate that stops at lr / 10 (session 25's
    # +0.002 at 27.5 minutes, one run)
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1_ema_floor": {
        **RAW_NARROW_SHIFT, "ema": 0.9995, "callbacks__lr_schedule__final_div_factor": 0.4},
    # at 2 hours the shift recipe fits its own training images only to 0.972 (session 35):
    # capacity where it is cheap, at the lowest resolutions. Widths 128 and 256 at the two
    # deepest levels (3.5x the parameters), and a fifth pooling with width 256 below the
    # recipe's levels (3.9x). At 115 minutes: 0.75x and 0.68x the images/s, 0.0012 lower
    # each (RESULTS.md, session 52)
    "bf16_cl_all_crop0_edge4_raw_deepwide_shift1": {
        **BOXES_EDGE, "labels": "raw", "module__channels": [16, 16, 32, 128, 256],
        "augment": "shift1"},
    "bf16_cl_all_crop0_edge4_raw_depth5_shift1": {
        **BOXES_EDGE, "labels": "raw", "module__channels": [16, 16, 32, 64, 128, 256],
        "augment": "shift1"},
    # ... capacity did not pay, and the curve is flat over the last 30 minutes: more steps
    # instead (one per 16 images), if one thread keeps its images per second. Batch 16 at
    # 115 minutes: 0.85x the images/s, 0.9622 and 0.9612 from two starts against batch
    # 32's 0.9625 and 0.9619 (RESULTS.md, session 53); batch 8 trains 0.75x the images/s
    # of batch 32
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1_batch16": {**RAW_NARROW_SHIFT,
                                                            "batch_size": 16},
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1_batch16_start1": {
        **RAW_NARROW_SHIFT, "batch_size": 16, "random_state": 1},
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1_batch8": {**RAW_NARROW_SHIFT,
                                                           "batch_size": 8},
    # ... or the same steps spent more on the images the network still gets wrong: from the
    # second epoch, half of each epoch's draws (or a quarter) in proportion to each image's
    # last training loss (chromoskl.sampling). Half, float32, 70 minutes beside the shift
    # recipe: 0.9487 against 0.9509, the same images/s (RESULTS.md, session 54)
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1_hard": {**RAW_NARROW_SHIFT,
                                                          "hard_sampling": 0.5},
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1_hard_quarter": {**RAW_NARROW_SHIFT,
                                                                  "hard_sampling": 0.75},
    # decoupled weight decay (Loshchilov & Hutter 2019), which session 24 named among the
    # regularisers left: 0.0013 above Adam at 70 minutes, within run-to-run differences
    # (benchmarks/RESULTS.md, session 55)
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1_adamw": {
        **RAW_NARROW_SHIFT, "optimizer": "adamw", "optimizer__weight_decay": 1e-2},
    # shifts of up to two pixels (25 offsets, against one pixel's 9): the one-pixel shifts
    # were the lever that kept the network learning past 30 minutes (sessions 34-35), and
    # their curve is flat over the last 30 minutes of 2 hours; more placements per image.
    # Float32, 70 minutes beside the one-pixel shifts: 0.9502 against 0.9521 (0.9526 against
    # 0.9546 with the 9 shifts at test time), the same images/s (RESULTS.md, session 56)
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift2": {**RAW_NARROW_SHIFT, "augment": "shift2"},
    # ARMS Net's adaptive bottleneck (AMAC then ASSP; Wang et al. 2021, 3.2) on the narrow
    # network, with U-Net's plain skips: Table 5 puts its largest step there (UNet (R) 96.77 %
    # to UNet (AR) 98.29 %), while the Res Paths cost half the images/s on a CPU
    "bf16_cl_all_crop0_edge4_raw_narrow16_shift1_amac_assp": {
        **RAW_NARROW_SHIFT, "arch": "arms", "module__skip": "plain",
        "module__bottleneck": ("amac", "assp")},
    # ... and in `chromoskl train --data`'s recipe (swap-invariant loss, area decoding)
    "bf16_cl_all_crop0_swap_invariant_edge4_raw_narrow16": {
        **BOXES_EDGE, **SWAP_INVARIANT, "labels": "raw",
        "module__channels": [16, 16, 32, 64, 128]},
    "bf16_cl_all_crop0_swap_invariant_edge4_raw_narrow16_shift1": {
        **RAW_NARROW_SHIFT, **SWAP_INVARIANT},
    # ... from another random start: with the start1 recipes above, every pair of a fixed and
    # a swap-invariant member, two of each, for the mixed ensembles
    "bf16_cl_all_crop0_swap_invariant_edge4_raw_narrow16_shift1_start1": {
        **RAW_NARROW_SHIFT, **SWAP_INVARIANT, "random_state": 1},
    # the fixed-label and the swap-invariant recipe on the loader's default labels (cleaned:
    # B's rim is not called A, and A is the smaller chromosome), for item 4 on them
    "bf16_cl_all_crop0_edge4_narrow16_shift1": {
        **BOXES_EDGE, "module__channels": [16, 16, 32, 64, 128], "augment": "shift1"},
    "bf16_cl_all_crop0_swap_invariant_edge4_narrow16_shift1": {
        **BOXES_EDGE, **SWAP_INVARIANT, "module__channels": [16, 16, 32, 64, 128],
        "augment": "shift1"},
    "bf16_cl_all_crop0_edge4_narrow16_shift1_start1": {
        **BOXES_EDGE, "module__channels": [16, 16, 32, 64, 128], "augment": "shift1",
        "random_state": 1},
    "bf16_cl_all_crop0_swap_invariant_edge4_narrow16_shift1_start1": {
        **BOXES_EDGE, **SWAP_INVARIANT, "module__channels": [16, 16, 32, 64, 128],
        "augment": "shift1", "random_state": 1},
    "swap_invariant": {"ab_loss": "swap_invariant", "ab_decoding": "area"},
    "area": {"ab_decoding": "area"},
    "papers": {"lr": 1e-3, "lr_schedule": None, "criterion": "ce", "batch_size": 32},
}
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
SCORES = ("overlap_iou", "chromosome_a_iou", "chromosome_b_iou", "chromosome_a_iou_any_order",
          "ab_swapped_share", "pixel_accuracy")


class HeldOutCurve(Callback):
    """Score held-out images every ``every`` seconds of training (and at each epoch's end)."""

    def __init__(self, X, y, every):
        self.X, self.y, self.every = X, y, every

    def on_train_begin(self, net, **kwargs):
        self.points_ = []
        self.images_seen_ = 0
        self.last_ = time.monotonic()

    def _score(self, net):
        started = time.monotonic()
        scores = segmentation_scores(self.y, net.predict(self.X))
        point = {
            "process_s": round(started - PROCESS_START, 1),
            "images_seen": self.images_seen_,
            **{k: round(scores[k], 4) for k in SCORES if k in scores},
        }
        average = getattr(dict(net.callbacks_).get("ema"), "averaged_model_", None)
        if average is not None:  # the moving average, scored on the same images
            own = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
            net.module_.load_state_dict(average.module.state_dict())
            ema_scores = segmentation_scores(self.y, net.predict(self.X))
            net.module_.load_state_dict(own)
            point["ema"] = {k: round(ema_scores[k], 4) for k in SCORES if k in ema_scores}
        point["eval_s"] = round(time.monotonic() - started, 2)
        self.points_.append(point)
        self.last_ = time.monotonic()

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        self.images_seen_ += len(batch[0])
        if time.monotonic() - self.last_ >= self.every:
            self._score(net)
            net.module_.train()

    def on_epoch_end(self, net, **kwargs):
        self._score(net)


def _scored(seg, images, truth, **predict_params):
    """SCORES of ``seg``'s prediction, rounded to 4 digits; ``predict_params`` (such as
    ``tta`` or ``ab_decoding``) hold for this prediction only."""
    kept = {key: getattr(seg, key) for key in predict_params}
    scores = segmentation_scores(truth, seg.set_params(**predict_params).predict(images))
    seg.set_params(**kept)
    return {k: round(scores[k], 4) for k in SCORES if k in scores}


def run_recipe(name, data, split, args):
    params = {**BASE, **RECIPES[name]}
    if args.precision != "recipe":
        params["precision"] = None if args.precision == "fp32" else args.precision
    estimator_params = dict(params)
    labels = data.labels
    if estimator_params.pop("labels", "cleaned") == "raw":
        labels = data.raw_labels
    augment = str(estimator_params.get("augment"))
    if augment == "dihedral":
        estimator_params["augment"] = Augmenter(**AUGMENTATIONS["dihedral"],
                                                random_state=args.seed)
    if augment.startswith("shift"):  # "shift1", "shift2": the CLI's shifts, of that reach
        estimator_params["augment"] = Augmenter(
            **{**AUGMENTATIONS["shifts"], "shift_pixels": int(augment[len("shift"):])},
            random_state=args.seed)
    if "optimizer" in estimator_params:  # a name in RECIPES, so that results stay JSON
        estimator_params["optimizer"] = OPTIMIZERS[estimator_params["optimizer"]]
    callbacks = []
    if "ema" in estimator_params:
        callbacks.append(("ema", WeightAveraging(decay=estimator_params.pop("ema"))))
    if "hard_sampling" in estimator_params:  # the uniform share of the draws
        callbacks.append(("hard_sampling", LossProportionalSampling(
            uniform_share=estimator_params.pop("hard_sampling"))))
    train, test, kind = holdout_indices(len(data.images), data.groups, kind=split,
                                        random_state=args.seed)
    rng = np.random.default_rng(args.seed)
    if args.n_train:
        train = rng.choice(train, size=min(args.n_train, len(train)), replace=False)
    watch = rng.choice(test, size=min(args.eval_images, len(test)), replace=False)
    curve = HeldOutCurve(data.images[watch], labels[watch], args.eval_every)
    estimator_params.setdefault("random_state", args.seed)
    seg = ChromosomeSegmenter(
        **estimator_params, max_epochs=10_000, max_minutes=args.minutes, device=args.device,
        verbose=args.verbose, callbacks=[*callbacks, ("curve", curve)],
    )
    started = time.monotonic()
    seg.fit(data.images[train], labels[train], groups=data.groups[train])
    fit_s = time.monotonic() - started
    if args.save_models:
        seg.save(args.out / f"{name}-{kind}.pt")
    scores = _scored(seg, data.images[test], labels[test])
    extra = {}
    if seg.ab_decoding == "network":  # the same model, its chromosomes named by area
        extra["test_area_decoding"] = _scored(seg, data.images[test], labels[test],
                                              ab_decoding="area")
    if args.score_train:  # the training side: a gap to the test side is generalisation
        seen = rng.choice(train, size=min(args.score_train, len(train)), replace=False)
        extra["train_subset"] = _scored(seg, data.images[seen], labels[seen])
    if args.tta:  # the same model, predictions averaged over the views of args.tta
        started = time.monotonic()
        extra["test_tta"] = _scored(seg, data.images[test], labels[test], tta=args.tta)
        extra["tta"] = args.tta
        extra["tta_predict_s"] = round(time.monotonic() - started, 1)
    if "ema" in dict(callbacks):  # the average is in the network: score its last weights too
        seg.module_.load_state_dict(dict(seg.callbacks_)["ema"].last_weights_)
        seg.box_norm_stats_ = seg._statistics_per_box_size(data.images[train])
        if args.save_models:  # a second model of the same run, for ensemble.py
            seg.save(args.out / f"{name}-{kind}-last weights.pt")
        extra["test_last_weights"] = _scored(seg, data.images[test], labels[test])
        if args.tta:
            extra["test_tta_last_weights"] = _scored(seg, data.images[test], labels[test],
                                                     tta=args.tta)
        if args.score_train:
            extra["train_subset_last_weights"] = _scored(seg, data.images[seen], labels[seen])
    return {
        "recipe": name, "params": {k: v for k, v in params.items()}, "split": kind,
        "n_train": int(len(train)), "n_test": int(len(test)),
        "epochs": len(seg.history), "fit_s": round(fit_s, 1),
        "images_per_s": round(curve.images_seen_ / fit_s, 1),
        "process_s_at_end": round(time.monotonic() - PROCESS_START, 1),
        "best_epoch": getattr(dict(seg.callbacks_).get("keep_best"), "best_epoch_", None),
        "test": scores,
        **extra,
        "curve": curve.points_,
    }


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for r in results:
        xs = [p["process_s"] / 60 for p in r["curve"]]
        label = f"{r['recipe']} ({r['split']})"
        axes[0].plot(xs, [p["overlap_iou"] for p in r["curve"]], marker=".", label=label)
        axes[1].plot(xs, [p["chromosome_a_iou"] for p in r["curve"]], marker=".", label=label)
    for ax, title in zip(axes, ("held-out overlap IoU", "held-out chromosome A IoU")):
        ax.set(xlabel="minutes since the process started", title=title, ylim=(0, 1))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(results) -> str:
    first = {}
    lines = [
        "| recipe | split | train images | epochs | fit s | images/s (ratio) | overlap IoU "
        "(ratio) | A IoU | B IoU | A IoU any order | A/B swapped share |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        base = first.setdefault(r["split"], r)
        t = r["test"]
        overlap_ratio = t["overlap_iou"] / max(base["test"]["overlap_iou"], 1e-9)
        lines.append(
            f"| {r['recipe']} | {r['split']} | {r['n_train']} | {r['epochs']} | {r['fit_s']} | "
            f"{r['images_per_s']} ({r['images_per_s'] / base['images_per_s']:.2f}) | "
            f"{t['overlap_iou']:.3f} ({overlap_ratio:.2f}) | "
            f"{t['chromosome_a_iou']:.3f} | {t['chromosome_b_iou']:.3f} | "
            f"{t.get('chromosome_a_iou_any_order', float('nan')):.3f} | "
            f"{t.get('ab_swapped_share', float('nan')):.3f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--recipes", nargs="+", default=["onecycle"], choices=sorted(RECIPES))
    parser.add_argument("--split", nargs="+", default=["random"], choices=("random", "grouped"))
    parser.add_argument("--minutes", type=float, default=4.0, help="training budget per run")
    parser.add_argument("--n-train", type=int, help="train on a random subset of this size")
    parser.add_argument("--eval-images", type=int, default=512)
    parser.add_argument("--eval-every", type=float, default=90.0, help="seconds")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="recipe", choices=("recipe", "auto", "fp32", "bf16"),
                        help="override every recipe's precision; auto: bfloat16 only where the "
                             "CPU has bfloat16 instructions (the box recipes ask for bf16, "
                             "which a CPU with AVX2 only runs slowly)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tta", nargs="?", const="dihedral", choices=("dihedral", "shifts"),
                        help="also score the final model with test-time augmentation over "
                             "these views (alone: dihedral)")
    parser.add_argument("--score-train", type=int, default=0, metavar="N",
                        help="also score N training images (the train/test gap)")
    parser.add_argument("--save-models", action="store_true",
                        help="write each trained model to OUT/RECIPE-SPLIT.pt")
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/convergence"))
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    data = load_overlapping_chromosomes(args.data)
    if any(RECIPES[name].get("labels") == "raw" for name in args.recipes):
        data.raw_labels = load_overlapping_chromosomes(args.data, labels="raw").labels
    print(f"data loaded at {time.monotonic() - PROCESS_START:.1f} s", flush=True)
    results = []
    for split in args.split:
        for name in args.recipes:
            results.append(run_recipe(name, data, split, args))
            r = results[-1]
            print(json.dumps({k: v for k, v in r.items() if k != "curve"}), flush=True)
            (args.out / "results.json").write_text(json.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()},
                 "torch_threads": torch.get_num_threads(), "results": results}, indent=1))
            plot(results, args.out / "curves.png")
    print(table(results))


if __name__ == "__main__":
    main()
