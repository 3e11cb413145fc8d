"""The ``chromoskl`` command: train, evaluate and predict from the shell.

Thin by design: it parses arguments and calls the estimator, the datasets and the plots. Every
error a user can cause (a missing file, a bad value, a corrupt model) ends in one line on
standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ._cli_classify import add_classify_parser, run_classify
from ._cli_ensemble import add_ensemble_parser, run_ensemble
from ._cli_export import add_export_parser, run_export
from ._cli_karyogram import add_karyogram_parser, run_karyogram
from ._cli_separate import add_separate_parser, run_separate
from ._cli_serve import add_serve_parser, run_serve
from ._cli_support import (
    UsageError,
    check_generated_size,
    check_output_directory,
    int_or_none,
    interrupt_recorded,
    keep_checkpoint,
    positive_float,
)
from ._intensity import IntensityWarning
from .classes import N_CLASSES
from .datasets._pommier import LABELLINGS

__all__ = ["main"]

DEFAULT_OUT = "chromoskl-run"
# The embedded default run: sized to finish within 90 s on 2 CPU cores.
DEFAULT_N_SAMPLES = 1500
# The training recipes, per data source: what a flag left out means. Measured in
# benchmarks/convergence.py and benchmarks/RESULTS.md. The A/B loss differs by source: every
# generated image is a new pair, so fixed labels teach "A is the smaller" in general (A IoU
# 0.81 against 0.73 for the swap-invariant loss, 3 seeds); Pommier's file repeats a few pairs,
# which fixed labels memorise, and there the swap-invariant loss names A better on unseen pairs.
# Content boxes (margin 0) for a file: on Pommier's flat backgrounds each epoch is faster, and
# on unseen pairs they gained overlap IoU at 30 minutes (0.922 against 0.909 on whole
# images, swap-invariant both); on the generated pairs' noisy background a box would be the
# whole image, so the generated recipe leaves them off. Both recipes' loss weighs the edges
# between A, B and the overlap 4 times ("dice_edge_ce"): on the file, +0.003 to +0.004 overlap
# IoU in three side-by-side runs, on the random and the grouped split; in the default job,
# over 3 seeds, overlap IoU 0.936 against 0.921 and A IoU 0.821 against 0.807 (the worst seed
# 0.808 against 0.794). The generated recipe's U-Net has base width 8, not 16: on a 2-core
# AVX512-BF16 CPU it fits in 0.60x the time (57-71 s against 102-107 s), with the same A IoU
# (0.827-0.835 against 0.808-0.856, 3 seeds) and 0.02 less overlap IoU (0.911-0.920 against
# 0.935-0.941), which keeps the default run within its 90 s on the slower machines. The file
# recipe's U-Net has width 16 at full resolution and width 8's channels below it
# (16-16-32-64-128): in 27.5 minutes on unseen pairs it trained 1.65x the images/s of base
# width 16 and scored overlap IoU 0.936 against 0.934, A IoU 0.925 against 0.918 (one process,
# side by side); the first level's width is what counts (base width 8 lost 0.007-0.009).
# Without --max-minutes it trains 16 epochs, in the time base width 16 took for 10: on the
# file's defaults (cleaned labels, unseen pairs) overlap IoU 0.900 and A IoU 0.947 in 401 s,
# against 0.896 and 0.921 in 387 s (and 0.877 / 0.925 for 10 epochs of the narrow network).
# The generated recipe trains 6 epochs of batches of 8, not 8 epochs of 16 (2026-12-06): on a
# 2-core AVX2 CPU in float32, where 8 x 16 took 75-96 s, it fits in 0.84-0.87x the time, with
# mean overlap IoU 0.906 against 0.904 and A IoU 0.780 against 0.787 over nine seeds (seed 0,
# the quick start's: overlap 0.931 against 0.917, A 0.804 against 0.802). Where training runs
# in bfloat16 (a CPU with AVX512-BF16 or AMX, a GPU) it trains 8 epochs of 8, which float32
# on AVX2 could not fit in 90 s (90-97 s): on a 2-core AVX512-BF16 CPU, seeds 0-3, 5 and 8,
# 6 epochs fitted in 38-47 s with A IoU 0.726-0.795 (mean 0.764; 0.786 on the quick start's
# seed 0), 8 epochs in 48-60 s with A 0.726-0.829 (mean 0.789; 0.816 on seed 0) and more
# overlap IoU on every seed (mean 0.923 against 0.905); 8 epochs of 16 in 48-55 s, A mean
# 0.787, overlap mean 0.897 (2026-12-06, benchmarks/RESULTS.md).
# The file recipe trains on whole-pixel shifts of its images (--augment shifts): they kept a
# U-Net learning past 30 minutes on Pommier's pairs (overlap IoU 0.958 against 0.953 after
# 55 minutes), and at 16 epochs on the file's defaults they scored overlap IoU 0.903 against
# 0.897, A IoU 0.943 against 0.948 (one run each, 745 s both; runs of one recipe differ by
# 0.003-0.006). The generated recipe trains without them: in the default job they scored the
# same (seeds 0-2 side by side: mean overlap IoU 0.924 against 0.925, A IoU 0.806 against 0.805).
RECIPES = {
    "generated": {
        "epochs": 6, "batch_size": 8, "lr": 1e-2, "lr_schedule": "onecycle",
        "criterion": "dice_edge_ce", "ab_loss": "fixed", "ab_decoding": "area",
        "channels_last": True, "content_margin": None, "augment": "none",
        "label_model": "classes",
        "module": {"unet": {"base_channels": 8, "depth": 4}},
        # what changes where training runs in bfloat16 (see recipe_for)
        "bf16": {"epochs": 8},
    },
    "file": {
        "epochs": 16, "batch_size": 32, "lr": 1e-2, "lr_schedule": "onecycle",
        "criterion": "dice_edge_ce", "ab_loss": "swap_invariant", "ab_decoding": "area",
        "channels_last": True, "content_margin": 0, "augment": "shifts",
        "label_model": "classes",
        # ``channels`` sets every level's width; base_channels and depth are what a
        # --module base_channels or depth changes (see _training_settings)
        "module": {"unet": {"base_channels": 16, "depth": 4, "channels": [16, 16, 32, 64, 128]}},
    },
}
#: ``--augment``: the Augmenter settings of each name (applied to training batches only).
#: "shifts" moves each training crop by whole pixels, at most one, with no resampling: on
#: Pommier's pairs it delayed a U-Net's memorising and gave the best single network of
#: 2 hours (benchmarks/RESULTS.md, sessions 34-35). "dihedral" flips and turns by 90 degrees.
AUGMENTATIONS = {
    "none": None,
    "shifts": {"hflip": 0.0, "vflip": 0.0, "rot90": 0.0, "shift": 1.0, "shift_pixels": 1},
    "dihedral": {"hflip": 0.5, "vflip": 0.5, "rot90": 0.5},
}
# The network sizes that a recipe's explicit ``channels`` would override.
SIZE_PARAMS = {"base_channels", "depth"}
# An epoch count that a time budget, not the count, will end.
BUDGET_EPOCHS = 100_000
IMAGE_SUFFIXES = {".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp"}


def _module_param(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    name, value = text.split("=", 1)
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def _validation_fraction(text: str) -> float:
    """``--validation-size``: a fraction in [0, 1); 0 means ``train_split=None``."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(
            f"must be a fraction in [0, 1) (0: no validation split), got {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


