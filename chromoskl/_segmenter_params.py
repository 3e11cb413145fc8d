"""The parameters of ``ChromosomeSegmenter`` that are not skorch's: checked all at once, and
turned into the callbacks they ask for."""

from __future__ import annotations

import inspect

import numpy as np
from skorch.callbacks import EarlyStopping, EpochScoring, LRScheduler, ProgressBar

from ._intensity import RecordIntensityRange
from ._precision import PRECISIONS
from ._tta import tta_kind
from ._validation_score import ValidationOverlapIoU
from .architectures import LABEL_MODELS, resolve_architecture
from .averaging import WeightAveraging
from .classes import N_CLASSES
from .exceptions import UnknownNameError
from .losses import resolve_criterion
from .schedules import KeepBestWeights, OneCycle

__all__ = [
    "check_segmenter_params", "segmenter_callbacks", "network_overlap_iou", "proba_overlap_iou",
    "network_int", "n_classes", "arch_name",
]

LR_SCHEDULES = (None, "step", "plateau", "onecycle")
AB_LOSSES = ("fixed", "swap_invariant", "orientation")
AB_DECODINGS = ("network", "area")


def _own_callbacks(net) -> list:
    """The callbacks given in the net's ``callbacks`` parameter, without their names."""
    return [item[1] if isinstance(item, tuple) else item for item in net.callbacks or ()]


def _averages_weights(net) -> bool:
    """Whether the net's own callbacks hold a :class:`~chromoskl.averaging.WeightAveraging`."""
    return any(isinstance(cb, WeightAveraging)
               or (isinstance(cb, type) and issubclass(cb, WeightAveraging))
               for cb in _own_callbacks(net))


def _caches_validation_outputs(net) -> bool:
    """Whether one of the net's own callbacks is a skorch ``EpochScoring`` that scores the
    validation set from the cached outputs of the validation pass."""
    for callback in _own_callbacks(net):
        if isinstance(callback, EpochScoring) and not callback.on_train:
            caching = callback.use_caching if net.use_caching == "auto" else net.use_caching
            if caching:
                return True
    return False


def check_segmenter_params(net) -> None:
    """Collect every bad argument into one ValueError, as skorch's ``_validate_params``."""
    problems = []
    try:
        resolve_architecture(net.arch)
    except (UnknownNameError, TypeError) as error:
        problems.append(str(error))
    try:
        resolve_criterion(net.criterion)
    except (ValueError, TypeError) as error:
        problems.append(str(error))
    if net.lr_schedule not in LR_SCHEDULES:
        problems.append(f"lr_schedule must be one of {LR_SCHEDULES}, got {net.lr_schedule!r}.")
    for name, allowed in (
        ("precision", PRECISIONS), ("ab_loss", AB_LOSSES), ("ab_decoding", AB_DECODINGS),
        ("label_model", LABEL_MODELS),
    ):
        if getattr(net, name) not in allowed:
            problems.append(f"{name} must be one of {allowed}, got {getattr(net, name)!r}.")
    if net.ab_loss == "orientation" and net.ab_decoding != "area":
        problems.append(
            "ab_loss='orientation' trains channels 1 and 2 to mean the first and second axis, "
            "not A and B: set ab_decoding='area', which names them by size."
        )
    try:
        tta_kind(net.tta)
    except ValueError as error:
        problems.append(str(error))
    if net.max_minutes is not None and not (
        isinstance(net.max_minutes, (int, float)) and net.max_minutes > 0
    ):
        problems.append(
            f"max_minutes must be a positive number of minutes or None, got {net.max_minutes!r}."
        )
    if net.patience is not None:
        if not isinstance(net.patience, int) or net.patience < 1:
            problems.append(f"patience must be a positive int or None, got {net.patience!r}.")
        elif not net.train_split:
            problems.append(
                "patience (early stopping) needs a validation split: keep train_split or "
                "set patience=None."
            )
    if (getattr(net, "content_margin", None) is not None and net.train_split
            and _caches_validation_outputs(net)):
        problems.append(
            "content_margin runs fit's validation pass on content crops of several sizes, whose "
            "outputs an EpochScoring cannot cache: give that EpochScoring use_caching=False "
            "(it then predicts the validation images again, through their boxes)."
        )
    if _averages_weights(net) and (net.patience or (net.max_minutes and net.train_split)):
        problems.append(
            "a WeightAveraging callback puts the averaged weights into the network at the end, "
            "where patience or max_minutes with a validation split put back the best epoch's: "
            "pass train_split=None (or drop patience) to keep the average."
        )
    if net.lr_schedule == "plateau" and not net.train_split:
        problems.append("lr_schedule='plateau' watches the validation loss: keep train_split.")
    if net.augment is not None and not hasattr(net.augment, "augment_batch"):
        problems.append(
            "augment must be a chromoskl.augmentation.Augmenter (an object with "
            f"augment_batch(X, y)), got {net.augment!r}."
        )
    margin = getattr(net, "content_margin", None)
    if margin is not None and (isinstance(margin, bool) or not isinstance(margin, int)
                               or margin < 0):
        problems.append(
            f"content_margin must be None or a number of pixels >= 0, got {margin!r}."
        )
    size = net.batch_size
    if not isinstance(size, int) or not (size >= 1 or size == -1):
        problems.append(f"batch_size must be a positive int (or -1), got {net.batch_size!r}.")
    if problems:
        raise ValueError("Invalid ChromosomeSegmenter parameters:\n- " + "\n- ".join(problems))


