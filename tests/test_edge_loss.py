"""Tests of the edge-weighted cross-entropy (``"edge_ce"``) and its band of edge pixels."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from chromoskl.losses import (
    DiceEdgeCELoss,
    DiceLoss,
    EdgeWeightedCELoss,
    inner_edge_band,
    resolve_criterion,
)


def test_band_is_the_edge_between_chromosome_classes_not_the_outline():
    # A (1) on the left, the overlap (3) on the right, background (0) around.
    labels = torch.tensor([[
        [0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 3, 3, 0],
        [0, 1, 1, 1, 3, 3, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ]])
    # the two columns where A meets the overlap, and the background pixels above and below
    expected = torch.zeros(1, 4, 7, dtype=torch.bool)
    expected[0, :, 3:5] = True
    band = inner_edge_band(labels, 4, width=1)
    assert torch.equal(band, expected)
    # width 2 reaches one more column on each side
    expected[0, :, 2:6] = True
    assert torch.equal(inner_edge_band(labels, 4, width=2), expected)


@pytest.mark.parametrize("width", [1, 2, 3])
def test_band_is_where_a_square_neighbourhood_holds_two_chromosome_classes(width):
    # the definition, written as max-pooling of the one-hot foreground, against the shifted
    # boolean masks that compute it; odd sizes, and images narrower than the square
    generator = torch.Generator().manual_seed(width)
    for shape in [(3, 17, 23), (2, 4, 31), (1, 2, 3)]:
        labels = torch.randint(0, 4, shape, generator=generator)
        foreground = F.one_hot(labels, 4)[..., 1:].movedim(-1, 1).float()
        near = F.max_pool2d(foreground, 2 * width + 1, stride=1, padding=width)
        assert torch.equal(inner_edge_band(labels, 4, width), near.sum(dim=1) >= 2)


def test_a_single_chromosome_has_no_band():
    labels = torch.zeros(1, 5, 5, dtype=torch.long)
    labels[0, 1:4, 1:4] = 2
    assert not inner_edge_band(labels, 4).any()


def test_hand_computed_weighted_mean():
    # One row: A, overlap, background. Pixels 0 and 1 see both A and the overlap (weight 4);
    # pixel 2 sees only the overlap among the chromosome classes (weight 1).
    labels = torch.tensor([[[1, 3, 0]]])
    logits = torch.zeros(1, 4, 1, 3)
    logits[0, 1, 0, 0] = math.log(3.0)  # pixel 0: p(A) = 3 / 6 -> ce = ln 2
    # pixel 1: uniform -> ce = ln 4; pixel 2: p(bg) = 5 / 8 -> ce = ln(8 / 5)
    logits[0, 0, 0, 2] = math.log(5.0)
    expected = (4 * math.log(2.0) + 4 * math.log(4.0) + math.log(8 / 5)) / 9
    assert EdgeWeightedCELoss(edge_weight=4.0)(logits, labels).item() == pytest.approx(expected)


def test_weight_one_is_cross_entropy_and_larger_weights_move_the_loss_to_the_edges():
    torch.manual_seed(0)
    labels = torch.randint(0, 4, (2, 8, 8))
    logits = torch.randn(2, 4, 8, 8)
    plain = F.cross_entropy(logits, labels).item()
    assert EdgeWeightedCELoss(edge_weight=1.0)(logits, labels).item() == pytest.approx(plain)
    band = inner_edge_band(labels, 4)
    per_pixel = F.cross_entropy(logits, labels, reduction="none")
    on_edges = per_pixel[band].mean().item()
    heavy = EdgeWeightedCELoss(edge_weight=1e6)(logits, labels).item()
    assert heavy == pytest.approx(on_edges, rel=1e-4)


def test_registry_name_and_parameters():
    assert resolve_criterion("edge_ce") is EdgeWeightedCELoss
    with pytest.raises(ValueError, match="width must be an integer >= 1"):
        EdgeWeightedCELoss(width=0)
    for bad in (0.0, -1.0, float("nan"), "4"):
        with pytest.raises(ValueError, match="edge_weight must be a finite number > 0"):
            EdgeWeightedCELoss(edge_weight=bad)


def test_dice_edge_ce_is_dice_plus_edge_ce_with_its_weight():
    torch.manual_seed(1)
    labels = torch.randint(0, 4, (2, 6, 6))
    logits = torch.randn(2, 4, 6, 6)
    combined = DiceEdgeCELoss(loss_params={"edge_ce": {"edge_weight": 10.0}})
    expected = DiceLoss()(logits, labels) + EdgeWeightedCELoss(edge_weight=10.0)(logits, labels)
    assert combined(logits, labels).item() == pytest.approx(expected.item())
    assert resolve_criterion("dice_edge_ce") is DiceEdgeCELoss
