import numpy as np
import pytest
import torch
from torch import nn

from chromoskl.architectures import AttentionUNet, UNet, record
from chromoskl.architectures._blocks import AttentionGate

from .base import BaseArchitectureTester


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


def _gate_params(c):
    # W_x and W_g: c -> c/2 without bias, psi: c/2 -> 1; batch norm after each (2 per channel)
    return 2 * c * (c // 2) + c // 2 + 2 * (c // 2 + c // 2 + 1)


class TestAttentionUNet(BaseArchitectureTester):
    name = "attention_unet"
    tiny_kwargs = {"base_channels": 4, "depth": 2}
    learn_kwargs = {"base_channels": 8, "depth": 2}
    # Hu et al.'s U-Net (1,863,172 with batch norm) plus gates on its 128- and 64-channel skips
    default_param_count = 1_884_136

    def test_default_is_the_unet_plus_two_gates(self):
        assert _gate_params(128) == 16_706 and _gate_params(64) == 4_258
        assert _n_params(AttentionUNet()) == _n_params(UNet()) + 16_706 + 4_258

    def test_defaults_are_the_thesis_configuration(self):
        model = AttentionUNet()
        assert model.input_divisor == 4
        assert [block[0].out_channels for block in model.encoder] == [64, 128]
        assert model.bottleneck[0].out_channels == 256
        assert [block[0].out_channels for block in model.decoder] == [128, 64]
        assert model.head.out_channels == 4 and model.head.in_channels == 64
        for up in model.ups:
            assert isinstance(up.up, nn.ConvTranspose2d)
            assert up.up.kernel_size == (2, 2) and up.up.stride == (2, 2)
        kernels = {m.kernel_size for m in model.modules() if isinstance(m, nn.Conv2d)}
        assert kernels == {(3, 3), (1, 1)}  # 3x3 convolutions; 1x1 in the gates and the head
        # the thesis's 88x88 inputs (Table 1: input (88, 88, 1)), 4 output channels
        with torch.no_grad():
            assert model.eval()(torch.randn(1, 1, 88, 88)).shape == (1, 4, 88, 88)

    def test_gate_coefficients_lie_in_unit_interval_with_the_skips_size(self):
        model = self.tiny()
        with record(model) as seen:
            model(torch.randn(2, 1, 16, 24))
        assert len(model.gates) == 2
        for gate, (h, w) in zip(model.gates, [(8, 12), (16, 24)]):  # deepest first
            alpha = seen[gate]
            assert alpha.shape == (2, 1, h, w)
            assert alpha.min() >= 0 and alpha.max() <= 1

    def test_open_gates_give_exactly_the_unet(self):
        # with alpha = 1 everywhere the skips pass unchanged: the network is Hu's U-Net
        att = AttentionUNet(base_channels=4, depth=2, batch_norm=False).eval()
        unet = UNet(base_channels=4, depth=2, batch_norm=False).eval()
        missing, unexpected = unet.load_state_dict(att.state_dict(), strict=False)
        assert missing == [] and all(k.startswith("gates.") for k in unexpected)
        with torch.no_grad():
            for gate in att.gates:
                gate.psi.weight.zero_()
                gate.psi.bias.fill_(100.0)
            x = torch.randn(2, 1, 16, 16)
            np.testing.assert_allclose(att(x).numpy(), unet(x).numpy(), rtol=1e-5, atol=1e-6)
            # a closed first gate changes the output
            att.gates[-1].psi.bias.fill_(-100.0)
            assert not torch.allclose(att(x), unet(x), atol=1e-3)

    def test_number_of_levels_follows_channels(self):
        model = AttentionUNet(base_channels=2, depth=3)
        assert model.input_divisor == 8 and len(model.gates) == 3
        assert model(torch.randn(1, 1, 24, 40)).shape == (1, 4, 24, 40)
        assert sum(isinstance(m, AttentionGate) for m in model.modules()) == 3

    def test_too_few_levels_is_rejected(self):
        with pytest.raises(ValueError, match="at least two levels"):
            AttentionUNet(channels=(8,))

    def test_without_batch_norm_has_no_norm_layers(self):
        model = AttentionUNet(base_channels=4, depth=2, batch_norm=False)
        assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
