"""The network run on each image's content box: the boxes, the batches, and the estimator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, EpochScoring

from chromoskl import ChromosomeSegmenter
from chromoskl._batches import tensors_of
from chromoskl._content_crops import (
    ContentCropBatches,
    boxes_by_size,
    content_boxes,
    cut_boxes,
    proba_by_content,
)
from chromoskl._segmenter_params import proba_overlap_iou
from chromoskl.splits import ValidationSplit

from .test_estimator import tiny


def crosses_on_flat_background(n=24, frame=(40, 44), seed=0):
    """Two crossing bars in a patch of 10 to 18 pixels a side, within 4 pixels of the centre of
    an exact-zero background, as in Pommier's pairs; grey 60 per chromosome, the overlap
    their sum."""
    rng = np.random.default_rng(seed)
    y = np.zeros((n, *frame), dtype=np.uint8)
    for i in range(n):
        size = rng.integers(10, 19)
        top, left = (np.array(frame) - size) // 2 + rng.integers(-4, 5, size=2)
        patch = y[i, top : top + size, left : left + size]
        r, c = rng.integers(3, size - 3, size=2)
        patch[r - 1 : r + 2, 1 : size - 1] = 1
        column = patch[1 : size - 1, c - 2 : c + 2]
        column[:] = np.where(column == 1, 3, 2)
    X = (60.0 * np.isin(y, (1, 3)) + 60.0 * np.isin(y, (2, 3))).astype(np.float32)
    return X, y


def test_a_box_is_a_centred_crop_holding_the_content_and_its_margin():
    images = np.zeros((1, 1, 64, 60), np.float32)
    images[0, 0, 20:30, 10:13] = 5.0
    images[0, 0, 25, 11] = -2.0  # a negative value inside is content too
    top, left, height, width = content_boxes(images, margin=4, divisor=8)[0]
    # rows: 12 from the centre (32) to row 20, + 4 either side -> 32; columns: 20 from the
    # centre (30) to column 10, + 4 either side -> 48; both centred as centre_crop centres
    assert (top, left, height, width) == (16, 6, 32, 48)
    assert top <= 20 - 4 and top + height >= 30 + 4
    assert left <= 10 - 4 and left + width >= 13 + 4


def test_a_box_takes_the_whole_side_that_it_would_reach():
    images = np.zeros((3, 1, 40, 36), np.float32)
    images[0, 0, 0:4, 30:36] = 1.0  # in a corner: the centred box is the whole image
    images[1, 0, 2:38, 15:19] = 1.0  # a tall bar at the centre: whole height, narrow width
    boxes = content_boxes(images, margin=2, divisor=8)
    assert boxes[0].tolist() == [0, 0, 40, 36]
    assert boxes[1].tolist() == [0, 10, 40, 16]
    assert boxes[2].tolist() == [0, 0, 40, 36]  # no content: the whole image


def test_a_noisy_background_keeps_the_whole_image():
    images = np.random.default_rng(0).normal(0, 1, (2, 1, 32, 32)).astype(np.float32)
    assert content_boxes(images, margin=0, divisor=4).tolist() == [[0, 0, 32, 32]] * 2


def test_a_pixel_is_content_when_any_channel_differs_from_the_background():
    images = np.full((1, 2, 32, 32), 7.0, np.float32)  # a flat non-zero background
    images[0, 1, 10:12, 10:12] = 9.0  # only the second channel shows it
    assert content_boxes(images, margin=0, divisor=4)[0].tolist() == [10, 10, 12, 12]


def test_cut_boxes_equals_slicing_each_image():
    tensor = torch.arange(2 * 3 * 10 * 12, dtype=torch.float32).view(2, 3, 10, 12)
    boxes = np.array([[1, 2, 4, 6], [5, 6, 4, 6]])
    crops = cut_boxes(tensor, boxes)
    assert crops.shape == (2, 3, 4, 6)
    assert torch.equal(crops[0], tensor[0, :, 1:5, 2:8])
    assert torch.equal(crops[1], tensor[1, :, 5:9, 6:12])
    labels = tensor[:, 0].long()
    assert torch.equal(cut_boxes(labels, boxes)[1], labels[1, 5:9, 6:12])


def test_batches_are_of_one_size_and_yield_every_image_once_in_a_repeatable_order():
    X, y = crosses_on_flat_background(30)
    X = torch.from_numpy(X[:, None])
    # each image's label marks its index, to follow it through the batches
    index_labels = torch.arange(30)[:, None, None].expand(30, *y.shape[1:]).clone()
    boxes = content_boxes(X, margin=2, divisor=4)
    assert len(boxes_by_size(boxes)) >= 2

    def one_pass(seed):
        batches = ContentCropBatches(X, index_labels, boxes, batch_size=4, shuffle=True,
                                     generator=torch.Generator().manual_seed(seed))
        seen = []
        for xb, yb in batches:
            assert len(xb) <= 4 and xb.shape[-2:] == yb.shape[-2:]
            for image, label in zip(xb, yb):
                k = int(label[0, 0])
                top, left, h, w = boxes[k]
                assert (h, w) == tuple(xb.shape[-2:])
                assert torch.equal(image, X[k, :, top : top + h, left : left + w])
                seen.append(k)
        return seen, len(batches)

    seen, n_batches = one_pass(0)
    assert sorted(seen) == list(range(30))
    sizes = boxes_by_size(boxes)
    assert n_batches == sum(-(-len(ix) // 4) for ix in sizes.values())
    assert one_pass(0)[0] == seen and one_pass(1)[0] != seen


def test_probabilities_are_pasted_back_with_background_around_them():
    images = np.zeros((3, 1, 20, 24), np.float32)
    boxes = np.array([[2, 4, 8, 8], [10, 12, 8, 8], [0, 0, 4, 12]])

    def predict_crops(crops):
        proba = np.zeros((len(crops), 4, *crops.shape[-2:]), np.float32)
        proba[:, 3] = 1.0  # everything the network sees is overlap
        return proba

    proba = proba_by_content(images, boxes, predict_crops)
    assert proba.shape == (3, 4, 20, 24)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    labels = proba.argmax(axis=1)
    for k, (top, left, h, w) in enumerate(boxes):
        inside = np.zeros((20, 24), bool)
        inside[top : top + h, left : left + w] = True
        assert (labels[k][inside] == 3).all() and (labels[k][~inside] == 0).all()


class ShapeRecorder(torch.nn.Module):
    """Wraps the tiny U-Net and records the spatial size of every batch of images it is given
    (not the memory probe of zeros that prediction runs first)."""

    input_divisor = 4
    shapes: list = []

    def __init__(self, **kwargs):
        super().__init__()
        from chromoskl.architectures import resolve_architecture

        self.inner = resolve_architecture("unet")(base_channels=4, depth=2)

    def forward(self, x):
        if x.abs().sum() > 0:
            ShapeRecorder.shapes.append(tuple(x.shape[-2:]))
        return self.inner(x)


def test_the_network_sees_only_content_crops_in_fit_and_predict():
    X, y = crosses_on_flat_background(24)
    ShapeRecorder.shapes = []
    seg = ChromosomeSegmenter(ShapeRecorder, content_margin=1, max_epochs=1, batch_size=8,
                              train_split=None, device="cpu", random_state=0).fit(X, y)
    assert ShapeRecorder.shapes and all(h <= 32 and w <= 32 for h, w in ShapeRecorder.shapes)
    ShapeRecorder.shapes = []
    labels = seg.predict(X)
    assert labels.shape == y.shape
    assert all(h <= 32 and w <= 32 for h, w in ShapeRecorder.shapes)
    boxes = content_boxes(X[:, None], margin=1, divisor=4)
    for k, (top, left, h, w) in enumerate(boxes):
        outside = np.ones(y.shape[1:], bool)
        outside[top : top + h, left : left + w] = False
        assert (labels[k][outside] == 0).all()


def test_a_cropped_fit_learns_and_is_repeatable():
    X, y = crosses_on_flat_background(80)
    params = dict(content_margin=2, max_epochs=20, lr=1e-2, lr_schedule="onecycle",
                  batch_size=4, criterion="dice_ce", module__base_channels=8)
    first = tiny(**params).fit(X[:64], y[:64])
    second = tiny(**params).fit(X[:64], y[:64])
    np.testing.assert_array_equal(first.predict(X[64:]), second.predict(X[64:]))
    # The toy task is learnt: the crossings of held-out images are found.
    assert first.score(X[64:], y[64:]) > 0.9


class ScoreAgain(Callback):
    """Records, at the end of each epoch, the validation images' overlap IoU predicted again
    through the estimator's prediction path (what the validation score used to cost)."""

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        X, y = tensors_of(dataset_valid)
        net.history.record("predicted_again", proba_overlap_iou(net._network_proba(X.numpy()),
                                                                y.numpy()))