# The recipe entries that are ChromosomeSegmenter parameters of the same name.
RECIPE_PARAMS = ("batch_size", "lr", "lr_schedule", "criterion", "ab_loss", "ab_decoding",
                 "channels_last", "content_margin", "label_model")


def augmenter(name: str):
    """The :class:`~chromoskl.augmentation.Augmenter` of an ``AUGMENTATIONS`` name, or None.

    It has no ``random_state`` of its own, so the estimator's seeds it.
    """
    from .augmentation import Augmenter

    settings = AUGMENTATIONS[name]
    return None if settings is None else Augmenter(**settings)


def segmenter_params(settings: dict) -> dict:
    """The ``ChromosomeSegmenter`` parameters of a recipe whose ``module`` holds one network's.

    ``settings`` is :func:`_training_settings`'s result, or a ``RECIPES`` entry with its
    ``module`` narrowed to one architecture (as the benchmarks use it).
    """
    return {
        "max_epochs": settings["epochs"],
        **{name: settings[name] for name in RECIPE_PARAMS},
        "augment": augmenter(settings["augment"]),
        **{f"module__{key}": value for key, value in settings["module"].items()},
    }


def recipe_for(source: str, precision) -> dict:
    """The ``RECIPES`` entry of ``source`` (``"generated"`` or ``"file"``) for training in
    ``precision`` (``"bf16"``, or None for float32): its ``"bf16"`` changes apply in bfloat16."""
    recipe = dict(RECIPES[source])
    bf16_changes = recipe.pop("bf16", {})
    return {**recipe, **bf16_changes} if precision == "bf16" else recipe


