"""``label_model="named_and_separated"``: a head trained on the labels as given and a
swap-invariant head on one network (``chromoskl/architectures/named_and_separated.py``,
``chromoskl/losses/_named_and_separated.py``)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from chromoskl import ChromosomeSegmenter
from chromoskl.architectures import NamedAndSeparated, create_network
from chromoskl.architectures.named_and_separated import named_and_separated_log_probs
from chromoskl.classes import BACKGROUND, CHROMOSOME_A, CHROMOSOME_B, OVERLAP
from chromoskl.losses import CELoss, NamedAndSeparatedLoss, swap_chromosomes

SURE = 30.0  # a logit margin that makes a class certain to within e^-30


def _sure_logits(labels: np.ndarray) -> torch.Tensor:
    """(1, 4, H, W) logits certain of ``labels``."""
    logits = torch.full((1, 4, *labels.shape), -SURE)
    logits[0].scatter_(0, torch.as_tensor(labels, dtype=torch.long)[None], SURE)
    return logits


# One row: background, three pixels of the smaller chromosome, the overlap, five of the larger.
TRUTH = np.array([[BACKGROUND, 1, 1, 1, OVERLAP, 2, 2, 2, 2, 2]])


def test_the_separating_head_names_the_smaller_chromosome_a():
    # The named head calls the whole of both chromosomes A; the separating head separates
    # them but calls the smaller one B.
    named = np.where(np.isin(TRUTH, (1, 2)), CHROMOSOME_A, TRUTH)
    separated = swap_chromosomes(torch.as_tensor(TRUTH)).numpy()
    maps = torch.cat([_sure_logits(named), _sure_logits(separated)], dim=1)
    labels = named_and_separated_log_probs(maps).argmax(1)[0].numpy()
    np.testing.assert_array_equal(labels, TRUTH)


def test_background_and_overlap_are_the_named_head_s():
    maps = torch.randn(3, 8, 5, 7, generator=torch.Generator().manual_seed(0))
    probs = named_and_separated_log_probs(maps).exp()
    named = maps[:, :4].softmax(1)
    torch.testing.assert_close(probs[:, BACKGROUND], named[:, BACKGROUND])
    torch.testing.assert_close(probs[:, OVERLAP], named[:, OVERLAP])
    torch.testing.assert_close(probs[:, CHROMOSOME_A] + probs[:, CHROMOSOME_B],
                               named[:, CHROMOSOME_A] + named[:, CHROMOSOME_B])
    torch.testing.assert_close(probs.sum(1), torch.ones(3, 5, 7), atol=1e-6, rtol=0)


def test_a_and_b_are_shared_as_the_ordered_separating_head_shares_them():
    maps = torch.randn(4, 8, 6, 6, generator=torch.Generator().manual_seed(1))
    probs = named_and_separated_log_probs(maps).exp()
    separated = maps[:, 4:].softmax(1)
    argmax = separated.argmax(1)
    exchanged = (argmax == 1).sum((1, 2)) > (argmax == 2).sum((1, 2))
    assert exchanged.any() and not exchanged.all()  # both cases are checked
    smaller = torch.where(exchanged[:, None, None], separated[:, 2], separated[:, 1])
    share = probs[:, CHROMOSOME_A] / (probs[:, CHROMOSOME_A] + probs[:, CHROMOSOME_B])
    torch.testing.assert_close(share, smaller / (separated[:, 1] + separated[:, 2]))


def test_bfloat16_maps_give_float32_log_probabilities():
    maps = torch.randn(2, 8, 3, 3, generator=torch.Generator().manual_seed(2))
    got = named_and_separated_log_probs(maps.bfloat16())
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, named_and_separated_log_probs(maps.bfloat16().float()))


def test_maps_of_another_count_are_one_clear_error():
    with pytest.raises(ValueError, match=r"\(N, 8, H, W\).*got shape \(1, 5, 2, 2\)"):
        named_and_separated_log_probs(torch.zeros(1, 5, 2, 2))


def test_training_sees_eight_maps_and_evaluation_four_classes():
    network = create_network("unet", "named_and_separated", base_channels=4, depth=2)
    assert isinstance(network, NamedAndSeparated) and network.input_divisor == 4
    assert network(torch.zeros(1, 1, 8, 8)).shape == (1, 8, 8, 8)
    network.eval()
    assert network(torch.zeros(1, 1, 8, 8)).shape == (1, 4, 8, 8)


def test_deep_supervision_maps_each_become_class_maps_in_evaluation():
    network = create_network("unetpp", "named_and_separated", channels=(4, 8, 16),
                             deep_supervision=True).eval()
    heads = network(torch.zeros(1, 1, 16, 16))
    assert isinstance(heads, tuple) and len(heads) == 2
    assert all(head.shape == (1, 4, 16, 16) for head in heads)


# ------------------------------------------------------------------ the loss


def test_the_loss_trains_one_head_on_the_labels_and_the_other_on_either_naming():
    labels = torch.as_tensor(TRUTH)[None]
    right, exchanged = _sure_logits(TRUTH), _sure_logits(swap_chromosomes(labels)[0].numpy())
    loss = NamedAndSeparatedLoss(CELoss())
    # The separating head may call A "B": no loss. The named head may not.
    assert float(loss(torch.cat([right, exchanged], 1), labels)) < 1e-6
    assert float(loss(torch.cat([exchanged, right], 1), labels)) > 10.0


def test_four_classes_are_scored_with_the_loss_alone():
    labels = torch.as_tensor(TRUTH)[None]
    logits = torch.randn(1, 4, 1, 10, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(NamedAndSeparatedLoss(CELoss())(logits, labels),
                               CELoss()(logits, labels))


def test_the_loss_names_a_wrong_map_count():
    with pytest.raises(ValueError, match="give 8 maps in training .* got 5"):
        NamedAndSeparatedLoss(CELoss())(torch.zeros(1, 5, 1, 10), torch.as_tensor(TRUTH)[None])


# ------------------------------------------------------------------ the estimator


def _pairs(n=12, size=(20, 24), seed=0):
    """Bars of two sizes that cross; A (the smaller) on either side, so that only its size
    tells which is A."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, *size), np.float32)
    labels = np.zeros((n, *size), np.uint8)
    for image, label in zip(images, labels):
        a = np.zeros(size, bool)
        b = np.zeros(size, bool)
        r = int(rng.integers(3, 13))
        c = int(rng.integers(3, 17))
        a[r:r + 4, 2:12] = True
        b[2:18, c:c + 5] = True
        if rng.random() < 0.5:
            a, b = np.fliplr(a), np.fliplr(b)
        label[a] = CHROMOSOME_A
        label[b] = CHROMOSOME_B
        label[a & b] = OVERLAP
        image[:] = 100.0 * a + 100.0 * b
    return images, labels


