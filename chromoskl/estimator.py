"""``ChromosomeSegmenter``: every architecture of chromoskl as one scikit-learn estimator."""

from __future__ import annotations

import inspect
import json
import math
import time
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.utils import check_random_state
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, EpochScoring, LRScheduler, ProgressBar
from skorch.dataset import Dataset, unpack_data
from skorch.utils import is_dataset, to_tensor

from . import __version__
from ._batches import TensorBatches, tensors_of
from ._device import device_or_cpu, resolve_device
from ._geometry import centre_crop, centre_offsets
from ._intensity import intensity_range, warn_if_unlike
from ._limits import check_images_suit_network, check_network_size
from ._model_file import check_network_fits_weights, read_model_file
from ._persistence import atomic_torch_save, history_from_json, history_to_json, weights_checksum
from ._precision import PRECISIONS, resolve_precision
from ._tiling import predict_within_budget
from ._validation import (
    check_image_array,
    check_images,
    check_images_and_labels,
    check_label_window,
)
from .architectures import resolve_architecture
from .decoding import a_is_larger, decode_labels
from .losses import SwapInvariantLoss, labels_already_checked, resolve_criterion
from .schedules import KeepBestWeights, OneCycle
from .splits import ValidationSplit

__all__ = ["ChromosomeSegmenter"]

#: class indices of the two whole chromosomes (DESIGN: A = {1, 3}, B = {2, 3})
CHROMOSOME_CLASSES = ((1, 3), (2, 3))
_FORMAT = "chromoskl-model"
_LR_SCHEDULES = (None, "step", "plateau", "onecycle")
_AB_LOSSES = ("fixed", "swap_invariant")
_AB_DECODINGS = ("network", "area")


def softmax_over_classes(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the class axis (dim 1) of (N, C, H, W) logits.

    skorch's default for cross-entropy applies the softmax over the last axis, which for
    images is the width.
    """
    return torch.softmax(logits, dim=1)


def _dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th of the 8 flips/rotations by 90 degrees of the last two axes."""
    x = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if k >= 4 else x


def _undo_dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    if k >= 4:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, -(k % 4), dims=(-2, -1))