def _segmenter_precision(args):
    """``ChromosomeSegmenter``'s ``precision`` for ``--precision``: "fp32" is its None."""
    return None if args.precision == "fp32" else args.precision


def _training_settings(args) -> dict:
    """The recipe for the data source and the precision that training will run in, overridden
    by every flag that was given."""
    from ._cli_members import PER_MEMBER_FLAGS
    from ._device import resolve_device
    from ._precision import resolve_precision

    precision = resolve_precision(_segmenter_precision(args), resolve_device(args.device))
    recipe = recipe_for("generated" if args.data is None else "file", precision)
    settings = {
        name: recipe[name] if getattr(args, name) is None else getattr(args, name)
        for name in RECIPE_PARAMS
    }
    for name in ("lr_schedule", "content_margin"):
        if settings[name] == "none":
            settings[name] = None
    for name in PER_MEMBER_FLAGS:  # one value per member, or one for all
        if isinstance(settings[name], list) and len(settings[name]) == 1:
            settings[name] = settings[name][0]
    settings["augment"] = recipe["augment"] if args.augment is None else args.augment
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    else:
        settings["epochs"] = BUDGET_EPOCHS if args.max_minutes else recipe["epochs"]
    recipe_module = dict(recipe["module"].get(args.arch, {}))
    given = dict(args.module)
    if SIZE_PARAMS & given.keys() and "channels" not in given:
        # the networks build from ``channels`` when it is set: a width or depth asked for on
        # the command line must not be overridden by the recipe's
        recipe_module.pop("channels", None)
    settings["module"] = {**recipe_module, **given}
    return settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chromoskl",
        description="Segment overlapping chromosomes: background, chromosome A, B, overlap.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a segmenter and write model, metrics, plots")
    train.add_argument("--data", type=Path, help="labelled images: an h5 file (Pommier's "
                       "layout, or named datasets: --images-key, --labels-key), or a folder "
                       "of image/mask pairs (default: images made by "
                       "make_overlapping_chromosomes)")
    _add_data_keys(train)
    train.add_argument("--arch", default="unet", help="architecture name (default: unet)")
    train.add_argument("--epochs", type=_positive_int,
                       help="epochs to train (default: the recipe's; with --max-minutes and "
                       "no --epochs, the budget alone decides)")
    train.add_argument("--max-minutes", type=positive_float,
                       help="train for this wall-clock budget, then stop and keep the best "
                       "model; one-cycle is planned over it")
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--lr", type=positive_float, help="the (peak) learning rate")
    train.add_argument("--lr-schedule", choices=("none", "onecycle", "step", "plateau"))
    train.add_argument("--criterion", help="loss name, e.g. ce, dice_ce, dice_edge_ce, as_wbce")
    train.add_argument("--ab-loss", choices=("fixed", "swap_invariant", "orientation"),
                       nargs="+", metavar="{fixed,swap_invariant,orientation}",
                       help="swap_invariant: the loss ignores which chromosome is A; "
                       "orientation: it names them by their axes' order (then --ab-decoding "
                       "area). With --members, one value for every member or one per member, "
                       "e.g. --members 2 --ab-loss fixed swap_invariant")
    train.add_argument("--ab-decoding", choices=("network", "area"), nargs="+",
                       metavar="{network,area}",
                       help="area: the smaller predicted chromosome is called A. With "
                       "--members, one value for every member or one per member; the "
                       "average is decoded as the first member decodes")
    train.add_argument("--label-model", choices=("classes", "summed_masks"),
                       help="summed_masks: the network predicts A's mask (0/1) and B's "
                       "(0/1/2) and the classes are their sum, as Pommier's generator made "
                       "the raw labels; default classes")
    train.add_argument("--augment", choices=sorted(AUGMENTATIONS),
                       help="augment the training batches: 'shifts' (by whole pixels, at most "
                       "one) or 'dihedral' (flips and turns by 90 degrees); default: the "
                       "recipe's, none for generated pairs and shifts with --data")
    train.add_argument("--tta", choices=("none", "dihedral", "shifts"), default="none",
                       help="the test-time views that the saved model predicts with and the "
                       "held-out scores use: 'shifts' (the 9 one-pixel shifts, 9x the "
                       "prediction time) or 'dihedral' (only for a model trained on them); "
                       "default none")
    train.add_argument("--n-samples", type=_positive_int, default=DEFAULT_N_SAMPLES,
                       help="images to generate when no --data is given")
    train.add_argument("--max-samples", type=_positive_int,
                       help="read at most this many images of --data")
    train.add_argument("--test-size", type=float, default=0.2,
                       help="fraction held out for the metrics (default 0.2)")
    train.add_argument("--validation-size", type=_validation_fraction, default=0.1,
                       metavar="FRACTION",
                       help="fraction of the training images kept apart to choose the best "
                       "epoch (default 0.1); 0 trains on all of them, with no validation "
                       "pass, and keeps the last epoch's weights")
    train.add_argument("--split", choices=("grouped", "random"), default="grouped",
                       help="hold out whole chromosome pairs (grouped, default) or random images")
    train.add_argument("--module", type=_module_param, action="append", default=[],
                       metavar="NAME=VALUE", help="a network parameter, e.g. base_channels=32")
    train.add_argument("--device", default="auto")
    train.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                       help="auto (default): bfloat16 where the device computes it natively "
                       "(a GPU, or a CPU with AVX512-BF16/AMX), else float32")
    train.add_argument("--channels-last", action=argparse.BooleanOptionalAction,
                       help="keep weights and images channels-last (the recipes do)")
    # "none" stays a string until the recipe is read: None there means "not given"
    train.add_argument("--content-margin", metavar="PIXELS|none",
                       type=int_or_none(0, "a number of pixels >= 0", none="none"),
                       help="run the network on a centred box around each image's "
                       "non-background pixels, with this margin (default: 0 with --data, "
                       "where it trains 2.2x the images/s on Pommier's pairs; none, whole "
                       "images, for generated pairs, whose background is noisy)")
    train.add_argument("--seed", type=int, default=0,
                       help="seeds the generated data, the hold-out and the network's start")
    train.add_argument("--init-seed", type=int,
                       help="the network's random start and batch order only (default: "
                       "--seed): members for chromoskl ensemble, on one hold-out")
    train.add_argument("--members", type=_positive_int, default=1,
                       help="train this many random starts (--init-seed, +1, ...) side by "
                       "side, one process each with its share of the CPU threads, each for "
                       "the whole --max-minutes, and save one model that averages them "
                       "(training curves: the first member's)")
    train.add_argument("--ab-names-from", type=_positive_int, metavar="K",
                       help="with --members: the K-th member (1 = the first) names A and B "
                       "for the saved model. The average decides the background, the overlap "
                       "and where one chromosome lies alone; that member decides which of the "
                       "two it is, and its --ab-decoding decodes. E.g. --members 2 --ab-loss "
                       "fixed swap_invariant --ab-decoding network area --ab-names-from 2")
    train.add_argument("--out", type=Path, default=Path(DEFAULT_OUT))
    train.add_argument("--resume", action="store_true",
                       help="continue the run whose checkpoint is in --out")

    evaluate = commands.add_parser("evaluate", help="score a saved model on labelled data")
    evaluate.add_argument("--model", type=Path, required=True,
                          help="a model file of chromoskl train or chromoskl ensemble")
    evaluate.add_argument("--data", type=Path, help="labelled images: an h5 file (Pommier's "
                          "layout, or named datasets: --images-key, --labels-key), or a "
                          "folder of image/mask pairs (default: generated images)")
    _add_data_keys(evaluate)
    evaluate.add_argument("--n-samples", type=_positive_int, default=200)
    evaluate.add_argument("--max-samples", type=_positive_int)
    evaluate.add_argument("--seed", type=int, default=1)
    evaluate.add_argument("--out", type=Path, help="also write metrics.json here")
    _add_tta(evaluate)

    predict = commands.add_parser("predict", help="write label masks and overlays")
    predict.add_argument("--model", type=Path, required=True,
                         help="a model file of chromoskl train or chromoskl ensemble")
    predict.add_argument("inputs", type=Path, nargs="+", help="PNG/TIFF images or h5 files")
    predict.add_argument("--max-samples", type=_positive_int)
    predict.add_argument("--out", type=Path, default=Path("chromoskl-predictions"))
    _add_tta(predict)

    add_separate_parser(commands)
    add_classify_parser(commands)
    add_karyogram_parser(commands)
    add_serve_parser(commands)
    add_export_parser(commands)
    add_ensemble_parser(commands)
    return parser


