"""``ChromosomeSegmenter``: every architecture of chromoskl as one scikit-learn estimator.

It holds the parameters and builds the parts; each concept is in a module of its own (see
ARCHITECTURE.md at the repository root).
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils import check_random_state
from skorch import NeuralNet
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ._batches import TensorData
from ._box_norm import BoxNormStatistics
from ._device import AutoDevice
from ._inference import PaddedInference
from ._limits import check_network_size
from ._model_file import segmenter_from_file, write_model_file
from ._precision import resolve_precision, warn_if_emulated
from ._segmenter_params import arch_name, check_segmenter_params, n_classes, segmenter_callbacks
from ._training_loop import BudgetedTraining
from .architectures import create_network
from .classes import labels_to_instances  # noqa: F401 (public here too)
from .losses import (
    DeepSupervisionLoss,
    labels_already_checked,
    loss_over_heads,
    orientation_ordered,
    resolve_criterion,
    swap_invariant,
)
from .splits import ValidationSplit

__all__ = ["ChromosomeSegmenter"]


def softmax_over_classes(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the class axis (dim 1) of (N, C, H, W) logits.

    skorch's default for cross-entropy applies the softmax over the last axis, which for
    images is the width.
    """
    return torch.softmax(logits, dim=1)


class ChromosomeSegmenter(
    AutoDevice, BudgetedTraining, BoxNormStatistics, TensorData, PaddedInference, NeuralNet
):
    """Segment images of overlapping chromosomes into background, A, B and overlap.

    A skorch ``NeuralNet`` (not ``NeuralNetClassifier``, whose stratified split and accuracy
    score are wrong for masks) that takes images and per-pixel labels as numpy arrays, so that
    ``GridSearchCV``, ``cross_validate`` with ``GroupKFold``, ``Pipeline``, ``clone`` and
    pickling work as with any scikit-learn estimator.

    Any image size works: each batch is padded (edge values repeated, centred) to the size the
    network needs and its output cropped back, so predictions have the input's height and
    width. Label maps smaller than the images are centred on them (the convention of
    :class:`~chromoskl.transformers.PadToShape`).

    Parameters
    ----------
    arch : str or nn.Module class, default="unet"
        A name of :data:`chromoskl.architectures.ARCHITECTURES` or an ``nn.Module`` class
        whose ``forward`` returns (N, 4, H, W) logits (or a tuple of them, the final map
        first, for deep supervision). ``module__*`` parameters reach its constructor.
    criterion : str or nn.Module class, default="ce"
        A name of :data:`chromoskl.losses.LOSSES` or a loss class called as
        ``criterion(logits, labels)``; ``criterion__*`` parameters reach its constructor.
    optimizer : torch optimizer class, default=torch.optim.Adam
        ``optimizer__*`` parameters (e.g. ``optimizer__weight_decay``) reach it.
    lr : float, default=1e-3
        Learning rate (Adam with 1e-3, as ARMS Net trained).
    max_epochs : int, default=10
    batch_size : int, default=32
    train_split : callable or None, default=ValidationSplit(0.1, random_state=0)
        Internal validation split for the validation loss, the ``valid_overlap_iou`` score,
        early stopping and checkpoints. ``groups`` given to ``fit`` hold out whole groups.
        None trains on every image.
    device : str, default="auto"
        ``"auto"`` uses CUDA when it is available, else the CPU; or any torch device string.
    random_state : int or None, default=None
        Seeds the weights' initialisation, the shuffling, the augmenter (when its own
        ``random_state`` is None) and the global torch generator at the start of ``fit``, so
        that two CPU fits give identical predictions.
    augment : Augmenter or None, default=None
        Joint image/label augmentation applied to every training batch on the model's device
        (never to validation or prediction); cloned at the start of each fit; ``augment__*``
        parameters are searchable.
    tta : {False, True, "dihedral", "shifts"}, default=False
        Test-time augmentation: ``predict_proba`` averages the probabilities over views of
        each image (:mod:`chromoskl._tta`).

        - ``"dihedral"`` (or ``True``): the 8 flips and rotations by 90 degrees. It suits a
          network trained on those views (``augment=Augmenter(hflip=0.5, vflip=0.5,
          rot90=0.5)``): on Pommier's pairs it raised such a network's overlap IoU from 0.955
          to 0.959, and lowered a network trained without them from 0.955 to 0.949, its
          chromosome A IoU from 0.968 to 0.931.
        - ``"shifts"``: the 9 shifts by at most one pixel, which need no training on them. On
          Pommier's pairs they raised the overlap IoU of five networks trained without
          augmentation by 0.002-0.004 (0.953 to 0.957 for one), for 9 times the prediction
          time (``benchmarks/RESULTS.md``).
    patience : int or None, default=None
        Stop when the validation loss has not improved for this many epochs and restore the
        best weights (the papers used 10 and 30). Needs ``train_split``.
    lr_schedule : {None, "step", "plateau", "onecycle"}, default=None
        ``"step"`` halves the learning rate every 10 epochs; ``"plateau"`` halves it when the
        validation loss has not improved for 5 epochs; ``"onecycle"`` raises it from
        ``lr / 25`` to ``lr`` over the first quarter of training and anneals it to almost 0
        (:class:`~chromoskl.schedules.OneCycle`), planned over ``max_epochs`` or, when
        given, over ``max_minutes``. Tune them through ``callbacks__lr_schedule__*``.
    max_minutes : float or None, default=None
        A wall-clock budget for training. Training stops when it is spent (within the batch
        running at that moment) or after ``max_epochs``, whichever comes first; with a
        validation split, the weights of the epoch with the best ``valid_overlap_iou`` are
        kept. A resumed fit counts the time of the epochs already in its history.
    precision : {None, "bf16", "auto"}, default=None
        ``"bf16"`` runs the network under ``torch.autocast`` in bfloat16 (losses are summed
        in float32). For GPUs, and CPUs with bfloat16 instructions (AVX512-BF16, AMX), where
        it can triple the images per second (``benchmarks/RESULTS.md``); elsewhere torch
        emulates it, many times slower than float32, and ``fit`` warns
        (:class:`~chromoskl.PrecisionWarning`). ``"auto"`` takes bf16 where it is fast,
        else float32 (the choice is ``precision_``). float16 is not offered because it needs
        loss scaling.
    channels_last : bool, default=False
        Keep the network's weights and inputs in the channels-last memory format.
    ab_loss : {"fixed", "swap_invariant", "orientation"}, default="fixed"
        ``"swap_invariant"`` trains with :class:`~chromoskl.losses.SwapInvariantLoss`: per
        image, the loss against the labelling or the one with A and B exchanged, whichever
        is lower, so that the network separates the chromosomes without having to know
        which is the smaller. Use it with ``ab_decoding="area"``. ``"orientation"`` trains
        with :class:`~chromoskl.losses.OrientationOrderLoss`, against the labels with the two
        chromosomes named by the order of their axes, which the crossing shows; it needs
        ``ab_decoding="area"``. At short budgets it found the overlap better and it always
        named A and B far worse (``benchmarks/RESULTS.md``, session 43): for when the
        overlap alone counts and time is short. Not one of the papers' settings.
    ab_decoding : {"network", "area"}, default="network"
        How ``predict`` names the two chromosomes. ``"network"`` takes the argmax of the
        network's classes (the papers). ``"area"`` makes each single-chromosome piece take
        one label and then calls the smaller chromosome A
        (:func:`chromoskl.decoding.decode_labels`); ``predict_proba`` swaps its A and B
        channels to match.
    content_margin : int or None, default=None
        None runs the network on whole images. An int cuts each image to a centred box that
        holds its non-background pixels with this many pixels to spare, its sides rounded up
        to the network's divisor, and batches boxes of one size together, in training,
        validation and prediction alike (:mod:`chromoskl._content_crops`); prediction calls
        everything outside the box background. For images on a flat background, such as Pommier's
        pairs, where it makes each epoch several times faster; on a noisy background the box
        is the whole image. After ``fit``, BatchNorm's statistics are estimated again for
        each box size (``box_norm_stats_``, :mod:`chromoskl._box_norm`; 13 s for Pommier's
        10,747 training pairs on 2 CPU cores, after any ``max_minutes`` budget),
        and prediction normalises each box by those of its size. Not one of the papers'
        settings.
    deep_supervision_weights : sequence of float or None, default=None
        Weights of the heads of a deeply supervised network (final map first) in the loss;
        None averages them. ``predict`` and the scores always use the final map. The same as
        ``criterion="deep_supervision", criterion__loss=<criterion>, criterion__weights=...``
        (:class:`~chromoskl.losses.DeepSupervisionLoss`), whose weights are then ignored here.
    label_model : {"classes", "summed_masks"}, default="classes"
        What the network's output maps are. ``"classes"``: one map per class (the papers).
        ``"summed_masks"``: five maps, the values of A's mask (0, 1) and of B's (0, 1, 2),
        whose sum is the class, as in Pommier's generator
        (:class:`~chromoskl.architectures.SummedMasks`); for Pommier's raw labels. The
        network then has 5 output channels; ``predict_proba`` and every loss still see the
        four classes. Not one of the papers' settings.
    verbose : int, default=0
        1 prints a line per epoch; 2 adds a progress bar over the batches (which reads every
        batch's loss, a host synchronisation per step on a GPU).
    **kwargs
        Any other skorch ``NeuralNet`` parameter (``callbacks``, ``iterator_train__*``,
        ``warm_start``, ``module__*``, ``criterion__*``, ``optimizer__*``, ...).

    Attributes
    ----------
    module_ : nn.Module
        The fitted network.
    criterion_ : nn.Module
    optimizer_ : torch.optim.Optimizer
    history_ : skorch.History
        Per-epoch ``train_loss``, ``valid_loss``, ``valid_overlap_iou``, ``dur``.
    device_ : str
        The device actually used.
    augment_ : Augmenter or None
        The augmenter of the current fit.
    classes_ : ndarray
        The class indices, ``[0, 1, 2, 3]``.
    intensity_range_ : tuple of float
        The background and bright grey levels (1st and 99.5th percentiles) of the images of
        the last ``fit``. Prediction warns (``chromoskl.IntensityWarning``) on images far from
        them, such as a raw metaphase given to a model trained on background-subtracted pairs.
    box_norm_stats_ : dict or None
        With ``content_margin``: BatchNorm's running mean and variance estimated for each
        box size of the training images, ``{"HxW": {buffer name: tensor}}`` (empty for a
        network without BatchNorm); None otherwise.

    Examples
    --------
    >>> from chromoskl import ChromosomeSegmenter
    >>> from chromoskl.datasets import make_overlapping_chromosomes
    >>> data = make_overlapping_chromosomes(64, random_state=0)
    >>> seg = ChromosomeSegmenter(max_epochs=1, module__base_channels=8, random_state=0)
    >>> seg.fit(data.images, data.labels).predict(data.images[:2]).shape
    (2, 94, 93)
    """

    prefixes_ = NeuralNet.prefixes_ + ["augment"]

    def __init__(
        self,
        arch="unet",
        *,
        criterion="ce",
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=10,
        batch_size=32,
        train_split=ValidationSplit(0.1, random_state=0),  # noqa: B008 (as skorch's ValidSplit)
        device="auto",
        random_state=None,
        augment=None,
        tta=False,
        patience=None,
        lr_schedule=None,
        max_minutes=None,
        precision=None,
        channels_last=False,
        ab_loss="fixed",
        ab_decoding="network",
        content_margin=None,
        deep_supervision_weights=None,
        label_model="classes",
        verbose=0,
        **kwargs,
    ):
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault("predict_nonlinearity", softmax_over_classes)
        super().__init__(
            module=arch, criterion=criterion, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, train_split=train_split, device=device, verbose=verbose,
            **kwargs,
        )
        # skorch stores the network as ``module``; ours is called ``arch``.
        vars(self).pop("module")
        self.arch = arch
        self.random_state = random_state
        self.augment = augment
        self.tta = tta
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.max_minutes = max_minutes
        self.precision = precision
        self.channels_last = channels_last
        self.ab_loss = ab_loss
        self.ab_decoding = ab_decoding
        self.content_margin = content_margin
        self.deep_supervision_weights = deep_supervision_weights
        self.label_model = label_model

    # ------------------------------------------------------------------ initialisation

    def get_default_callbacks(self):
        return list(super().get_default_callbacks()) + segmenter_callbacks(self)

    def initialize(self):
        """Validate the parameters, resolve the device and seed, then build every part."""
        check_segmenter_params(self)
        self._resolve_device()
        self.precision_ = resolve_precision(self.precision, self.device_)
        warn_if_emulated(self.precision_, self.device_)
        seed, self.shuffle_generator_ = None, None
        if self.random_state is not None:
            seed = int(check_random_state(self.random_state).randint(2**31 - 1))
            # Seeds the weights' initialisation and everything random during fit (dropout).
            torch.manual_seed(seed)
            self.shuffle_generator_ = torch.Generator().manual_seed(seed)
        with self._skorch_sees_resolved_device():
            super().initialize()
        self.augment_ = None
        if self.augment is not None:
            self.augment_ = clone(self.augment).set_params(**self.get_params_for("augment"))
            if seed is not None and getattr(self.augment_, "random_state", 0) is None:
                self.augment_.set_params(random_state=seed)
        self.classes_ = np.arange(n_classes(self))
        return self

    def set_params(self, **kwargs):
        # augment__* only change the augmenter cloned at the next fit; skorch, which
        # re-initialises modules for prefixed params, does not know this prefix.
        for name in [k for k in kwargs if k.startswith("augment__")]:
            setattr(self, name, kwargs.pop(name))
        super().set_params(**kwargs)  # AutoDevice moves the parts for a new device
        if "device" in kwargs and getattr(self, "initialized_", False):
            self.precision_ = resolve_precision(self.precision, self.device_)
        return self

    def __setstate__(self, state):
        super().__setstate__(state)
        if "precision" in state:
            self.precision_ = resolve_precision(self.precision, self.device_)

    def initialize_module(self):
        """Build the network, after checking on torch's ``meta`` device that it fits in memory."""
        kwargs = self.get_params_for("module")
        build = partial(create_network, self.arch, self.label_model, **kwargs)
        check_network_size(build, arch_name(self.arch))
        self.module_ = build()
        if self.channels_last:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    def initialize_criterion(self):
        """Build the loss; ``ab_loss`` other than "fixed" wraps it (inside deep supervision)."""
        self.criterion_ = resolve_criterion(self.criterion)(**self.get_params_for("criterion"))
        if self.ab_loss == "swap_invariant":
            self.criterion_ = swap_invariant(self.criterion_)
        elif self.ab_loss == "orientation":
            self.criterion_ = orientation_ordered(self.criterion_)
        return self

    # ------------------------------------------------------------------ training

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion on the final map, or its weighted mean over deep-supervision maps
        (:func:`~chromoskl.losses.loss_over_heads` with ``deep_supervision_weights``)."""
        y_true = to_tensor(y_true, device=self.device_)
        checked = getattr(self, "labels_checked_", False)
        with labels_already_checked() if checked else nullcontext():
            if isinstance(self.criterion_, DeepSupervisionLoss):
                return self.criterion_(y_pred, y_true)
            return loss_over_heads(self.criterion_, y_pred, y_true, self.deep_supervision_weights)

    def train_step_single(self, batch, **fit_params):
        """One training step; the batch is augmented on the device first when asked.

        Returns skorch's ``loss`` and ``y_pred``, and ``y_true``: the labels the loss was
        computed against (augmented with the images), which callbacks' ``on_batch_end``
        receives with them.
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        if self.augment_ is not None:
            Xi, yi = self.augment_.augment_batch(
                to_tensor(Xi, device=self.device_), to_tensor(yi, device=self.device_)
            )
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred, "y_true": yi}

    # ------------------------------------------------------------------ persistence

    def save(self, path):
        """Write the weights and the parameters to one file, whole or not at all.

        The file holds only tensors, numbers and strings, so
        ``torch.load(path, weights_only=True)`` reads it and it cannot run code. The
        parameters that cannot be written that way (callbacks, an ``nn.Module`` class given as
        ``arch``, an augmenter) are left out: pass them again to :meth:`load`.
        """
        write_model_file(self, path)
        return self

    @classmethod
    def load(cls, path, **params):
        """Rebuild a segmenter written by :meth:`save`; ``params`` override the stored ones.

        A model saved for a device this machine lacks (``cuda`` on a CPU machine) runs on the
        CPU, with a ``DeviceWarning``. The file's parameters must build a network of exactly
        the stored weights' shapes (checked on torch's ``meta`` device, before anything is
        allocated), and the weights must match the checksum written by :meth:`save`.
        """
        return segmenter_from_file(cls, path, params)

    def export(self, path, *, format=None, image_shape=None):
        """Write the prediction (padding, network, softmax, A/B decoding) as an ONNX or a
        TorchScript file taking (N, C, H, W) float32 images; see :mod:`chromoskl.export`.

        ``format`` is ``"onnx"`` or ``"torchscript"``, by default from the suffix of ``path``
        (``.onnx``; ``.pt`` or ``.ts``); ``image_shape=(H, W)`` exports for that size only.
        """
        from .export import export_segmenter

        export_segmenter(self, path, format=format, image_shape=image_shape)
        return self

    def __repr__(self):
        changed = {
            k: v
            for k, v in self.get_params(deep=False).items()
            if k in ("arch", "criterion", "max_epochs", "batch_size", "lr", "device")
            or k.startswith(("module__", "criterion__"))
        }
        inner = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        state = "fitted" if getattr(self, "initialized_", False) else "unfitted"
        return f"ChromosomeSegmenter({inner}) [{state}]"