class ChromosomeSegmenter(NeuralNet):
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
    tta : bool, default=False
        Test-time augmentation: ``predict_proba`` averages the probabilities over the 8
        flips and rotations by 90 degrees.
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
        it can triple the images per second (``benchmarks/RESULTS.md``); elsewhere it is
        slower than float32. ``"auto"`` takes bf16 where it is fast, else float32 (the
        choice is ``precision_``). float16 is not offered because it needs loss scaling.
    channels_last : bool, default=False
        Keep the network's weights and inputs in the channels-last memory format.
    ab_loss : {"fixed", "swap_invariant"}, default="fixed"
        ``"swap_invariant"`` trains with :class:`~chromoskl.losses.SwapInvariantLoss`: per
        image, the loss against the labelling or the one with A and B exchanged, whichever
        is lower, so that the network separates the chromosomes without having to know
        which is the smaller. Use it with ``ab_decoding="area"``.
    ab_decoding : {"network", "area"}, default="network"
        How ``predict`` names the two chromosomes. ``"network"`` takes the argmax of the
        network's classes (the papers). ``"area"`` makes each single-chromosome piece take
        one label and then calls the smaller chromosome A
        (:func:`chromoskl.decoding.decode_labels`); ``predict_proba`` swaps its A and B
        channels to match.
    deep_supervision_weights : sequence of float or None, default=None
        Weights of the heads of a deeply supervised network (final map first) in the loss;
        None averages them. ``predict`` and the scores always use the final map.
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
        deep_supervision_weights=None,
        verbose=0,
        **kwargs,
    ):
        kwargs.setdefault("iterator_train__shuffle", True)
        kwargs.setdefault("predict_nonlinearity", softmax_over_classes)
        super().__init__(
            module=arch,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
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
        self.deep_supervision_weights = deep_supervision_weights

    # ------------------------------------------------------------------ initialisation

    def _check_segmenter_params(self):
        """Collect every bad argument into one ValueError, as skorch's ``_validate_params``."""
        problems = []
        try:
            resolve_architecture(self.arch)
        except (KeyError, TypeError) as error:
            problems.append(str(error).strip("'\""))
        try:
            resolve_criterion(self.criterion)
        except (ValueError, TypeError) as error:
            problems.append(str(error))
        if self.lr_schedule not in _LR_SCHEDULES:
            problems.append(
                f"lr_schedule must be one of {_LR_SCHEDULES}, got {self.lr_schedule!r}."
            )
        for name, allowed in (
            ("precision", PRECISIONS), ("ab_loss", _AB_LOSSES), ("ab_decoding", _AB_DECODINGS)
        ):
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {allowed}, got {getattr(self, name)!r}.")
        if self.max_minutes is not None and not (
            isinstance(self.max_minutes, (int, float)) and self.max_minutes > 0
        ):
            problems.append(
                f"max_minutes must be a positive number of minutes or None, got "
                f"{self.max_minutes!r}."
            )
        if self.patience is not None:
            if not isinstance(self.patience, int) or self.patience < 1:
                problems.append(f"patience must be a positive int or None, got {self.patience!r}.")
            elif not self.train_split:
                problems.append(
                    "patience (early stopping) needs a validation split: keep train_split or "
                    "set patience=None."
                )
        if self.lr_schedule == "plateau" and not self.train_split:
            problems.append("lr_schedule='plateau' watches the validation loss: keep train_split.")
        if self.augment is not None and not hasattr(self.augment, "augment_batch"):
            problems.append(
                "augment must be a chromoskl.augmentation.Augmenter (an object with "
                f"augment_batch(X, y)), got {self.augment!r}."
            )
        size = self.batch_size
        if not isinstance(size, int) or not (size >= 1 or size == -1):
            problems.append(f"batch_size must be a positive int (or -1), got {self.batch_size!r}.")
        if problems:
            raise ValueError("Invalid ChromosomeSegmenter parameters:\n- " + "\n- ".join(problems))

    def get_default_callbacks(self):
        callbacks = list(super().get_default_callbacks())
        callbacks.append(
            (
                "valid_overlap_iou",
                EpochScoring(
                    _overlap_iou_score, lower_is_better=False, name="valid_overlap_iou"
                ),
            )
        )
        if self.patience:
            callbacks.append(
                ("early_stopping", EarlyStopping(patience=self.patience, load_best=True))
            )
        if self.lr_schedule == "step":
            callbacks.append(
                ("lr_schedule", LRScheduler("StepLR", step_size=10, gamma=0.5))
            )
        elif self.lr_schedule == "plateau":
            callbacks.append(
                (
                    "lr_schedule",
                    LRScheduler("ReduceLROnPlateau", monitor="valid_loss", patience=5, factor=0.5),
                )
            )
        elif self.lr_schedule == "onecycle":
            callbacks.append(("lr_schedule", OneCycle()))
        if self.max_minutes and self.train_split and not self.patience:
            callbacks.append(("keep_best", KeepBestWeights("valid_overlap_iou")))
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks

    def initialize(self):
        """Validate the parameters, resolve the device and seed, then build every part."""
        self._check_segmenter_params()
        self.device_ = resolve_device(self.device)
        self.precision_ = resolve_precision(self.precision, self.device_)
        if self.random_state is not None:
            seed = int(check_random_state(self.random_state).randint(2**31 - 1))
            # Seeds the weights' initialisation and everything random during fit (dropout).
            torch.manual_seed(seed)
            self.shuffle_generator_ = torch.Generator().manual_seed(seed)
        else:
            seed, self.shuffle_generator_ = None, None
        with self._skorch_sees_resolved_device():
            super().initialize()
        self.augment_ = None
        if self.augment is not None:
            self.augment_ = clone(self.augment).set_params(**self.get_params_for("augment"))
            if seed is not None and getattr(self.augment_, "random_state", 0) is None:
                self.augment_.set_params(random_state=seed)
        self.classes_ = np.arange(self._n_classes())
        return self

    @contextmanager
    def _skorch_sees_resolved_device(self):
        """Let skorch's own initialisation move modules to ``device_``, not to ``"auto"``."""
        requested = self.device
        vars(self)["device"] = self.device_
        try:
            yield
        finally:
            vars(self)["device"] = requested

    def set_params(self, **kwargs):
        # augment__* only change the augmenter cloned at the next fit; skorch, which
        # re-initialises modules for prefixed params, does not know this prefix.
        for name in [k for k in kwargs if k.startswith("augment__")]:
            setattr(self, name, kwargs.pop(name))
        if not getattr(self, "initialized_", False):
            return super().set_params(**kwargs)
        if "device" in kwargs:
            vars(self)["device"] = kwargs.pop("device")
            self.device_ = resolve_device(self.device)
            self.precision_ = resolve_precision(self.precision, self.device_)
            for name in self._modules + self._criteria:
                part = getattr(self, name + "_", None)
                if isinstance(part, torch.nn.Module):
                    part.to(self.device_)
        # set_params re-initialises the module when module__* changes: skorch then moves it
        with self._skorch_sees_resolved_device():
            super().set_params(**kwargs)
        return self

    def __setstate__(self, state):
        requested = state["device"]
        # skorch's own __setstate__ falls back to the CPU for a CUDA device this machine lacks
        state["device"] = resolve_device(requested) if requested == "auto" else requested
        super().__setstate__(state)
        # skorch may have fallen back to the CPU when the pickle came from a GPU machine
        self.device_ = self.device
        vars(self)["device"] = requested if requested == "auto" else self.device
        if "precision" in state:
            self.precision_ = resolve_precision(self.precision, self.device_)

    def initialize_module(self):
        """Build the network, after checking on torch's ``meta`` device that it fits in memory."""
        kwargs = self.get_params_for("module")
        network = resolve_architecture(self.arch)
        check_network_size(lambda: network(**kwargs), _arch_name(self.arch))
        self.module_ = network(**kwargs)
        if self.channels_last:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    def initialize_criterion(self):
        kwargs = self.get_params_for("criterion")
        self.criterion_ = resolve_criterion(self.criterion)(**kwargs)
        if self.ab_loss == "swap_invariant":
            self.criterion_ = SwapInvariantLoss(self.criterion_)
        return self

    def _n_classes(self) -> int:
        """Number of classes: ``module__out_channels``, else the network's default."""
        classes = self._module_int("out_channels")
        return 4 if classes is None else classes

    def _module_int(self, name: str) -> int | None:
        """An integer parameter of the network: ``module__<name>``, else its default, else
        None (a network without that parameter)."""
        module_params = self.get_params_for("module")
        if name in module_params:
            return int(module_params[name])
        try:
            signature = inspect.signature(resolve_architecture(self.arch))
            return int(signature.parameters[name].default)
        except (KeyError, TypeError, ValueError):
            return None

    # ------------------------------------------------------------------ data

    def get_dataset(self, X, y=None):
        """Check images (and labels) and wrap them, as tensors, in a skorch ``Dataset``.

        Images become float32 (n, C, H, W); labels int64 (n, H, W), centred on the images when
        they are smaller. Labels checked here are not checked again by the loss of each batch.
        """
        if is_dataset(X):
            self.labels_checked_ = False
            return X
        if y is None:
            return Dataset(torch.from_numpy(check_images(X)), None)
        images, labels = check_images_and_labels(X, y, n_classes=self._n_classes())
        self.labels_checked_ = True
        return Dataset(torch.from_numpy(images), torch.from_numpy(labels))

    def get_iterator(self, dataset, training=False):
        """Batches indexed from whole tensors moved to the device once
        (:class:`~chromoskl._batches.TensorBatches`), shuffled from the seeded generator.

        Datasets of other kinds, and iterators given options other than ``batch_size`` and
        ``shuffle`` (``num_workers``, ...), go through skorch's ``DataLoader``.
        """
        generator = getattr(self, "shuffle_generator_", None) if training else None
        options = self.get_params_for("iterator_train" if training else "iterator_valid")
        tensors = tensors_of(dataset)
        if tensors is not None and set(options) <= {"batch_size", "shuffle"}:
            batch_size = options.get("batch_size", self.batch_size)
            return TensorBatches(
                *tensors,
                batch_size=len(dataset) if batch_size == -1 else batch_size,
                shuffle=training and options.get("shuffle", True),
                generator=generator,
                device=self.device_,
            )
        if generator is None:
            return super().get_iterator(dataset, training=training)
        kwargs = {"batch_size": self.batch_size, "generator": generator, **options}
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        return self.iterator_train(dataset, **kwargs)

    # ------------------------------------------------------------------ the training loop

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Check that the images suit the network, record ``intensity_range_`` (the grey levels
        prediction compares new images with) and start the clock of ``max_minutes``, less the
        time of epochs already trained. ``fit`` and ``partial_fit`` both pass here."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if X is not None and not is_dataset(X):
            check_images_suit_network(
                check_image_array(X).shape, self._module_int("in_channels"),
                int(getattr(self.module_, "input_divisor", 1)), _arch_name(self.arch),
            )
            self.intensity_range_ = intensity_range(X)
        self.deadline_ = None
        if self.max_minutes:
            spent = sum(row.get("dur", 0.0) for row in self.history)
            self.deadline_ = time.monotonic() + 60.0 * self.max_minutes - spent

    def _budget_spent(self) -> bool:
        deadline = getattr(self, "deadline_", None)
        return deadline is not None and time.monotonic() >= deadline

    def notify(self, method_name, **cb_kwargs):
        """skorch's ``notify``; once every callback has seen the end of an epoch, stop when the
        time budget is spent (by ``KeyboardInterrupt``, as skorch's ``EarlyStopping`` stops)."""
        super().notify(method_name, **cb_kwargs)
        if method_name == "on_epoch_end" and self._budget_spent():
            raise KeyboardInterrupt

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch, with two changes for training.

        - Each batch's loss stays a tensor until the epoch ends, then all are read at once:
          ``loss.item()`` per batch would make the host wait for the device at every step.
          With ``verbose >= 2`` the progress bar shows each loss, so they are read at once.
        - When ``max_minutes`` is spent, the remaining batches are skipped (after the first).
        """
        if iterator is None or not training:
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        deferred = self.verbose < 2
        batch_count = 0
        for batch in iterator:
            if batch_count and self._budget_spent():
                break
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            loss = step["loss"].detach()
            self.history.record_batch(prefix + "_loss", loss if deferred else loss.item())
            self.history.record_batch(prefix + "_batch_size", len(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
        if deferred and batch_count:
            rows = self.history[-1]["batches"][-batch_count:]
            values = torch.stack([row[prefix + "_loss"] for row in rows]).float().tolist()
            for row, value in zip(rows, values):
                row[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", batch_count)

    # ------------------------------------------------------------------ forward and loss

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

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion on the final map, or the weighted mean over deep-supervision heads."""
        y_true = to_tensor(y_true, device=self.device_)
        checked = getattr(self, "labels_checked_", False)
        with labels_already_checked() if checked else nullcontext():
            return self._criterion_over_heads(y_pred, y_true)

    def _criterion_over_heads(self, y_pred, y_true):
        if not isinstance(y_pred, (tuple, list)):
            return self.criterion_(y_pred, y_true)
        weights = self.deep_supervision_weights
        if weights is None:
            weights = [1.0] * len(y_pred)
        if len(weights) != len(y_pred):
            raise ValueError(
                f"deep_supervision_weights has {len(weights)} weights but the network returns "
                f"{len(y_pred)} maps; give one weight per map (final map first)."
            )
        total = sum(w * self.criterion_(head, y_true) for w, head in zip(weights, y_pred))
        return total / float(sum(weights))

    def train_step_single(self, batch, **fit_params):
        """One training step; the batch is augmented on the device first when asked."""
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        if self.augment_ is not None:
            Xi, yi = self.augment_.augment_batch(
                to_tensor(Xi, device=self.device_), to_tensor(yi, device=self.device_)
            )
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def evaluation_step(self, batch, training=False):
        """Forward pass for prediction; with ``tta`` the log of the mean probability over the
        8 flips/rotations, so that the softmax of ``predict_proba`` returns that mean."""
        if not self.tta or training:
            return super().evaluation_step(batch, training=training)
        self.check_is_fitted()
        Xi, _ = unpack_data(batch)
        Xi = to_tensor(Xi, device=self.device_)
        self._set_training(False)
        with torch.no_grad():
            total = 0.0
            for k in range(8):
                logits = self.infer(_dihedral(Xi, k))
                logits = logits[0] if isinstance(logits, tuple) else logits
                total = total + _undo_dihedral(torch.softmax(logits, dim=1), k)
            return torch.log((total / 8).clamp_min(1e-12))

    # ------------------------------------------------------------------ prediction

    def predict_proba(self, X):
        """Class probabilities, (n, 4, H, W) float32 summing to 1 over axis 1.

        With ``ab_decoding="area"``, channels 1 and 2 are exchanged in the images where the
        chromosome the network called A is the larger one.
        """
        proba = self._network_proba(X)
        if self.ab_decoding == "area":
            proba = swap_channels_by_area(proba)
        return proba

    def _network_proba(self, X):
        reference = getattr(self, "intensity_range_", None)
        if reference is not None and not is_dataset(X):
            warn_if_unlike(X, reference)
        if not is_dataset(X):
            # within the memory budget: smaller batches, or tiles for a very large image
            self.check_is_fitted()
            X = check_images(X)
            proba = predict_within_budget(self, X)
            if proba is not None:
                return proba
        nonlinearity = self._get_predict_nonlinearity()
        chunks = []
        # device="cpu" explicitly: skorch's default (and its cached forward during scoring)
        # would use the ``device`` parameter, which may be "auto".
        for output in self.forward_iter(X, training=False, device="cpu"):
            output = output[0] if isinstance(output, tuple) else output
            chunks.append(nonlinearity(output).numpy())
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def predict(self, X):
        """Label masks, (n, H, W) uint8: 0 background, 1 A, 2 B, 3 overlap.

        With ``ab_decoding="area"``, decoded by :func:`chromoskl.decoding.decode_labels`.
        """
        proba = self._network_proba(X)
        if self.ab_decoding == "area":
            return decode_labels(proba, order="area", consistency=True)
        return proba.argmax(axis=1).astype(np.uint8)

    def predict_instances(self, X):
        """The two whole chromosomes, (n, 2, H, W) bool: A = {1, 3}, B = {2, 3}."""
        return labels_to_instances(self.predict(X))

    def score(self, X, y):
        """Overlap-class IoU pooled over every pixel of every image (ARMS Net's main number).

        Predictions larger than ``y`` are cropped centred to its size; smaller labels must be
        a centred crop of padded images, as in ``fit``.
        """
        if not is_dataset(X):
            check_label_window(check_image_array(X), np.shape(y)[-2:])
        return _overlap_iou_score(self, X, y)

    # ------------------------------------------------------------------ persistence

    def save(self, path):
        """Write the weights and the parameters to one file, whole or not at all.

        The file holds only tensors, numbers and strings, so
        ``torch.load(path, weights_only=True)`` reads it and it cannot run code. The
        parameters that cannot be written that way (callbacks, an ``nn.Module`` class given as
        ``arch``, an augmenter) are left out: pass them again to :meth:`load`.
        """
        self.check_is_fitted()
        weights = {k: v.detach().cpu() for k, v in _uncompiled(self.module_).state_dict().items()}
        payload = {
            "format": _FORMAT,
            "chromoskl_version": __version__,
            "params": json.dumps(self._portable_params()),
            "arch": self.arch if isinstance(self.arch, str) else _qualified_name(self.arch),
            "state_dict": weights,
            "weights_sha256": weights_checksum(weights),
            "history": history_to_json(self.history_),
            "intensity_range": list(getattr(self, "intensity_range_", None) or []),
        }
        atomic_torch_save(payload, path)
        return self

    @classmethod
    def load(cls, path, **params):
        """Rebuild a segmenter written by :meth:`save`; ``params`` override the stored ones.

        A model saved for a device this machine lacks (``cuda`` on a CPU machine) runs on the
        CPU, with a ``DeviceWarning``. The file's parameters must build a network of exactly
        the stored weights' shapes (checked on torch's ``meta`` device, before anything is
        allocated), and the weights must match the checksum written by :meth:`save`.
        """
        payload = read_model_file(path, _FORMAT)
        stored = payload["params"]
        if "arch" not in stored and "arch" not in params:
            raise ValueError(
                f"{path} was saved with a custom architecture class ({payload.get('arch')}); "
                "pass it again: ChromosomeSegmenter.load(path, arch=ThatClass)."
            )
        if "device" not in params and "device" in stored:
            stored["device"] = device_or_cpu(stored["device"], source=f"The model {path}")
        seg = cls(**{**stored, **params})
        seg._check_segmenter_params()
        check_network_fits_weights(
            resolve_architecture(seg.arch), seg.get_params_for("module"), payload["state_dict"],
            path,
        )
        seg.initialize()
        _uncompiled(seg.module_).load_state_dict(payload["state_dict"])
        seg.module_.to(seg.device_)
        seg.history_ = history_from_json(payload["history"])
        if payload.get("intensity_range"):  # absent from files of chromoskl before it
            seg.intensity_range_ = tuple(float(v) for v in payload["intensity_range"])
        return seg

    def export(self, path, *, format=None, image_shape=None):
        """Write the prediction (padding, network, softmax, A/B decoding) as an ONNX or a
        TorchScript file taking (N, C, H, W) float32 images; see :mod:`chromoskl.export`.

        ``format`` is ``"onnx"`` or ``"torchscript"``, by default from the suffix of ``path``
        (``.onnx``; ``.pt`` or ``.ts``); ``image_shape=(H, W)`` exports for that size only.
        """
        from .export import export_segmenter

        export_segmenter(self, path, format=format, image_shape=image_shape)
        return self

    def _portable_params(self) -> dict:
        """The parameters that JSON can hold (names of registered parts, numbers, strings)."""
        params = {}
        for name, value in self.get_params(deep=False).items():
            if name.startswith("callbacks"):
                continue
            try:
                json.dumps(value)
            except TypeError:
                continue
            params[name] = value
        return params

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


def labels_to_instances(labels: np.ndarray) -> np.ndarray:
    """Split label masks (n, H, W) into whole-chromosome masks (n, 2, H, W) bool."""
    labels = np.asarray(labels)
    return np.stack([np.isin(labels, classes) for classes in CHROMOSOME_CLASSES], axis=1)


def swap_channels_by_area(proba: np.ndarray) -> np.ndarray:
    """Exchange channels 1 and 2 of the images whose argmax chromosome A ({1, 3}) has more
    pixels than B ({2, 3}), so that A is the smaller chromosome."""
    swap = a_is_larger(proba.argmax(axis=1))
    if swap.any():
        proba = proba.copy()
        proba[swap, 1], proba[swap, 2] = proba[swap, 2], proba[swap, 1].copy()
    return proba


def _uncompiled(module: torch.nn.Module) -> torch.nn.Module:
    """The module behind ``torch.compile`` (whose state dict prefixes ``_orig_mod.``)."""
    return getattr(module, "_orig_mod", module)


def _qualified_name(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _arch_name(arch) -> str:
    return repr(arch) if isinstance(arch, str) else arch.__name__


def _overlap_iou_score(net, X, y):
    """Pooled overlap IoU of the network's argmax: A/B decoding never changes the overlap, so
    the validation score of every epoch skips it."""
    from .metrics import overlap_iou
    from .metrics._scorers import _match_prediction_to_labels

    labels = net._network_proba(X).argmax(axis=1).astype(np.uint8)
    labels, y = _match_prediction_to_labels(labels, y)
    return overlap_iou(y, labels)