def _add_tta(parser) -> None:
    parser.add_argument(
        "--tta", choices=("none", "dihedral", "shifts"),
        help="test-time augmentation, in place of the model's own: 'shifts' (the 9 one-pixel "
        "shifts; +0.002-0.004 overlap IoU on Pommier's pairs, 9x the time) needs no training; "
        "'dihedral' (the 8 flips and rotations) suits only models trained on them")


def _load_model(args):
    """The segmenter or ensemble of ``--model``, with ``--tta`` when it is given."""
    from .ensemble import load_segmenter

    if args.tta is None:
        return load_segmenter(args.model)
    return load_segmenter(args.model, tta=False if args.tta == "none" else args.tta)


# ---------------------------------------------------------------------- data


def _load_data(args, *, n_samples):
    """The labelled images of ``--data`` (any layout of ``load_labelled_data``), or generated
    ones."""
    from .datasets import load_labelled_data, make_overlapping_chromosomes

    if args.data is None:
        return make_overlapping_chromosomes(n_samples, random_state=args.seed), "generated"
    data = load_labelled_data(args.data, images=args.images_key, labels=args.labels_key,
                              groups=args.groups_key, max_samples=args.max_samples,
                              pommier_labels=args.pommier_labels)
    if args.pommier_labels == "raw":
        return data, f"{args.data} (raw labels)"
    return data, str(args.data)


