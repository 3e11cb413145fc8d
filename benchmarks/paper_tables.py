"""The experiments of ARMS Net (Tables 3-6) and the thesis (Table 2) as scikit-learn code.

What is compared (every row is a ``Pipeline(IntensityScaler, PadToShape, ChromosomeSegmenter)``,
and every row's loss is that of ARMS Table 2: BCE for every network but ARMS Net, AS-wBCE for
ARMS Net):

- Table 3 (ARMS): UNet (AAR) with 3, 4 and 5 poolings (``module__depth``), 128x128 inputs, BCE.
- Table 4 (ARMS): ``GridSearchCV`` of UNet (AAR) with 4 poolings (ARMS Net's network) over the
  twelve rows of the paper's table: BCE with batch size 8, 16, 32 and 64, then at batch size 32
  WBCE with w in {1.1, 1.2, 1.3, 1.4, 1.5, 2.0, 3.0} and AS-WBCE (a ``param_grid`` list of
  dicts), scored by ``SCORERS["overlap_iou"]``; the best combination is refit on the whole
  training part and scored on the test set.
- Table 5 (ARMS ablation): U-Net, UNet (R), (PR), (AR), (DAR), (AAR) at 128x128 with BCE, UNet
  (AAR) at 256x256 with adaptive AMAC rates and ASSP sizes and with both fixed to those of
  128x128 inputs (``module__amac_rates=(4, 2, 1, 3)``, ``module__assp_sizes=(4, 2, 3)``), and
  ARMS Net with AS-wBCE. UNet (AAR) and ARMS Net are one network with two losses: two fits.
- Table 6 (ARMS) / Table 2 (thesis): U-Net of Hu et al. (2 poolings, 64/128/256), CE-Net,
  the thesis's Attention U-Net (its Table 1: encoder 64/128/256, decoder 128/64, trained with
  MSE as the thesis did), UNet++ (attention, deep supervision) and ARMS Net.

Protocol (ARMS Net, section 4.1): 20 % of the images are kept apart as a test set; 5-fold
cross-validation on the rest (``cross_validate``); Adam with lr 1e-3, batch size 32, up to 300
epochs, early stopping after 30 epochs without improvement of the validation loss; the 94x93
images padded to 128x128 (section 2.2). AS-wBCE counts its class imbalance on the training part
(``criterion__class_fractions``, at the padded size), as the paper implies. Each table reports
the mean and standard deviation over the folds and, after a slash, the test-set score: the mean
of the fold models (each of the k models trained in cross-validation predicts the test set; no
extra refit), except Table 4, whose test score is that of the best combination refit by
``GridSearchCV``. Columns: overlap IoU, whole-chromosome A and B IoU (A = {1, 3}, B = {2, 3}),
accuracy (ARMS eq. 4, ``metrics.two_chromosome_accuracy``: per whole chromosome (TP + TN) / ALL,
the mean of A and B, as Table 3 defines it), and prediction time per image (whole pipeline,
test set, milliseconds). The IoUs are pooled over all pixels at the 94x93 size of the labels;
the accuracy is shown over the padded input (ALL = 128 x 128 pixels, as the paper counts the
pixels of its input image; results.json also holds it at 94x93, ``two_chromosome_accuracy``).

Departures from the paper's protocol, on purpose: early stopping watches a validation split of
10 % of the training folds (``ValidationSplit``) rather than the cross-validation fold itself,
so that the fold's score does not choose its own epoch; the weights start at random (the paper
starts from a pre-trained model it does not identify); the 256x256 rows pad the images to
256x256, where the paper enlarged them (its Fig. 2 and Table 5 discussion); Table 4 reports the
mean ± std of the fold scores (validation folds) where the paper gives mean (var) of the
training and test IoU.

Published numbers: every table shows, beside ours, the numbers the papers print for the same
row (ARMS Tables 3-6, the thesis's Table 2), with the table and the split they were measured on
(``PUBLISHED``); Table 6 also lists the published rows that are not trained here (Hu et al. with
test-time augmentation, Saleh et al., Sun et al.).

Every table is run with two splits, side by side in tables.md:

- ``random``: the papers' split: a random 20 % test set (``chromoskl.splits.holdout_indices``),
  then ``KFold`` (shuffled);
  shifted or rotated copies of one chromosome pair land on both sides;
- ``grouped``: by chromosome pair (``groups`` = ``pair_index``): ``holdout_indices`` keeps 20 %
  of the pairs for the test set, ``GroupKFold`` the folds, and ``groups`` also reach
  ``fit`` so that early stopping validates on held-out pairs. This is what a user with new
  chromosomes can expect.

Scales (``SCALES`` and ``NETWORKS`` below hold every number):

- ``smoke``: every row end to end on 2 CPU cores in minutes: 60 images, 2 folds, 1 epoch,
  no validation split, widths divided by 8 (``module__base_channels=4`` and alike). The numbers
  mean nothing; it proves the code runs.
- ``cpu``: the smallest run in which the networks learn the task, for a CPU: 1,500 images
  (1,200 to cross-validate, 300 test), 2 folds, 6 epochs, patience 3, lr 3e-3, batch size 8,
  widths divided by 4; Table 4 on 4 batch sizes (BCE) and WBCE w=2.0 and AS-WBCE at batch size
  8. One fit of ARMS Net takes about 5 minutes on one core (12 images/s), so Table 6 on both
  splits takes about an hour on 2 cores with ``--n-jobs 2 --threads 1``; all four tables take
  most of a day. Run them in pieces with ``--resume``.
- ``full``: the papers' protocol, for a GPU: all 13,434 images, 5 folds, up to 300 epochs,
  patience 30, lr 1e-3, batch size 32, the published widths.

Rows that are the same network trained the same way (UNet (AAR) with 4 poolings in Table 3 and
UNet (AAR) in Table 5: ``SAME_AS``) are trained once per split and shown in each table, marked
"(= UNet (AAR))"; the paper prints the same numbers for both. Progress is saved after every row:
``--resume`` keeps the rows already in ``--out/results.json`` (of the same scale, data and
networks) and trains the rest, so a long run can be stopped and continued, or split into pieces
that fit a machine's time limits. ``--n-jobs`` trains the folds (and Table 4's grid) in parallel
processes, each with ``--threads`` torch threads.

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
    KFold,
    cross_validate,
)
from sklearn.pipeline import Pipeline  # noqa: E402

from chromoskl import ChromosomeSegmenter  # noqa: E402
from chromoskl._geometry import centre_crop, centre_pad  # noqa: E402
from chromoskl.classes import N_CLASSES  # noqa: E402
from chromoskl.datasets import (  # noqa: E402
    load_overlapping_chromosomes,
    make_overlapping_chromosomes,
)
from chromoskl.metrics import SCORERS, segmentation_scores, two_chromosome_accuracy  # noqa: E402
from chromoskl.splits import ValidationSplit, holdout_indices  # noqa: E402
from chromoskl.transformers import IntensityScaler, PadToShape  # noqa: E402

__all__ = [
    "SCALES",
    "NETWORKS",
    "TABLES",
    "PUBLISHED",
    "load_data",
    "outer_split",
    "inner_cv",
    "class_fractions",
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
COLUMNS = {
    "overlap_iou": "overlap IoU",
    "chromosome_a_iou": "A IoU",
    "chromosome_b_iou": "B IoU",
    "accuracy_padded": "accuracy",
    "ms_per_image": "ms/image",
}
TABLE4_BATCH_SIZES = (8, 16, 32, 64)
TABLE4_WEIGHTS = (1.1, 1.2, 1.3, 1.4, 1.5, 2.0, 3.0)

#: Training protocol per scale. ``n_images`` None: every image. ``table4_*``: the grid of
#: Table 4: BCE at each of ``table4_batch_sizes``, then WBCE with each of ``table4_weights``
#: and AS-WBCE at ``table4_loss_batch_size`` (32 in the paper). ``lr``: ARMS Net's Adam lr is
#: 1e-3; the cpu scale uses 3e-3 because, in its few hundred steps, ARMS Net at lr 1e-3 had
#: not learned the overlap yet (validation overlap IoU 0.007, 0.000, 0.236, 0.003 over 4
#: epochs of 1,000 images) while at 3e-3 it had (0.000, 0.002, 0.324, 0.433):
#: ``benchmarks/learning_rate_probe.py``, recorded in RESULTS.md.
SCALES: dict[str, dict] = {
    "smoke": {
        "n_images": 60, "n_folds": 2, "max_epochs": 1, "patience": None, "lr": 1e-3,
        "validation": None, "batch_size": 8,
        "table4_batch_sizes": (8, 16), "table4_weights": (1.5,), "table4_loss_batch_size": 8,
    },
    "cpu": {
        "n_images": 1500, "n_folds": 2, "max_epochs": 6, "patience": 3, "lr": 3e-3,
        "validation": 0.1, "batch_size": 8,
        "table4_batch_sizes": TABLE4_BATCH_SIZES, "table4_weights": (2.0,),
        "table4_loss_batch_size": 8,
    },
    "full": {
        "n_images": None, "n_folds": 5, "max_epochs": 300, "patience": 30, "lr": 1e-3,
        "validation": 0.1, "batch_size": 32,
        "table4_batch_sizes": TABLE4_BATCH_SIZES, "table4_weights": TABLE4_WEIGHTS,
        "table4_loss_batch_size": 32,
    },
}

_print = functools.partial(print, flush=True)  # progress shows up at once in a log file

RATES_128 = (4, 2, 1, 3)  # AMAC rates of a depth-4 network on 128x128 inputs (8x8 bottom map)
POOLS_128 = (4, 2, 3)  # ASSP pool sizes on the same map
PAD_128, PAD_256 = (128, 128), (256, 256)


def _networks(width: int) -> dict[str, dict]:
    """Construction params of every row at a base width (32 in ARMS Net, 64 in Hu et al.).

    ``criterion`` is each row's loss: ARMS Table 2 gives BCE to every network of its ablation
    and AS-wBCE to ARMS Net. The papers do not give the loss of Hu et al.'s U-Net, CE-Net or
    Zhang's UNet++ for this comparison: they train with BCE, as ARMS Table 2's other networks;
    the thesis's Attention U-Net trains with MSE, its own loss (Lemma 2023, section 5.1).
    """
    arms = {"module__base_channels": width, "pad": PAD_128, "criterion": "bce"}
    aar_256 = {"arch": "unet_aar", **arms, "pad": PAD_256}
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
        "unet_aar_256": aar_256,
        "unet_aar_256_sizes128": {
            **aar_256, "module__amac_rates": RATES_128, "module__assp_sizes": POOLS_128,
        },
        "arms": {"arch": "arms", **arms, "criterion": "as_wbce"},
        "unet_hu": {
            "arch": "unet", "module__depth": 2, "module__base_channels": 2 * w, "pad": PAD_128,
            "criterion": "bce",
        },
        "cenet": {
            "arch": "cenet", "module__base_channels": 2 * w, "module__depth": 3, "pad": PAD_128,
            "criterion": "bce", **({} if w == 32 else {"module__blocks": (1, 1, 1, 1)}),
        },
        "attention_unet": {
            "arch": "attention_unet", "module__base_channels": 2 * w, "module__depth": 2,
            "pad": PAD_128,
            "criterion": "mse",
        },
        "unetpp": {
            "arch": "unetpp", "module__base_channels": w, "module__depth": 4, "pad": PAD_128,
            "criterion": "bce",
        },
    }


#: Construction params of every row, per scale: the one place to change a network.
NETWORKS: dict[str, dict[str, dict]] = {
    "smoke": _networks(4),
    "cpu": _networks(8),
    "full": _networks(32),
}

#: Rows that are the same network trained the same way as another row: UNet (AAR) with 4
#: poolings (Table 3) *is* UNet (AAR) (Table 5), both with BCE; ARMS Net is the same network
#: with AS-wBCE, so it is a fit of its own. Trained once per split, shown in both tables.
SAME_AS = {"unet_aar_depth4": "unet_aar"}

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
    "unet_aar_256": "UNet (AAR) 256x256, adaptive sizes",
    "unet_aar_256_sizes128": "UNet (AAR) 256x256, rates and pool sizes of 128x128",
    "arms": "ARMS Net",
    "unet_hu": "U-Net (Hu: 2 poolings, 64/128/256)",
    "cenet": "CE-Net",
    "attention_unet": "Attention U-Net (thesis Table 1)",
    "unetpp": "UNet++ (attention, deep supervision)",
}

#: Table number -> (title, rows). Table 4 is the grid search over UNet (AAR).
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "3": ("ARMS Table 3: number of poolings of UNet (AAR)",
          ("unet_aar_depth3", "unet_aar_depth4", "unet_aar_depth5")),
    "4": ("ARMS Table 4: batch size x loss of UNet (AAR), 4 poolings (GridSearchCV)",
          ("unet_aar",)),
    "5": ("ARMS Table 5: ablation",
          ("unet", "unet_r", "unet_pr", "unet_ar", "unet_dar", "unet_aar", "unet_aar_256",
           "unet_aar_256_sizes128", "arms")),
    "6": ("ARMS Table 6 / thesis Table 2: published networks",
          ("unet_hu", "cenet", "attention_unet", "unetpp", "arms")),
}

# ---------------------------------------------------------------------------------- published

_ARMS_TEST = "ARMS {table}; random split, test set (20 %) after 5-fold CV"
_TABLE6_CITED = "ARMS Table 6, citing {who}; {who}'s own split, 88x88 crops (not in the seeds)"


def _published(table: str, values: Sequence[str | None], source: str) -> dict:
    """One published row: overlap, A and B IoU, accuracy (%) and ms, as printed; None: not given."""
    keys = ("overlap_iou", "chromosome_a_iou", "chromosome_b_iou", "accuracy_padded",
            "ms_per_image")
    return {"values": dict(zip(keys, values)), "source": source.format(table=table)}


#: The numbers the papers print, as printed (percent; ms per image on the authors' GPU, an
#: RTX 2080 Ti with Keras for ARMS Net), per table and row, with the split each was measured
#: on. The accuracy of ARMS is its eq. 4 (ALL: the pixels of the 128x128 input); Hu et al.'s,
#: Saleh et al.'s and Sun et al.'s accuracies are their own definitions, and the thesis's
#: "accuracy" and "IoU" do not say over which classes.
PUBLISHED: dict[str, dict[str, dict]] = {
    "3": {
        "unet_aar_depth3": _published("Table 3", ("99.12", "99.59", "99.79", "99.9923", "3.9"),
                                      _ARMS_TEST),
        "unet_aar_depth4": _published("Table 3", ("99.22", "99.70", "99.85", "99.9943", "4.6"),
                                      _ARMS_TEST),
        "unet_aar_depth5": _published("Table 3", ("98.60", "99.64", "99.82", "99.9932", "4.8"),
                                      _ARMS_TEST),
    },
    "5": {
        row: _published("Table 5", values, _ARMS_TEST)
        for row, values in {
            "unet": ("96.38", "98.38", "99.16", "99.9690", "3.8"),
            "unet_r": ("96.77", "98.85", "99.41", "99.9780", "4.0"),
            "unet_pr": ("96.73", "98.84", "99.40", "99.9778", "4.4"),
            "unet_ar": ("98.29", "99.12", "99.55", "99.9832", "4.4"),
            "unet_dar": ("98.36", "99.27", "99.62", "99.9860", "4.7"),
            "unet_aar": ("99.22", "99.70", "99.85", "99.9943", "4.6"),
            "unet_aar_256": ("97.26", "99.03", "99.51", "99.9817", "4.7"),
            "unet_aar_256_sizes128": ("98.00", "99.30", "99.65", "99.9869", "4.7"),
            "arms": ("99.45", "99.77", "99.88", "99.9955", "4.5"),
        }.items()
    },
    "6": {
        "unet_hu": _published("Table 6", ("94.70", "88.20", "94.40", "99.22", None),
                              _TABLE6_CITED.format(who="Hu et al. 2017")),
        "cenet": _published("Table 6", ("90.35", "96.04", "97.76", "99.92", None),
                            "ARMS Table 6 (CE-Net trained by the ARMS authors; split not stated)"),
        "attention_unet": _published(
            "Table 2", ("97.23", None, None, "98.96", None),
            "thesis Table 2; validation set of the thesis's own split (augmented 88x88 crops); "
            "'IoU' and 'accuracy' of unnamed classes",
        ),
        "arms": _published("Table 6", ("99.45", "99.77", "99.88", "99.99", None), _ARMS_TEST),
    },
}

#: Rows of ARMS Table 6 that are published only (not trained here).
PUBLISHED_ONLY: dict[str, dict[str, dict]] = {
    "6": {
        "Hu et al. + test-time augmentation": _published(
            "Table 6", (None, None, None, "99.27", None),
            _TABLE6_CITED.format(who="Hu et al. 2017")),
        "Saleh et al. 2019 (U-Net, 3 poolings, test-time augmentation)": _published(
            "Table 6", (None, None, None, "99.68", None),
            _TABLE6_CITED.format(who="Saleh et al. 2019")),
        "Sun et al. 2020 (U-Net, improved dilated convolutions)": _published(
            "Table 6", ("96.32", None, None, "99.86", None),
            "ARMS Table 6, citing Sun et al. 2020; their own split (not in the seeds)"),
    },
}

#: ARMS Table 4: mean (var) of the overlap IoU (%) over the 5 folds, on the training set and
#: on the test set, per batch size and loss (UNet (AAR), 4 poolings; random split).
PUBLISHED_TABLE4: dict[tuple[int, str], tuple[str, str]] = {
    (8, "bce"): ("99.43 (0.25)", "98.37 (0.41)"),
    (16, "bce"): ("99.48 (0.28)", "98.98 (0.39)"),
    (32, "bce"): ("99.63 (0.18)", "99.09 (0.29)"),
    (64, "bce"): ("99.56 (0.21)", "99.01 (0.31)"),
    (32, "wbce (w=1.1)"): ("99.53 (0.25)", "99.15 (0.39)"),
    (32, "wbce (w=1.2)"): ("99.57 (0.23)", "99.12 (0.38)"),
    (32, "wbce (w=1.3)"): ("99.57 (0.26)", "99.10 (0.32)"),
    (32, "wbce (w=1.4)"): ("99.52 (0.24)", "99.02 (0.31)"),
    (32, "wbce (w=1.5)"): ("99.45 (0.25)", "99.04 (0.50)"),
    (32, "wbce (w=2.0)"): ("99.55 (0.18)", "99.01 (0.44)"),
    (32, "wbce (w=3.0)"): ("99.44 (0.23)", "98.73 (0.55)"),
    (32, "as_wbce"): ("99.33 (0.24)", "99.29 (0.27)"),
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
    train, test, _ = holdout_indices(len(y), groups, kind=split, test_size=TEST_SIZE,
                                     random_state=SEED)
    return train, test


def inner_cv(split: str, n_folds: int):
    """KFold (the papers) or GroupKFold (by chromosome pair) on the training part."""
    if split == "random":
        return KFold(n_splits=n_folds, shuffle=True, random_state=SEED)
    return GroupKFold(n_splits=n_folds)


# ---------------------------------------------------------------------------------- models


def class_fractions(y: np.ndarray, shape: tuple[int, int] | None = None) -> tuple[float, ...]:
    """The share of the pixels of each class in the labels ``y``, as the network sees them.

    ``shape``: the padded size of the inputs; the padding counts as background, as it does
    in the padded labels the network is trained on. These are the ``Pos / (Pos + Neg)`` of
    ARMS eq. 2 over the training set (``criterion__class_fractions`` of AS-wBCE).
    """
    counts = np.bincount(np.asarray(y).ravel(), minlength=N_CLASSES).astype(np.float64)
    total = float(np.asarray(y).size)
    if shape is not None:
        padded = float(len(y) * shape[0] * shape[1])
        counts[0] += padded - total
        total = padded
    return tuple(float(c) for c in counts / total)


def build_model(row: str, scale: str, fractions: Sequence[float] | None = None) -> Pipeline:
    """The pipeline of one table row: robust intensity scaling, padding, the segmenter.

    ``fractions``: the class fractions of the training part (:func:`class_fractions`), given
    to a row trained with AS-wBCE so that its weights follow the training set (ARMS eq. 2);
    without them, AS-wBCE counts each batch.
    """
    protocol, params = SCALES[scale], dict(NETWORKS[scale][row])
    pad = params.pop("pad", None)
    if params["criterion"] == "as_wbce" and fractions is not None:
        params["criterion__class_fractions"] = tuple(fractions)
    validation = protocol["validation"]
    segmenter = ChromosomeSegmenter(
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

    Predictions of padded pipelines are cropped back, centred, to the labels' size for every
    score but ``accuracy_padded``: ARMS eq. 4 over the whole padded input, the labels padded
    with background (the paper's ALL is the pixels of its 128x128 input).
    """
    start = time.perf_counter()
    y_pred = estimator.predict(X)
    seconds = time.perf_counter() - start
    scores = segmentation_scores(y, centre_crop(y_pred, y.shape[-2:]))
    kept = ("overlap_iou", "chromosome_a_iou", "chromosome_b_iou", "two_chromosome_accuracy",
            "pixel_accuracy")
    result = {name: scores[name] for name in kept}
    result["accuracy_padded"] = two_chromosome_accuracy(
        centre_pad(np.asarray(y), y_pred.shape[-2:]), y_pred
    )
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
        pad = NETWORKS[scale][computed].get("pad")
        cv = cross_validate(
            build_model(computed, scale, class_fractions(y[train], pad)), X[train], y[train],
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


def table4_grid(scale: str, fractions: Sequence[float] | None = None) -> list[dict]:
    """ARMS Table 4 as a ``param_grid`` list: its twelve rows at the full scale.

    BCE at every batch size of the scale; then, at ``table4_loss_batch_size`` (32 in the
    paper), WBCE with every weight of the scale, and AS-WBCE (with the training part's class
    ``fractions`` when given).
    """
    protocol = SCALES[scale]
    loss_batch = {f"{STEP}__batch_size": [protocol["table4_loss_batch_size"]]}
    as_wbce = {f"{STEP}__criterion": ["as_wbce"]}
    if fractions is not None:
        as_wbce[f"{STEP}__criterion__class_fractions"] = [tuple(fractions)]
    return [
        {f"{STEP}__batch_size": list(protocol["table4_batch_sizes"]),
         f"{STEP}__criterion": ["bce"]},
        {**loss_batch, f"{STEP}__criterion": ["wbce"],
         f"{STEP}__criterion__w": list(protocol["table4_weights"])},
        {**loss_batch, **as_wbce},
    ]


def search_table4(scale, split, X, y, groups, log=_print, n_jobs=None) -> dict:
    """GridSearchCV of UNet (AAR) over Table 4's grid; the refit best model scores the test set.

    ``n_jobs`` trains the grid's fits in parallel (``GridSearchCV``'s).
    """
    train, test = outer_split(split, y, groups)
    start = time.perf_counter()
    row = TABLES["4"][1][0]
    fractions = class_fractions(y[train], NETWORKS[scale][row].get("pad"))
    search = GridSearchCV(
        build_model(row, scale), table4_grid(scale, fractions),
        scoring=SCORERS["overlap_iou"],
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
    best = {k.removeprefix(f"{STEP}__"): v for k, v in search.best_params_.items()
            if not k.endswith("class_fractions")}
    test_scores = table_scores(search.best_estimator_, X[test], y[test])
    wall = time.perf_counter() - start
    log(f"  [{split}] Table 4 best {best}: test overlap IoU {test_scores['overlap_iou']:.4f} "
        f"({wall:.1f} s)")
    return {"combinations": combos, "best_params": best, "test": test_scores, "wall_seconds": wall}


# ---------------------------------------------------------------------------------- output


def _fmt(value, digits: int = 3) -> str:
    """A number with ``digits`` decimals; ``nan`` for None (NaN once written as JSON)."""
    return "nan" if value is None else f"{value:.{digits}f}"


def _digits(metric: str) -> int:
    """Decimals shown: accuracies differ in the 4th-5th decimal (ARMS prints 99.9943 %)."""
    return 5 if "accuracy" in metric else 3


def _cell(result: dict, metric: str) -> str:
    """``cv mean ± std / test`` of one metric (ms/image: test only)."""
    test = result["test"][metric]["mean"]
    if metric == "ms_per_image":
        return _fmt(test, 1)
    cv, digits = result["cv"][metric], _digits(metric)
    return f"{_fmt(cv['mean'], digits)} ± {_fmt(cv['std'], digits)} / {_fmt(test, digits)}"


def _as_fraction(percent: str | None) -> str:
    """A published percentage as printed ("99.9943") as a fraction with the same digits."""
    if percent is None:
        return "-"
    decimals = len(percent.partition(".")[2])
    return f"{float(percent) / 100:.{decimals + 2}f}"


def _published_cells(entry: dict | None) -> list[str]:
    """The published cells of one row: the metrics (as fractions), ms, and the source."""
    if entry is None:
        return ["n/a"] * len(COLUMNS) + ["not published"]
    values = entry["values"]
    cells = [_as_fraction(values[m]) if m != "ms_per_image" else (values[m] or "-")
             for m in COLUMNS]
    return cells + [entry["source"]]


def _markdown_rows_table(number: str, title: str, by_split: dict[str, dict]) -> list[str]:
    splits = list(by_split)
    header = (["network"] + [f"published {COLUMNS[m]}" for m in COLUMNS] + ["published on"]
              + [f"{s}: {COLUMNS[m]}" for s in splits for m in COLUMNS])
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    rows = dict.fromkeys(row for results in by_split.values() for row in results)
    published = PUBLISHED.get(number, {})
    for row in rows:  # a run in progress may have a row on one split only: "-" on the other
        label = LABELS[row] + (f" (= {LABELS[SAME_AS[row]]})" if row in SAME_AS else "")
        cells = ([label] + _published_cells(published.get(row))
                 + [_cell(by_split[s][row], m) if row in by_split[s] else "-"
                    for s in splits for m in COLUMNS])
        lines.append("| " + " | ".join(cells) + " |")
    only = PUBLISHED_ONLY.get(number, {})
    if only:
        lines += ["", "Published rows not trained here:", ""]
        for name, entry in only.items():
            shown = ", ".join(f"{COLUMNS[m]} {_as_fraction(v)}"
                              for m, v in entry["values"].items() if v is not None)
            lines.append(f"- {name}: {shown} ({entry['source']})")
    return lines + [""]


def _markdown_table4(number: str, title: str, by_split: dict[str, dict]) -> list[str]:
    splits = list(by_split)
    header = (["batch size", "loss", "published training IoU mean (var), %",
               "published test IoU mean (var), %"]
              + [f"{s}: overlap IoU (CV)" for s in splits])
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    first = by_split[splits[0]]["combinations"]
    for i, combo in enumerate(first):
        train, test = PUBLISHED_TABLE4.get((combo["batch_size"], combo["loss"]), ("n/a", "n/a"))
        cells = [str(combo["batch_size"]), combo["loss"], train, test]
        for s in splits:
            c = by_split[s]["combinations"][i]
            cells.append(f"{_fmt(c['cv']['mean'])} ± {_fmt(c['cv']['std'])} (rank {c['rank']})")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Published: ARMS Table 4, overlap IoU of UNet (AAR) with 4 poolings over the "
              "5 folds, random split; ours: mean ± std over the validation folds.", ""]
    for s in splits:
        r = by_split[s]
        lines.append(f"- {s}: best {r['best_params']}, refit on the training part, test "
                     f"overlap IoU {_fmt(r['test']['overlap_iou'])}")
    return lines + [""]


def write_markdown(results: dict, path: Path) -> None:
    """tables.md: one markdown table per paper table, the published numbers and our splits."""
    lines = [
        f"# Paper tables, scale `{results['scale']}` ({results['data']}, "
        f"{results['n_images']} images)",
        "",
        "Cells: mean ± std over the cross-validation folds / test set (mean of the fold "
        "models; Table 4: the refit best model). Accuracy: ARMS eq. 4 "
        "(two_chromosome_accuracy: (TP + TN) / ALL per whole chromosome, mean of A and B) "
        "over the padded input, as the paper counts ALL. ms/image: prediction of the whole "
        "pipeline on the test set (the published times are per image on the authors' GPU). "
        "Published numbers are fractions of the percentages printed, with the table and the "
        "split they were measured on.",
        "",
    ]
    for number, by_split in results["tables"].items():
        title = TABLES[number][0]
        write = _markdown_table4 if number == "4" else _markdown_rows_table
        lines += write(number, title, by_split)
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
