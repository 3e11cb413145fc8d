"""Training and inference images/s: ``ChromosomeSegmenter`` against a hand-written PyTorch loop.

For each architecture (``--arch NAME ...`` or ``--arch all`` = every name of
``chromoskl.architectures.ARCHITECTURES``), one process measures side by side:

- **estimator**: ``ChromosomeSegmenter(train_split=None, verbose=0, random_state=0)``. A
  ``fit`` of one epoch comes first, untimed (initialisation, cuDNN's and ``torch.compile``'s
  first calls); each timed run is then ``partial_fit(X, y, epochs=E)`` measured by the wall
  clock around the call, so it includes everything the estimator does per call (checking
  and converting the numpy arrays, moving them to the device, its batching, the per-batch
  padding, the callbacks, the history). Images/s = ``N * E / seconds``. The per-epoch
  ``history[:, 'dur']`` of skorch leaves the per-call work out, so the wall clock is the
  number reported (the history's sum is in the JSON as ``est_train_dur_s``).
- **raw loop**: what a PyTorch user would write for the same work: the same network class and
  parameters (``resolve_architecture(name)(**module_params)``), the same initial weights (the
  estimator's seed derivation), Adam with the same lr, ``resolve_criterion("ce")()``, the same
  batch size, images and labels held as tensors on the device, padded once up front to the
  network's ``input_divisor`` (``F.pad`` replicate, centred, as the estimator pads each
  batch), the logits cropped back before the loss, one ``torch.randperm`` per epoch drawn from
  a generator seeded as the estimator's (the same image order as its batches), the loss
  accumulated on the device and read once per epoch, the labels' range not checked per
  batch. One untimed epoch first, then ``E`` timed epochs per run.

Both train on the same images in the same order from the same weights, so on the CPU their
training losses and probabilities come out identical (they did in the smoke runs): the
``loss est / raw`` column checks that the two sides do the same work, and ``proba diff`` is
the largest difference between the two models' probabilities after the last run. On CUDA,
non-deterministic kernels (and bf16) let them drift apart a little.

Inference: ``seg.predict_proba(X)`` (numpy in, numpy float32 probabilities out) against the raw
loop's ``eval()`` + ``torch.no_grad()`` forward over the padded device tensor in batches of
the same size, crop, softmax over the classes, and one copy of all probabilities to the host.
One untimed pass each first.

``--repeats R`` (default 1) alternates the two sides (estimator first, then raw first, ...)
to cancel drift, and reports the median of R runs per side; each run continues the training
of the previous one.

``--precision``, ``--channels-last`` and ``--compile`` set the estimator's ``precision``,
``channels_last`` and skorch's ``compile``; the raw loop does the same by hand
(``torch.autocast`` around the network only, logits back to float32 for the loss, a
``GradScaler`` for fp16 on CUDA; ``channels_last`` weights and inputs; ``torch.compile`` of
the network). Where this checkout's ``ChromosomeSegmenter`` lacks one of those parameters or
refuses a value (fp16, say), the estimator side is skipped with a message and only the raw
loop is timed.

CUDA timings synchronise the device before and after each timed region. Seeds are fixed
(data, weights, order), cuDNN autotuning is off unless ``--cudnn-benchmark``; the timings
themselves vary from run to run.

Command lines::

    # what benchmarks/gpu_check.sh runs on one H200 (then with --arch unet arms and
    # --precision bf16, and with --channels-last)
    python benchmarks/throughput.py --arch all --device cuda \\
        --data gpu-carry/LowRes_13434_overlapping_pairs_regenerated.h5 \\
        --n-images 512 --epochs 2 --batch-size 32 --repeats 3 --json throughput.json
    # CPU smoke run, a few seconds
    python benchmarks/throughput.py --arch unet --n-images 64 --epochs 2 --threads 1 \\
        --module base_channels=8

The table goes to standard output as markdown; ``--json PATH`` also writes the rows. Run it
after ``pip install -e .`` (or with ``PYTHONPATH=.`` from the repository root).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state

import chromoskl
from chromoskl import ChromosomeSegmenter
from chromoskl.architectures import ARCHITECTURES, resolve_architecture
from chromoskl.cli import _module_param, _positive_int
from chromoskl.losses import resolve_criterion

try:
    from chromoskl.losses import labels_already_checked
except ImportError:  # a checkout whose losses still check the labels of every batch
    labels_already_checked = nullcontext

SEED = 0
N_IMAGES = 512
EPOCHS = 2
BATCH = 32
LR = 1e-3
PRECISIONS = {"bf16": torch.bfloat16, "fp16": torch.float16}


# ---------------------------------------------------------------------- data


def load_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, str]:
    """``n_images`` images (n, H, W) float32 and labels (n, H, W) uint8, with their source."""
    from chromoskl.datasets import load_overlapping_chromosomes, make_overlapping_chromosomes

    if args.data is None:
        data = make_overlapping_chromosomes(args.n_images, random_state=SEED)
        source = "generated (make_overlapping_chromosomes)"
    else:
        data = load_overlapping_chromosomes(
            args.data, max_samples=args.n_images, shuffle=True, random_state=SEED
        )
        source = str(args.data)
    images = np.ascontiguousarray(data.images, dtype=np.float32)
    return images, np.ascontiguousarray(data.labels), source


def padding(shape: tuple[int, int], divisor: int) -> tuple[int, int, int, int]:
    """``F.pad`` widths (left, right, top, bottom) centring ``shape`` on the next multiple of
    ``divisor``: the estimator's padding."""
    height, width = shape
    big_h, big_w = (math.ceil(side / divisor) * divisor for side in shape)
    top, left = (big_h - height) // 2, (big_w - width) // 2
    return left, big_w - width - left, top, big_h - height - top


