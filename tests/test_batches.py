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


def test_the_network_mode_is_set_when_it_changes_not_every_batch(monkeypatch):
    X, y = toy_data(16, (20, 24))
    seg = tiny(max_epochs=1, batch_size=4).fit(X, y)  # 4 batches an epoch
    seg.predict_proba(X)  # leaves the network in eval mode
    calls = []
    original = type(seg.module_).train

    def counting_train(module, mode=True):
        calls.append(mode)
        return original(module, mode)

    monkeypatch.setattr(type(seg.module_), "train", counting_train)
    seg.partial_fit(X, y, epochs=2)  # 8 training batches
    assert seg.module_.training and calls.count(True) == 1
    calls.clear()
    proba = seg.predict_proba(X)
    assert not seg.module_.training and False in calls
    # every submodule follows: BatchNorm uses its running statistics in prediction
    assert not any(m.training for m in seg.module_.modules())
    assert not seg.criterion_.training  # the criteria follow too, as in skorch
    np.testing.assert_array_equal(proba, seg.predict_proba(X[::-1])[::-1])


def test_probabilities_copied_to_the_host_in_blocks_equal_one_copy(monkeypatch):
    import chromoskl._inference as inference

    X, y = toy_data(16, (20, 24))
    seg = tiny(max_epochs=1, batch_size=4).fit(X, y)
    whole = seg.predict_proba(X)
    one_batch_bytes = 4 * 4 * 20 * 24 * 4
    monkeypatch.setattr(inference, "HOST_COPY_BYTES", 2 * one_batch_bytes)  # 2 blocks
    blocks = seg.predict_proba(X)
    assert blocks.dtype == np.float32 and blocks.shape == whole.shape
    np.testing.assert_array_equal(blocks, whole)
    monkeypatch.setattr(inference, "HOST_COPY_BYTES", 1)  # a block per batch
    np.testing.assert_array_equal(seg.predict_proba(X), whole)


def test_per_image_grey_ranges_match_nanpercentile_with_and_without_nan():
    from chromoskl._intensity import PERCENTILES, intensity_ranges

    images = np.random.default_rng(0).gamma(2.0, 30.0, size=(5, 12, 9)).astype(np.float32)
    expected = np.nanpercentile(images.reshape(5, -1).astype(np.float64), PERCENTILES, axis=1).T
    np.testing.assert_allclose(intensity_ranges(images), expected, rtol=1e-12)
    images[2, 3, 4] = np.nan
    expected[2] = np.nanpercentile(images[2].astype(np.float64), PERCENTILES)
    np.testing.assert_allclose(intensity_ranges(images), expected, rtol=1e-12)


def test_views_with_negative_strides_train_and_predict():
    X, y = toy_data(16, (20, 24))
    forward = tiny(max_epochs=1, batch_size=4, iterator_train__shuffle=False)
    backward = tiny(max_epochs=1, batch_size=4, iterator_train__shuffle=False)
    forward.fit(np.ascontiguousarray(X[::-1, :, ::-1]), np.ascontiguousarray(y[::-1, :, ::-1]))
    backward.fit(X[::-1, :, ::-1], y[::-1, :, ::-1])  # views: torch.from_numpy refuses them
    np.testing.assert_array_equal(backward.predict_proba(X[:, ::-1]),
                                  forward.predict_proba(np.ascontiguousarray(X[:, ::-1])))
