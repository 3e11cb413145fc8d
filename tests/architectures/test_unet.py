import pytest
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


class TestUNetMaxBlurPool(TestUNet):
    """Every architecture test again with anti-aliased pooling (Zhang 2019)."""

    tiny_kwargs = {"base_channels": 4, "depth": 2, "pool": "maxblur"}
    learn_kwargs = {"base_channels": 8, "depth": 2, "pool": "maxblur"}

    def test_pooling_blurs_before_it_subsamples(self):
        model = UNet(base_channels=4, depth=2, pool="maxblur")
        # one bright pixel: max-pooling keeps a single 1; the blurred pooling spreads it
        x = torch.zeros(1, 1, 8, 8)
        x[..., 3, 3] = 1.0
        pooled = model.pool(x)
        assert pooled.shape == (1, 1, 4, 4)
        assert (pooled > 0).sum() > 1 and pooled.max() < 1.0
        assert torch.nn.MaxPool2d(2)(x).count_nonzero() == 1

    def test_an_unknown_pool_is_refused(self):
        with pytest.raises(ValueError, match="pool must be one of"):
            UNet(pool="average")
