"""The experiments of ARMS Net (Tables 3-6) and the thesis (Table 2) as scikit-learn code.

What is compared (every row is a ``Pipeline(IntensityScaler, [PadToShape], ChromosomeSegmenter)``):

- Table 3 (ARMS): UNet (AAR) with 3, 4 and 5 poolings (``module__depth``), 128x128 inputs.
- Table 4 (ARMS): ``GridSearchCV`` of ARMS Net over batch size {8, 16, 32, 64} x loss {BCE,
  WBCE with w in {1.1, 1.2, 1.3, 1.4, 1.5, 2.0, 3.0}, AS-WBCE} (a ``param_grid`` list of
  dicts), scored by ``SCORERS["overlap_iou"]``; the best combination is refit on the whole
  training part and scored on the test set.
- Table 5 (ARMS ablation): U-Net, UNet (R), (PR), (AR), (DAR), (AAR) at 128x128, UNet (AAR)
  at 256x256 with adaptive AMAC rates and with the rates fixed to those of 128x128 inputs
  (``module__amac_rates=(4, 2, 1, 3)``), and ARMS Net.
- Table 6 (ARMS) / Table 2 (thesis): U-Net of Hu et al. (2 poolings, 64/128/256), CE-Net,
  Attention U-Net, UNet++ (attention, deep supervision) and ARMS Net.

Protocol (ARMS Net): 20 % of the images are kept apart as a test set; 5-fold cross-validation
on the rest (``cross_validate``); Adam with lr 1e-3; early stopping on an internal validation
split (``patience``). Each table reports the mean and standard deviation over the folds and,
after a slash, the test-set score: the mean of the fold models (each of the k models trained in
cross-validation predicts the test set; no extra refit), except Table 4, whose test score is that
of the best combination refit by ``GridSearchCV``. Columns: overlap IoU, whole-chromosome A and B
IoU (A = {1, 3}, B = {2, 3}), accuracy = ``metrics.two_chromosome_accuracy`` (our reading of ARMS
eq. 4: right chromosome pixels over pixels that are chromosome in truth or prediction; plain pixel
accuracy is in results.json as ``pixel_accuracy``), and prediction time per image (whole pipeline,
test set, milliseconds). All metrics are pooled over all pixels, at the 94x93 size of the labels.

Every table is run with two splits, side by side in tables.md:

- ``random``: the papers' split: ``train_test_split`` (test 20 %), then ``KFold`` (shuffled);
  shifted or rotated copies of one chromosome pair land on both sides;
- ``grouped``: by chromosome pair (``groups`` = ``pair_index``): ``GroupShuffleSplit`` keeps 20 %
  of the pairs for the test set, ``GroupKFold`` the folds, and ``groups`` also reach
  ``fit`` so that early stopping validates on held-out pairs. This is what a user with new
  chromosomes can expect.

Scales (``SCALES`` and ``NETWORKS`` below hold every number):

- ``smoke``: every row end to end on 2 CPU cores in minutes: 60 images, 2 folds, 1 epoch,
  no validation split, widths divided by 8 (``module__base_channels=4`` and alike). The numbers
  mean nothing; it proves the code runs.
- ``cpu``: the smallest run in which the networks learn the task, for a CPU: 1,500 images
  (1,200 to cross-validate, 300 test), 2 folds, 6 epochs, patience 3, lr 3e-3, widths divided
  by 4; Table 4 on 4 batch sizes x 3 losses (BCE, WBCE w=2.0, AS-WBCE). One fit of ARMS Net
  takes about 5 minutes on one core (12 images/s), so Table 6 on both splits takes about an
  hour on 2 cores with ``--n-jobs 2 --threads 1``; all four tables take most of a day.
  Run them in pieces with ``--resume``.
- ``full``: the papers' protocol, for a GPU: all 13,434 images, 5 folds, up to 100 epochs,
  patience 10, lr 1e-3, the published widths.

Rows that are the same network trained the same way (UNet (AAR) with 4 poolings, UNet (AAR)
and ARMS Net: ``SAME_AS``) are trained once per split and shown in each table, marked "(=
ARMS Net)". Progress is saved after every row: ``--resume`` keeps the rows already in
``--out/results.json`` (of the same scale, data and networks) and trains the rest, so a long
run can be stopped and continued, or split into pieces that fit a machine's time limits.
``--n-jobs`` trains the folds (and Table 4's grid) in parallel processes, each with
``--threads`` torch threads.

Command lines (from the repository root, after ``pip install -e .``)::

    python benchmarks/paper_tables.py --scale smoke --split both --out results/smoke --threads 1
    python benchmarks/paper_tables.py --scale cpu --tables 6 --threads 1 --n-jobs 2 --out cpu
    python benchmarks/paper_tables.py --scale cpu --tables 6,3 --threads 1 --n-jobs 2 \
        --out cpu --resume                       # adds Table 3; Table 6 is kept
    python benchmarks/paper_tables.py --scale full --split both --out results/full --tables 5,6
    python benchmarks/paper_tables.py --scale smoke --tables 3 --split grouped --generated --out t

``--data PATH`` reads Pommier's h5 file (default: ../shared/data/LowRes_13434_overlapping_pairs_
regenerated.h5 next to the repository); when the default file is absent the script says so and
uses ``make_overlapping_chromosomes`` (as does ``--generated``); an explicit ``--data`` that does
not exist is an error. Output in ``--out``: tables.md, results.json (every fold's every number),
fig6_table<N>.png (box plots of the fold overlap IoU per network, ARMS Fig. 6). Nothing is
asserted: the script measures. On a CPU shared with other jobs give ``--threads 1``: with
two threads the same runs were about 10 times slower here.

Measured runs, with their commands, are in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from joblib import parallel_config  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    cross_validate,
    train_test_split,
)
from sklearn.pipeline import Pipeline  # noqa: E402

from chromoskl import ChromosomeSegmenter  # noqa: E402
from chromoskl._geometry import centre_crop  # noqa: E402
from chromoskl.datasets import (  # noqa: E402
    load_overlapping_chromosomes,
    make_overlapping_chromosomes,
)
from chromoskl.metrics import SCORERS, segmentation_scores  # noqa: E402
from chromoskl.splits import ValidationSplit  # noqa: E402
from chromoskl.transformers import IntensityScaler, PadToShape  # noqa: E402

__all__ = [
    "SCALES",
    "NETWORKS",
    "TABLES",
    "load_data",
    "outer_split",
    "inner_cv",
    "build_model",
    "table_scores",
    "evaluate_rows",
    "table4_grid",
    "search_table4",
    "main",
]

DEFAULT_DATA = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "LowRes_13434_overlapping_pairs_regenerated.h5"
)
SEED = 0
TEST_SIZE = 0.2
STEP = "segmenter"
METRICS = ("overlap_iou", "chromosome_a_iou", "chromosome_b_iou", "two_chromosome_accuracy")
COLUMNS = {
    "overlap_iou": "overlap IoU",
    "chromosome_a_iou": "A IoU",
    "chromosome_b_iou": "B IoU",
    "two_chromosome_accuracy": "accuracy",
    "ms_per_image": "ms/image",
}
TABLE4_BATCH_SIZES = (8, 16, 32, 64)
TABLE4_WEIGHTS = (1.1, 1.2, 1.3, 1.4, 1.5, 2.0, 3.0)

#: Training protocol per scale. ``n_images`` None: every image. Tables 3, 5, 6 train with
#: AS-WBCE, ARMS Net's loss; ``table4_*``: the grid of Table 4 (smoke: a 2 x 3 corner of it
#: that still runs each of its three dicts; cpu: 4 batch sizes x 3 losses). ``lr``: ARMS Net's
#: Adam lr is 1e-3; the cpu scale uses 3e-3 because, in its few hundred steps, ARMS Net at
#: lr 1e-3 had not learned the overlap yet (validation overlap IoU 0.007, 0.000, 0.236, 0.003
#: over 4 epochs of 1,000 images) while at 3e-3 it had (0.000, 0.002, 0.324, 0.433):
#: ``benchmarks/learning_rate_probe.py``, recorded in RESULTS.md.
SCALES: dict[str, dict] = {
    "smoke": {
        "n_images": 60, "n_folds": 2, "max_epochs": 1, "patience": None, "lr": 1e-3,
        "validation": None, "batch_size": 8, "criterion": "as_wbce",
        "table4_batch_sizes": (8, 32), "table4_weights": (1.5,),
    },
    "cpu": {
        "n_images": 1500, "n_folds": 2, "max_epochs": 6, "patience": 3, "lr": 3e-3,
        "validation": 0.1, "batch_size": 8, "criterion": "as_wbce",
        "table4_batch_sizes": TABLE4_BATCH_SIZES, "table4_weights": (2.0,),
    },
    "full": {
        "n_images": None, "n_folds": 5, "max_epochs": 100, "patience": 10, "lr": 1e-3,
        "validation": 0.1, "batch_size": 16, "criterion": "as_wbce",
        "table4_batch_sizes": TABLE4_BATCH_SIZES, "table4_weights": TABLE4_WEIGHTS,
    },
}

_print = functools.partial(print, flush=True)  # progress shows up at once in a log file

RATES_128 = (4, 2, 1, 3)  # AMAC rates of a depth-4 network on 128x128 inputs (8x8 bottom map)
PAD_128, PAD_256 = (128, 128), (256, 256)


def _networks(width: int) -> dict[str, dict]:
    """Construction params of every row at a base width (32 in ARMS Net, 64 in Hu et al.)."""
    arms = {"module__base_channels": width, "pad": PAD_128}
    w = width
    return {
        "unet_aar_depth3": {"arch": "unet_aar", "module__depth": 3, **arms},
        "unet_aar_depth4": {"arch": "unet_aar", "module__depth": 4, **arms},
        "unet_aar_depth5": {"arch": "unet_aar", "module__depth": 5, **arms},
        "unet": {"arch": "unet", "module__depth": 4, **arms},
        "unet_r": {"arch": "unet_r", **arms},
        "unet_pr": {"arch": "unet_pr", **arms},
        "unet_ar": {"arch": "unet_ar", **arms},
        "unet_dar": {"arch": "unet_dar", **arms},
        "unet_aar": {"arch": "unet_aar", **arms},
        "unet_aar_256": {"arch": "unet_aar", **arms, "pad": PAD_256},
        "unet_aar_256_rates128": {
            "arch": "unet_aar", **arms, "pad": PAD_256, "module__amac_rates": RATES_128,
        },
        "arms": {"arch": "arms", **arms},
        "unet_hu": {
            "arch": "unet", "module__depth": 2, "module__base_channels": 2 * w, "pad": PAD_128,
        },
        "cenet": {
            "arch": "cenet", "module__channels": (2 * w, 4 * w, 8 * w, 16 * w), "pad": PAD_128,
            **({} if w == 32 else {"module__blocks": (1, 1, 1, 1)}),
        },
        "attention_unet": {
            "arch": "attention_unet", "module__channels": (2 * w, 4 * w, 8 * w), "pad": PAD_128,
        },
        "unetpp": {
            "arch": "unetpp", "module__channels": (w, 2 * w, 4 * w, 8 * w, 16 * w),
            "pad": PAD_128,
        },
    }


#: Construction params of every row, per scale: the one place to change a network.
NETWORKS: dict[str, dict[str, dict]] = {
    "smoke": _networks(4),
    "cpu": _networks(8),
    "full": _networks(32),
}

#: Rows that are the same network trained the same way as another row: UNet (AAR) with 4
#: poolings *is* ARMS Net (see ``chromoskl.architectures.arms.UNetAAR``). They are trained
#: once per split and the result is shown in every table that lists them.
SAME_AS = {"unet_aar_depth4": "arms", "unet_aar": "arms"}

#: Published overlap IoU of a row, where we could find it: Hu et al. (2017) for their U-Net,
#: Wang et al. (2021) for ARMS Net, both on Pommier's images with a random split. The papers'
#: other per-row numbers (ARMS Tables 3-6, the thesis' Table 2) could not be read here; the
#: tables say "n/a" rather than guess them.
PUBLISHED_OVERLAP_IOU = {
    "unet_hu": (0.947, "Hu et al. 2017"),
    "arms": (0.9945, "Wang et al. 2021"),
}

LABELS = {
    "unet_aar_depth3": "UNet (AAR), 3 poolings",
    "unet_aar_depth4": "UNet (AAR), 4 poolings",
    "unet_aar_depth5": "UNet (AAR), 5 poolings",
    "unet": "U-Net (4 poolings)",
    "unet_r": "UNet (R)",
    "unet_pr": "UNet (PR)",
    "unet_ar": "UNet (AR)",
    "unet_dar": "UNet (DAR)",
    "unet_aar": "UNet (AAR)",
    "unet_aar_256": "UNet (AAR) 256x256, adaptive rates",
    "unet_aar_256_rates128": "UNet (AAR) 256x256, rates of 128x128",
    "arms": "ARMS Net",
    "unet_hu": "U-Net (Hu: 2 poolings, 64/128/256)",
    "cenet": "CE-Net",
    "attention_unet": "Attention U-Net",
    "unetpp": "UNet++ (attention, deep supervision)",
}

#: Table number -> (title, rows). Table 4 is the grid search over ARMS Net.
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "3": ("ARMS Table 3: number of poolings of UNet (AAR)",
          ("unet_aar_depth3", "unet_aar_depth4", "unet_aar_depth5")),
    "4": ("ARMS Table 4: batch size x loss of ARMS Net (GridSearchCV)", ("arms",)),
    "5": ("ARMS Table 5: ablation",
          ("unet", "unet_r", "unet_pr", "unet_ar", "unet_dar", "unet_aar", "unet_aar_256",
           "unet_aar_256_rates128", "arms")),
    "6": ("ARMS Table 6 / thesis Table 2: published networks",
          ("unet_hu", "cenet", "attention_unet", "unetpp", "arms")),
}


# ---------------------------------------------------------------------------------- data


def load_data(path: Path | None, n_images: int | None, random_state: int = SEED):
    """Images, labels and pair groups: Pommier's file, or generated when ``path`` is None.

    A subset is drawn at random over the whole file (which is sorted by pair), so that it
    spans many pairs; only that subset is read.
    """
    if path is None:
        data = make_overlapping_chromosomes(n_images or 2000, random_state=random_state)
        return data.images, data.labels, data.groups, "make_overlapping_chromosomes"
    data = load_overlapping_chromosomes(
        path, max_samples=n_images, shuffle=n_images is not None, random_state=random_state
    )
    return data.images, data.labels, data.groups, str(path)


def outer_split(split: str, y: np.ndarray, groups: np.ndarray):
    """Indices of the training part and of the 20 % test set kept apart."""
    index = np.arange(len(y))
    if split == "random":
        return train_test_split(index, test_size=TEST_SIZE, random_state=SEED)
    splitter = GroupShuffleSplit(n_splits=1, test_size=TEST_SIZE, random_state=SEED)
    return next(splitter.split(index, groups=groups))


def inner_cv(split: str, n_folds: int):
    """KFold (the papers) or GroupKFold (by chromosome pair) on the training part."""
    if split == "random":
        return KFold(n_splits=n_folds, shuffle=True, random_state=SEED)
    return GroupKFold(n_splits=n_folds)


# ---------------------------------------------------------------------------------- models


def build_model(row: str, scale: str) -> Pipeline:
    """The pipeline of one table row: robust intensity scaling, padding, the segmenter."""
    protocol, params = SCALES[scale], dict(NETWORKS[scale][row])
    pad = params.pop("pad", None)
    validation = protocol["validation"]
    segmenter = ChromosomeSegmenter(
        criterion=protocol["criterion"],
        lr=protocol["lr"],
        max_epochs=protocol["max_epochs"],
        batch_size=protocol["batch_size"],
        patience=protocol["patience"],
        train_split=None if validation is None else ValidationSplit(validation, SEED),
        random_state=SEED,
        **params,
    )
    # Robust scaling maps the background (about the 1st percentile) to about 0, the fill of
    # PadToShape, so that the padded border looks like background.
    steps = [("scale", IntensityScaler(method="robust"))]
    if pad is not None:
        steps.append(("pad", PadToShape(pad)))
    return Pipeline([*steps, (STEP, segmenter)])


def table_scores(estimator, X, y) -> dict[str, float]:
    """Every column of the tables from one ``predict``: a ``scoring`` callable returning a dict.

    Predictions of padded pipelines are cropped back, centred, to the labels' size.
    """
    start = time.perf_counter()
    y_pred = estimator.predict(X)
    seconds = time.perf_counter() - start
    scores = segmentation_scores(y, centre_crop(y_pred, y.shape[-2:]))
    result = {name: scores[name] for name in (*METRICS, "pixel_accuracy")}
    result["ms_per_image"] = 1000.0 * seconds / len(X)
    return result


# ---------------------------------------------------------------------------------- evaluation


def _fit_params(split: str, groups: np.ndarray) -> dict:
    """Grouped runs also give the groups to ``fit`` for a grouped validation split."""
    return {f"{STEP}__groups": groups} if split == "grouped" else {}


def _cv_groups(split: str, groups: np.ndarray) -> np.ndarray | None:
    """Groups for the splitter: only GroupKFold uses them (KFold warns when given them)."""
    return groups if split == "grouped" else None


def _summary(values: Sequence[float]) -> dict[str, float]:
    values = np.asarray(values, dtype=float)
    return {"mean": float(np.nanmean(values)), "std": float(np.nanstd(values))}


def evaluate_rows(rows, scale, split, X, y, groups, log=_print, n_jobs=None, done=None,
                  on_row=None) -> dict[str, dict]:
    """Cross-validate each row on the training part and score its fold models on the test set.

    Returns, per row, the fold scores, their mean and std, and the fold models' test scores.
    ``n_jobs`` trains the folds in parallel (``cross_validate``'s). ``done`` maps the rows
    already evaluated on this split (by this run or the one resumed) to their results: a row
    found there, or whose ``SAME_AS`` row is there, is not trained again; new results are
    added to it. ``on_row(results)`` is called after each row (to save progress).
    """
    done = {} if done is None else done
    train, test = outer_split(split, y, groups)
    results = {}
    for row in rows:
        computed = SAME_AS.get(row, row)
        shared = {"same_as": computed} if computed != row else {}
        if computed in done:
            results[row] = {**done[computed], "label": LABELS[row], **shared}
            log(f"  [{split}] {LABELS[row]}: trained before (above, or in the run resumed)")
            if on_row is not None:
                on_row(results)
            continue
        start = time.perf_counter()
        cv = cross_validate(
            build_model(computed, scale), X[train], y[train],
            groups=_cv_groups(split, groups[train]),
            cv=inner_cv(split, SCALES[scale]["n_folds"]), scoring=table_scores,
            params=_fit_params(split, groups[train]), return_estimator=True,
            error_score="raise", n_jobs=n_jobs,
        )
        folds = {k[5:]: cv[k].tolist() for k in cv if k.startswith("test_")}
        tests = [table_scores(model, X[test], y[test]) for model in cv["estimator"]]
        test_summary = {name: _summary([t[name] for t in tests]) for name in tests[0]}
        done[computed] = {
            "folds": folds,
            "cv": {name: _summary(v) for name, v in folds.items()},
            "test": test_summary,
            "fit_seconds": cv["fit_time"].tolist(),
            "wall_seconds": time.perf_counter() - start,
        }
        results[row] = {**done[computed], "label": LABELS[row], **shared}
        log(f"  [{split}] {LABELS[row]}: overlap IoU {test_summary['overlap_iou']['mean']:.4f} "
            f"({results[row]['wall_seconds']:.1f} s)")
        if on_row is not None:
            on_row(results)
    return results


def table4_grid(scale: str) -> list[dict]:
    """ARMS Table 4 as a ``param_grid`` list: batch size x (BCE, WBCE(w), AS-WBCE)."""
    protocol = SCALES[scale]
    batch = {f"{STEP}__batch_size": list(protocol["table4_batch_sizes"])}
    weights = list(protocol["table4_weights"])
    return [
        {**batch, f"{STEP}__criterion": ["bce"]},
        {**batch, f"{STEP}__criterion": ["wbce"], f"{STEP}__criterion__w": weights},
        {**batch, f"{STEP}__criterion": ["as_wbce"]},
    ]


def search_table4(scale, split, X, y, groups, log=_print, n_jobs=None) -> dict:
    """GridSearchCV of ARMS Net over Table 4's grid; the refit best model scores the test set.

    ``n_jobs`` trains the grid's fits in parallel (``GridSearchCV``'s).
    """
    train, test = outer_split(split, y, groups)
    start = time.perf_counter()
    search = GridSearchCV(
        build_model("arms", scale), table4_grid(scale), scoring=SCORERS["overlap_iou"],
        cv=inner_cv(split, SCALES[scale]["n_folds"]), error_score="raise", n_jobs=n_jobs,
    )
    search.fit(X[train], y[train], groups=_cv_groups(split, groups[train]),
               **_fit_params(split, groups[train]))
    res = search.cv_results_
    n_folds = SCALES[scale]["n_folds"]
    combos = []
    for i, params in enumerate(res["params"]):
        criterion = params[f"{STEP}__criterion"]
        w = params.get(f"{STEP}__criterion__w")
        combos.append({
            "batch_size": params[f"{STEP}__batch_size"],
            "loss": criterion if w is None else f"wbce (w={w})",
            "folds": [float(res[f"split{k}_test_score"][i]) for k in range(n_folds)],
            "cv": _summary([res[f"split{k}_test_score"][i] for k in range(n_folds)]),
            "rank": int(res["rank_test_score"][i]),
        })
    best = {k.removeprefix(f"{STEP}__"): v for k, v in search.best_params_.items()}
    test_scores = table_scores(search.best_estimator_, X[test], y[test])
    wall = time.perf_counter() - start
    log(f"  [{split}] Table 4 best {best}: test overlap IoU {test_scores['overlap_iou']:.4f} "
        f"({wall:.1f} s)")
    return {"combinations": combos, "best_params": best, "test": test_scores, "wall_seconds": wall}


# ---------------------------------------------------------------------------------- output


def _fmt(value, digits: int = 3) -> str:
    """A number with ``digits`` decimals; ``nan`` for None (NaN once written as JSON)."""
    return "nan" if value is None else f"{value:.{digits}f}"


def _cell(result: dict, metric: str) -> str:
    """``cv mean ± std / test`` of one metric (ms/image: test only)."""
    test = result["test"][metric]["mean"]
    if metric == "ms_per_image":
        return _fmt(test, 1)
    cv = result["cv"][metric]
    return f"{_fmt(cv['mean'])} ± {_fmt(cv['std'])} / {_fmt(test)}"


def _markdown_rows_table(title: str, by_split: dict[str, dict]) -> list[str]:
    splits = list(by_split)
    header = (["network", "published overlap IoU"]
              + [f"{s}: {COLUMNS[m]}" for s in splits for m in COLUMNS])
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    rows = dict.fromkeys(row for results in by_split.values() for row in results)
    for row in rows:  # a run in progress may have a row on one split only: "-" on the other
        label = LABELS[row] + (f" (= {LABELS[SAME_AS[row]]})" if row in SAME_AS else "")
        value, source = PUBLISHED_OVERLAP_IOU.get(SAME_AS.get(row, row), (None, None))
        published = "n/a" if value is None else f"{value:.3f} ({source}, random split)"
        cells = [label, published] + [_cell(by_split[s][row], m) if row in by_split[s] else "-"
                                      for s in splits for m in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _markdown_table4(title: str, by_split: dict[str, dict]) -> list[str]:
    splits = list(by_split)
    header = ["batch size", "loss"] + [f"{s}: overlap IoU (CV)" for s in splits]
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    first = by_split[splits[0]]["combinations"]
    for i, combo in enumerate(first):
        cells = [str(combo["batch_size"]), combo["loss"]]
        for s in splits:
            c = by_split[s]["combinations"][i]
            cells.append(f"{_fmt(c['cv']['mean'])} ± {_fmt(c['cv']['std'])} (rank {c['rank']})")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for s in splits:
        r = by_split[s]
        lines.append(f"- {s}: best {r['best_params']}, refit on the training part, test "
                     f"overlap IoU {_fmt(r['test']['overlap_iou'])}")
    return lines + [""]


def write_markdown(results: dict, path: Path) -> None:
    """tables.md: one markdown table per paper table, the splits side by side."""
    lines = [
        f"# Paper tables, scale `{results['scale']}` ({results['data']}, "
        f"{results['n_images']} images)",
        "",
        "Cells: mean ± std over the cross-validation folds / test set (mean of the fold "
        "models; Table 4: the refit best model). Accuracy: two_chromosome_accuracy "
        "(ARMS eq. 4 as read here). ms/image: prediction of the whole pipeline on the test set.",
        "",
    ]
    for number, by_split in results["tables"].items():
        title = TABLES[number][0]
        write = _markdown_table4 if number == "4" else _markdown_rows_table
        lines += write(title, by_split)
    path.write_text("\n".join(lines), encoding="utf-8")


def plot_boxes(number: str, by_split: dict[str, dict], path: Path) -> None:
    """Box plot of the fold overlap IoU per network, one panel per split (ARMS Fig. 6)."""
    fig, axes = plt.subplots(1, len(by_split), figsize=(6 * len(by_split), 4.5), squeeze=False)
    for ax, (split, rows) in zip(axes[0], by_split.items()):
        if number == "4":
            names = [f"{c['batch_size']}/{c['loss']}" for c in rows["combinations"]]
            values = [c["folds"] for c in rows["combinations"]]
        else:
            names = [LABELS[r] for r in rows]
            values = [rows[r]["folds"]["overlap_iou"] for r in rows]
        ax.boxplot(values)
        ax.set_xticks(range(1, len(names) + 1), names, rotation=75, fontsize=7)
        ax.set_title(f"Table {number}, {split} split")
        ax.set_ylabel("overlap IoU (folds)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _json_safe(value):
    """NaN becomes null, tuples lists, numpy numbers Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run the ARMS Net / thesis tables with scikit-learn cross-validation."
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default="smoke")
    parser.add_argument("--split", choices=("random", "grouped", "both"), default="both")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--data", type=Path, default=None,
                        help=f"Pommier's h5 file (default: {DEFAULT_DATA})")
    parser.add_argument("--generated", action="store_true",
                        help="use make_overlapping_chromosomes instead of the real data")
    parser.add_argument("--tables", default="3,4,5,6", help="comma-separated, e.g. 3,5")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--resume", action="store_true",
                        help="keep the rows already in --out/results.json and run the rest")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="fits in parallel (joblib processes; each uses --threads threads)")
    args = parser.parse_args(argv)
    args.tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    unknown = [t for t in args.tables if t not in TABLES]
    if unknown:
        parser.error(f"unknown table(s) {unknown}; choose among {sorted(TABLES)}")
    if args.data is not None and not args.data.is_file():
        parser.error(f"--data {args.data}: no such file (omit --data to use {DEFAULT_DATA}, "
                     "or give --generated for synthetic data)")
    return args


