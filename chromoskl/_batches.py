"""Batches cut from tensors held whole, on the model's device, instead of a DataLoader.

torch's ``DataLoader`` fetches every image on its own and stacks them again (``collate``) for
each batch: for small images the Python work per image costs more than the network. Here the
images and labels of a fit are made tensors once, moved to the device once, and each batch is
one indexing operation. Written by hand: skorch and torch have no iterator that indexes whole
tensors in batches (``TensorDataset`` still goes through ``DataLoader``'s per-item fetch).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from skorch.dataset import Dataset
from skorch.utils import is_dataset
from torch.utils.data import Subset

from ._content_crops import ContentCropBatches
from ._limits import check_images_suit_network
from ._segmenter_params import arch_name, n_classes, network_int
from ._validation import check_image_array, check_images, check_images_and_labels

__all__ = ["TensorBatches", "tensors_of", "TensorData"]


def tensors_of(dataset) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """The (images, labels) tensors behind a skorch ``Dataset`` of tensors (or a ``Subset``
    of one), indexed by the subset; None for any other dataset."""
    indices = None
    if isinstance(dataset, Subset):
        indices = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        dataset = dataset.dataset
    if type(dataset) is not Dataset or not isinstance(dataset.X, torch.Tensor):
        return None
    X, y = dataset.X, dataset.y
    if y is not None and not isinstance(y, torch.Tensor):
        return None
    if indices is not None:
        X = X[indices]
        y = y[indices] if y is not None else None
    return X, y


def _shared_tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor on ``array``'s memory, read-only arrays included.

    joblib hands large arrays to worker processes (``SegmenterEnsemble(n_jobs=...)``,
    ``cross_validate(n_jobs=...)``) as read-only memory maps, for which torch warns that
    writing would be undefined. chromoskl never writes into a fit's images or labels (the
    augmentation, the content boxes and the network make new tensors), so sharing the map is
    safe and saves a copy of the images per worker.
    """
    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


class TensorBatches:
    """Iterate over ``(X[i], y[i])`` batches of whole tensors.

    Parameters
    ----------
    X : Tensor
        Images, moved to ``device`` once, here.
    y : Tensor or None
        Labels, moved likewise.
    batch_size : int
    shuffle : bool
        A new order every pass, drawn from ``generator``.
    generator : torch.Generator or None
        Makes the order repeatable.
    device : str
    """

    def __init__(self, X, y, *, batch_size, shuffle=False, generator=None, device="cpu"):
        self.X = X.to(device)
        self.y = y.to(device) if y is not None else None
        self.batch_size = max(int(batch_size), 1)
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self):
        return -(-len(self.X) // self.batch_size)

    def __iter__(self):
        n = len(self.X)
        if self.shuffle:
            # Drawn on the CPU generator, then moved: one small transfer per pass.
            order = torch.randperm(n, generator=self.generator).to(self.X.device)
        else:
            order = None
        for start in range(0, n, self.batch_size):
            if order is None:
                index = slice(start, start + self.batch_size)
            else:
                index = order[start : start + self.batch_size]
            yield self.X[index], (self.y[index] if self.y is not None else None)


class TensorData:
    """Mixin for the estimator: checked arrays become tensors once, batched by
    :class:`TensorBatches` on the model's device."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Check that the images suit the network (``fit`` and ``partial_fit``)."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.content_crops_cache_ = {}
        self.validation_dataset_ = None
        if X is not None and not is_dataset(X):
            check_images_suit_network(
                check_image_array(X).shape, network_int(self, "in_channels"),
                int(getattr(self.module_, "input_divisor", 1)), arch_name(self.arch),
            )

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.content_crops_cache_ = None
        self.validation_dataset_ = None

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's split, remembering this fit's validation dataset (until ``on_train_end``,
        so that a pickled estimator does not carry it) for :meth:`get_iterator`."""
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        self.validation_dataset_ = dataset_valid
        return dataset_train, dataset_valid

    def get_dataset(self, X, y=None):
        """Check images (and labels) and wrap them, as tensors, in a skorch ``Dataset``.

        Images become float32 (n, C, H, W); labels int64 (n, H, W), centred on the images when
        they are smaller. Labels checked here are not checked again by the loss of each batch.
        """
        if is_dataset(X):
            self.labels_checked_ = False
            return X
        if y is None:
            return Dataset(_shared_tensor(check_images(X)), None)
        images, labels = check_images_and_labels(X, y, n_classes=n_classes(self))
        self.labels_checked_ = True
        return Dataset(_shared_tensor(images), _shared_tensor(labels))

    def get_iterator(self, dataset, training=False):
        """Batches indexed from whole tensors moved to the device once, shuffled from the
        seeded generator ``shuffle_generator_``.

        With ``content_margin`` set, the batches of ``fit``'s training and validation datasets
        are of content crops (:class:`~chromoskl._content_crops.ContentCropBatches`), cut
        once per fit; prediction batches are of the images they are given
        (``predict_proba`` cuts them itself).
        Datasets of other kinds, and iterators given options other than ``batch_size`` and
        ``shuffle`` (``num_workers``, ...), go through skorch's ``DataLoader``.
        """
        generator = getattr(self, "shuffle_generator_", None) if training else None
        options = self.get_params_for("iterator_train" if training else "iterator_valid")
        tensors = tensors_of(dataset)
        if tensors is not None and set(options) <= {"batch_size", "shuffle"}:
            batch_size = options.get("batch_size", self.batch_size)
            batch_size = len(dataset) if batch_size == -1 else batch_size
            shuffle = training and options.get("shuffle", True)
            validation = getattr(self, "validation_dataset_", None)
            in_fit = training or (validation is not None and dataset is validation)
            if in_fit and getattr(self, "content_margin", None) is not None:
                return self._content_crop_batches(dataset, tensors, batch_size, shuffle,
                                                  generator)
            return TensorBatches(
                *tensors, batch_size=batch_size, shuffle=shuffle, generator=generator,
                device=self.device_,
            )
        if generator is None:
            return super().get_iterator(dataset, training=training)
        kwargs = {"batch_size": self.batch_size, "generator": generator, **options}
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        return self.iterator_train(dataset, **kwargs)

    def _content_crop_batches(self, dataset, tensors, batch_size, shuffle, generator):
        # skorch asks for an iterator every epoch; the crops of a fit's training dataset are
        # cut once (the cache lives from on_train_begin to on_train_end, so that a pickled
        # estimator does not carry it).
        cache = getattr(self, "content_crops_cache_", None)
        cache = {} if cache is None else cache
        cached = cache.get(id(dataset))
        if cached is None or cached[0] is not dataset or cached[1] != batch_size:
            X, y = tensors
            batches = ContentCropBatches(X, y, self._content_boxes(X), batch_size=batch_size,
                                         device=self.device_)
            cached = cache[id(dataset)] = (dataset, batch_size, batches)
        batches = cached[2]
        batches.shuffle, batches.generator = shuffle, generator
        return batches
