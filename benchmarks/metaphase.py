"""Whole metaphases: chromosomes found, seconds, and instance scores against a baseline.

What is compared (issue 10):

- ``--calibrate``: the grey-scale rule of :func:`chromoskl.metaphase.grey_factor`. For
  Pommier's pairs and for the generated pairs, the 90th percentile of the single-chromosome
  pixels (labels 1 and 2) as a share of the span of ``intensity_range`` (1st to 99.5th
  percentile of the images); the separator's ``BRIGHT_SHARE`` should sit between them. On
  ``DAPI.tif``, the factor the rule gives against the factor that maps the top-hat filtered
  metaphase's chromosomes onto the pairs' (the pairs were cut from it).
- ``--dapi``: ``MetaphaseSeparator(model)`` on ``DAPI.tif`` (46 chromosomes): how many it
  finds (single, split from clusters, unresolved) and the seconds per metaphase (median of
  ``--repeats``), beside the baseline without the segmenter. ``--out-dir`` gets the overlay
  and gallery (GPL data: keep them out of the repository).
- ``--synthetic``: ``make_metaphase(46, n_overlaps=n)`` for n in ``--crossings`` and
  ``--seeds``: AP50, AP75, mean IoU of the crossed chromosomes, crossed pairs separated
  (both IoU >= 0.5), count error and seconds, the segmenter against the baseline
  (threshold and components only), side by side.
- ``--overlay PATH``: the overlay of one generated metaphase (for the README).
- ``--split-views N``: how many of the 8 flips and quarter turns of a cluster's crop the
  segmenter is shown until its split passes (``1``: the crop only as it is).
- ``--min-crossing-pixels N|none``: the separator's check of the components that look single
  with the segmenter (:func:`chromoskl.metaphase.segmenter_sees_crossing`); ``none`` turns
  it off, to compare the shape rule alone.
- ``--arm-rule``: the single/cluster rule alone (no segmenter) for each
  ``--arm-width-ratios``: on generated metaphases (``--crossings`` x ``--seeds``), how many
  components holding a crossed pair are called clusters and how many single chromosomes
  are; on ``DAPI.tif``, how many components have more than two arms.

Command lines (2-core CPU; models from ``chromoskl train``)::

    python benchmarks/metaphase.py --calibrate
    python benchmarks/metaphase.py --dapi --model /work/runs/seg-i10/model.pt \\
        --out-dir /work/runs/i10
    python benchmarks/metaphase.py --synthetic --model /work/runs/seg-i10-gen/model.pt \\
        --crossings 2 5 10 --seeds 0 1 2 --overlay docs/metaphase_overlay.png
    python benchmarks/metaphase.py --arm-rule --crossings 10 --seeds 0 1 2 3 4

Nothing is asserted: the numbers go to standard output as markdown (``--json`` also
writes them). Goal of the issue: every crossed pair separated, mean IoU >= 0.85.

Measured (issue 10; ``benchmarks/RESULTS.md`` has every run): with the swap-invariant model
of ``benchmarks/metaphase_training_pairs.py`` and the segmenter's check of the components
that look single, on seeds 3-5 with 2 / 5 / 10 crossings, a mean crossed IoU of 0.92 / 0.96 /
0.92 and 100 / 100 / 97 % of the crossed pairs separated (baseline 0.33-0.34, none). The goal
is met for the IoU, not for "every pair". With ``split_views=8`` (a cluster shown in its 8
flips and quarter turns, the surest passing split kept), over seeds 0-11: 95.8 / 95.0 / 97.5 %
of the crossed pairs separated (one view: 95.8 / 91.7 / 89.2 %), every pair on seeds 0-5; with
``split_max_arms=3`` as well (a split chromosome may keep a stub), 95.8 / 96.7 / 98.3 %;
with ``split_max_bend=60`` as well (a split that runs straight through the crossing preferred
to two L's), 100 / 98.3 / 99.2 % (``--split-max-bend none`` for the run without it); with
``max_turn=60`` as well (a component whose skeleton turns at a corner is a cluster), 100 / 100
/ 100 % (``--max-turn none`` for the run without it). With ``max_width_ratio=1.5`` as well (a
component twice as wide as the median one is a cluster: two chromosomes side by side), the
same on seeds 0-11, and on seeds 12-35 100 / 99.2 / 99.2 % (``--max-width-ratio none`` for the
run without it; the rule was made for a pair of seed 19, and changes nothing on seeds 24-35).
With the pair model of ``metaphase_training_pairs.py``'s session-28 defaults (crossings every
20 degrees, 35 minutes), every crossed pair of seeds 0-35 is separated, at a mean crossed IoU
of 0.969-0.977.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DAPI = DATA / "DAPI.tif"
PAIRS = DATA / "LowRes_13434_overlapping_pairs_regenerated.h5"
N_CHROMOSOMES = 46


def calibrate() -> dict:
    from chromoskl._intensity import intensity_range
    from chromoskl.datasets import load_overlapping_chromosomes, make_overlapping_chromosomes
    from chromoskl.metaphase import (
        foreground_mask,
        grey_factor,
        subtract_background,
        to_segmenter_pixels,
    )
    from chromoskl.metaphase._scale import BRIGHT_SHARE, FOREGROUND_QUANTILE

    rows = {}
    sources = {"generated pairs": make_overlapping_chromosomes(1500, random_state=0)}
    if PAIRS.is_file():
        sources["Pommier's pairs"] = load_overlapping_chromosomes(PAIRS)
    for name, data in sources.items():
        low, high = intensity_range(data.images)
        single = data.images[np.isin(data.labels, (1, 2))]
        level = float(np.quantile(single, FOREGROUND_QUANTILE))
        rows[name] = {"range": [round(low, 2), round(high, 2)], "single_q90": round(level, 2),
                      "share": round(level / (high - low), 3)}
        print(f"{name}: intensity_range ({low:.1f}, {high:.1f}), single-chromosome "
              f"q{FOREGROUND_QUANTILE:.2f} {level:.1f}: share {level / (high - low):.3f}")
    if DAPI.is_file() and "Pommier's pairs" in rows:
        import tifffile

        image = tifffile.imread(DAPI).astype(np.float64)
        corrected = subtract_background(image, 25)
        foreground = foreground_mask(corrected)
        pairs = rows["Pommier's pairs"]
        rule = grey_factor(corrected, foreground, pairs["range"])
        small = to_segmenter_pixels(corrected, 0.5)
        small_fg = to_segmenter_pixels(foreground, 0.5)
        truth = pairs["single_q90"] / float(np.quantile(small[small_fg], FOREGROUND_QUANTILE))
        rows["DAPI.tif"] = {"rule_factor": round(rule, 4), "pairs_factor": round(truth, 4)}
        print(f"DAPI.tif: grey_factor (BRIGHT_SHARE {BRIGHT_SHARE}) {rule:.4f}; the factor "
              f"that maps its half-resolution chromosomes onto the pairs' {truth:.4f}")
    return rows


def _separate_timed(separator, image, repeats: int):
    """The result, and the median wall-clock and CPU seconds (all threads) of a separation.

    On a machine shared with other work the wall clock grows with the load; the CPU time
    does much less."""
    seconds, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = separator.separate(image)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return result, statistics.median(seconds), statistics.median(cpu)


def dapi(model: Path, repeats: int, out_dir: Path | None, **separator_params) -> dict:
    import tifffile

    from chromoskl import ChromosomeSegmenter
    from chromoskl.metaphase import MetaphaseSeparator, save_gallery, save_overlay

    image = tifffile.imread(DAPI)
    rows = {}
    for name, seg in (("baseline", None), ("segmenter", ChromosomeSegmenter.load(model))):
        result, seconds, cpu = _separate_timed(MetaphaseSeparator(seg, **separator_params), image,
                                               repeats)
        sources = list(result.source)
        rows[name] = {"found": len(sources), "single": sources.count("single"),
                      "cluster": sources.count("cluster"),
                      "unresolved": sources.count("unresolved"), "seconds": round(seconds, 2),
                      "cpu_seconds": round(cpu, 2),
                      "grey_factor": round(result.grey_factor, 4)}
        print(f"DAPI.tif {name}: {rows[name]}")
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            save_overlay(out_dir / f"dapi_{name}_overlay.png", image, result.masks)
            save_gallery(out_dir / f"dapi_{name}_gallery.png", image, result.masks)
    print("\n| DAPI.tif (truth 46) | found | single | split from clusters | unresolved | "
          "s / metaphase (wall) | CPU s |\n|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['found']} | {r['single']} | {r['cluster']} | {r['unresolved']} "
              f"| {r['seconds']} | {r['cpu_seconds']} |")
    return rows


def synthetic(model: Path, crossings, seeds, overlay: Path | None, **separator_params) -> dict:
    from chromoskl import ChromosomeSegmenter
    from chromoskl.datasets import make_metaphase
    from chromoskl.metaphase import MetaphaseSeparator, save_overlay
    from chromoskl.metrics import instance_scores

    separators = {"baseline": MetaphaseSeparator(None, **separator_params),
                  "segmenter": MetaphaseSeparator(ChromosomeSegmenter.load(model),
                                                  **separator_params)}
    rows = {}
    for n in crossings:
        for seed in seeds:
            data = make_metaphase(N_CHROMOSOMES, n_overlaps=n, random_state=seed)
            for name, separator in separators.items():
                result, seconds, cpu = _separate_timed(separator, data.image, 1)
                scores = instance_scores(data.masks, result.masks, crossed=data.crossed)
                scores["seconds"], scores["cpu_seconds"] = seconds, cpu
                rows.setdefault((n, name), []).append(scores)
                if overlay is not None and name == "segmenter" and seed == seeds[0] \
                        and n == crossings[0]:
                    overlay.parent.mkdir(parents=True, exist_ok=True)
                    save_overlay(overlay, data.image, result.masks)
            print(f"crossings {n} seed {seed}: " + "; ".join(
                f"{name} AP50 {rows[n, name][-1]['ap50']:.3f} crossed IoU "
                f"{rows[n, name][-1]['crossed_iou']:.3f} count error "
                f"{rows[n, name][-1]['count_error']}" for name in separators), flush=True)
    keys = ("ap50", "ap75", "crossed_iou", "crossed_pairs_separated", "count_error",
            "mean_matched_iou", "seconds", "cpu_seconds")
    summary = {f"{n} {name}": {k: float(np.mean([s[k] for s in runs])) for k in keys}
               for (n, name), runs in rows.items()}
    print(f"\nMeans over seeds {list(seeds)}; baseline | segmenter\n")
    print("| crossings | AP50 | AP75 | crossed IoU | crossed pairs separated | count error | "
          "mean matched IoU | s / metaphase (wall) | CPU s |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for n in crossings:
        b, s = summary[f"{n} baseline"], summary[f"{n} segmenter"]
        cells = [f"{b[k]:.3f} \\| {s[k]:.3f}" if k != "count_error"
                 else f"{b[k]:+.2f} \\| {s[k]:+.2f}" for k in keys]
        print(f"| {n} | " + " | ".join(cells) + " |")
    return summary


def arm_rule(ratios, crossings, seeds) -> dict:
    """Crossings caught and singles called clusters by ``count_arms`` at each width ratio."""
    from skimage import io

    from chromoskl.datasets import make_metaphase
    from chromoskl.metaphase import (
        MetaphaseSeparator,
        count_arms,
        foreground_mask,
        label_components,
        subtract_background,
    )

    separator = MetaphaseSeparator(None)

    def components(image):
        corrected = subtract_background(image, separator.background_radius)
        foreground = foreground_mask(corrected, separator.threshold,
                                     min_area=separator.min_area)
        return label_components(foreground)

    generated = []  # (component mask, holds a crossed pair)
    for n in crossings:
        for seed in seeds:
            data = make_metaphase(N_CHROMOSOMES, n_overlaps=n, random_state=seed)
            labels, regions = components(data.image)
            crossed = {tuple(sorted(pair)) for pair in data.crossed.tolist()}
            for region in regions:
                inside = labels == region.label
                held = tuple(np.flatnonzero((data.masks & inside).any(axis=(1, 2))).tolist())
                if len(held) == 1 or held in crossed:
                    generated.append((region.image, len(held) == 2))
    dapi_regions = components(io.imread(DAPI))[1] if DAPI.is_file() else []
    rows = {}
    n_crossed = sum(is_pair for _, is_pair in generated)
    print(f"\n{n_crossed} crossing components, {len(generated) - n_crossed} single "
          f"chromosomes (generated); DAPI.tif: {len(dapi_regions)} components\n")
    print("| arm width ratio | crossings caught | singles called clusters | DAPI components "
          "with more than 2 arms |\n|---|---|---|---|")
    for ratio in ratios:
        arms = [(count_arms(image, width_ratio=ratio), is_pair) for image, is_pair in generated]
        caught = sum(a > 2 for a, is_pair in arms if is_pair)
        false = sum(a > 2 for a, is_pair in arms if not is_pair)
        dapi = sum(count_arms(r.image, width_ratio=ratio) > 2 for r in dapi_regions)
        rows[ratio] = {"caught": caught, "crossed": n_crossed, "singles_flagged": false,
                       "singles": len(generated) - n_crossed, "dapi_flagged": dapi}
        print(f"| {ratio} | {caught} / {n_crossed} | {false} / {len(generated) - n_crossed} | "
              f"{dapi if dapi_regions else '-'} |")
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--dapi", action="store_true")
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--crossings", type=int, nargs="+", default=[2, 5, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out-dir", type=Path)
    parser.add_argument("--overlay", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--arm-width-ratio", type=float,
                        help="MetaphaseSeparator(arm_width_ratio=...) for --dapi and "
                        "--synthetic (default: the separator's)")
    parser.add_argument("--min-crossing-pixels", type=lambda v: None if v == "none" else int(v),
                        default=argparse.SUPPRESS,
                        help="MetaphaseSeparator(min_crossing_pixels=...) for --dapi and "
                        "--synthetic; 'none' trusts the shape rule alone (default: the "
                        "separator's)")
    parser.add_argument("--split-views", type=int,
                        help="MetaphaseSeparator(split_views=...) for --dapi and --synthetic: "
                        "1 shows each cluster to the segmenter as it is (default: the "
                        "separator's)")
    parser.add_argument("--split-max-arms", type=int,
                        help="MetaphaseSeparator's split_max_arms (default: the separator's)")
    parser.add_argument("--split-max-bend", type=lambda v: None if v == "none" else float(v),
                        default=argparse.SUPPRESS,
                        help="MetaphaseSeparator's split_max_bend, degrees; 'none' chooses "
                        "among a cluster's views by the segmenter's confidence alone "
                        "(default: the separator's)")
    parser.add_argument("--max-turn", type=lambda v: None if v == "none" else float(v),
                        default=argparse.SUPPRESS,
                        help="MetaphaseSeparator's max_turn, degrees; 'none' does not look at "
                        "the turns of a component's skeleton (default: the separator's)")
    parser.add_argument("--max-width-ratio", type=lambda v: None if v == "none" else float(v),
                        default=argparse.SUPPRESS,
                        help="MetaphaseSeparator's max_width_ratio; 'none' does not look at "
                        "the widths of the components (default: the separator's)")
    parser.add_argument("--arm-rule", action="store_true")
    parser.add_argument("--arm-width-ratios", type=float, nargs="+",
                        default=[1.0, 0.85, 0.7, 0.55, 0.45])
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    report = {}
    if args.calibrate:
        report["calibrate"] = calibrate()
    if (args.dapi or args.synthetic) and args.model is None:
        parser.error("--dapi and --synthetic need --model")
    separator_params = {}
    if args.arm_width_ratio is not None:
        separator_params["arm_width_ratio"] = args.arm_width_ratio
    if args.split_views is not None:
        separator_params["split_views"] = args.split_views
    if args.split_max_arms is not None:
        separator_params["split_max_arms"] = args.split_max_arms
    if hasattr(args, "split_max_bend"):
        separator_params["split_max_bend"] = args.split_max_bend
    if hasattr(args, "max_turn"):
        separator_params["max_turn"] = args.max_turn
    if hasattr(args, "max_width_ratio"):
        separator_params["max_width_ratio"] = args.max_width_ratio
    if hasattr(args, "min_crossing_pixels"):
        separator_params["min_crossing_pixels"] = args.min_crossing_pixels
    if args.dapi:
        report["dapi"] = dapi(args.model, args.repeats, args.out_dir, **separator_params)
    if args.synthetic:
        report["synthetic"] = synthetic(args.model, args.crossings, args.seeds, args.overlay,
                                        **separator_params)
    if args.arm_rule:
        report["arm_rule"] = arm_rule(args.arm_width_ratios, args.crossings, args.seeds)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