def _data_path(args: argparse.Namespace) -> Path | None:
    if args.generated:
        return None
    if args.data is not None:
        return args.data
    if DEFAULT_DATA.is_file():
        return DEFAULT_DATA
    print(f"Real data not found at {DEFAULT_DATA}: using make_overlapping_chromosomes.")
    return None


def write_outputs(results: dict, out: Path) -> None:
    """tables.md, results.json and the box plots; results.json last, replaced atomically."""
    results = _json_safe(results)
    # A table begun but with no row finished yet has nothing to show.
    shown = {**results, "tables": {n: t for n, t in results["tables"].items() if t}}
    write_markdown(shown, out / "tables.md")
    for number, by_split in shown["tables"].items():
        plot_boxes(number, by_split, out / f"fig6_table{number}.png")
    partial = out / "results.json.partial"
    partial.write_text(json.dumps(results, indent=1), encoding="utf-8")
    partial.replace(out / "results.json")


def _resumed(results: dict, path: Path) -> dict:
    """The results of the run in ``path`` when it is the same experiment, else an error."""
    if not path.is_file():
        _print(f"--resume: no {path} yet, starting afresh")
        return results
    previous = json.loads(path.read_text(encoding="utf-8"))
    same = ("scale", "data", "n_images", "protocol", "networks")
    changed = [k for k in same if previous.get(k) != _json_safe(results[k])]
    if changed:
        raise SystemExit(f"--resume: {path} is another experiment (its {', '.join(changed)} "
                         "differ); give another --out or leave out --resume.")
    _print(f"--resume: keeping the rows already in {path}")
    return previous


