"""``label_model="summed_masks"``: the four classes as the sum of A's and B's mask values, as
Pommier's generator labels them (``chromoskl/architectures/summed_masks.py``)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from chromoskl import ChromosomeSegmenter
from chromoskl.architectures import SummedMasks, create_network
from chromoskl.architectures.summed_masks import summed_mask_log_probs
from chromoskl.classes import BACKGROUND, CHROMOSOME_A, CHROMOSOME_B, OVERLAP

from ._scripts import load_script

SURE = 30.0  # a logit margin that makes a value certain to within e^-30


def _maps(a_value: int, b_value: int) -> torch.Tensor:
    """(1, 5, 1, 1) logits that are sure of A's mask value and B's."""
    maps = torch.full((1, 5, 1, 1), -SURE)
    maps[0, a_value] = SURE
    maps[0, 2 + b_value] = SURE
    return maps


@pytest.mark.parametrize(("a_value", "b_value", "label"), [
    (0, 0, BACKGROUND), (1, 0, CHROMOSOME_A), (0, 1, CHROMOSOME_A), (0, 2, CHROMOSOME_B),
    (1, 1, CHROMOSOME_B), (1, 2, OVERLAP),
])
def test_each_pair_of_mask_values_is_the_class_of_their_sum(a_value, b_value, label):
    probs = summed_mask_log_probs(_maps(a_value, b_value)).exp()[0, :, 0, 0]
    assert int(probs.argmax()) == label
    assert float(probs[label]) > 1 - 1e-6


def test_class_probabilities_are_those_of_the_sum_of_independent_values():
    maps = torch.randn(3, 5, 4, 6, generator=torch.Generator().manual_seed(0))
    got = summed_mask_log_probs(maps).exp()
    p_a, p_b = maps[:, :2].softmax(1), maps[:, 2:].softmax(1)
    expected = torch.stack([
        p_a[:, 0] * p_b[:, 0],
        p_a[:, 1] * p_b[:, 0] + p_a[:, 0] * p_b[:, 1],
        p_a[:, 0] * p_b[:, 2] + p_a[:, 1] * p_b[:, 1],
        p_a[:, 1] * p_b[:, 2],
    ], dim=1)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(got.sum(1), torch.ones(3, 4, 6), atol=1e-6, rtol=0)


def test_bfloat16_maps_give_float32_log_probabilities():
    maps = torch.randn(2, 5, 3, 3, generator=torch.Generator().manual_seed(1))
    got = summed_mask_log_probs(maps.bfloat16())
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, summed_mask_log_probs(maps.bfloat16().float()))


def test_maps_of_another_count_are_one_clear_error():
    with pytest.raises(ValueError, match=r"\(N, 5, H, W\).*got shape \(1, 4, 2, 2\)"):
        summed_mask_log_probs(torch.zeros(1, 4, 2, 2))


def test_deep_supervision_maps_each_become_class_maps():
    network = create_network("unetpp", "summed_masks", channels=(4, 8, 16),
                             deep_supervision=True)
    assert isinstance(network, SummedMasks) and network.input_divisor == 4
    heads = network(torch.zeros(1, 1, 16, 16))
    assert isinstance(heads, tuple) and len(heads) == 2
    assert all(head.shape == (1, 4, 16, 16) for head in heads)


def _images_and_labels(n=8, size=(20, 24), seed=0):
    """Squares of A (value 1) and B (value 2) whose labels are the masks' sum, B's rim 1."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, *size), np.float32)
    labels = np.zeros((n, *size), np.uint8)
    for image, label in zip(images, labels):
        r, c = rng.integers(2, 8, 2)
        a = np.zeros(size, np.uint8)
        a[r:r + 8, c:c + 8] = 1
        b = np.zeros(size, np.uint8)
        r, c = rng.integers(4, 9, 2)
        b[r:r + 9, c:c + 12] = 1
        b[r + 1:r + 8, c + 1:c + 11] = 2
        label[:] = a + b
        image[:] = 90 * a + 45 * b
    return images, labels


