"""Inference images/s: ``ChromosomeSegmenter.predict_proba`` against its exported files.

One process, one model: the command line's default network (``RECIPES["generated"]``: U-Net of
4 poolings, 8 base channels since session 31 and 16 before, channels-last, area decoding),
fitted for one epoch on 64 generated pairs (untimed; the speed does not depend on the weights),
then exported with ``seg.export`` to ONNX and to TorchScript. On ``--n-images`` generated
images of Pommier's size (94x93), side by side:

- **pytorch**: ``seg.predict_proba(X)``, numpy in, numpy out (the estimator's checks,
  batching by ``batch_size``, padding, softmax and A/B exchange included);
- **onnxruntime**: ``InferenceSession.run`` of the ONNX file on the same batches (numpy in,
  numpy out), CPU provider, ``intra_op_num_threads`` = torch's thread count;
- **torchscript**: the TorchScript file called on the same batches under ``torch.no_grad``.

Each side runs once untimed, then ``--repeats`` times, alternating the order; the median is
reported, with the largest difference of its probabilities from ``predict_proba``'s.
Nothing here is asserted: the numbers go to the results notes.

Command line (the numbers of the notes)::

    nice -n 19 python benchmarks/export_speed.py --n-images 512 --repeats 5 --json speed.json
    # a quick look
    python benchmarks/export_speed.py --n-images 64 --repeats 1 --module base_channels=8
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from chromoskl import ChromosomeSegmenter
from chromoskl.cli import RECIPES, segmenter_params
from chromoskl.datasets import make_overlapping_chromosomes


def _module_param(text):
    name, value = text.split("=", 1)
    return name, json.loads(value)


def _batches(images, size):
    return [images[start : start + size] for start in range(0, len(images), size)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="unet")
    parser.add_argument("--module", type=_module_param, action="append", default=[],
                        metavar="NAME=VALUE", help="override a network parameter of the recipe")
    parser.add_argument("--n-images", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="default: torch's")
    parser.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"),
                        help="export for one size (ARMS Net); default: any size")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import onnxruntime as ort

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    recipe = dict(RECIPES["generated"])
    recipe["module"] = {**recipe["module"].get(args.arch, {}), **dict(args.module)}
    params = segmenter_params(recipe)
    params.update(max_epochs=1, train_split=None, device="cpu", random_state=0)
    data = make_overlapping_chromosomes(max(64, args.n_images), random_state=0)
    images = np.ascontiguousarray(data.images[: args.n_images], dtype=np.float32)
    seg = ChromosomeSegmenter(args.arch, **params).fit(data.images[:64], data.labels[:64])
    batches = _batches(images[:, None], seg.batch_size)

    folder = Path(tempfile.mkdtemp(prefix="chromoskl-export-speed-"))
    export_seconds = {}
    for kind, name in (("onnx", "model.onnx"), ("torchscript", "model.pt")):
        started = time.perf_counter()
        seg.export(folder / name, image_shape=args.image_size)
        export_seconds[kind] = time.perf_counter() - started
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(folder / "model.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    scripted = torch.jit.load(str(folder / "model.pt"))

    def run_pytorch():
        return seg.predict_proba(images)

    def run_onnxruntime():
        return np.concatenate([session.run(None, {"images": b})[0] for b in batches])

    def run_torchscript():
        with torch.no_grad():
            return np.concatenate([scripted(torch.from_numpy(b)).numpy() for b in batches])

    sides = {"pytorch": run_pytorch, "onnxruntime": run_onnxruntime,
             "torchscript": run_torchscript}
    reference = run_pytorch()
    seconds = {name: [] for name in sides}
    difference = {}
    for name, run in sides.items():  # untimed first pass
        difference[name] = float(np.abs(run() - reference).max())
    for repeat in range(args.repeats):
        order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
        for name in order:
            started = time.perf_counter()
            sides[name]()
            seconds[name].append(time.perf_counter() - started)

    print(f"{args.arch} {recipe['module']}, {len(images)} images of 94x93, batch "
          f"{seg.batch_size}, {threads} threads, median of {args.repeats}")
    print(f"{'side':<12} {'images/s':>9} {'seconds':>8} {'max |diff|':>11} {'export s':>9}")
    results = {}
    for name in sides:
        median = statistics.median(seconds[name])
        export = export_seconds.get({"pytorch": None, "onnxruntime": "onnx"}.get(name, name))
        results[name] = {"images_per_s": len(images) / median, "seconds": seconds[name],
                         "max_abs_diff": difference[name], "export_s": export}
        print(f"{name:<12} {len(images) / median:>9.1f} {median:>8.2f} "
              f"{difference[name]:>11.2e} {'' if export is None else f'{export:.1f}':>9}")
    if args.json:
        args.json.write_text(json.dumps({
            "arch": args.arch, "module": recipe["module"], "n_images": len(images),
            "batch_size": seg.batch_size, "threads": threads, "repeats": args.repeats,
            "torch": torch.__version__, "onnxruntime": ort.__version__, "results": results,
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
