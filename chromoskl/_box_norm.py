"""BatchNorm statistics per content-box size, for networks run on content boxes.

With ``content_margin`` set, every training batch holds boxes of one size, and BatchNorm
normalises it by that batch's own statistics: a batch of 48x32 boxes is mostly chromosome,
one of 96x96 mostly background, and their statistics differ. Prediction would otherwise
normalise every box by one running average over all sizes. On Pommier's pairs that mismatch
costs the naming of A and B: a box-trained U-Net (base width 24) scored chromosome A IoU
0.868 with one running average, 0.969 with each batch's own statistics and 0.974 with the
statistics of its box size, estimated as here (``benchmarks/RESULTS.md``,
``benchmarks/content_box_normalisation.py``).

So, after ``fit``, the statistics are estimated again for each box size of the training
images (:func:`torch.optim.swa_utils.update_bn`, the cumulative average over batches that
stochastic weight averaging uses), kept as ``box_norm_stats_``, and loaded into the network
for the boxes of that size at prediction. A box size that training never saw takes the
statistics of the nearest size that it did. Written by hand around ``update_bn``: torch's
BatchNorm keeps one set of statistics per layer.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from skorch.utils import is_dataset
from torch.optim.swa_utils import update_bn

from ._batches import tensors_of
from ._content_crops import boxes_by_size, cut_boxes
from ._persistence import uncompiled
from ._validation import check_images

__all__ = ["batchnorm_buffer_names", "statistics_per_box_size", "nearest_size", "size_key",
           "statistics_loaded", "check_statistics", "flat_statistics", "BoxNormStatistics",
           "MAX_IMAGES_PER_SIZE"]

#: The statistics of one box size are estimated from at most this many training images.
MAX_IMAGES_PER_SIZE = 2048


def size_key(height: int, width: int) -> str:
    """The key of a box size in ``box_norm_stats_`` (and in the model file): ``"HxW"``."""
    return f"{int(height)}x{int(width)}"


def _size_of_key(key: str) -> tuple[int, int]:
    height, width = key.split("x")
    return int(height), int(width)


def batchnorm_buffer_names(module: torch.nn.Module) -> list[str]:
    """The state-dict names of every BatchNorm layer's running mean and variance."""
    names = []
    for prefix, layer in module.named_modules():
        if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm) and layer.track_running_stats:
            dot = f"{prefix}." if prefix else ""
            names += [f"{dot}running_mean", f"{dot}running_var"]
    return names


@contextmanager
def _buffers_restored(network, names):
    """Run the body, then copy back the values that the buffers ``names`` had before it."""
    saved = {name: network.get_buffer(name).detach().clone() for name in names}
    try:
        yield
    finally:
        with torch.no_grad():
            for name, value in saved.items():
                network.get_buffer(name).copy_(value)


class _Forward(torch.nn.Module):
    """``update_bn`` calls a module on each batch; this one holds the network (so that
    ``update_bn`` finds its BatchNorm layers) and runs the estimator's forward pass (padding,
    precision, memory format), as training did."""

    def __init__(self, network, forward):
        super().__init__()
        self.network = network
        self._forward = forward

    def forward(self, x):
        return self._forward(x)


def statistics_per_box_size(network, forward, images, boxes, batch_size,
                            max_images=MAX_IMAGES_PER_SIZE) -> dict[str, dict[str, torch.Tensor]]:
    """BatchNorm's running statistics estimated separately for each box size.

    Parameters
    ----------
    network : torch.nn.Module
        The network (uncompiled) whose BatchNorm layers are estimated; its buffers and modes
        are as they were when this returns.
    forward : callable
        Runs the network on a batch (the estimator's ``infer``).
    images : Tensor (n, C, H, W)
        The training images.
    boxes : ndarray (n, 4)
        Their content boxes (:func:`~chromoskl._content_crops.content_boxes`).
    batch_size : int
        As in training, so that each batch's statistics are those training normalised by.
    max_images : int
        Images per size at most (the first ones).

    Returns
    -------
    stats : dict
        ``{"HxW": {buffer name: tensor on the CPU}}``; empty when the network has no
        BatchNorm layer.
    """
    names = batchnorm_buffer_names(network)
    if not names:
        return {}
    wrapper = _Forward(network, forward)
    was_training = network.training
    batch_size = max(int(batch_size), 1)
    stats = {}
    # every buffer, num_batches_tracked too, which update_bn's passes count up
    with _buffers_restored(network, [name for name, _ in network.named_buffers()]):
        try:
            for (height, width), indices in boxes_by_size(boxes).items():
                indices = indices[:max_images]
                crops = cut_boxes(images[torch.as_tensor(indices)], boxes[indices])
                batches = [crops[start : start + batch_size]
                           for start in range(0, len(crops), batch_size)]
                update_bn(batches, wrapper)
                stats[size_key(height, width)] = {
                    name: network.get_buffer(name).detach().cpu().clone() for name in names
                }
        finally:
            network.train(was_training)
    return stats


