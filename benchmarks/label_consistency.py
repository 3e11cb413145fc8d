"""How far the labelled extent of a chromosome in Pommier's pairs depends on its overlap.

In Pommier's generator a chromosome at one rotation is the same patch in every image: only
its shift against its partner changes. So, within a group of images of one pair at one pair
of angles (the 3 x 3 shifts), each chromosome's labelled area (its own label plus the
overlap) would be constant if the labels followed the chromosomes' outlines. This script
measures how it changes with the overlap's size instead: the least-squares slope of
(area - the area in the group's image with the least overlap) against (overlap area - that
image's overlap area), pooled over all groups, for the file's original labels (channel 1 of
``dataset_1``, 4s ignored) and for the DeepFISH cleaning (``labels_cleaned``).

A slope of 0 means the labels follow the chromosome; a positive slope means the overlap label
reaches beyond the chromosome's outline under its partner, a negative one that it stops short.
Either way the overlap's edge then depends on the composite, not only on the chromosome: the
pixels that a segmenter must guess from what it cannot see (``benchmarks/RESULTS.md``,
issue 9).

Command (from the repository root)::

    python benchmarks/label_consistency.py [--data PATH.h5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import h5py
import numpy as np

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2]
    / "shared/data/LowRes_13434_overlapping_pairs_regenerated.h5"
)


def area_slopes(labels: np.ndarray, groups: np.ndarray) -> dict:
    """Pooled within-group slopes of A's and B's labelled areas against the overlap area."""
    area_a = np.isin(labels, (1, 3)).sum(axis=(1, 2))
    area_b = np.isin(labels, (2, 3)).sum(axis=(1, 2))
    overlap = (labels == 3).sum(axis=(1, 2))
    d_overlap, d_a, d_b, spread_a = [], [], [], []
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        least = members[np.argmin(overlap[members])]
        d_overlap.append(overlap[members] - overlap[least])
        d_a.append(area_a[members] - area_a[least])
        d_b.append(area_b[members] - area_b[least])
        spread_a.append(np.ptp(area_a[members]))
    d_overlap, d_a, d_b = (np.concatenate(v) for v in (d_overlap, d_a, d_b))
    return {
        "groups": int(len(np.unique(groups))),
        "slope_a": float(np.polyfit(d_overlap, d_a, 1)[0]),
        "slope_b": float(np.polyfit(d_overlap, d_b, 1)[0]),
        "median_spread_a_px": float(np.median(spread_a)),
        "median_area_a_px": float(np.median(area_a)),
        "median_overlap_px": float(np.median(overlap)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    with h5py.File(args.data, "r") as file:
        original = file["dataset_1"][..., 1]
        cleaned = file["labels_cleaned"][:]
        groups = (file["pair_index"][:].astype(np.int64) * 1_000_000
                  + file["angle_a_deg"][:].astype(np.int64) * 1_000
                  + file["angle_b_deg"][:].astype(np.int64))
    print("| labels | groups | slope A | slope B | median spread of A's area in a group (px) "
          "| median A area (px) | median overlap (px) |")
    print("|---|---|---|---|---|---|---|")
    for name, labels in (("original (dataset_1)", np.where(original == 4, 0, original)),
                         ("cleaned (labels_cleaned)", cleaned)):
        r = area_slopes(labels, groups)
        print(f"| {name} | {r['groups']} | {r['slope_a']:+.3f} | {r['slope_b']:+.3f} | "
              f"{r['median_spread_a_px']:.0f} | {r['median_area_a_px']:.0f} | "
              f"{r['median_overlap_px']:.0f} |")


if __name__ == "__main__":
    main()