def test_a_segmenter_learns_summed_labels_and_saves_them_whole(tmp_path):
    X, y = _images_and_labels()
    seg = ChromosomeSegmenter(
        label_model="summed_masks", module__base_channels=4, module__depth=2, max_epochs=25,
        lr=2e-2, batch_size=4, criterion="dice_ce", train_split=None, device="cpu",
        random_state=0, content_margin=0,
    ).fit(X, y)
    assert isinstance(seg.module_, SummedMasks)
    assert seg.module_.network.head.out_channels == 5
    losses = seg.history[:, "train_loss"]
    assert losses[-1] < 0.5 * losses[0]
    proba = seg.predict_proba(X)
    assert proba.shape == (8, 4, 20, 24)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    assert (seg.predict(X) == y).mean() > 0.9
    seg.save(tmp_path / "model.pt")
    loaded = ChromosomeSegmenter.load(tmp_path / "model.pt")
    assert loaded.label_model == "summed_masks"
    assert loaded.box_norm_stats_.keys() == seg.box_norm_stats_.keys()
    np.testing.assert_allclose(loaded.predict_proba(X), proba, atol=1e-6)


def test_another_out_channels_is_one_clear_error():
    X, y = _images_and_labels(n=2)
    seg = ChromosomeSegmenter(label_model="summed_masks", module__out_channels=3,
                              module__base_channels=4, module__depth=2, max_epochs=1,
                              train_split=None, device="cpu")
    with pytest.raises(ValueError, match="sets the network's out_channels itself"):
        seg.fit(X, y)


def test_an_unknown_label_model_is_one_clear_error():
    X, y = _images_and_labels(n=2)
    seg = ChromosomeSegmenter(label_model="sums", module__base_channels=4, module__depth=2,
                              max_epochs=1, train_split=None, device="cpu")
    with pytest.raises(ValueError, match=r"label_model must be one of \('classes', "
                                         r"'summed_masks'\), got 'sums'"):
        seg.fit(X, y)


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None
                    or importlib.util.find_spec("onnx") is None, reason="needs onnx")
def test_onnx_export_computes_the_summed_probabilities(tmp_path):
    import onnxruntime as ort

    X, y = _images_and_labels(n=4)
    seg = ChromosomeSegmenter(label_model="summed_masks", module__base_channels=4,
                              module__depth=2, max_epochs=1, batch_size=4, train_split=None,
                              device="cpu", random_state=0).fit(X, y)
    seg.export(tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": X[:, None]})[0]
    np.testing.assert_allclose(got, seg.predict_proba(X), atol=1e-4, rtol=0)


# ------------------------------------------------------------------ benchmarks/raw_label_rings.py


@pytest.fixture(scope="module")
def rings():
    return load_script("benchmarks/raw_label_rings.py")


def test_b_rim_on_the_background_counts_as_stray_a(rings):
    _, labels = _images_and_labels(n=1, seed=3)
    label = labels[0]
    stray = rings.stray_a(label)
    assert stray.any()
    # every stray A pixel is B's rim (mask value 1 of B, none of A)
    assert (label[stray] == CHROMOSOME_A).all()
    counts = rings.ring_counts(labels)
    assert counts["images_with_stray_a"] == 1
    assert counts["stray_a_pixels"] == int(stray.sum())
    assert 0 < counts["outside_b_stray_a"] <= counts["stray_a_pixels"]


def test_labels_without_a_rim_have_no_stray_a(rings):
    labels = np.zeros((1, 10, 10), np.uint8)
    labels[0, 2:6, 2:6] = CHROMOSOME_A
    labels[0, 4:9, 4:9] = CHROMOSOME_B
    labels[0, 4:6, 4:6] = OVERLAP
    counts = rings.ring_counts(labels)
    assert counts["images_with_stray_a"] == 0 and counts["stray_a_pixels"] == 0
    assert counts["outside_b_stray_a"] == 0 and counts["outside_b_background"] > 0
