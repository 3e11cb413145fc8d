"""The estimator's forward pass and prediction: any image size, precision, test-time
augmentation, a memory budget, and the naming of A and B.

A mixin of ``ChromosomeSegmenter``, which holds the parameters it reads (``channels_last``,
``tta``, ``ab_decoding``) and ``device_``, ``precision_``, ``intensity_range_``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from skorch.dataset import unpack_data
from skorch.utils import is_dataset, to_tensor

from ._box_norm import statistics_loaded
from ._content_crops import content_boxes, proba_by_content
from ._crossing_arms import _check_proba
from ._geometry import centre_crop, centre_offsets
from ._intensity import warn_if_unlike
from ._persistence import uncompiled
from ._tiling import predict_within_budget
from ._tta import mean_log_proba, tta_kind
from ._validation import check_image_array, check_images, check_label_window
from .classes import labels_to_instances
from .decoding import decode_labels, swap_channels_by_area

__all__ = ["PaddedInference"]

#: Probabilities gathered on the device before one copy to the host.
HOST_COPY_BYTES = 256 * 2**20


class PaddedInference:
    """Mixin: ``infer`` pads to the network's divisor; ``predict*`` and ``score``."""

    def infer(self, x, **fit_params):
        """Pad the batch to the network's divisor, run it, crop every output back.

        ``fit_params`` (such as ``groups``) serve the split and never reach the network.
        """
        x = to_tensor(x, device=self.device_)
        height, width = x.shape[-2:]
        divisor = int(getattr(self.module_, "input_divisor", 1))
        padded = (math.ceil(height / divisor) * divisor, math.ceil(width / divisor) * divisor)
        if padded != (height, width):
            top, left = centre_offsets((height, width), padded)
            bottom, right = padded[0] - height - top, padded[1] - width - left
            # Repeating the edge keeps the padding at the background's grey level whatever the
            # intensity scaling; zeros would be a bright border after standardisation.
            x = F.pad(x, (left, right, top, bottom), mode="replicate")
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.precision_ == "bf16":
            with torch.autocast(torch.device(self.device_).type, dtype=torch.bfloat16):
                output = self.module_(x)
            output = (
                tuple(head.float() for head in output)
                if isinstance(output, (tuple, list)) else output.float()
            )
        else:
            output = self.module_(x)
        if isinstance(output, (tuple, list)):
            return tuple(centre_crop(head, (height, width)) for head in output)
        return centre_crop(output, (height, width))

    def _content_boxes(self, images):
        """The boxes that ``content_margin`` runs the network on, for (n, C, H, W) images
        (:func:`~chromoskl._content_crops.content_boxes` at the network's divisor)."""
        divisor = int(getattr(self.module_, "input_divisor", 1))
        return content_boxes(images, int(self.content_margin), divisor)

    def evaluation_step(self, batch, training=False):
        """Forward pass for prediction; with ``tta`` the log of the mean probability over its
        views (:mod:`chromoskl._tta`), so that the softmax of ``predict_proba`` returns that
        mean."""
        kind = tta_kind(self.tta)
        if kind is None or training:
            return super().evaluation_step(batch, training=training)
        self.check_is_fitted()
        Xi, _ = unpack_data(batch)
        self._set_training(False)
        with torch.no_grad():
            return mean_log_proba(self.infer, to_tensor(Xi, device=self.device_), kind)

    def predict_proba(self, X):
        """Class probabilities, (n, 4, H, W) float32 summing to 1 over axis 1.

        With ``ab_decoding="area"``, channels 1 and 2 are exchanged in the images where the
        chromosome the network called A is the larger one.
        """
        proba = self._network_proba(X)
        return swap_channels_by_area(proba) if self.ab_decoding == "area" else proba

    def _network_proba(self, X):
        reference = getattr(self, "intensity_range_", None)
        if reference is not None and not is_dataset(X):
            warn_if_unlike(X, reference)
        if not is_dataset(X):
            self.check_is_fitted()
            X = check_images(X)
            if getattr(self, "content_margin", None) is not None:
                return proba_by_content(X, self._content_boxes(X), self._proba_of_boxes)
            return self._proba_of_images(X)
        return self._proba_of_dataset(X)

    def _proba_of_boxes(self, crops):
        """Probabilities of content crops of one size, BatchNorm normalising them by the
        statistics of their size (:mod:`chromoskl._box_norm`)."""
        stats = getattr(self, "box_norm_stats_", None)
        with statistics_loaded(uncompiled(self.module_), stats, *crops.shape[-2:]):
            return self._proba_of_images(crops)

    def _proba_of_images(self, X):
        # within the memory budget: smaller batches, or tiles for a very large image
        proba = predict_within_budget(self, X)
        return self._proba_of_dataset(X) if proba is None else proba

    def _proba_of_dataset(self, X):
        """Probabilities of every batch, computed on the device and copied to the host a few
        times (every ``HOST_COPY_BYTES``), not once per batch: each copy makes the host wait
        for the device."""
        nonlinearity = self._get_predict_nonlinearity()
        host, pending, pending_bytes = [], [], 0
        # device=device_ explicitly: skorch's default (and its cached forward during scoring)
        # would use the ``device`` parameter, which may be "auto".
        for output in self.forward_iter(X, training=False, device=self.device_):
            output = output[0] if isinstance(output, tuple) else output
            proba = nonlinearity(output)
            pending.append(proba)
            pending_bytes += proba.numel() * proba.element_size()
            if pending_bytes >= HOST_COPY_BYTES:
                host.append(torch.cat(pending).cpu().numpy())
                pending, pending_bytes = [], 0
        if pending:
            host.append(torch.cat(pending).cpu().numpy())
        proba = host[0] if len(host) == 1 else np.concatenate(host)
        return proba.astype(np.float32, copy=False)

    def predict(self, X):
        """Label masks, (n, H, W) uint8: 0 background, 1 A, 2 B, 3 overlap.

        With ``ab_decoding="area"``, decoded by :func:`chromoskl.decoding.decode_labels`.
        """
        return self.labels_from_proba(self._network_proba(X))

    def labels_from_proba(self, proba):
        """The labels :meth:`predict` decodes from class probabilities, (n, H, W) uint8.

        ``labels_from_proba(predict_proba(X))`` is ``predict(X)`` without a second pass of
        the network: the argmax, or with ``ab_decoding="area"`` the arms of each crossing
        linked and A the smaller (:func:`chromoskl.decoding.decode_labels`).

        Parameters
        ----------
        proba : array-like of float, shape (n, 4, H, W)
            Class probabilities, as :meth:`predict_proba` returns them.
        """
        if self.ab_decoding == "area":
            # Channels named as predict_proba names them first (A the smaller by argmax):
            # linking the arms of a crossing can depend on which channel is A where two
            # arms tie, so the network's naming and predict_proba's could decode apart.
            proba = swap_channels_by_area(_check_proba(proba))
            return decode_labels(proba, order="area", consistency=True)
        return decode_labels(proba, order="network", consistency=False)

    def predict_instances(self, X):
        """The two whole chromosomes, (n, 2, H, W) bool: A = {1, 3}, B = {2, 3}."""
        return labels_to_instances(self.predict(X))

    def score(self, X, y):
        """Overlap-class IoU pooled over every pixel of every image (ARMS Net's main number).

        Predictions larger than ``y`` are cropped centred to its size; smaller labels must be
        a centred crop of padded images, as in ``fit``.
        """
        from ._segmenter_params import network_overlap_iou

        if not is_dataset(X):
            check_label_window(check_image_array(X), np.shape(y)[-2:])
        return network_overlap_iou(self, X, y)

