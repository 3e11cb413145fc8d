"""Hard-example sampling: weighted draws of content-crop batches, and the callback that sets
the weights from each image's last training loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from chromoskl._content_crops import ContentCropBatches, content_boxes
from chromoskl.sampling import LossProportionalSampling

from .test_content_crops import crosses_on_flat_background
from .test_estimator import tiny


def crop_batches(n=24, batch_size=5):
    X, y = crosses_on_flat_background(n)
    X, y = torch.from_numpy(X[:, None]), torch.from_numpy(y.astype(np.int64))
    boxes = content_boxes(X, margin=0, divisor=4)
    generator = torch.Generator().manual_seed(0)
    return X, ContentCropBatches(X, y, boxes, batch_size=batch_size, shuffle=True,
                                 generator=generator)


def drawn_indices(batches):
    drawn = []
    for images, _ in batches:
        assert len(batches.last_indices) == len(images)
        drawn.extend(batches.last_indices.tolist())
    return drawn


def test_last_indices_name_the_images_of_each_batch():
    X, batches = crop_batches()
    assert len(set(batches.group_indices[0].tolist())) == len(batches.group_indices[0])
    for images, _ in batches:
        index = batches.last_indices
        # the crops are the centred boxes of the images named by last_indices
        height, width = images.shape[-2:]
        top, left = (X.shape[-2] - height) // 2, (X.shape[-1] - width) // 2
        assert torch.equal(images, X[index, :, top : top + height, left : left + width])
    assert sorted(drawn_indices(batches)) == list(range(24))


def test_weights_draw_as_many_images_as_there_are_in_proportion():
    _, batches = crop_batches()
    weights = torch.zeros(24)
    weights[[3, 17]] = torch.tensor([1.0, 3.0])
    batches.sample_weights = weights
    counts = np.bincount(sum((drawn_indices(batches) for _ in range(50)), []), minlength=24)
    assert counts.sum() == 50 * 24
    assert set(np.flatnonzero(counts)) == {3, 17}
    assert counts[17] / counts.sum() == pytest.approx(0.75, abs=0.03)


def test_without_shuffle_the_weights_are_not_used():
    _, batches = crop_batches()
    batches.shuffle = False
    batches.sample_weights = torch.eye(24)[0]
    assert sorted(drawn_indices(batches)) == list(range(24))


@pytest.mark.parametrize("weights", [torch.ones(23), torch.zeros(24),
                                     torch.full((24,), float("nan")), -torch.ones(24)])
def test_weights_that_are_not_a_distribution_over_the_images_are_refused(weights):
    _, batches = crop_batches()
    batches.sample_weights = weights
    with pytest.raises(ValueError, match="one per training image"):
        next(iter(batches))


def test_probabilities_are_part_uniform_part_proportional_to_the_loss():
    sampling = LossProportionalSampling(uniform_share=0.5).initialize()
    sampling.image_losses_ = torch.tensor([3.0, 1.0, 0.0, 0.0])
    expected = 0.5 * 0.25 + 0.5 * torch.tensor([0.75, 0.25, 0.0, 0.0])
    assert torch.allclose(sampling._weights(), expected)
    sampling.image_losses_[2] = float("nan")  # an image not trained on yet: all uniform
    assert sampling._weights() is None


def test_a_fit_records_each_images_training_loss_and_draws_by_it():
    X, y = crosses_on_flat_background(24)
    drawn_per_epoch, weights_and_losses = [], []

    class Recorder(LossProportionalSampling):  # also keeps what each epoch drew, and by what
        def on_epoch_begin(self, net, **kwargs):
            super().on_epoch_begin(net, **kwargs)
            drawn_per_epoch.append([])
            weights_and_losses.append((self.batches_.sample_weights, self.image_losses_.clone()))

        def on_batch_end(self, net, training=False, **kwargs):
            super().on_batch_end(net, training=training, **kwargs)
            if training:
                drawn_per_epoch[-1].extend(self.batches_.last_indices.tolist())

    seg = tiny(content_margin=0, max_epochs=3,
               callbacks=[("sampling", Recorder(uniform_share=0.0))]).fit(X, y)
    losses = dict(seg.callbacks_)["sampling"].image_losses_
    assert losses.shape == (24,) and torch.isfinite(losses).all() and (losses > 0).all()
    assert weights_and_losses[0][0] is None  # epoch 1: each image once
    assert sorted(drawn_per_epoch[0]) == list(range(24))
    for (weights, losses_before), drawn in zip(weights_and_losses[1:], drawn_per_epoch[1:]):
        # then 24 draws with replacement, in proportion to the losses of the epochs before
        assert torch.allclose(weights, losses_before / losses_before.sum())
        assert len(drawn) == 24 and len(set(drawn)) < 24
    # each image's loss is its latest: those drawn in the last epoch changed, the others not
    last = sorted(set(drawn_per_epoch[2]))
    unchanged = losses == weights_and_losses[2][1]
    assert not unchanged[last].any() and unchanged.sum() == 24 - len(last)
    assert dict(seg.callbacks_)["sampling"].batches_ is None  # let go of when the fit ends


def test_a_fit_without_content_crops_is_told_how_to_get_them():
    X, y = crosses_on_flat_background(8)
    seg = tiny(callbacks=[("sampling", LossProportionalSampling())])
    with pytest.raises(ValueError, match="set content_margin"):
        seg.fit(X, y)


def test_uniform_share_outside_the_unit_interval_is_refused():
    X, y = crosses_on_flat_background(8)
    seg = tiny(content_margin=0, callbacks=[("sampling", LossProportionalSampling(1.5))])
    with pytest.raises(ValueError, match=r"uniform_share must lie in \[0, 1\]"):
        seg.fit(X, y)


@pytest.mark.parametrize("ab_loss, low", [("fixed", False), ("swap_invariant", True)])
def test_a_prediction_with_a_and_b_exchanged_is_hard_only_where_the_naming_is_fixed(ab_loss,
                                                                                     low):
    from types import SimpleNamespace

    labels = torch.tensor([[[0, 1], [2, 3]]])
    exchanged = torch.tensor([[[0, 2], [1, 3]]])
    logits = 10.0 * torch.nn.functional.one_hot(exchanged, 4).permute(0, 3, 1, 2).float()
    net = SimpleNamespace(ab_loss=ab_loss,
                          _get_predict_nonlinearity=lambda: lambda x: x.softmax(dim=1))
    sampling = LossProportionalSampling().initialize()
    sampling.image_losses_ = torch.full((3,), float("nan"))
    sampling.batches_ = SimpleNamespace(last_indices=torch.tensor([2]))
    sampling.on_batch_end(net, training=True, y_pred=logits, y_true=labels)
    loss = float(sampling.image_losses_[2])
    assert torch.isnan(sampling.image_losses_[:2]).all()
    # a pixel named right costs log(1 + 3 e^-10) nats, one named wrong 10 more
    right = math.log(1 + 3 * math.exp(-10))
    expected = right if low else (2 * right + 2 * (10 + right)) / 4
    assert loss == pytest.approx(expected, rel=0.01)
