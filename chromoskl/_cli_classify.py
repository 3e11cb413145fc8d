"""``chromoskl classify``: name the class (1-22, X, Y) of single-chromosome images.

The model is a fitted :class:`chromoskl.ChromosomeClassifier`, or a scikit-learn pipeline that
ends in one (``Straightener``, ``PadToSquare``, ``ResizeImages`` before it), saved with
``joblib.dump(model, path)``. Only load model files you trust: they are pickles.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

__all__ = ["add_classify_parser", "run_classify"]


def add_classify_parser(commands) -> None:
    """Register ``classify`` on the ``chromoskl`` sub-command parsers."""
    classify = commands.add_parser(
        "classify", help="name the class (1-22, X, Y) of single-chromosome images"
    )
    classify.add_argument("--model", type=Path, required=True,
                          help="a fitted ChromosomeClassifier or pipeline saved by joblib.dump")
    classify.add_argument("images", type=Path, nargs="+",
                          help="PNG/TIFF images, one chromosome each")
    classify.add_argument("--out", type=Path, help="also write the table as this TSV file")


def _load_model(path: Path):
    import joblib

    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    try:
        model = joblib.load(path)
    except (ImportError, RuntimeError) as error:
        raise ValueError(
            f"cannot load {path}: {error}; a classifier needs a torchvision that matches torch "
            '(pip install "chromoskl[recognition]")'
        ) from None
    except Exception as error:  # pickle raises many kinds for a file that is not a model
        raise ValueError(f"{path} is not a saved chromosome classifier: {error}") from None
    if not hasattr(model, "predict_proba"):
        raise ValueError(
            f"{path} holds a {type(model).__name__}, not a classifier with predict_proba; save a "
            "fitted ChromosomeClassifier or pipeline with joblib.dump"
        )
    return model


def run_classify(args: argparse.Namespace) -> int:
    """Print ``image<TAB>class<TAB>confidence`` for every image; return the exit status."""
    from .datasets import read_grey_image
    from .datasets._karyotype import CLASS_NAMES

    model = _load_model(args.model)
    for path in args.images:
        if not path.is_file():
            raise FileNotFoundError(f"no such image: {path}")
    images = [read_grey_image(path) for path in args.images]
    scaled = [_unit_range(image) for image in images]
    X = np.stack(scaled) if len({im.shape for im in scaled}) == 1 else scaled
    try:
        proba = np.asarray(model.predict_proba(X))
    except ImportError as error:
        raise ValueError(str(error)) from None
    best = proba.argmax(axis=1)
    classes = getattr(model, "classes_", np.arange(proba.shape[1]))
    rows = ["image\tclass\tconfidence"]
    for path, k, p in zip(args.images, best, proba):
        index = int(classes[k])
        name = CLASS_NAMES[index] if 0 <= index < len(CLASS_NAMES) else str(index)
        rows.append(f"{path}\t{name}\t{p[k]:.3f}")
    text = "\n".join(rows) + "\n"
    sys.stdout.write(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


def _unit_range(image: np.ndarray) -> np.ndarray:
    """Integer-valued grey levels (8/16-bit files) to [0, 1], as load_chromosome_images does."""
    top = float(image.max()) if image.size else 0.0
    if top > 1.0:
        scale = 255.0 if top <= 255 else 65535.0
        return (image / scale).astype(np.float32)
    return image.astype(np.float32)