def _add_data_keys(parser) -> None:
    parser.add_argument("--images-key", default="images",
                        help="an h5 of your own: the dataset of images (n, H, W)")
    parser.add_argument("--labels-key", default="labels",
                        help="an h5 of your own: the dataset of labels 0..3 (n, H, W)")
    parser.add_argument("--groups-key", help="an h5 of your own: an optional dataset of groups")
    parser.add_argument("--pommier-labels", choices=LABELLINGS, default="cleaned",
                        help="Pommier's h5: the cleaned labels (default; A is always the "
                        "smaller chromosome) or the labels as generated (raw; their overlap "
                        "is learnt better, see benchmarks/RESULTS.md)")


def _holdout(data, *, test_size, split, seed):
    from .splits import holdout_indices

    if not 0.0 < test_size < 1.0:
        raise UsageError(f"--test-size must lie between 0 and 1, got {test_size}")
    return holdout_indices(len(data.images), data.groups, kind=split, test_size=test_size,
                           random_state=seed)


# ---------------------------------------------------------------------- commands


def _train(args) -> int:
    from . import ChromosomeSegmenter
    from ._cli_members import (
        checked_naming_member,
        fit_member,
        member_checkpoints,
        member_seeds,
        member_settings,
        predict_and_score_members,
        train_members,
    )
    from ._device import resolve_device
    from .checkpoint import EpochCheckpoint
    from .ensemble import SegmenterEnsemble
    from .metrics import segmentation_scores
    from .plotting import plot_history, plot_predictions
    from .splits import ValidationSplit

    started = time.perf_counter()
    resolve_device(args.device)
    check_output_directory(args.out)
    seeds = member_seeds(args.seed if args.init_seed is None else args.init_seed, args.members)
    checkpoints = member_checkpoints(args.out, seeds)
    settings = _training_settings(args)
    members = member_settings(settings, args.members)  # checked before the data loads
    naming_member = checked_naming_member(args.ab_names_from, args.members)
    if args.resume and not any(path.is_file() for path in checkpoints):
        raise UsageError(f"--resume: no checkpoint at {checkpoints[0]}"
                         + (" nor of the other members" if args.members > 1 else ""))
    if args.data is None:
        check_generated_size(args.n_samples)
    data, source = _load_data(args, n_samples=args.n_samples)
    train, test, kind = _holdout(data, test_size=args.test_size, split=args.split, seed=args.seed)
    module = settings["module"]
    savers = [EpochCheckpoint(path) for path in checkpoints]
    # The internal validation split follows the hold-out: grouped only for a grouped hold-out.
    grouped = data.groups is not None and kind.startswith("grouped")
    validated = args.validation_size > 0
    groups = data.groups[train] if grouped and validated else None
    # Members side by side print no epoch table: their lines would interleave.
    segs = [ChromosomeSegmenter(
        args.arch, **segmenter_params({**settings, **own}),
        max_minutes=args.max_minutes,
        precision=_segmenter_precision(args), device=args.device,
        random_state=seed, verbose=1 if args.members == 1 else 0,
        train_split=ValidationSplit(args.validation_size, random_state=0) if validated else None,
        callbacks=[("checkpoint", saver)],
    ) for seed, saver, own in zip(seeds, savers, members)]
    side_by_side = f", {args.members} members side by side" if args.members > 1 else ""
    print(f"chromoskl: training {args.arch} on {len(train)} images ({source}), "
          f"holding out {len(test)} ({kind}){side_by_side}", flush=True)
    X_train, y_train = data.images[train], data.labels[train]
    if args.members == 1:
        seg = segs[0]
        with interrupt_recorded() as interrupt:
            fit_member(seg, checkpoints[0], X_train, y_train, resume=args.resume,
                       max_epochs=settings["epochs"], groups=groups)
        if interrupt.seen:  # skorch ends fit quietly on Ctrl-C: no model.pt, a non-zero exit
            keep_checkpoint(seg, savers[0], checkpoints[0])
            raise KeyboardInterrupt
    else:
        # The handler makes Ctrl-C stop the workers even where the process was started with
        # SIGINT ignored (a background job of a shell); each member's checkpoint stays.
        with interrupt_recorded() as interrupt:
            segs = train_members(segs, checkpoints, X_train, y_train, resume=args.resume,
                                 max_epochs=settings["epochs"], groups=groups)
        if interrupt.seen:
            raise KeyboardInterrupt
        names = [f"start{seed}" for seed in seeds]
        seg = SegmenterEnsemble.from_fitted(
            list(zip(names, segs)),
            ab_names_from=None if naming_member is None else names[naming_member])
        if naming_member is not None:
            print(f"chromoskl: member {names[naming_member]} names A and B", flush=True)
        for seed, member in zip(seeds, segs):
            print(f"chromoskl: member start{seed}: {len(member.history_)} epochs", flush=True)
    fit_seconds = time.perf_counter() - started

    if args.tta != "none":
        for member in segs:
            member.set_params(tta=args.tta)
    if args.members == 1:
        predicted = seg.predict(data.images[test])
        member_scores = None
    else:
        predicted, member_scores = predict_and_score_members(seg, data.images[test],
                                                             data.labels[test])
    scores = segmentation_scores(data.labels[test], predicted)
    seg.save(args.out / "model.pt")
    epochs_run = [len(member.history_) for member in segs]
    precision = segs[0].precision_ or "fp32"
    report = {
        "data": source,
        "split": kind,
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "arch": args.arch,
        "module": module,
        "recipe": {k: v for k, v in settings.items() if k != "module"},
        "max_minutes": args.max_minutes,
        "validation_size": args.validation_size,
        "tta": args.tta,
        "seed": args.seed,
        "init_seed": seeds[0] if args.members == 1 else seeds,
        "epochs_run": epochs_run[0] if args.members == 1 else epochs_run,
        "device": segs[0].device_,
        "precision": precision,
        "seconds": round(time.perf_counter() - started, 1),
        "fit_seconds": round(fit_seconds, 1),
        "test": scores,
    }
    if member_scores is not None:  # what the averaging gave: each member's own scores
        report["members_test"] = member_scores
        report["ab_names_from"] = seg.ab_names_from
    (args.out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    show = np.linspace(0, len(test) - 1, num=min(6, len(test))).astype(int)
    plot_predictions(
        data.images[test][show], data.labels[test][show], predicted[show],
        args.out / "predictions.png",
        title=f"{args.arch}, held-out images: overlap IoU {scores['overlap_iou']:.3f}",
    )
    plot_history(segs[0].history_, args.out / "training_curves.png")
    print(f"chromoskl: held-out {_scores_line(scores)}")
    for name, alone in (member_scores or {}).items():
        print(f"chromoskl: member {name} alone: {_scores_line(alone)}")
    print(f"chromoskl: wrote {args.out}/model.pt, metrics.json, predictions.png, "
          f"training_curves.png in {report['seconds']} s")
    return 0


def _scores_line(scores: dict) -> str:
    return (f"overlap IoU {scores['overlap_iou']:.3f}, chromosome IoU "
            f"A {scores['chromosome_a_iou']:.3f} / B {scores['chromosome_b_iou']:.3f}, pixel "
            f"accuracy {scores['pixel_accuracy']:.3f}")


def _evaluate(args) -> int:
    from .metrics import segmentation_scores

    seg = _load_model(args)
    if args.out is not None:
        check_output_directory(args.out)
    if args.data is None:
        check_generated_size(args.n_samples)
    data, source = _load_data(args, n_samples=args.n_samples)
    scores = segmentation_scores(data.labels, seg.predict(data.images))
    report = {"model": str(args.model), "data": source, "n_images": int(len(data.images)),
              "tta": _tta_of(seg), "scores": scores}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "metrics.json").write_text(text + "\n")
    return 0