# ---------------------------------------------------------------------- timing


def make_sync(device: str) -> Callable[[], None]:
    return torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)


def timed(function: Callable[[], object], sync: Callable[[], None]) -> tuple[float, object]:
    """Seconds of ``function()`` (device synchronised before and after), and its result."""
    sync()
    start = time.perf_counter()
    result = function()
    sync()
    return time.perf_counter() - start, result


def estimator_seed(random_state: int) -> int:
    """The seed ``ChromosomeSegmenter.initialize`` derives from ``random_state``."""
    return int(check_random_state(random_state).randint(2**31 - 1))


# ---------------------------------------------------------------------- raw loop


class RawLoop:
    """The hand-written PyTorch training and inference of one network, data on the device."""

    def __init__(self, name: str, module_params: dict, images, labels, args) -> None:
        self.device = args.device
        self.batch_size = args.batch_size
        seed = estimator_seed(SEED)
        torch.manual_seed(seed)  # the estimator's weights: same seed, then the network
        model = resolve_architecture(name)(**module_params).to(self.device)
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.net = torch.compile(model) if args.compile else model
        self.criterion = resolve_criterion("ce")().to(self.device)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        # the estimator's DataLoader draws its shuffles from a CPU generator seeded so
        self.generator = torch.Generator().manual_seed(seed)
        # DataLoader's iterator draws a seed from the generator before its sampler's randperm;
        # the estimator's own tensor batches do not. Set from the estimator once it has run.
        self.dataloader_order = False
        self.channels_last = args.channels_last
        dtype = PRECISIONS.get(args.precision)
        self.autocast = (
            (lambda: torch.autocast(torch.device(self.device).type, dtype=dtype))
            if dtype is not None
            else nullcontext
        )
        self.scaler = torch.amp.GradScaler(
            torch.device(self.device).type,
            enabled=args.precision == "fp16" and self.device.startswith("cuda"),
        )

        self.shape = images.shape[-2:]
        divisor = int(getattr(model, "input_divisor", 1))
        self.pad = padding(self.shape, divisor)
        x = torch.as_tensor(images[:, None], dtype=torch.float32, device=self.device)
        if any(self.pad):
            x = F.pad(x, self.pad, mode="replicate")
        if args.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        self.x = x
        self.y = torch.as_tensor(labels, dtype=torch.int64, device=self.device)
        self.padded_shape = tuple(x.shape[-2:])

    def crop(self, logits: torch.Tensor) -> torch.Tensor:
        left, _, top, _ = self.pad
        height, width = self.shape
        return logits[..., top : top + height, left : left + width]

    def forward(self, x: torch.Tensor):
        """The network under autocast when asked; logits back in float32, cropped."""
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with self.autocast():
            output = self.net(x)
        if isinstance(output, (tuple, list)):
            return tuple(self.crop(head.float()) for head in output)
        return self.crop(output.float())

    def loss(self, output, target) -> torch.Tensor:
        # The labels are valid by construction: no per-batch range check (a host read).
        with labels_already_checked():
            if not isinstance(output, (tuple, list)):
                return self.criterion(output, target)
            # deep supervision: the estimator's default, every head weighted 1
            total = sum(1.0 * self.criterion(head, target) for head in output)
            return total / float(len(output))

    def train_epochs(self, epochs: int) -> float:
        """Train ``epochs`` epochs; return the last one's mean training loss."""
        self.model.train()
        n = len(self.x)
        for _ in range(epochs):
            if self.dataloader_order:
                torch.empty((), dtype=torch.int64).random_(generator=self.generator)
            order = torch.randperm(n, generator=self.generator).to(self.device)
            total = torch.zeros((), device=self.device)
            for start in range(0, n, self.batch_size):
                index = order[start : start + self.batch_size]
                xb, yb = self.x[index], self.y[index]
                self.optimizer.zero_grad(set_to_none=True)
                loss = self.loss(self.forward(xb), yb)
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
                total += loss.detach().float() * len(index)
        return float(total.item()) / n

    def predict_proba(self) -> np.ndarray:
        self.model.eval()
        chunks = []
        with torch.no_grad():
            for start in range(0, len(self.x), self.batch_size):
                output = self.forward(self.x[start : start + self.batch_size])
                output = output[0] if isinstance(output, (tuple, list)) else output
                chunks.append(torch.softmax(output, dim=1))
        return torch.cat(chunks).cpu().numpy()


