"""Instance metrics of a separated metaphase: matching, count error, AP50/AP75, crossed IoU.

Each chromosome is one boolean mask; masks may overlap (a pixel where two chromosomes cross
belongs to both), so the masks are compared as sets, not through a label image. The true
and predicted chromosomes are paired by the Hungarian method on their IoU
(:func:`scipy.optimize.linear_sum_assignment`), and the average precision follows COCO
(greedy matching in order of confidence, 101-point interpolated precision); COCO's own code
(pycocotools) works on run-length encodings and JSON files, so the few lines are written here.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["instance_iou", "match_instances", "average_precision", "instance_scores"]

#: COCO's recall points for the interpolated precision.
_RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def _check_masks(masks, name: str) -> np.ndarray:
    array = np.asarray(masks)
    if array.ndim != 3:
        raise ValueError(
            f"{name} must be a stack of masks (n_instances, H, W), got shape {array.shape}."
        )
    return array.astype(bool, copy=False)


def instance_iou(y_true, y_pred) -> np.ndarray:
    """IoU of every true chromosome with every predicted one.

    Parameters
    ----------
    y_true : array-like of bool, shape (n_true, H, W)
    y_pred : array-like of bool, shape (n_pred, H, W)

    Returns
    -------
    iou : ndarray of float64, shape (n_true, n_pred)
        0 where two masks do not meet (and where both are empty).
    """
    y_true, y_pred = _check_masks(y_true, "y_true"), _check_masks(y_pred, "y_pred")
    if y_true.shape[1:] != y_pred.shape[1:]:
        raise ValueError(
            f"y_true and y_pred must have the same image shape, got {y_true.shape[1:]} and "
            f"{y_pred.shape[1:]}."
        )
    if not len(y_true) or not len(y_pred):
        return np.zeros((len(y_true), len(y_pred)))
    # only pixels that some mask holds take part: a few percent of a metaphase
    union_any = y_true.any(axis=0) | y_pred.any(axis=0)
    t = y_true[:, union_any].astype(np.float32)
    p = y_pred[:, union_any].astype(np.float32)
    intersection = (t @ p.T).astype(np.float64)
    union = t.sum(axis=1)[:, None] + p.sum(axis=1)[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)


def match_instances(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair true and predicted chromosomes one to one, maximising the total IoU.

    Returns
    -------
    true_index, pred_index : ndarray of int
        The matched pairs (only those whose IoU is above 0).
    iou : ndarray of float64
        Their IoU.
    """
    iou = instance_iou(y_true, y_pred)
    rows, cols = linear_sum_assignment(iou, maximize=True)
    keep = iou[rows, cols] > 0
    return rows[keep], cols[keep], iou[rows[keep], cols[keep]]


def average_precision(y_true, y_pred, *, iou_threshold: float = 0.5, scores=None) -> float:
    """COCO's average precision of predicted chromosomes at one IoU threshold.

    Predictions are taken in decreasing ``scores`` (their order when None); each is a true
    positive when it has IoU >= ``iou_threshold`` with a true chromosome not yet taken (the
    one of highest IoU), else a false positive. The precision, made non-increasing, is
    averaged over the 101 recall points 0, 0.01, ..., 1, as in COCO (AP50 and AP75 are this
    at 0.5 and 0.75).

    Returns
    -------
    ap : float
        NaN when there is no true chromosome.
    """
    iou = instance_iou(y_true, y_pred)
    n_true, n_pred = iou.shape
    if n_true == 0:
        return float("nan")
    if n_pred == 0:
        return 0.0
    order = (np.arange(n_pred) if scores is None
             else np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort"))
    taken = np.zeros(n_true, dtype=bool)
    hits = np.zeros(n_pred, dtype=bool)
    for rank, k in enumerate(order):
        candidates = np.where(taken, -1.0, iou[:, k])
        best = int(np.argmax(candidates))
        if candidates[best] >= iou_threshold:
            taken[best] = hits[rank] = True
    tp = np.cumsum(hits)
    recall = tp / n_true
    precision = tp / np.arange(1, n_pred + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    index = np.searchsorted(recall, _RECALL_POINTS, side="left")
    sampled = np.where(index < n_pred, precision[np.minimum(index, n_pred - 1)], 0.0)
    return float(sampled.mean())


def instance_scores(y_true, y_pred, *, crossed=None, scores=None) -> dict:
    """The instance scores of one separated metaphase.

    Parameters
    ----------
    y_true : array-like of bool, shape (n_true, H, W)
    y_pred : array-like of bool, shape (n_pred, H, W)
    crossed : array-like of int, shape (n_pairs, 2), optional
        Indices of ``y_true`` that cross each other (``make_metaphase(...).crossed``).
    scores : array-like of float, shape (n_pred,), optional
        Confidence of each prediction, for the AP.

    Returns
    -------
    scores : dict
        - ``n_true``, ``n_pred``; ``count_error``: ``n_pred - n_true`` (signed).
        - ``mean_matched_iou``: mean IoU of the Hungarian pairs (NaN when none).
        - ``ap50``, ``ap75``: COCO average precision at IoU 0.5 and 0.75.
        - with ``crossed``: ``crossed_iou``, the mean over the crossed chromosomes of the IoU
          of their Hungarian match (0 when unmatched), and ``crossed_pairs_separated``, the
          share of crossed pairs whose two chromosomes both match with IoU >= 0.5.
    """
    rows, cols, ious = match_instances(y_true, y_pred)
    n_true, n_pred = len(np.asarray(y_true)), len(np.asarray(y_pred))
    result = {
        "n_true": int(n_true),
        "n_pred": int(n_pred),
        "count_error": int(n_pred - n_true),
        "mean_matched_iou": float(ious.mean()) if len(ious) else float("nan"),
        "ap50": average_precision(y_true, y_pred, iou_threshold=0.5, scores=scores),
        "ap75": average_precision(y_true, y_pred, iou_threshold=0.75, scores=scores),
    }
    if crossed is not None:
        crossed = np.asarray(crossed, dtype=np.int64).reshape(-1, 2)
        best = np.zeros(n_true)
        best[rows] = ious
        if len(crossed):
            result["crossed_iou"] = float(best[crossed].mean())
            result["crossed_pairs_separated"] = float((best[crossed] >= 0.5).all(axis=1).mean())
        else:
            result["crossed_iou"] = result["crossed_pairs_separated"] = float("nan")
    return result
