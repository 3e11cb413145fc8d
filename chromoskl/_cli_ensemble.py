"""``chromoskl ensemble``: join saved segmenters into one model file that averages them.

Train the members apart on one hold-out (``chromoskl train --init-seed 1 --out run1``, and so
on), then join their ``model.pt`` files; every command that takes a model reads the joined
file (:class:`chromoskl.ensemble.SegmenterEnsemble`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._cli_support import UsageError

__all__ = ["add_ensemble_parser", "run_ensemble"]


def add_ensemble_parser(commands) -> None:
    """Register ``ensemble`` on the ``chromoskl`` sub-command parsers."""
    parser = commands.add_parser(
        "ensemble",
        help="join saved models into one that averages their probabilities",
        description="Join model files of chromoskl train into one model file whose prediction "
        "is the mean of the members' class probabilities. The members should have been "
        "trained on the same kind of images; each keeps its own network and settings.",
    )
    parser.add_argument("models", type=Path, nargs="+",
                        help="two or more model files written by chromoskl train")
    parser.add_argument("--weights", type=float, nargs="+",
                        help="one non-negative weight per model for the mean (default: equal)")
    parser.add_argument("--ab-names-from", type=int, metavar="K",
                        help="the K-th model (1 = the first) names A and B: the average "
                        "decides the background, the overlap and where one chromosome lies "
                        "alone, that model which of the two it is, and it decodes")
    parser.add_argument("--out", type=Path, required=True, help="the file to write")


def run_ensemble(args: argparse.Namespace) -> int:
    """Join ``models`` into ``--out``; return the exit status."""
    from . import ChromosomeSegmenter
    from .ensemble import SegmenterEnsemble

    if len(args.models) < 2:
        raise UsageError("give two or more model files to join")
    if args.weights is not None and len(args.weights) != len(args.models):
        raise UsageError(f"--weights needs one number per model ({len(args.models)}), got "
                         f"{len(args.weights)}")
    if args.out.is_dir():
        raise UsageError(f"--out {args.out} is a directory; give the file to write")
    for path in args.models:
        if not path.is_file():
            raise UsageError(f"no such model file: {path}")
    if args.ab_names_from is not None and not 1 <= args.ab_names_from <= len(args.models):
        raise UsageError(f"--ab-names-from {args.ab_names_from}: give a number from 1 to "
                         f"{len(args.models)}, the position of a model")
    names = [f"m{i}" for i in range(len(args.models))]
    naming = None if args.ab_names_from is None else names[args.ab_names_from - 1]
    members = [(name, ChromosomeSegmenter.load(path)) for name, path in zip(names, args.models)]
    SegmenterEnsemble.from_fitted(members, weights=args.weights,
                                  ab_names_from=naming).save(args.out)
    joined = ", ".join(f"{name} = {path}" for name, path in zip(names, args.models))
    named = "" if naming is None else f"; {naming} names A and B"
    print(f"chromoskl: wrote {args.out}, the mean of {len(members)} models ({joined}){named}")
    return 0
