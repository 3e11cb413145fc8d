"""The class (1-22, X, Y) of each separated chromosome, for the page's karyogram.

The one call the web application makes to a classifier. ``chromoskl karyogram`` (issue 11)
will classify the separated chromosomes of a metaphase the same way; when its function is in
the package, this module calls it instead of its own steps.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

__all__ = ["classify_separated"]


def _unit_grey(image) -> np.ndarray:
    """Grey values to [0, 1] by the image's 1st and 99.8th percentiles, as the pictures."""
    low, high = np.percentile(image, [1.0, 99.8])
    return np.clip((image - low) / max(high - low, 1e-12), 0.0, 1.0).astype(np.float32)


def classify_separated(classifier, image, masks) -> Bunch:
    """Straighten every separated chromosome and name its class.

    Parameters
    ----------
    classifier : object with ``predict_proba``
        A fitted :class:`~chromoskl.ChromosomeClassifier`, or a pipeline ending in one, that
        takes a list of single-chromosome images with grey values in [0, 1].
    image : ndarray of shape (H, W)
        The metaphase (or pair crop).
    masks : ndarray of bool, shape (k, H, W)
        One mask per chromosome.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``names`` (list of str, "1".."22", "X", "Y"), ``confidences`` (float ``(k,)``, the
        probability of the chosen class) and ``chromosomes`` (the straightened images).
    """
    from ..datasets._karyotype import CLASS_NAMES
    from ..recognition import straighten

    grey = _unit_grey(np.asarray(image, dtype=np.float64))
    chromosomes = [straighten(np.where(mask, grey, 0.0), mask) for mask in masks]
    same = len({c.shape for c in chromosomes}) == 1
    proba = np.asarray(classifier.predict_proba(np.stack(chromosomes) if same
                                                else chromosomes))
    best = proba.argmax(axis=1)
    classes = np.asarray(getattr(classifier, "classes_", np.arange(proba.shape[1])))
    names = [CLASS_NAMES[int(classes[k])] for k in best]
    return Bunch(names=names, confidences=proba[np.arange(len(best)), best],
                 chromosomes=chromosomes)