@pytest.mark.parametrize("margin", [None, 2])
def test_the_validation_score_counted_in_one_pass_equals_predicting_again(margin):
    X, y = crosses_on_flat_background(60)
    seg = tiny(content_margin=margin, max_epochs=5, lr=1e-2, lr_schedule="onecycle",
               criterion="dice_ce", batch_size=4, module__base_channels=8,
               train_split=ValidationSplit(0.25, random_state=0),
               callbacks=[("again", ScoreAgain())]).fit(X, y)
    counted = seg.history[:, "valid_overlap_iou"]
    np.testing.assert_allclose(counted, seg.history[:, "predicted_again"], rtol=1e-12)
    assert any(0.0 < score < 1.0 for score in counted)  # not only the trivial scores
    assert all(np.isfinite(seg.history[:, "valid_loss"]))
    assert seg.history[0, "valid_overlap_iou_best"] is True
    # the cache of crops is gone after fit, so that a pickled estimator stays small
    assert seg.content_crops_cache_ is None and seg.validation_dataset_ is None


class ModeRecorder(ShapeRecorder):
    """Records the mode, batch length and spatial size of every batch it is given."""

    calls: list = []

    def forward(self, x):
        ModeRecorder.calls.append((self.training, len(x), tuple(x.shape[-2:])))
        return self.inner(x)