def segmenter_callbacks(net) -> list:
    """The (name, callback) pairs that the segmenter's parameters ask for, after skorch's."""
    callbacks = [
        ("intensity_range", RecordIntensityRange()),
        ("valid_overlap_iou", ValidationOverlapIoU("valid_overlap_iou")),
    ]
    if net.patience:
        callbacks.append(("early_stopping", EarlyStopping(patience=net.patience, load_best=True)))
    if net.lr_schedule == "step":
        callbacks.append(("lr_schedule", LRScheduler("StepLR", step_size=10, gamma=0.5)))
    elif net.lr_schedule == "plateau":
        plateau = LRScheduler("ReduceLROnPlateau", monitor="valid_loss", patience=5, factor=0.5)
        callbacks.append(("lr_schedule", plateau))
    elif net.lr_schedule == "onecycle":
        callbacks.append(("lr_schedule", OneCycle()))
    if net.max_minutes and net.train_split and not net.patience:
        callbacks.append(("keep_best", KeepBestWeights("valid_overlap_iou")))
    if net.verbose >= 2:
        callbacks.append(("progress_bar", ProgressBar()))
    return callbacks


def network_overlap_iou(net, X, y) -> float:
    """Pooled overlap IoU of the network's argmax, predicted again (``score``): A/B decoding
    never changes the overlap, so it is skipped."""
    return proba_overlap_iou(net._network_proba(X), y)


def proba_overlap_iou(proba, y) -> float:
    """Pooled overlap IoU of the argmax of class probabilities (n, C, H, W), cropped centred
    to the labels' size."""
    from .metrics import overlap_iou
    from .metrics._scorers import _match_prediction_to_labels

    labels = np.asarray(proba).argmax(axis=1).astype(np.uint8)
    labels, y = _match_prediction_to_labels(labels, y)
    return overlap_iou(y, labels)


def network_int(net, name: str) -> int | None:
    """An integer parameter of the net's network: ``module__<name>``, else its default, else
    None (a network without that parameter)."""
    module_params = net.get_params_for("module")
    if name in module_params:
        return int(module_params[name])
    try:
        signature = inspect.signature(resolve_architecture(net.arch))
        return int(signature.parameters[name].default)
    except (KeyError, TypeError, ValueError):
        return None


def n_classes(net) -> int:
    """Number of classes: ``module__out_channels``, else the network's default, else
    ``N_CLASSES``."""
    classes = network_int(net, "out_channels")
    return N_CLASSES if classes is None else classes


def arch_name(arch) -> str:
    """The network's name for messages: a registry name quoted, or a class's name."""
    return repr(arch) if isinstance(arch, str) else arch.__name__
