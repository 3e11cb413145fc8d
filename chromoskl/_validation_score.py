"""The per-epoch validation score, counted from the validation pass that computes the loss.

skorch's ``EpochScoring`` either caches every validation output and scores their
concatenation (which needs outputs of one size, in the dataset's order) or predicts the
validation set a second time. With ``content_margin`` the validation batches are content crops
of several sizes, grouped by size, so only the second way was open: a second forward pass over
the validation set every epoch, after the first had run on whole images for the loss. On
Pommier's pairs that made each epoch of the ``--data`` recipe 23 % longer than its
training steps (``benchmarks/RESULTS.md``, session 42).

Pooled overlap IoU is a ratio of two sums of pixel counts, and sums do not care about batch
order or crop size, so the score can be counted batch by batch from the outputs the
validation loss already computed. The counts stay on the device until the epoch ends: one host
read per epoch, none per step. Written by hand: skorch scores only through a cache or a
second pass, and two sums of tensors do not call for a metrics library as a dependency.

An ``EpochScoring`` of the user's own, on the validation set, must then not cache (crops of
several sizes cannot be concatenated): ``check_segmenter_params`` says so before ``fit``.
"""

from __future__ import annotations

import math

import torch
from skorch.callbacks import Callback
from skorch.dataset import unpack_data

from ._geometry import centre_crop
from .classes import OVERLAP

__all__ = ["ValidationOverlapIoU"]


class ValidationOverlapIoU(Callback):
    """Record the pooled overlap IoU of the network's argmax over each epoch's validation
    batches as ``name`` in the history (NaN where neither the labels nor the argmax hold an
    overlap pixel, as :func:`chromoskl.metrics.overlap_iou`), and ``name + "_best"`` as
    skorch's ``EpochScoring`` does, so that the epoch table marks the best.

    The same number as predicting the validation images again and scoring them with
    :func:`~chromoskl.metrics.overlap_iou`: A/B decoding never changes the overlap class, so
    the network's argmax is scored. Where the validation batches are content crops, the
    overlap pixels of the labels that lie outside every crop (which prediction calls
    background) count as missed (``ContentCropBatches.label_counts_outside``).

    Parameters
    ----------
    name : str, default="valid_overlap_iou"
        The history key.
    """

    def __init__(self, name="valid_overlap_iou"):
        self.name = name

    def on_train_begin(self, net, **kwargs):
        # a fit that continues (warm start, resume) keeps the best of the epochs before it
        scores = [row.get(self.name) for row in net.history]
        scores = [score for score in scores if score is not None and not math.isnan(score)]
        self.best_score_ = max(scores) if scores else None

    def on_epoch_begin(self, net, **kwargs):
        self.intersection_ = None
        self.union_ = None

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs):
        if training or y_pred is None:
            return
        _, y = unpack_data(batch)
        if y is None:
            return
        output = y_pred[0] if isinstance(y_pred, (tuple, list)) else y_pred
        output = centre_crop(output, tuple(y.shape[-2:]))
        predicted = output.argmax(dim=1) == OVERLAP
        true = y.to(predicted.device) == OVERLAP
        intersection = (predicted & true).sum()
        union = (predicted | true).sum()
        if self.intersection_ is None:
            self.intersection_, self.union_ = intersection, union
        else:
            self.intersection_ += intersection
            self.union_ += union

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if self.union_ is None:
            return
        intersection, union = torch.stack([self.intersection_, self.union_]).tolist()
        union += _overlap_pixels_outside_crops(net, dataset_valid)
        score = intersection / union if union else math.nan
        best = not math.isnan(score) and (self.best_score_ is None or score > self.best_score_)
        if best:
            self.best_score_ = score
        net.history.record(self.name, score)
        net.history.record(self.name + "_best", best)


def _overlap_pixels_outside_crops(net, dataset_valid) -> int:
    """Overlap pixels of the validation labels outside their content crops (0 for whole
    images; the iterator is the one cached for this fit, not cut again)."""
    if dataset_valid is None or getattr(net, "content_margin", None) is None:
        return 0
    counts = getattr(net.get_iterator(dataset_valid, training=False), "label_counts_outside",
                     None)
    return int(counts[OVERLAP]) if counts is not None and len(counts) > OVERLAP else 0