def test_a_segmenter_learns_both_heads_and_saves_them_whole(tmp_path):
    X, y = _pairs()
    seg = ChromosomeSegmenter(
        label_model="named_and_separated", ab_decoding="area", module__base_channels=4,
        module__depth=2, max_epochs=30, lr=2e-2, batch_size=4, criterion="dice_ce",
        device="cpu", random_state=0,
    ).fit(X, y)
    assert seg.module_.network.head.out_channels == 8
    losses = seg.history[:, "train_loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert np.isfinite(seg.history[:, "valid_loss"]).all()  # the 4-class path of the loss
    proba = seg.predict_proba(X)
    assert proba.shape == (12, 4, 20, 24)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    assert (seg.predict(X) == y).mean() > 0.9
    seg.save(tmp_path / "model.pt")
    loaded = ChromosomeSegmenter.load(tmp_path / "model.pt")
    assert loaded.label_model == "named_and_separated"
    np.testing.assert_allclose(loaded.predict_proba(X), proba, atol=1e-6)


def test_another_ab_loss_is_one_clear_error():
    X, y = _pairs(n=2)
    seg = ChromosomeSegmenter(label_model="named_and_separated", ab_loss="swap_invariant",
                              ab_decoding="area", module__base_channels=4, module__depth=2,
                              max_epochs=1, train_split=None, device="cpu")
    with pytest.raises(ValueError, match="leave ab_loss='fixed'"):
        seg.fit(X, y)


def test_another_out_channels_is_one_clear_error():
    X, y = _pairs(n=2)
    seg = ChromosomeSegmenter(label_model="named_and_separated", module__out_channels=4 * 2,
                              module__base_channels=4, module__depth=2, max_epochs=1,
                              train_split=None, device="cpu")
    with pytest.raises(ValueError, match="gives the 4 classes from 8 maps"):
        seg.fit(X, y)


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None
                    or importlib.util.find_spec("onnx") is None, reason="needs onnx")
def test_onnx_export_computes_the_combined_probabilities(tmp_path):
    import onnxruntime as ort

    X, y = _pairs(n=4)
    seg = ChromosomeSegmenter(label_model="named_and_separated", module__base_channels=4,
                              module__depth=2, max_epochs=1, batch_size=4, train_split=None,
                              device="cpu", random_state=0).fit(X, y)
    seg.export(tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": X[:, None]})[0]
    np.testing.assert_allclose(got, seg.predict_proba(X), atol=1e-4, rtol=0)