# ---------------------------------------------------------------------- estimator


def segmenter_parameters() -> set[str]:
    """Every parameter name ``ChromosomeSegmenter`` (and skorch's ``NeuralNet``) takes."""
    names = set(inspect.signature(ChromosomeSegmenter.__init__).parameters)
    for base in ChromosomeSegmenter.__mro__[1:]:
        if "__init__" in vars(base):
            names |= set(inspect.signature(base.__init__).parameters)
    return names - {"self", "args", "kwargs"}


def estimator_options(args) -> tuple[dict, list[str]]:
    """The options' estimator parameters, and the names this checkout does not know."""
    wanted = {}
    if args.precision is not None:
        wanted["precision"] = args.precision
    if args.channels_last:
        wanted["channels_last"] = True
    if args.compile:
        wanted["compile"] = True
    known = segmenter_parameters()
    return wanted, sorted(set(wanted) - known)


def build_segmenter(name: str, module_params: dict, options: dict, args):
    return ChromosomeSegmenter(
        name,
        criterion="ce",
        optimizer=torch.optim.Adam,
        lr=args.lr,
        max_epochs=1,
        batch_size=args.batch_size,
        train_split=None,
        device=args.device,
        random_state=SEED,
        verbose=0,
        **options,
        **{f"module__{key}": value for key, value in module_params.items()},
    )


def uses_dataloader(seg, images, labels) -> bool:
    """Whether the fitted estimator's training batches come from a torch ``DataLoader``."""
    iterator = seg.get_iterator(seg.get_dataset(images[:2], labels[:2]), training=True)
    return isinstance(iterator, torch.utils.data.DataLoader)


# ---------------------------------------------------------------------- one architecture


def module_params_for(name: str, params: dict) -> tuple[dict, list[str]]:
    """The ``--module`` parameters the network's constructor takes, and those it does not."""
    accepted = inspect.signature(resolve_architecture(name)).parameters
    kept = {k: v for k, v in params.items() if k in accepted}
    return kept, sorted(set(params) - set(kept))


