"""CPU speed levers side by side: torch threads, the memory allocator, ``torch.compile``.

Each lever is one process of ``benchmarks/throughput.py`` (the estimator's training and
inference images/s beside a hand-written loop's), because the allocator is chosen when the
process starts (``LD_PRELOAD``). The levers run one after the other in rounds (every lever
once per round, the order reversed each round) so that drift in the machine's speed spreads
over all of them; the table gives each lever's median over the rounds and its ratio to the
first lever named.

The levers:

- ``base``: the default job's network (U-Net base 16, 4 poolings), bfloat16 autocast and
  channels-last, batch 32, 2 torch threads, glibc's malloc;
- ``threads1``: the same with one torch thread;
- ``tcmalloc`` / ``jemalloc``: the same with Google's tcmalloc (Debian's
  ``libtcmalloc-minimal4``) or jemalloc (``libjemalloc2``) preloaded;
- ``compile``: the same with ``torch.compile`` (skorch's ``compile=True``; its compilation
  time is in the untimed first epoch, reported separately by the process's wall time).

Usage (from the repository root, on a machine with nothing else running)::

    python benchmarks/cpu_levers.py --data PATH.h5 --rounds 2 --out runs/cpu-levers

Nothing is asserted; the table goes to standard output and ``--out`` keeps each process's
JSON and log.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBRARIES = Path("/usr/lib/x86_64-linux-gnu")
ALLOCATORS = {
    "tcmalloc": LIBRARIES / "libtcmalloc_minimal.so.4",
    "jemalloc": LIBRARIES / "libjemalloc.so.2",
}
LEVERS = ("base", "threads1", "tcmalloc", "jemalloc", "compile")


def command(lever: str, args, json_path: Path) -> tuple[list[str], dict]:
    """The throughput.py command line and environment of one lever."""
    cmd = [
        sys.executable, str(HERE / "throughput.py"), "--arch", "unet",
        "--n-images", str(args.n_images), "--epochs", "1", "--batch-size", "32",
        "--threads", "1" if lever == "threads1" else "2",
        "--module", "base_channels=16", "--module", "depth=4",
        "--precision", "bf16", "--channels-last", "--repeats", str(args.repeats),
        "--data", str(args.data), "--json", str(json_path),
    ]
    if lever == "compile":
        cmd.append("--compile")
    env = dict(os.environ)
    if lever in ALLOCATORS:
        env["LD_PRELOAD"] = str(ALLOCATORS[lever])
    return cmd, env


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--levers", nargs="+", choices=LEVERS, default=list(LEVERS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per side inside each process (median)")
    parser.add_argument("--n-images", type=int, default=512)
    parser.add_argument("--out", type=Path, default=Path("runs/cpu-levers"))
    args = parser.parse_args(argv)
    for lever in args.levers:
        if lever in ALLOCATORS and not ALLOCATORS[lever].is_file():
            parser.error(f"{lever}: {ALLOCATORS[lever]} is missing (apt-get install "
                         f"{'libtcmalloc-minimal4' if lever == 'tcmalloc' else 'libjemalloc2'})")
    args.out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict]] = {lever: [] for lever in args.levers}
    for r in range(args.rounds):
        order = args.levers if r % 2 == 0 else list(reversed(args.levers))
        for lever in order:
            json_path = args.out / f"{lever}-{r}.json"
            cmd, env = command(lever, args, json_path)
            started = time.perf_counter()
            with open(args.out / f"{lever}-{r}.log", "w") as log:
                subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
            (row,) = json.loads(json_path.read_text())["rows"]
            row["process_s"] = time.perf_counter() - started
            if row["est_train_ips"] is None or row["est_infer_ips"] is None:
                print(f"round {r} {lever}: no estimator timing: {row['notes']}", flush=True)
                continue
            runs[lever].append(row)
            print(f"round {r} {lever}: train {row['est_train_ips']:.1f} img/s, infer "
                  f"{row['est_infer_ips']:.1f} img/s, process {row['process_s']:.0f} s",
                  flush=True)
    keys = ("est_train_ips", "raw_train_ips", "est_infer_ips", "raw_infer_ips", "process_s")
    medians = {lever: {k: statistics.median(row[k] for row in rows) for k in keys}
               for lever, rows in runs.items() if rows}
    if args.levers[0] not in medians:
        sys.exit(f"cpu_levers: the first lever, {args.levers[0]}, gave no timing")
    first = medians[args.levers[0]]
    print(f"\nMedians over {args.rounds} rounds; ratios to {args.levers[0]}\n")
    print("| lever | train img/s (estimator) | ratio | train img/s (raw loop) | infer img/s "
          "(estimator) | ratio | process s |\n|---|---|---|---|---|---|---|")
    for lever, m in medians.items():
        print(f"| {lever} | {m['est_train_ips']:.1f} | "
              f"{m['est_train_ips'] / first['est_train_ips']:.2f} | {m['raw_train_ips']:.1f} | "
              f"{m['est_infer_ips']:.1f} | {m['est_infer_ips'] / first['est_infer_ips']:.2f} | "
              f"{m['process_s']:.0f} |")
    (args.out / "summary.json").write_text(json.dumps(medians, indent=2) + "\n")


if __name__ == "__main__":
    main()