def nearest_size(height: int, width: int, keys) -> str:
    """The key of ``keys`` nearest to ``height`` x ``width`` (the sum of the two sides'
    differences; on a tie, the larger box)."""
    def distance(key):
        h, w = _size_of_key(key)
        return abs(h - height) + abs(w - width), -(h * w)

    return min(keys, key=distance)


@contextmanager
def statistics_loaded(network, stats: dict | None, height: int, width: int):
    """Run the body with the statistics for ``height`` x ``width`` boxes in ``network``'s
    BatchNorm layers (those of the nearest size estimated), then put the running averages
    back. With no ``stats``, the body runs with the running averages."""
    if not stats:
        yield
        return
    chosen = stats[nearest_size(height, width, stats)]
    with _buffers_restored(network, chosen):
        with torch.no_grad():
            for name, value in chosen.items():
                buffer = network.get_buffer(name)
                buffer.copy_(value.to(buffer.device, buffer.dtype))
        yield


def check_statistics(stats, network, source: str) -> dict[str, dict[str, torch.Tensor]]:
    """Stored per-size statistics checked against ``network``'s buffers.

    Raises
    ------
    ValueError
        If a key is not ``"HxW"`` or a tensor's name or shape is not one of the network's
        BatchNorm buffers.
    """
    expected = {name: tuple(network.get_buffer(name).shape)
                for name in batchnorm_buffer_names(network)}
    checked = {}
    for key, buffers in stats.items():
        try:
            height, width = _size_of_key(key)
            ok = height > 0 and width > 0 and isinstance(buffers, dict) and set(buffers) == set(
                expected) and all(tuple(t.shape) == expected[n] for n, t in buffers.items())
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            raise ValueError(
                f"{source} holds BatchNorm statistics per box size that do not fit its "
                "network: it was damaged or edited; save the model again."
            )
        checked[key] = {name: tensor.float() for name, tensor in buffers.items()}
    return checked


def flat_statistics(stats) -> dict[str, torch.Tensor]:
    """``{"HxW/buffer name": tensor}``: the per-size statistics as one flat dict (for a
    checksum)."""
    return {f"{key}/{name}": tensor for key, buffers in stats.items()
            for name, tensor in buffers.items()}


class BoxNormStatistics:
    """Mixin for the estimator: after ``fit``/``partial_fit`` with ``content_margin`` set,
    estimate BatchNorm's statistics per box size (``box_norm_stats_``); ``predict_proba``
    loads them for each size (:func:`statistics_loaded`).

    ``box_norm_stats_`` is None without ``content_margin`` and for a dataset that is not of
    tensors, ``{}`` for a network without BatchNorm; in both cases prediction uses the
    running averages. The statistics come from every image given to ``fit``, those of an
    internal validation split included.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.box_norm_stats_ = None  # those of an earlier fit no longer fit the weights

    # In partial_fit, after skorch's loop, and not in on_train_end: the callbacks' own
    # on_train_end (keep_best) may still put other weights back after the estimator's.
    def partial_fit(self, X, y=None, classes=None, **fit_params):
        super().partial_fit(X, y=y, classes=classes, **fit_params)
        if getattr(self, "content_margin", None) is not None:
            self.box_norm_stats_ = self._statistics_per_box_size(X)
        return self

    def _statistics_per_box_size(self, X):
        if is_dataset(X):
            tensors = tensors_of(X)
            if tensors is None:
                return None
            images = tensors[0]
        else:
            images = torch.from_numpy(check_images(X))
        batch_size = self.get_params_for("iterator_train").get("batch_size", self.batch_size)
        batch_size = len(images) if batch_size == -1 else batch_size
        return statistics_per_box_size(uncompiled(self.module_), self.infer, images,
                                       self._content_boxes(images), batch_size)
