"""Batches indexed from whole tensors, and the training loop that reads losses once an epoch."""

from __future__ import annotations

import numpy as np
import torch
from skorch.dataset import Dataset
from torch.utils.data import DataLoader, Subset

from chromoskl._batches import TensorBatches, tensors_of

from .test_estimator import tiny, toy_data


def test_every_image_once_per_pass_in_a_repeatable_order():
    X = torch.arange(10, dtype=torch.float32).view(10, 1, 1, 1)
    y = torch.arange(10).view(10, 1, 1)
    batches = TensorBatches(X, y, batch_size=4, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
    assert len(batches) == 3
    first = [b for b in batches]
    assert [len(xb) for xb, _ in first] == [4, 4, 2]
    seen = torch.cat([xb.flatten() for xb, _ in first])
    assert sorted(seen.tolist()) == list(range(10))
    assert seen.tolist() != list(range(10))  # shuffled
    for xb, yb in first:  # images and labels stay together
        assert torch.equal(xb.flatten().long(), yb.flatten())
    again = TensorBatches(X, y, batch_size=4, shuffle=True,
                          generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.cat([xb.flatten() for xb, _ in again]), seen)
    ordered = TensorBatches(X, None, batch_size=4)
    assert torch.cat([xb.flatten() for xb, _ in ordered]).tolist() == list(range(10))


def test_tensors_of_a_subset_and_of_foreign_datasets():
    X = torch.arange(6, dtype=torch.float32).view(6, 1, 1, 1)
    y = torch.arange(6).view(6, 1, 1)
    picked = tensors_of(Subset(Dataset(X, y), [4, 1]))
    assert picked[0].flatten().tolist() == [4.0, 1.0] and picked[1].flatten().tolist() == [4, 1]
    assert tensors_of(Dataset(X.numpy(), y.numpy())) is None
    assert tensors_of(torch.utils.data.TensorDataset(X, y)) is None


def test_the_estimator_trains_from_tensor_batches_and_matches_a_dataloader():
    X, y = toy_data(16, (20, 24))
    fast = tiny(max_epochs=2, batch_size=4, iterator_train__shuffle=False)
    fast.fit(X, y)
    assert isinstance(fast.get_iterator(fast.get_dataset(X, y), training=True), TensorBatches)
    # Any other iterator option goes through skorch's DataLoader, with the same results
    # (the same order, the same arithmetic).
    slow = tiny(max_epochs=2, batch_size=4, iterator_train__shuffle=False,
                iterator_train__drop_last=False)
    slow.fit(X, y)
    assert isinstance(slow.get_iterator(slow.get_dataset(X, y), training=True), DataLoader)
    np.testing.assert_allclose(fast.predict_proba(X), slow.predict_proba(X), atol=1e-5)


def test_batch_losses_are_recorded_as_floats_equal_to_reading_each_step():
    X, y = toy_data(16, (20, 24))
    deferred = tiny(max_epochs=2, batch_size=4).fit(X, y)
    stepwise = tiny(max_epochs=2, batch_size=4, verbose=2).fit(X, y)
    a = [b["train_loss"] for row in deferred.history for b in row["batches"]]
    b = [b["train_loss"] for row in stepwise.history for b in row["batches"]]
    assert all(type(v) is float for v in a)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(deferred.history[:, "train_loss"],
                               stepwise.history[:, "train_loss"], rtol=1e-6)