def test_the_validation_pass_runs_on_content_crops_once_per_epoch():
    X, y = crosses_on_flat_background(24)
    ModeRecorder.calls = []
    ChromosomeSegmenter(ModeRecorder, content_margin=1, max_epochs=2, batch_size=8,
                        train_split=ValidationSplit(0.25, random_state=0), device="cpu",
                        random_state=0).fit(X, y)
    validation = [(n, shape) for training, n, shape in ModeRecorder.calls if not training]
    # 6 validation images an epoch, each seen once, in its box: no whole-image pass for the
    # loss and no second pass for the score
    assert sum(n for n, _ in validation) == 2 * 6
    assert all(h <= 32 and w <= 32 for _, (h, w) in validation)


def test_labels_outside_every_box_are_counted():
    X, y = crosses_on_flat_background(4)
    y[0, 0, 0] = 3  # a labelled overlap pixel on the exact background
    boxes = content_boxes(X[:, None], margin=0, divisor=4)
    batches = ContentCropBatches(torch.from_numpy(X[:, None]), torch.from_numpy(y), boxes,
                                 batch_size=2)
    assert batches.label_counts_outside.tolist()[1:] == [0, 0, 1]


def test_content_margin_is_a_parameter_that_survives_a_model_file(tmp_path):
    X, y = crosses_on_flat_background(16)
    seg = tiny(content_margin=3).fit(X, y)
    assert seg.get_params()["content_margin"] == 3
    seg.save(tmp_path / "model.pt")
    loaded = ChromosomeSegmenter.load(tmp_path / "model.pt")
    assert loaded.content_margin == 3
    np.testing.assert_array_equal(loaded.predict(X), seg.predict(X))


@pytest.mark.parametrize("margin", [-1, 2.5, True, "4"])
def test_a_bad_content_margin_is_named(margin):
    X, y = crosses_on_flat_background(8)
    with pytest.raises(ValueError, match="content_margin must be None or a number of pixels"):
        tiny(content_margin=margin).fit(X, y)


def test_an_epoch_scoring_of_ones_own_must_not_cache_the_cropped_validation():
    X, y = crosses_on_flat_background(24)
    split = ValidationSplit(0.25, random_state=0)
    caching = EpochScoring(lambda net, X, y: net.score(X, y), name="again")
    with pytest.raises(ValueError, match="use_caching=False"):
        tiny(content_margin=1, train_split=split, callbacks=[caching]).fit(X, y)
    # as the message says: without the cache it predicts the validation images again
    again = EpochScoring(lambda net, X, y: net.score(X, y), name="again", use_caching=False)
    seg = tiny(content_margin=1, max_epochs=2, train_split=split, callbacks=[again]).fit(X, y)
    np.testing.assert_allclose(seg.history[:, "again"], seg.history[:, "valid_overlap_iou"])
