"""The additive attention gate of Oktay et al. (2018)."""

import numpy as np
import pytest
import torch

from chromoskl.architectures import record
from chromoskl.architectures._blocks import AttentionGate


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_gate_matches_the_formula_by_hand():
    # 2 skip channels, 1 gate channel, 1 intermediate channel, no batch norm:
    # alpha = sigmoid(f * relu(a x0 + b x1 + c g + d) + e), output = x * alpha
    gate = AttentionGate(2, 1, inter_channels=1, batch_norm=False)
    a, b, c, d, e, f = 0.5, -1.0, 2.0, 0.25, -0.5, 1.5
    with torch.no_grad():
        gate.w_x.weight.copy_(torch.tensor([a, b]).view(1, 2, 1, 1))
        gate.w_g.weight.fill_(c)
        gate.w_g.bias.fill_(d)
        gate.psi.weight.fill_(f)
        gate.psi.bias.fill_(e)
    x = torch.tensor([[[[1.0, -2.0]], [[0.5, 3.0]]]])  # (1, 2, 1, 2)
    g = torch.tensor([[[[0.0, 1.0]]]])  # (1, 1, 1, 2)
    with record(gate) as seen:
        out = gate(x, g)

    # pixel 0: relu(0.5 - 0.5 + 0 + 0.25) = 0.25 -> alpha = sigmoid(1.5 * 0.25 - 0.5)
    # pixel 1: relu(-1 - 3 + 2 + 0.25) = 0 -> alpha = sigmoid(-0.5)
    alpha = np.array([_sigmoid(-0.125), _sigmoid(-0.5)])  # [0.4688, 0.3775]
    np.testing.assert_allclose(seen[gate].numpy()[0, 0, 0], alpha, rtol=1e-6)
    expected = np.array([[1.0, -2.0], [0.5, 3.0]]) * alpha
    np.testing.assert_allclose(out.detach().numpy()[0, :, 0], expected, rtol=1e-6)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_coefficients_lie_in_unit_interval_with_the_skips_size(batch_norm):
    gate = AttentionGate(6, 10, batch_norm=batch_norm)
    x, g = 5 * torch.randn(3, 6, 12, 20), 5 * torch.randn(3, 10, 12, 20)
    with record(gate) as seen:
        assert seen.calls(gate) == []  # nothing before the first call
        out = gate(x, g)
    alpha = seen[gate]
    assert out.shape == x.shape
    assert alpha.shape == (3, 1, 12, 20)
    assert not alpha.requires_grad
    assert alpha.min() >= 0 and alpha.max() <= 1
    assert alpha.std() > 0  # a real map, not a constant
    # each channel of the skip is scaled by the same coefficient
    torch.testing.assert_close(out, x * alpha)


def test_saturated_gate_closes_and_opens_the_skip():
    gate = AttentionGate(3, 3, batch_norm=False)
    x, g = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    with torch.no_grad():
        gate.psi.weight.zero_()
        gate.psi.bias.fill_(-100.0)
        assert gate(x, g).abs().max() < 1e-30
        gate.psi.bias.fill_(100.0)
        torch.testing.assert_close(gate(x, g), x)


def test_gradients_reach_skip_gate_and_weights():
    gate = AttentionGate(4, 8)
    x = torch.randn(2, 4, 6, 6, requires_grad=True)
    g = torch.randn(2, 8, 6, 6, requires_grad=True)
    gate(x, g).square().mean().backward()
    for tensor in (x, g, *gate.parameters()):
        assert tensor.grad is not None and tensor.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("skip", "gate_channels", "inter", "batch_norm", "expected"),
    [
        # W_x c*i, W_g c_g*i + i (bias), psi i + 1 (bias)
        (8, 6, None, False, 8 * 4 + 6 * 4 + 4 + 4 + 1),
        # with batch norm no conv bias; 2 affine parameters per normalised channel
        (8, 6, None, True, 8 * 4 + 6 * 4 + 4 + 2 * (4 + 4 + 1)),
        (5, 5, 3, True, 5 * 3 + 5 * 3 + 3 + 2 * (3 + 3 + 1)),
        (1, 1, None, False, 1 + 1 + 1 + 1 + 1),  # inter_channels is at least 1
    ],
)
def test_parameter_count(skip, gate_channels, inter, batch_norm, expected):
    gate = AttentionGate(skip, gate_channels, inter, batch_norm)
    assert sum(p.numel() for p in gate.parameters()) == expected


def test_mismatched_gate_size_is_rejected_with_the_fix():
    gate = AttentionGate(4, 4)
    with pytest.raises(ValueError, match="upsample the gating signal"):
        gate(torch.randn(1, 4, 8, 8), torch.randn(1, 4, 4, 4))
    with pytest.raises(ValueError, match="batch size"):
        gate(torch.randn(2, 4, 8, 8), torch.randn(1, 4, 8, 8))
