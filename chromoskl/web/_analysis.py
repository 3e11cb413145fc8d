"""One uploaded image to the files of a result: the chromosomes separated, pictured and
measured as ``chromoskl separate`` does (its pictures and measurements, not a copy of them).

A pair crop goes to the segmenter directly; a whole metaphase to
:class:`~chromoskl.metaphase.MetaphaseSeparator`. :func:`choose_kind` tells them apart by size.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["KINDS", "PAIR_SIZE_FACTOR", "choose_kind", "analyse"]

#: What the user may ask for: decide by size, or say which it is.
KINDS = ("auto", "pair", "metaphase")
#: An image is taken for a pair crop when neither side exceeds this times the side of the
#: segmenter's training images (94x93 for Pommier's pairs: up to 188x186); a metaphase is
#: larger (1024x1536 for DAPI.tif).
PAIR_SIZE_FACTOR = 2


def choose_kind(shape, training_shape, requested: str = "auto") -> str:
    """``"pair"`` or ``"metaphase"``: ``requested``, or by size when it is ``"auto"``.

    Raises
    ------
    ValueError
        For a ``requested`` that is not one of :data:`KINDS`.
    """
    if requested not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {requested!r}.")
    if requested != "auto":
        return requested
    small = all(s <= PAIR_SIZE_FACTOR * t for s, t in zip(shape, training_shape))
    return "pair" if small else "metaphase"


def _pair_result(segmenter, image) -> Bunch:
    """Chromosome A and B of a pair crop, as the fields of a separator's result."""
    from ..classes import labels_to_instances
    from ..metaphase import mask_box, medial_axis_length

    labels = np.asarray(segmenter.predict(image[None]))[0]
    masks = labels_to_instances(labels[None])[0]
    masks = masks[masks.any(axis=(1, 2))]  # a chromosome the segmenter did not find
    return Bunch(
        masks=masks,
        boxes=np.array([mask_box(m) for m in masks], dtype=np.int64).reshape(-1, 4),
        # each is split out of the pair's cluster by the segmenter
        source=np.array(["cluster"] * len(masks), dtype=object),
        area=masks.sum(axis=(1, 2)).astype(np.int64),
        length=np.array([medial_axis_length(m) for m in masks], dtype=np.float64),
        grey_factor=1.0,
        labels=labels.astype(np.uint8),
    )


def _save_input(path: Path, image) -> None:
    """The upload as an 8-bit grey PNG a browser shows, stretched as the overlay's grey."""
    from skimage import io

    from ..metaphase._pictures import stretch_grey

    io.imsave(path, (stretch_grey(image) * 255).round().astype(np.uint8), check_contrast=False)


def _classify(classifier, image, result, report: dict, karyogram: Path) -> list[str]:
    """Name each chromosome's class into ``report`` (as ``chromoskl karyogram``) and draw the
    karyogram of those classified; return the names ("?" for an unresolved mask)."""
    from ..recognition import karyotype_metaphase

    found = karyotype_metaphase(image, result, classifier, karyogram, report=report)
    return found.names


def analyse(image, directory: Path, *, separator, kind: str, name: str,
            classifier=None) -> dict:
    """Separate the chromosomes of ``image`` and write the result's files into ``directory``.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Grey values on the file's scale.
    directory : Path
        The result's own directory.
    separator : MetaphaseSeparator
        With the segmenter; a pair crop goes to ``separator.segmenter`` alone.
    kind : {"auto", "pair", "metaphase"}
        See :func:`choose_kind` (the training shape is ``separator.input_shape``).
    name : str
        The upload's file name, reported (never used as a path).
    classifier : object with predict_proba or None, default=None
        Names the class of each chromosome with
        :func:`chromoskl.recognition.classify_chromosomes`, as ``chromoskl karyogram`` does;
        a karyogram is drawn.

    Returns
    -------
    report : dict
        ``chromoskl separate``'s measurements, with ``kind``, ``warnings`` (those the
        segmenter raised, e.g. on grey values far from its training images) and, with a
        classifier, the ``class`` and ``confidence`` of each chromosome.
    """
    from .._cli_separate import _measurements
    from ..metaphase import save_gallery, save_overlay

    kind = choose_kind(image.shape, separator.input_shape, kind)
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind == "pair":
            result = _pair_result(separator.segmenter, image)
        else:
            result = separator.separate(image)
    seconds = time.perf_counter() - started
    labels = None
    settings = {key: value for key, value in separator.get_params(deep=False).items()
                if key != "segmenter"}
    report = _measurements(result, seconds, Path(name), settings)
    report["kind"] = kind
    report["warnings"] = sorted({str(w.message) for w in caught})
    if classifier is not None:
        labels = _classify(classifier, image, result, report, directory / "karyogram.png")
    _save_input(directory / "input.png", image)
    save_overlay(directory / "overlay.png", image, result.masks)
    save_gallery(directory / "gallery.png", image, result.masks, labels=labels)
    arrays = {"masks": result.masks, "boxes": result.boxes, "source": result.source.astype(str),
              "area": result.area, "length": result.length}
    if kind == "pair":
        arrays["labels"] = result.labels  # 0 background, 1 A, 2 B, 3 overlap
    np.savez_compressed(directory / "instances.npz", **arrays)
    (directory / "measurements.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
