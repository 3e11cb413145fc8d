"""ChromosomeClassifier: the recognition slides' 24-class classifier as a skorch estimator."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ..augmentation import Augmenter
from ._models import ARCHITECTURES, MIN_INPUT_SIZE, build_network

__all__ = ["ChromosomeClassifier", "slides_augmenter"]


def slides_augmenter(random_state=None) -> Augmenter:
    """The slides' augmentations as an :class:`~chromoskl.augmentation.Augmenter`.

    Contrast, brightness and intensity (per-pixel Gaussian noise), rotation, translation and
    scale, and Gaussian blur with sigma 0.1 to 0.5, each with probability 0.5. The slides'
    kernels of 5x5 to 9x9 differ only in weights below exp(-18) at sigma <= 0.5, so one 5x5
    kernel does the same. Departures: the slides give no ranges for rotation, translation,
    scale, contrast and brightness; these are ours (+-15 degrees, 5 %, 0.9-1.1, 0.8-1.2, 10 %);
    "saturation" has no meaning for grey images and is left out; no flips (a flip mirrors
    the banding, which the slides do not list).
    """
    return Augmenter(
        hflip=0.0, vflip=0.0, rot90=0.0,
        rotate=0.5, rotate_range=(-15.0, 15.0),
        translate=0.5, translate_range=0.05,
        scale=0.5, scale_range=(0.9, 1.1),
        contrast=0.5, contrast_range=(0.8, 1.2),
        brightness=0.5, brightness_range=(-0.1, 0.1),
        noise=0.5, noise_std=0.02,
        blur=0.5, blur_sigma=(0.1, 0.5),
        random_state=random_state,
    )


class ChromosomeClassifier(NeuralNetClassifier):
    """Classify single-chromosome images into 24 classes (1-22, X, Y) with a torchvision CNN.

    The recognition slides (Tinacci and Pampaloni, 2024) as a scikit-learn classifier: one of
    their four networks, their schedule (learning rate x0.1 every 15 epochs), weight decay 1e-5,
    early stopping when the validation accuracy has not improved for 10 epochs, and their
    augmentations applied to every training batch on its device. ``optimizer`` and ``lr`` are
    ordinary parameters, so ``GridSearchCV`` searches them as the slides did
    (``{"optimizer": [Adam, SGD, RMSprop], "lr": [1e-4, 1e-3, 1e-2]}``).

    Parameters
    ----------
    arch : {"resnet18", "resnet50", "vgg16", "inception_v3"}, default="resnet18"
        The network, built by torchvision without downloaded weights and with one input
        channel. Needs torchvision (``pip install "chromoskl[recognition]"``); without it,
        :meth:`fit` raises :class:`TorchvisionUnavailableError` (an ImportError).
    n_classes : int, default=24
        Number of classes; ``y`` holds indices ``0..n_classes-1`` (class k of
        :func:`chromoskl.datasets.make_karyotype_chromosomes` is its ``target_names[k]``).
    augmenter : "slides", Augmenter or None, default="slides"
        Augmentation of the training batches: ``"slides"`` is :func:`slides_augmenter`.
    lr_step : int or None, default=15
        Epochs between learning-rate decays; None keeps the rate constant.
    lr_gamma : float, default=0.1
        Factor of each decay.
    weight_decay : float, default=1e-5
        L2 penalty given to the optimiser (unless ``optimizer__weight_decay`` is set).
    patience : int or None, default=10
        Epochs without a better ``valid_acc`` before training stops; None disables it (and so
        does ``train_split=None``, which leaves no validation set).
    random_state : int or None, default=None
        Seeds the network's initial weights and the augmentation.
    optimizer, lr, max_epochs, batch_size, train_split, device, ... :
        As in :class:`skorch.NeuralNetClassifier`. Defaults here: Adam, lr 1e-4, batch size 16
        (the slides' best ResNet18 and their batch size), 60 epochs, a stratified 80/20
        train/validation split (the slides' 20 % validation).

    Attributes
    ----------
    module_ : torch.nn.Module
        The network.
    augmenter_ : Augmenter or None
    classes_, history_, optimizer_, criterion_ :
        As in skorch.

    References
    ----------
    Tinacci and Pampaloni, "Chromosomes Recognition", slides, Universita degli Studi di Firenze
    (2024): architectures, grid, schedule, weight decay, early stopping, augmentations.
    Departures: no ImageNet pre-training (nothing is downloaded); one input channel.
    """

    def __init__(
        self,
        arch="resnet18",
        n_classes=24,
        augmenter="slides",
        lr_step=15,
        lr_gamma=0.1,
        weight_decay=1e-5,
        patience=10,
        random_state=None,
        *,
        module=None,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-4,
        max_epochs=60,
        batch_size=16,
        **kwargs,
    ):
        super().__init__(
            module, criterion=criterion, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, **kwargs,
        )
        self.arch = arch
        self.n_classes = n_classes
        self.augmenter = augmenter
        self.lr_step = lr_step
        self.lr_gamma = lr_gamma
        self.weight_decay = weight_decay
        self.patience = patience
        self.random_state = random_state

    # skorch hooks ---------------------------------------------------------------------------

    def initialize_module(self):
        """Build ``arch`` (or ``module`` when one is given) and the augmenter."""
        self._validate_recognition_params()
        if self.random_state is not None:
            torch.manual_seed(self.random_state)
        if self.module is None:
            self.module_ = build_network(self.arch, self.n_classes).to(self.device)
        else:
            super().initialize_module()
        if isinstance(self.augmenter, str):
            self.augmenter_ = slides_augmenter(self.random_state)
        else:
            self.augmenter_ = self.augmenter
        return self

    def get_default_callbacks(self):
        """skorch's classifier callbacks, the step decay and early stopping."""
        callbacks = list(super().get_default_callbacks())
        if self.lr_step is not None:
            callbacks.append((
                "lr_step",
                LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=self.lr_step,
                            gamma=self.lr_gamma),
            ))
        if self.patience is not None and self.train_split is not None:
            callbacks.append((
                "early_stopping",
                EarlyStopping(monitor="valid_acc", lower_is_better=False, patience=self.patience),
            ))
        return callbacks

    def get_params_for_optimizer(self, prefix, named_parameters):
        """skorch's optimiser arguments, with ``weight_decay`` unless one was given."""
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if prefix == "optimizer":
            kwargs.setdefault("weight_decay", self.weight_decay)
        return args, kwargs

    def check_data(self, X, y=None):
        """Reject images of the wrong shape and labels outside ``0..n_classes-1``."""
        super().check_data(X, y)
        X_shape = getattr(X, "shape", None)
        if X_shape is None or len(X_shape) not in (3, 4) or (len(X_shape) == 4 and X_shape[1] != 1):
            raise ValueError(
                f"X must be grey images (n, H, W) or (n, 1, H, W), got shape {X_shape}; pad and "
                "resize single chromosomes with PadToSquare and ResizeImages first."
            )
        low = MIN_INPUT_SIZE.get(self.arch, 1) if self.module is None else 1
        if min(X_shape[-2:]) < low:
            raise ValueError(
                f"{self.arch} needs images of at least {low}x{low} pixels, got "
                f"{X_shape[-2]}x{X_shape[-1]}; resize them with ResizeImages(size={low})."
            )
        if y is not None:
            y = np.asarray(y)
            if y.dtype.kind not in "ui" or y.min() < 0 or y.max() >= self.n_classes:
                raise ValueError(
                    f"y must hold class indices 0..{self.n_classes - 1} (1-22, X, Y are 0..23), "
                    f"got dtype {y.dtype} with values {np.unique(y)[:5]}..."
                )

    def train_step_single(self, batch, **fit_params):
        """skorch's training step, on a batch augmented on its device."""
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi = self._as_batch(Xi)
        if self.augmenter_ is not None:
            dummy = torch.zeros(Xi.shape[:1] + Xi.shape[2:], dtype=torch.uint8, device=Xi.device)
            Xi, _ = self.augmenter_.augment_batch(Xi, dummy)
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def infer(self, x, **fit_params):
        """The network's logits for a batch of (n, H, W) or (n, 1, H, W) images."""
        return self.module_(self._as_batch(x), **fit_params)

    # helpers --------------------------------------------------------------------------------

    def _as_batch(self, x) -> torch.Tensor:
        x = to_tensor(x, device=self.device).to(torch.float32)
        return x.unsqueeze(1) if x.dim() == 3 else x

    def _validate_recognition_params(self) -> None:
        errors = []
        if self.module is None and self.arch not in ARCHITECTURES:
            errors.append(f"arch must be one of {ARCHITECTURES}, got {self.arch!r}")
        if not (isinstance(self.n_classes, numbers.Integral) and self.n_classes >= 2):
            errors.append(f"n_classes must be an int >= 2, got {self.n_classes!r}")
        if not (self.augmenter is None or self.augmenter == "slides"
                or isinstance(self.augmenter, Augmenter)):
            errors.append(
                f"augmenter must be 'slides', an Augmenter or None, got {self.augmenter!r}"
            )
        if self.lr_step is not None and not (
            isinstance(self.lr_step, numbers.Integral) and self.lr_step >= 1
        ):
            errors.append(f"lr_step must be a positive int or None, got {self.lr_step!r}")
        if not (isinstance(self.lr_gamma, numbers.Real) and 0 < self.lr_gamma <= 1):
            errors.append(f"lr_gamma must be in (0, 1], got {self.lr_gamma!r}")
        if not (isinstance(self.weight_decay, numbers.Real) and self.weight_decay >= 0):
            errors.append(f"weight_decay must be a number >= 0, got {self.weight_decay!r}")
        if self.patience is not None and not (
            isinstance(self.patience, numbers.Integral) and self.patience >= 1
        ):
            errors.append(f"patience must be a positive int or None, got {self.patience!r}")
        if errors:
            raise ValueError("Invalid ChromosomeClassifier parameters: " + "; ".join(errors) + ".")
