import torch

from chromoskl.architectures import UNet

from .base import BaseArchitectureTester


class TestUNet(BaseArchitectureTester):
    name = "unet"
    tiny_kwargs = {"base_channels": 4, "depth": 2}
    learn_kwargs = {"base_channels": 8, "depth": 2}
    default_param_count = 1_863_172  # Hu et al.'s 64/128/256 network, with batch norm

    def test_depth_and_width_change_the_network(self):
        deep = UNet(base_channels=4, depth=4)
        assert deep.input_divisor == 16
        assert deep(torch.randn(1, 1, 32, 48)).shape == (1, 4, 32, 48)
        # the bottleneck of depth d has base * 2**d channels
        assert deep.bottleneck[0].out_channels == 64
        assert UNet(base_channels=8, depth=2).bottleneck[0].out_channels == 32

    def test_without_batch_norm_has_no_norm_layers(self):
        model = UNet(base_channels=4, batch_norm=False)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