def _tta_of(seg):
    """The test-time augmentation a loaded model predicts with (an ensemble's first member's)."""
    member = seg.estimators_[0] if hasattr(seg, "estimators_") else seg
    return member.tta


def _predict(args) -> int:
    import h5py
    from skimage import io

    from .datasets import load_overlapping_chromosomes, read_grey_image
    from .plotting import overlay, plot_predictions

    seg = _load_model(args)
    check_output_directory(args.out)
    for path in args.inputs:
        if path.is_dir():
            raise UsageError(f"{path} is a directory; give the image or h5 files in it")
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
        suffix = path.suffix.lower()
        if suffix in (".h5", ".hdf5"):
            images = load_overlapping_chromosomes(path, max_samples=args.max_samples).images
            labels = seg.predict(images)
            target = args.out / f"{path.stem}_labels.h5"
            with h5py.File(target, "w") as handle:
                handle.create_dataset("labels", data=labels, compression="gzip")
            show = np.arange(min(6, len(images)))
            plot_predictions(images[show], None, labels[show],
                             args.out / f"{path.stem}_overlays.png")
            print(f"chromoskl: {path}: {len(images)} label masks -> {target}")
        elif suffix in IMAGE_SUFFIXES:
            image = read_grey_image(path)
            labels = seg.predict(image[None])[0]
            io.imsave(args.out / f"{path.stem}_labels.png", labels, check_contrast=False)
            picture = (overlay(image, labels) * 255).round().astype(np.uint8)
            io.imsave(args.out / f"{path.stem}_overlay.png", picture, check_contrast=False)
            counts = np.bincount(labels.ravel(), minlength=N_CLASSES)
            print(f"chromoskl: {path}: A {counts[1]} px, B {counts[2]} px, overlap {counts[3]} px "
                  f"-> {args.out}/{path.stem}_labels.png, _overlay.png")
        else:
            raise UsageError(
                f"{path}: unsupported file type {suffix!r}; give PNG/TIFF images or an h5 file"
            )
    return 0


