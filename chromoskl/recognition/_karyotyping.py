"""Name the class of every chromosome a metaphase separator found: the step from separated
masks to a karyogram.

The recognition slides classify single chromosomes that a person has cut out; here the cut-outs
come from :class:`chromoskl.metaphase.MetaphaseSeparator`, one per mask, with the grey levels of
the metaphase (percentile-stretched to [0, 1]) inside the mask and black outside, as the slides'
images have a black background.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from ..datasets._karyotype import CLASS_NAMES
from ..metaphase._pictures import cut_out, stretch_grey

__all__ = ["cut_out_chromosomes", "classify_chromosomes", "karyotype_metaphase"]


def cut_out_chromosomes(image, masks, *, margin: int = 3) -> list[np.ndarray]:
    """One float32 crop per mask: the box of the mask plus ``margin`` pixels, the metaphase's
    grey levels (stretched to [0, 1]) inside the mask, 0 outside.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        The metaphase.
    masks : ndarray of bool, shape (k, H, W)
        One mask per chromosome (``MetaphaseSeparator.separate(image).masks``); crossing
        chromosomes share pixels, and each crop keeps the shared ones.
    margin : int, default=3

    Returns
    -------
    crops : list of ndarray of float32
        In the order of ``masks``; an empty mask gives a 1x1 zero crop.
    """
    grey = stretch_grey(image)
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3 or masks.shape[1:] != grey.shape:
        raise ValueError(
            f"masks must have shape (k, {grey.shape[0]}, {grey.shape[1]}) to match the image, "
            f"got {masks.shape}."
        )
    crops = []
    for mask in masks:
        cut = cut_out(grey, mask, margin=margin)
        crops.append(np.zeros((1, 1), np.float32) if cut is None else cut[0].astype(np.float32))
    return crops


def classify_chromosomes(image, masks, classifier, *, source=None) -> Bunch:
    """Classify every separated chromosome of a metaphase into 1-22, X, Y.

    Parameters
    ----------
    image : ndarray of shape (H, W)
        The metaphase.
    masks : ndarray of bool, shape (k, H, W)
        One mask per chromosome, from :class:`chromoskl.metaphase.MetaphaseSeparator`.
    classifier : estimator with ``predict_proba``
        A fitted :class:`chromoskl.ChromosomeClassifier`, or a pipeline that ends in one (or
        in any scikit-learn classifier of the 24 classes). The crops differ in size, so the
        classifier must accept a list of 2-D images of any size: a pipeline with
        ``PadToSquare`` and ``ResizeImages`` (and ``Straightener``) before the network, as
        ``benchmarks/recognition.py`` builds.
    source : sequence of str or None, default=None
        The separator's ``source`` of each mask. Masks whose source is ``"unresolved"`` (a
        cluster of three or more that the segmenter did not split) are not one chromosome, so
        they are not classified: their class is -1 and their confidence NaN.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``chromosomes`` (the crops, list of float32 arrays), ``classes`` int (k,) indices
        0..23 into ``names``' order (-1: not classified), ``names`` list of str ("1".."22",
        "X", "Y", or "?"), ``confidences`` float (k,) (the probability of the chosen class),
        ``proba`` float (k, 24) (NaN rows where not classified).

    Raises
    ------
    ValueError
        If the classifier cannot take the crops (a bare network fitted on one image size), or
        its classes are not the 24 of a karyotype.
    """
    crops = cut_out_chromosomes(image, masks)
    n = len(crops)
    source = ["single"] * n if source is None else [str(s) for s in source]
    if len(source) != n:
        raise ValueError(f"source has {len(source)} entries for {n} masks.")
    chosen = [k for k in range(n) if source[k] != "unresolved"]
    proba = np.full((n, len(CLASS_NAMES)), np.nan)
    if chosen:
        proba[chosen] = _predict_proba(classifier, [crops[k] for k in chosen])
    classes = np.full(n, -1, dtype=np.int64)
    confidences = np.full(n, np.nan)
    if chosen:
        classes[chosen] = np.nanargmax(proba[chosen], axis=1)
        confidences[chosen] = np.nanmax(proba[chosen], axis=1)
    names = [CLASS_NAMES[c] if c >= 0 else "?" for c in classes]
    return Bunch(chromosomes=crops, classes=classes, names=names, confidences=confidences,
                 proba=proba)


def _predict_proba(classifier, crops: list[np.ndarray]) -> np.ndarray:
    """The classifier's (n, 24) probabilities in class-index order, or one clear error."""
    if not hasattr(classifier, "predict_proba"):
        raise ValueError(
            f"the classifier must have predict_proba; got a {type(classifier).__name__}."
        )
    try:
        proba = np.asarray(classifier.predict_proba(crops), dtype=np.float64)
    except (ValueError, TypeError, RuntimeError) as error:
        raise ValueError(
            "the classifier cannot take chromosome crops of different sizes "
            f"({error}); fit and save a pipeline with PadToSquare and ResizeImages (and "
            "Straightener) before the classifier, as benchmarks/recognition.py does."
        ) from None
    classes = np.asarray(getattr(classifier, "classes_", np.arange(proba.shape[1])))
    if proba.ndim != 2 or proba.shape[1] != len(classes) or not np.isin(
        classes, np.arange(len(CLASS_NAMES))
    ).all():
        raise ValueError(
            f"the classifier's classes must be indices among 0..{len(CLASS_NAMES) - 1} (1-22, "
            f"X, Y), got {classes.tolist()}."
        )
    full = np.zeros((len(crops), len(CLASS_NAMES)))
    full[:, classes.astype(int)] = proba
    return full


def karyotype_metaphase(image, result, classifier, karyogram_path, *, report=None, title=None):
    """Classify a separated metaphase, draw its karyogram, and add the classes to a report.

    What ``chromoskl karyogram`` and ``chromoskl serve --classifier`` do with a separator's
    result: :func:`classify_chromosomes`, then :func:`chromoskl.karyogram.plot_karyogram` of
    the classified chromosomes, each straightened
    (:func:`chromoskl.metaphase.gallery_chromosome`).

    Parameters
    ----------
    image : ndarray of shape (H, W)
        The metaphase.
    result : sklearn.utils.Bunch
        ``MetaphaseSeparator.separate(image)``: its ``masks`` and ``source`` are read.
    classifier : estimator with ``predict_proba``
        As for :func:`classify_chromosomes`.
    karyogram_path : str or Path
        Where the karyogram PNG goes.
    report : dict or None, default=None
        A measurements report (``chromoskl separate``'s JSON) whose ``"chromosomes"`` entries,
        in mask order, get ``"class"`` and ``"confidence"`` (None where not classified).
    title : str or None, default=None

    Returns
    -------
    found : sklearn.utils.Bunch
        :func:`classify_chromosomes`' result.
    """
    from ..karyogram import plot_karyogram
    from ..metaphase import gallery_chromosome

    found = classify_chromosomes(image, result.masks, classifier, source=result.source)
    placed = np.flatnonzero(found.classes >= 0)
    grey = stretch_grey(image)
    plot_karyogram([gallery_chromosome(grey, result.masks[k]) for k in placed],
                   found.classes[placed], found.confidences[placed], karyogram_path,
                   title=title)
    if report is not None:
        for entry, name, confidence in zip(report["chromosomes"], found.names,
                                           found.confidences):
            entry["class"] = name
            entry["confidence"] = None if np.isnan(confidence) else round(float(confidence), 4)
    return found