def benchmark(name: str, images, labels, args) -> dict:
    """Measure one architecture; return one row."""
    sync = make_sync(args.device)
    module_params, dropped = module_params_for(name, dict(args.module))
    notes = [f"{', '.join(dropped)} not a parameter of {name}: ignored"] if dropped else []
    n, epochs = len(images), args.epochs
    options, unknown = estimator_options(args)

    raw = RawLoop(name, module_params, images, labels, args)
    row = {
        "arch": name,
        "module_params": module_params,
        "input": list(images.shape[-2:]),
        "padded": list(raw.padded_shape),
        "params": sum(p.numel() for p in raw.model.parameters()),
        "n_images": n,
        "epochs_timed": epochs,
    }

    seg = None
    if unknown:
        notes.append(
            f"estimator skipped: this checkout's ChromosomeSegmenter has no parameter "
            f"{', '.join(unknown)}"
        )
    else:
        try:
            seg = build_segmenter(name, module_params, options, args)
            warmup_s, _ = timed(lambda: seg.fit(images, labels), sync)
            row["est_warmup_s"] = warmup_s
            raw.dataloader_order = uses_dataloader(seg, images, labels)
        except Exception as error:  # report whatever the estimator refuses, then go on
            message = " ".join(line.strip() for line in str(error).strip().splitlines())
            notes.append(f"estimator failed: {type(error).__name__}: {message}")
            seg = None
    row["raw_warmup_s"], _ = timed(lambda: raw.train_epochs(1), sync)

    # ---- training: alternate the sides, E epochs per run
    est_times, raw_times, est_dur = [], [], []
    est_loss = raw_loss = None
    for repeat in range(args.repeats):
        sides = ["est", "raw"] if repeat % 2 == 0 else ["raw", "est"]
        for side in sides:
            if side == "est" and seg is not None:
                seconds, _ = timed(lambda: seg.partial_fit(images, labels, epochs=epochs), sync)
                est_times.append(seconds)
                est_dur.append(float(sum(seg.history[-epochs:, "dur"])))
                est_loss = float(seg.history[-1, "train_loss"])
            elif side == "raw":
                seconds, raw_loss = timed(lambda: raw.train_epochs(epochs), sync)
                raw_times.append(seconds)

    # ---- inference: one untimed pass each, then alternate
    raw.predict_proba()
    if seg is not None:
        seg.predict_proba(images)
    est_infer, raw_infer = [], []
    est_proba = raw_proba = None
    for repeat in range(args.repeats):
        sides = ["est", "raw"] if repeat % 2 == 0 else ["raw", "est"]
        for side in sides:
            if side == "est" and seg is not None:
                seconds, est_proba = timed(lambda: seg.predict_proba(images), sync)
                est_infer.append(seconds)
            elif side == "raw":
                seconds, raw_proba = timed(raw.predict_proba, sync)
                raw_infer.append(seconds)

    def rate(times: list[float], count: int) -> float | None:
        return count / statistics.median(times) if times else None

    row.update(
        est_train_s=est_times,
        raw_train_s=raw_times,
        est_train_dur_s=est_dur,
        est_infer_s=est_infer,
        raw_infer_s=raw_infer,
        est_train_ips=rate(est_times, n * epochs),
        raw_train_ips=rate(raw_times, n * epochs),
        est_infer_ips=rate(est_infer, n),
        raw_infer_ips=rate(raw_infer, n),
        est_train_loss=est_loss,
        raw_train_loss=raw_loss,
        proba_max_abs_diff=(
            float(np.abs(est_proba - raw_proba).max()) if est_proba is not None else None
        ),
        notes=notes,
    )
    for kind in ("train", "infer"):
        est, raw_rate = row[f"est_{kind}_ips"], row[f"raw_{kind}_ips"]
        row[f"{kind}_ratio"] = est / raw_rate if est and raw_rate else None
    seg = raw = est_proba = raw_proba = None  # free the device's memory for the next network
    if args.device.startswith("cuda"):
        torch.cuda.empty_cache()
    return row


def failed_row(name: str, note: str) -> dict:
    """A row of the table for a network that could not be measured."""
    row = {"arch": name, "padded": ["?"], "params": None, "notes": [note]}
    for key in ("est_train_ips", "raw_train_ips", "train_ratio", "est_infer_ips",
                "raw_infer_ips", "infer_ratio", "est_train_loss", "raw_train_loss",
                "proba_max_abs_diff"):
        row[key] = None
    return row


# ---------------------------------------------------------------------- report


