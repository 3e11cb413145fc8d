"""``chromoskl serve``: the web page and JSON API of :mod:`chromoskl.web`, on this machine."""

from __future__ import annotations

import argparse
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from ._cli_separate import add_separator_options, separator_from_args
from ._cli_support import UsageError, positive_float

__all__ = ["add_serve_parser", "run_serve"]

LOCALHOST = "127.0.0.1"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must lie between 0 and 65535, got {value}")
    return value


def add_serve_parser(commands) -> argparse.ArgumentParser:
    """Add the ``serve`` subcommand to the parser's subcommands."""
    from .web.app import MAX_PIXELS, MAX_UPLOAD_MB

    parser = commands.add_parser(
        "serve", help="a web page that separates the chromosomes of uploaded images",
        description="Start a web page (and a JSON API at /api/separate) where a pair crop or "
        "a whole metaphase is uploaded and its chromosomes are shown separated, with the "
        "masks and measurements to download. Needs Flask: pip install \"chromoskl[web]\".",
    )
    parser.add_argument("--model", type=Path, required=True,
                        help="a segmenter written by chromoskl train or chromoskl ensemble")
    parser.add_argument("--classifier", type=Path,
                        help="a chromosome classifier saved with joblib.dump: adds classes and "
                        "a karyogram (a ChromosomeClassifier needs chromoskl[recognition])")
    parser.add_argument("--host", default=LOCALHOST,
                        help="address to listen on (default 127.0.0.1: this machine only; "
                        "0.0.0.0 opens it to the network, without any login)")
    parser.add_argument("--port", type=_port, default=8000, help="default 8000")
    parser.add_argument("--max-upload-mb", type=positive_float, default=MAX_UPLOAD_MB,
                        help=f"largest upload in MiB (default {MAX_UPLOAD_MB})")
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS,
                        help=f"largest image in pixels (default {MAX_PIXELS:,})")
    add_separator_options(parser)
    return parser


def run_serve(args) -> int:
    """Run ``chromoskl serve`` until Ctrl-C; return the exit status."""
    try:
        import flask  # noqa: F401
    except ImportError:
        raise UsageError('serve needs Flask: pip install "chromoskl[web]"') from None
    from werkzeug.serving import run_simple

    from ._cli_karyogram import load_classifier
    from .ensemble import load_segmenter
    from .web import create_app

    if args.max_pixels < 1:
        raise UsageError(f"--max-pixels must be a positive integer, got {args.max_pixels}")
    if not args.model.is_file():
        raise FileNotFoundError(f"no such model file: {args.model}")
    segmenter = load_segmenter(args.model)
    classifier = None if args.classifier is None else load_classifier(args.classifier)
    separator, _ = separator_from_args(args, segmenter)
    steps = {k: v for k, v in separator.get_params(deep=False).items() if k != "segmenter"}
    app = create_app(segmenter, classifier, max_upload_mb=args.max_upload_mb,
                     max_pixels=args.max_pixels, **steps)
    if args.host != LOCALHOST:
        print(f"chromoskl: listening on {args.host}: anyone who reaches this machine can use "
              "the page; there is no login")
    print(f"chromoskl: serving {args.model} at http://{args.host}:{args.port}/ "
          "(Ctrl-C stops it)", flush=True)
    with _stopped_by_sigterm():
        try:
            run_simple(args.host, args.port, app, threaded=True)
        finally:
            app.extensions["chromoskl"].store.close()
    return 0


@contextmanager
def _stopped_by_sigterm():
    """Let SIGTERM (``kill``, a service manager) end the server as Ctrl-C does, through the
    ``finally`` that removes the temporary directory; Python's default would skip it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
