"""BatchNorm statistics per content-box size: estimated after fit, loaded at prediction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chromoskl import ChromosomeSegmenter
from chromoskl._box_norm import (
    batchnorm_buffer_names,
    nearest_size,
    statistics_loaded,
    statistics_per_box_size,
)
from chromoskl._content_crops import boxes_by_size, content_boxes, cut_boxes

from .test_content_crops import crosses_on_flat_background
from .test_estimator import tiny


class InputNorm(torch.nn.Module):
    """A BatchNorm on the input itself, so that its statistics are those of the pixels."""

    def __init__(self):
        super().__init__()
        self.norm = torch.nn.BatchNorm2d(1)

    def forward(self, x):
        return self.norm(x)


def two_box_sizes():
    """Six 32x32 images: three with a 4x4 square at the centre (8x8 boxes at divisor 8), three
    with a 14x14 one (16x16 boxes); grey 10, background 0."""
    images = torch.zeros(6, 1, 32, 32)
    images[:3, :, 14:18, 14:18] = 10.0
    images[3:, :, 9:23, 9:23] = 10.0
    return images, content_boxes(images, margin=0, divisor=8)


def test_each_box_size_gets_the_statistics_of_its_own_crops():
    images, boxes = two_box_sizes()
    network = InputNorm()
    before = {k: v.clone() for k, v in network.state_dict().items()}
    stats = statistics_per_box_size(network, network, images, boxes, batch_size=8)
    assert sorted(stats) == ["16x16", "8x8"]
    for (height, width), indices in boxes_by_size(boxes).items():
        crops = cut_boxes(images[torch.as_tensor(indices)], boxes[indices])
        key = f"{height}x{width}"
        # one batch per size: the mean and the unbiased variance of its pixels
        np.testing.assert_allclose(stats[key]["norm.running_mean"], [crops.mean()], rtol=1e-5)
        np.testing.assert_allclose(stats[key]["norm.running_var"], [crops.var()], rtol=1e-4)
    # 4x4 of 8x8 is chromosome (mean 2.5); 14x14 of 16x16 (mean 7.66)
    assert stats["8x8"]["norm.running_mean"].item() == pytest.approx(2.5)
    # the network's own running averages and mode are as they were
    for name, value in network.state_dict().items():
        torch.testing.assert_close(value, before[name])
    assert network.training


def test_a_network_without_batchnorm_has_no_statistics():
    images, boxes = two_box_sizes()
    network = torch.nn.Conv2d(1, 4, 3, padding=1)
    assert batchnorm_buffer_names(network) == []
    assert statistics_per_box_size(network, network, images, boxes, batch_size=8) == {}


def test_the_nearest_size_is_chosen_for_an_unseen_box():
    keys = ["16x16", "32x48", "48x48"]
    assert nearest_size(16, 16, keys) == "16x16"
    assert nearest_size(32, 40, keys) == "32x48"
    assert nearest_size(48, 32, keys) == "48x48"  # 16 from 48x48, 32 from 32x48
    assert nearest_size(40, 48, keys) == "48x48"  # a tie (8 each): the larger box
    assert nearest_size(96, 96, keys) == "48x48"


def test_statistics_are_loaded_for_the_body_and_put_back_after():
    network = InputNorm().eval()
    stats = {"8x8": {"norm.running_mean": torch.tensor([2.0]),
                     "norm.running_var": torch.tensor([4.0])},
             "16x16": {"norm.running_mean": torch.tensor([5.0]),
                       "norm.running_var": torch.tensor([9.0])}}
    x = torch.full((1, 1, 8, 8), 8.0)
    with statistics_loaded(network, stats, 8, 8):
        inside = network(x)
    assert inside.mean().item() == pytest.approx((8.0 - 2.0) / np.sqrt(4.0 + 1e-5), rel=1e-5)
    with statistics_loaded(network, stats, 15, 17):
        assert network(x).mean().item() == pytest.approx(1.0, rel=1e-4)  # (8 - 5) / 3
    # outside, the running averages (mean 0, variance 1)
    assert network(x).mean().item() == pytest.approx(8.0, rel=1e-4)
    with statistics_loaded(network, None, 8, 8):
        assert network(x).mean().item() == pytest.approx(8.0, rel=1e-4)


def test_fit_estimates_statistics_for_every_training_box_size():
    X, y = crosses_on_flat_background(24)
    seg = tiny(content_margin=1, max_epochs=2).fit(X, y)
    sizes = {f"{h}x{w}" for h, w in boxes_by_size(seg._content_boxes(X[:, None]))}
    assert set(seg.box_norm_stats_) == sizes and len(sizes) >= 2
    names = batchnorm_buffer_names(seg.module_)
    assert names and all(set(v) == set(names) for v in seg.box_norm_stats_.values())
    # different sizes, different statistics (the share of chromosome differs)
    first = names[0]
    means = {k: v[first] for k, v in seg.box_norm_stats_.items()}
    assert any(not torch.allclose(a, b) for a in means.values() for b in means.values())
    # without content_margin there are none
    assert tiny(max_epochs=1).fit(X, y).box_norm_stats_ is None


def test_prediction_normalises_each_box_size_by_its_own_statistics():
    X, y = crosses_on_flat_background(24)
    seg = tiny(content_margin=1, max_epochs=2).fit(X, y)
    with_sizes = seg.predict_proba(X)
    stats, seg.box_norm_stats_ = seg.box_norm_stats_, None
    running = seg.predict_proba(X)
    seg.box_norm_stats_ = stats
    assert not np.allclose(with_sizes, running, atol=1e-3)
    # by hand: the boxes of one size, with that size's statistics in the network
    boxes = seg._content_boxes(X[:, None])
    (height, width), indices = next(iter(boxes_by_size(boxes).items()))
    crops = cut_boxes(torch.from_numpy(X[indices, None]), boxes[indices]).numpy()
    with statistics_loaded(seg.module_, stats, height, width):
        by_hand = seg.set_params(content_margin=None).predict_proba(crops)
    seg.set_params(content_margin=1)
    top, left = boxes[indices[0], :2]
    np.testing.assert_allclose(
        with_sizes[indices][:, :, top : top + height, left : left + width], by_hand, atol=1e-6
    )


def test_the_statistics_survive_a_model_file_and_a_damaged_one_is_named(tmp_path):
    X, y = crosses_on_flat_background(16)
    seg = tiny(content_margin=1, max_epochs=1).fit(X, y)
    seg.save(tmp_path / "model.pt")
    loaded = ChromosomeSegmenter.load(tmp_path / "model.pt")
    assert set(loaded.box_norm_stats_) == set(seg.box_norm_stats_)
    np.testing.assert_array_equal(loaded.predict_proba(X), seg.predict_proba(X))

    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    key = next(iter(payload["box_norm_stats"]))
    name = next(iter(payload["box_norm_stats"][key]))
    payload["box_norm_stats"][key][name] += 1.0
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(ValueError, match="do not match the checksum"):
        ChromosomeSegmenter.load(tmp_path / "edited.pt")