def _fmt(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def markdown_table(rows: list[dict]) -> str:
    header = [
        "arch", "input", "params", "train est img/s", "train raw img/s", "train est/raw",
        "infer est img/s", "infer raw img/s", "infer est/raw", "loss est / raw", "proba diff",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        loss = f"{_fmt(row['est_train_loss'], '.4f')} / {_fmt(row['raw_train_loss'], '.4f')}"
        cells = [
            row["arch"],
            "x".join(map(str, row["padded"])),
            _fmt(row["params"], ","),
            _fmt(row["est_train_ips"], ".0f"),
            _fmt(row["raw_train_ips"], ".0f"),
            _fmt(row["train_ratio"], ".2f"),
            _fmt(row["est_infer_ips"], ".0f"),
            _fmt(row["raw_infer_ips"], ".0f"),
            _fmt(row["infer_ratio"], ".2f"),
            loss,
            _fmt(row["proba_max_abs_diff"], ".1e"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {row['arch']}: {note}" for row in rows for note in row["notes"]]
    return "\n".join(lines + ([""] + notes if notes else []))


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(args) -> dict:
    import skorch

    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "chromoskl": chromoskl.__version__,
        "threads": torch.get_num_threads(),
        "device": args.device,
        "device_name": (
            torch.cuda.get_device_name() if args.device.startswith("cuda") else cpu_name()
        ),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    try:
        env["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        env["commit"] = None
    return env


# ---------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--arch", nargs="+", default=["unet"], metavar="NAME",
        help=f"architectures, or 'all' ({', '.join(ARCHITECTURES)}); default unet",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    parser.add_argument("--n-images", type=_positive_int, default=N_IMAGES)
    parser.add_argument("--epochs", type=_positive_int, default=EPOCHS,
                        help="timed epochs per run, after one untimed epoch (default 2)")
    parser.add_argument("--batch-size", type=_positive_int, default=BATCH)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--threads", type=_positive_int, default=None,
                        help="torch CPU threads (default: torch's default)")
    parser.add_argument("--precision", choices=sorted(PRECISIONS), default=None,
                        help="autocast dtype (default: none, float32)")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true", help="torch.compile the network")
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="torch.backends.cudnn.benchmark = True (both sides)")
    parser.add_argument("--module", type=_module_param, action="append", default=[],
                        metavar="NAME=VALUE",
                        help="network parameter (module__NAME), value read as JSON; "
                        "ignored for a network that does not take it")
    parser.add_argument("--data", type=Path, default=None,
                        help="Pommier's h5 file (default: generated images)")
    parser.add_argument("--repeats", type=_positive_int, default=1,
                        help="timed runs per side, alternated; the median is reported")
    parser.add_argument("--json", metavar="PATH", default=None, help="also write rows as JSON")
    args = parser.parse_args(argv)
    if args.arch == ["all"]:
        args.arch = list(ARCHITECTURES)
    unknown = sorted(set(args.arch) - set(ARCHITECTURES))
    if unknown:
        parser.error(f"unknown architectures {unknown}; known: all, {', '.join(ARCHITECTURES)}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device} but torch.cuda.is_available() is False")
    if args.data is not None and not args.data.is_file():
        parser.error(f"--data {args.data}: no such file")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    options, unknown = estimator_options(args)
    if unknown:
        print(
            f"throughput: ChromosomeSegmenter in this checkout has no parameter "
            f"{', '.join(unknown)}; only the raw loop is timed with {options}.",
            file=sys.stderr,
        )
    images, labels, source = load_data(args)
    env = environment(args)
    variant = ", ".join(
        part
        for part in (
            args.precision,
            "channels_last" if args.channels_last else None,
            "compile" if args.compile else None,
            "cudnn.benchmark" if args.cudnn_benchmark else None,
        )
        if part
    ) or "float32"
    payload = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "environment": env, "data": source, "variant": variant, "rows": [],
    }
    for name in args.arch:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # e.g. torch.compile's chatter
                row = benchmark(name, images, labels, args)
        except Exception as error:  # one network failing (out of memory, say) spares the rest
            message = " ".join(str(error).split())[:300]
            row = failed_row(name, f"failed: {type(error).__name__}: {message}")
            if args.device.startswith("cuda"):
                torch.cuda.empty_cache()
        payload["rows"].append(row)
        print(
            f"throughput: {name}: train {_fmt(row['est_train_ips'], '.0f')} (estimator) / "
            f"{_fmt(row['raw_train_ips'], '.0f')} (raw) img/s, inference "
            f"{_fmt(row['est_infer_ips'], '.0f')} / {_fmt(row['raw_infer_ips'], '.0f')} img/s",
            file=sys.stderr, flush=True,
        )
        if args.json:  # after every network, so that a run cut short keeps what it measured
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    print(
        f"torch {env['torch']}, skorch {env['skorch']}, {env['device_name'] or args.device} "
        f"({args.device}, {env['threads']} CPU threads); {len(images)} images from {source}, "
        f"batch {args.batch_size}, Adam lr {args.lr}, CE; {variant}; {args.epochs} timed "
        f"epochs after 1 warm-up, median of {args.repeats} alternated run(s)\n"
    )
    print(markdown_table(payload["rows"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
