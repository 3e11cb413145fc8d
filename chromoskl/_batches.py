"""Batches cut from tensors held whole, on the model's device, instead of a DataLoader.

torch's ``DataLoader`` fetches every image on its own and stacks them again (``collate``) for
each batch: for small images the Python work per image costs more than the network. Here the
images and labels of a fit are made tensors once, moved to the device once, and each batch is
one indexing operation. Written by hand: skorch and torch have no iterator that indexes whole
tensors in batches (``TensorDataset`` still goes through ``DataLoader``'s per-item fetch).
"""

from __future__ import annotations

import numpy as np
import torch
from skorch.dataset import Dataset
from torch.utils.data import Subset

__all__ = ["TensorBatches", "tensors_of"]


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