COMMANDS = {"train": _train, "evaluate": _evaluate, "predict": _predict,
            "separate": run_separate, "classify": run_classify,
            "karyogram": run_karyogram, "serve": run_serve, "export": run_export,
            "ensemble": run_ensemble}


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning as one line on standard error, as the errors are, without a source line."""
    print(f"chromoskl: warning: {message}", file=sys.stderr)


def main(argv=None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", IntensityWarning)
            warnings.showwarning = _show_warning
            return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        hint = (f"; `chromoskl train --resume --out {args.out}` continues from the last "
                "epoch's checkpoint" if args.command == "train" else "")
        _print_error(f"interrupted{hint}", fresh_line=True)
        return 130
    except (UsageError, ValueError, TypeError, KeyError, OSError) as error:
        _print_error(f"error: {_one_line(error)}")
        return 2


def _one_line(error: BaseException) -> str:
    """An error's message on one line. Only a KeyError's is quoted (it is the key's repr);
    stripping quotes from others would cut the quote off a path that ends the message."""
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        text = f"{error.strerror}: {error.filename}"
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return " ".join(lines) if lines else type(error).__name__


def _print_error(message: str, *, fresh_line: bool = False) -> None:
    """One line on standard error, after everything printed to standard output (flushed
    first, so that the two never share a line); ``fresh_line`` first ends the line of the
    ``^C`` a terminal echoes."""
    sys.stdout.flush()
    print(f"{chr(10) if fresh_line else ''}chromoskl: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