def _trained_rows(results: dict, splits) -> dict[str, dict]:
    """Per split, the rows trained so far (the ``done`` of :func:`evaluate_rows`)."""
    done = {split: {} for split in splits}
    for number, by_split in results["tables"].items():
        for split, rows in by_split.items():
            if number == "4" or split not in done:
                continue
            for row, result in rows.items():
                trained = {k: v for k, v in result.items() if k not in ("label", "same_as")}
                done[split][SAME_AS.get(row, row)] = trained
    return done


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the chosen tables and splits, write tables.md, results.json and PNGs to ``--out``.

    Returns the results dict written to results.json.
    """
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    X, y, groups, source = load_data(_data_path(args), SCALES[args.scale]["n_images"])
    splits = ["random", "grouped"] if args.split == "both" else [args.split]
    print(f"{len(X)} images from {source}; scale {args.scale}; splits {splits}")
    results = {"scale": args.scale, "data": source, "n_images": len(X),
               "protocol": SCALES[args.scale], "networks": NETWORKS[args.scale], "tables": {}}
    if args.resume:
        results = _resumed(results, args.out / "results.json")
    done = _trained_rows(results, splits)
    args.out.mkdir(parents=True, exist_ok=True)
    previous_seconds = results.get("wall_seconds", 0.0)

    def save():
        results["wall_seconds"] = previous_seconds + time.perf_counter() - start
        write_outputs(results, args.out)

    # Worker processes (--n-jobs) start their own torch: inner_max_num_threads gives them
    # --threads threads, as torch.set_num_threads does here.
    with parallel_config(backend="loky", inner_max_num_threads=args.threads):
        for number in args.tables:
            _print(TABLES[number][0])
            table = results["tables"].setdefault(number, {})
            for split in splits:
                if number != "4":

                    def save_rows(rows, table=table, split=split):
                        table[split] = rows
                        save()

                    evaluate_rows(TABLES[number][1], args.scale, split, X, y, groups,
                                  n_jobs=args.n_jobs, done=done[split], on_row=save_rows)
                elif split in table:
                    _print(f"  [{split}] Table 4: kept from the run resumed")
                else:
                    table[split] = search_table4(args.scale, split, X, y, groups,
                                                 n_jobs=args.n_jobs)
                    save()
    save()
    print(f"Wrote {args.out / 'tables.md'}, {args.out / 'results.json'} and "
          f"fig6_table*.png in {args.out} ({results['wall_seconds']:.0f} s)")
    return _json_safe(results)


if __name__ == "__main__":
    main(sys.argv[1:])
