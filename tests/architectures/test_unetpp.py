import numpy as np
import pytest
import torch

from chromoskl.architectures import UNetPlusPlus, record
from chromoskl.architectures._blocks import AttentionGate

from .base import BaseArchitectureTester

TINY = {"base_channels": 4, "depth": 2}  # 4/8/16, two poolings: heads X^{0,1}, X^{0,2}


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


def _n_gates(model):
    return sum(isinstance(m, AttentionGate) for m in model.modules())


class TestUNetPlusPlus(BaseArchitectureTester):
    name = "unetpp"
    tiny_kwargs = TINY
    learn_kwargs = {"base_channels": 8, "depth": 2}
    # Zhou's 32/64/128/256/512 UNet++ (9,045,744, see below) plus 10 attention gates
    default_param_count = 9_162_532

    def test_plain_unetpp_has_zhous_size(self):
        # Zhou et al. (2018, Table 1) report 9.04M parameters for UNet++ with these widths
        model = UNetPlusPlus(attention=False)
        assert _n_params(model) == 9_045_744
        assert model.input_divisor == 16

    def test_attention_false_removes_every_gate(self):
        assert _n_gates(UNetPlusPlus(**TINY, attention=False)) == 0
        assert len(UNetPlusPlus(**TINY, attention=False).gates) == 0
        # one gate per nested node: L(L+1)/2
        assert _n_gates(UNetPlusPlus(**TINY)) == 3
        assert _n_gates(UNetPlusPlus()) == 10
        # c^2 + 2.5c + 2 parameters per gate of width c; 4, 3, 2, 1 gates at 32, 64, 128, 256
        by_hand = 4 * 1106 + 3 * 4258 + 2 * 16706 + 1 * 66178
        assert _n_params(UNetPlusPlus()) - _n_params(UNetPlusPlus(attention=False)) == by_hand

    def test_nested_nodes_concatenate_every_earlier_node_of_their_level(self):
        model = UNetPlusPlus(base_channels=4, depth=3)
        for i, width in enumerate((4, 8, 16)):
            for j in range(1, 4 - i):
                assert model.nodes[f"x{i}_{j}"][0].in_channels == (j + 1) * width
        assert set(model.gates) == set(model.ups) == {
            "x0_1", "x0_2", "x0_3", "x1_1", "x1_2", "x2_1",
        }

    @pytest.mark.parametrize("channels", [(4, 8), (4, 8, 16), (2, 4, 8, 16, 32)])
    def test_deep_supervision_returns_one_head_per_pooling_final_first(self, channels):
        model = UNetPlusPlus(channels=channels).eval()
        depth = len(channels) - 1
        top = {}
        for j in range(1, depth + 1):
            model.nodes[f"x0_{j}"].register_forward_hook(
                lambda module, args, output, j=j: top.__setitem__(j, output)
            )
        x = torch.randn(2, 1, 32, 48)
        with torch.no_grad():
            out = model(x)
            assert isinstance(out, tuple) and len(out) == depth
            assert all(o.shape == (2, 4, 32, 48) for o in out)
            expected = [model.heads[depth - 1](top[depth])]
            expected += [model.heads[j - 1](top[j]) for j in range(1, depth)]
            for got, want in zip(out, expected):
                torch.testing.assert_close(got, want)

    def test_without_deep_supervision_a_tensor_equal_to_the_final_head(self):
        deep = UNetPlusPlus(**TINY).eval()
        flat = UNetPlusPlus(**TINY, deep_supervision=False).eval()
        assert len(flat.heads) == 1
        state = {k: v for k, v in deep.state_dict().items() if not k.startswith("heads.")}
        state |= {f"heads.0.{k}": v for k, v in deep.heads[-1].state_dict().items()}
        flat.load_state_dict(state)
        x = torch.randn(3, 1, 16, 32)
        with torch.no_grad():
            out = flat(x)
            assert isinstance(out, torch.Tensor)
            np.testing.assert_array_equal(out.numpy(), deep(x)[0].numpy())

    def test_gradients_reach_the_auxiliary_heads(self):
        model = UNetPlusPlus(**TINY)
        final, aux = model(torch.randn(2, 1, 16, 16))
        aux.square().mean().backward(retain_graph=True)
        # the auxiliary loss trains its own head and not the final one
        assert model.heads[0].weight.grad.abs().sum() > 0
        assert model.heads[1].weight.grad is None
        model.zero_grad(set_to_none=True)
        (final.square().mean() + aux.square().mean()).backward()
        for head in model.heads:
            assert head.weight.grad.abs().sum() > 0

    def test_gate_coefficients_lie_in_unit_interval_with_the_skips_size(self):
        model = UNetPlusPlus(**TINY)
        with record(model) as seen:
            model(torch.randn(2, 1, 16, 24))
        for key, gate in model.gates.items():
            level = int(key[1])
            alpha = seen[gate]
            assert alpha.shape == (2, 1, 16 // 2**level, 24 // 2**level)
            assert alpha.min() >= 0 and alpha.max() <= 1

    def test_too_few_levels_is_rejected(self):
        with pytest.raises(ValueError, match="at least two levels"):
            UNetPlusPlus(channels=(8,))
