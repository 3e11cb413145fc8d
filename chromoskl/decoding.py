"""Turn class probabilities into A/B labels that hold on chromosomes the network has not seen.

A network trained on overlapping pairs learns which pixels are chromosome and which are the
overlap from what it sees; which of the two chromosomes is "A" (the smaller, by the labelling
convention) it often learns by heart, for the chromosomes of the training set. On other
chromosomes it then calls A "B", or calls one arm of a chromosome A and the other B. Two
post-processing steps, each a pure function of numpy arrays, mend such errors and are built to
leave a right labelling as it is (the true labels of the synthetic sets and of Pommier's data,
given as one-hot probabilities, come back unchanged):

- :func:`order_by_area` names the chromosomes by the convention itself: A is the one with fewer
  pixels, whatever the network called it.
- :func:`link_crossing_arms` gives each chromosome of a crossing one label: the two arms on
  opposite sides of the overlap belong to one chromosome, the other arm(s) to the other.

:func:`decode_labels` chains them: argmax, then the arms, then the order by area.

Neither step changes which pixels are background, overlap (label 3) or single chromosome
(label 1 or 2): they only exchange 1 and 2 among the pixels that the argmax labels 1 or 2. The
overlap IoU, the background IoU and the union of the two chromosomes are therefore those of
the argmax, by construction.

The first step is this module; the second, with its geometry, is ``chromoskl._crossing_arms``
(re-exported here).
"""

from __future__ import annotations

import numpy as np

from ._crossing_arms import _argmax, _check_proba, link_crossing_arms
from .classes import A_B_EXCHANGED, N_CLASSES

__all__ = [
    "order_by_area", "a_is_larger", "swap_channels_by_area", "link_crossing_arms",
    "decode_labels",
]

ORDERS = ("area", "network")
# Labels with 1 and 2 exchanged, indexed by label: np.take(_EXCHANGE_AB, labels).
_EXCHANGE_AB = np.array(A_B_EXCHANGED, dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _check_labels(labels) -> np.ndarray:
    """Labels as an integer array of shape (H, W) or (n, H, W) with values in 0..3."""
    labels = np.asarray(labels)
    if labels.ndim not in (2, 3):
        raise ValueError(f"labels must have shape (H, W) or (n, H, W), got {labels.shape}.")
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        raise TypeError(
            f"labels must hold integer class labels, got dtype {labels.dtype}; decode "
            "probabilities with decode_labels."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= N_CLASSES):
        bad = labels.min() if labels.min() < 0 else labels.max()
        raise ValueError(
            f"labels holds label {bad}, outside 0..3; labels are 0 background, 1 chromosome A, "
            "2 chromosome B, 3 overlap."
        )
    return labels


# --------------------------------------------------------------------------------------------
# Order by area
# --------------------------------------------------------------------------------------------


def order_by_area(labels) -> np.ndarray:
    """Name the chromosomes by size: per image, exchange labels 1 and 2 if A outgrows B.

    Chromosome A is by convention the smaller of the two. Where the whole of A (labels
    {1, 3}) has more pixels than the whole of B (labels {2, 3}), that is where label 1 has
    more pixels than label 2, the labels 1 and 2 of the image are exchanged; 0 and 3 stay.
    On a tie the image is left as it is (the generators label the smaller *or equal* one A).

    Parameters
    ----------
    labels : array-like of int, shape (H, W) or (n, H, W)
        Labels in ``0..3`` (0 background, 1 A only, 2 B only, 3 overlap); axis 0 indexes the
        images.

    Returns
    -------
    ordered : ndarray of uint8, same shape as ``labels``
        A new array; per image, label 1 has at most as many pixels as label 2.

    Raises
    ------
    ValueError
        If ``labels`` is not 2-D or 3-D, or holds a label outside ``0..3``.
    TypeError
        If ``labels`` does not hold integers.

    Examples
    --------
    >>> import numpy as np
    >>> order_by_area(np.array([[1, 1, 3, 2]]))
    array([[2, 2, 3, 1]], dtype=uint8)
    """
    labels = _check_labels(labels)
    images = labels.reshape((-1, *labels.shape[-2:])).astype(np.uint8)
    exchange = a_is_larger(images)
    images[exchange] = _EXCHANGE_AB[images[exchange]]
    return images.reshape(labels.shape)


def a_is_larger(labels: np.ndarray) -> np.ndarray:
    """Per image of (n, H, W) labels, whether chromosome A ({1, 3}) has more pixels than B
    ({2, 3}): the images :func:`order_by_area` exchanges."""
    # The overlap counts in both, so comparing labels 1 and 2 alone is enough.
    return np.count_nonzero(labels == 1, axis=(1, 2)) > np.count_nonzero(labels == 2, axis=(1, 2))


def swap_channels_by_area(proba: np.ndarray) -> np.ndarray:
    """Exchange channels 1 and 2 of the images whose argmax chromosome A ({1, 3}) has more
    pixels than B ({2, 3}), so that A is the smaller chromosome: the probabilities that match
    :func:`order_by_area` of their argmax."""
    swap = a_is_larger(proba.argmax(axis=1))
    if swap.any():
        proba = proba.copy()
        proba[swap, 1], proba[swap, 2] = proba[swap, 2], proba[swap, 1].copy()
    return proba


# --------------------------------------------------------------------------------------------
# Both
# --------------------------------------------------------------------------------------------


def decode_labels(proba, *, order: str = "area", consistency: bool = True) -> np.ndarray:
    """Labels from class probabilities: argmax, arms of each crossing linked, A the smaller.

    Parameters
    ----------
    proba : array-like of float, shape (n, 4, H, W) or (4, H, W)
        Class probabilities, as ``ChromosomeSegmenter.predict_proba`` returns.
    order : {"area", "network"}, default="area"
        ``"area"`` calls the smaller chromosome A (:func:`order_by_area`), the labelling
        convention, whatever the network called it. ``"network"`` keeps the network's naming.
    consistency : bool, default=True
        Give the arms of each crossing one label per chromosome (:func:`link_crossing_arms`,
        default parameters) before the naming.

    Returns
    -------
    labels : ndarray of uint8, shape (n, H, W), or (H, W) for one image (4, H, W)
        0 background, 1 A only, 2 B only, 3 overlap. Labels 0 and 3 are always those of the
        argmax: only 1 and 2 move.

    Raises
    ------
    ValueError
        If ``proba`` has the wrong shape or non-finite values, or ``order`` is unknown.
    TypeError
        If ``proba`` does not hold floats.

    Examples
    --------
    >>> import numpy as np
    >>> proba = np.zeros((4, 1, 4), dtype=np.float32)
    >>> proba[[1, 1, 3, 2], 0, [0, 1, 2, 3]] = 1.0  # A A overlap B: A outgrows B
    >>> decode_labels(proba)
    array([[2, 2, 3, 1]], dtype=uint8)
    >>> decode_labels(proba, order="network")
    array([[1, 1, 3, 2]], dtype=uint8)
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}.")
    proba_checked = _check_proba(proba)
    labels = link_crossing_arms(proba_checked) if consistency else _argmax(proba_checked)
    if order == "area":
        labels = order_by_area(labels)
    return labels[0] if np.ndim(proba) == 3 else labels
