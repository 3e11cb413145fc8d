"""``ab_loss="orientation"``: the axes' order, its loss, and the estimator trained on it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from chromoskl.datasets import make_overlapping_chromosomes
from chromoskl.losses import (
    CELoss,
    DeepSupervisionLoss,
    OrientationOrderLoss,
    axis_angles,
    orientation_order,
    orientation_ordered,
)

from .test_estimator import tiny


def line(angle_degrees: float, size=41, length=30) -> np.ndarray:
    """A one-pixel line through the centre of a square, at this angle from x towards y."""
    mask = np.zeros((size, size), dtype=bool)
    t = np.linspace(-length / 2, length / 2, 4 * length)
    angle = math.radians(angle_degrees)
    mask[np.round(size // 2 + t * math.sin(angle)).astype(int),
         np.round(size // 2 + t * math.cos(angle)).astype(int)] = True
    return mask


def crossing(first_degrees: float, second_degrees: float) -> np.ndarray:
    """Labels of two crossing lines: 1 the first, 2 the second, 3 where they meet."""
    return (line(first_degrees) * 1 + line(second_degrees) * 2).astype(np.uint8)


def exchange(labels: np.ndarray) -> np.ndarray:
    return np.choose(labels, [0, 2, 1, 3]).astype(labels.dtype)


def ordered(labels: np.ndarray) -> np.ndarray:
    return orientation_order(torch.as_tensor(labels)).numpy()


@pytest.mark.parametrize("degrees", [0, 30, -45, 90])
def test_axis_angles_of_lines(degrees):
    angle = math.degrees(float(axis_angles(torch.as_tensor(line(degrees))[None])[0]))
    assert angle == pytest.approx(degrees, abs=1.0)
    assert float(axis_angles(torch.zeros(1, 5, 5))[0]) == 0.0  # no pixels


def test_label_1_goes_to_the_chromosome_whose_partner_lies_less_than_90_degrees_on():
    kept = crossing(10, 40)  # the second line lies 30 degrees on from the first
    assert np.array_equal(ordered(kept[None])[0], kept)
    turned = crossing(40, 10)  # the first lies 150 degrees on from the second: exchanged
    assert np.array_equal(ordered(turned[None])[0], exchange(turned))


@pytest.fixture(scope="module")
def clear_pairs():
    """Generated pairs whose two axes are 25-65 or 115-155 degrees apart (far from the
    rule's ambiguous differences, 0 and 90)."""
    labels = make_overlapping_chromosomes(60, random_state=3).labels
    tensor = torch.as_tensor(labels).long()
    apart = torch.rad2deg(torch.remainder(
        axis_angles((tensor == 2) | (tensor == 3)) - axis_angles((tensor == 1) | (tensor == 3)),
        math.pi)).numpy()
    keep = ((apart > 25) & (apart < 65)) | ((apart > 115) & (apart < 155))
    assert keep.sum() >= 20
    return labels[keep]


def test_the_order_is_the_geometry_s_and_turns_with_the_image(clear_pairs):
    labels = clear_pairs
    result = ordered(labels)
    # the same chromosomes named the other way round get the same order
    assert np.array_equal(ordered(exchange(labels)), result)
    # a quarter turn of the image turns the order with it
    turned = np.ascontiguousarray(np.rot90(labels, axes=(1, 2)))
    assert np.array_equal(ordered(turned), np.rot90(result, axes=(1, 2)))
    # a mirror image reverses it
    mirrored = np.ascontiguousarray(labels[:, :, ::-1])
    assert np.array_equal(ordered(mirrored), exchange(result[:, :, ::-1]))
    # about half the images are renamed, and only A and B ever change
    assert 0.2 < (result != labels).any(axis=(1, 2)).mean() < 0.8
    assert np.array_equal(result == 0, labels == 0)
    assert np.array_equal(result == 3, labels == 3)


def test_the_loss_is_the_criterion_against_the_reordered_labels():
    labels = torch.as_tensor(make_overlapping_chromosomes(4, random_state=0).labels).long()
    logits = torch.randn(4, 4, *labels.shape[1:], generator=torch.Generator().manual_seed(1))
    loss = OrientationOrderLoss(CELoss())(logits, labels)
    torch.testing.assert_close(loss, CELoss()(logits, orientation_order(labels)))
    assert not torch.isclose(loss, CELoss()(logits, labels))
    # inside deep supervision it wraps the loss of each map
    deep = orientation_ordered(DeepSupervisionLoss("ce"))
    assert isinstance(deep.loss_, OrientationOrderLoss)


def test_the_segmenter_trains_on_the_order_and_names_a_and_b_by_area():
    data = make_overlapping_chromosomes(48, shape=(40, 40), random_state=0)
    X, y = data.images, data.labels
    seg = tiny(max_epochs=3, ab_loss="orientation", ab_decoding="area", criterion="dice_edge_ce",
               lr=1e-2).fit(X, y)
    assert isinstance(seg.criterion_, OrientationOrderLoss)
    losses = seg.history[:, "train_loss"]
    assert losses[-1] < 0.8 * losses[0]
    labels = seg.predict(X)
    area_a = np.isin(labels, (1, 3)).sum(axis=(1, 2))
    assert np.all(area_a <= np.isin(labels, (2, 3)).sum(axis=(1, 2)))
    # the loss it reports is the criterion against the reordered labels
    with torch.no_grad():
        logits = seg.infer(torch.as_tensor(X[:8, None]))
        expected = seg.criterion_.loss(logits, orientation_order(torch.as_tensor(y[:8])))
        assert seg.get_loss(logits, torch.as_tensor(y[:8])).item() == pytest.approx(
            expected.item())


def test_the_network_s_a_and_b_are_refused_for_it():
    data = make_overlapping_chromosomes(8, shape=(40, 40), random_state=0)
    with pytest.raises(ValueError, match="set ab_decoding='area'"):
        tiny(ab_loss="orientation").fit(data.images, data.labels)
