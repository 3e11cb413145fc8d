import pytest
import torch

from chromoskl.architectures import CENet, record
from chromoskl.architectures._context import DAC, RMP
from chromoskl.architectures.cenet import _BasicBlock

from .base import BaseArchitectureTester

TINY = {"base_channels": 8, "blocks": (1, 1, 1, 1)}  # 8/16/32/64 channels


class TestCENet(BaseArchitectureTester):
    name = "cenet"
    tiny_kwargs = TINY
    # Its stem quarters the resolution: 4-pixel bars would leave a 1-pixel overlap to find,
    # and even with 8-pixel bars it needs ~250 steps to find the overlap (U-Nets need ~100).
    learn_half_width = 4
    learn_steps = 300
    # ResNet-34 widths and blocks on one input channel, DAC + RMP, the published decoder
    default_param_count = 28_997_688
    # at least 64: a 32x32 input leaves a 1x1 bottom map, which batch norm cannot train on
    # for a batch of one image
    sizes = ((64, 64), (64, 96))

    def test_input_divisor_is_32(self):
        assert self.tiny().input_divisor == 32

    def test_96x96_gives_a_3x3_bottom_map_and_clamped_pools(self):
        model = self.tiny().eval()
        with torch.no_grad(), record(model) as seen:
            assert model(torch.randn(2, 1, 96, 96)).shape == (2, 4, 96, 96)
        assert seen[model.rmp] == ((2, 2), (3, 3), (3, 3), (3, 3))

    def test_blocks_and_widths_are_parameters(self):
        model = CENet(channels=(4, 8, 12, 16), blocks=(1, 2, 3, 1))
        assert sum(isinstance(m, _BasicBlock) for m in model.modules()) == 7
        assert [stage[-1].body[-1].num_features for stage in model.encoder] == [4, 8, 12, 16]
        assert isinstance(model.dac, DAC) and isinstance(model.rmp, RMP)
        # RMP appends 4 maps to the 16 bottom channels
        assert model.decoder[0][0].in_channels == 20

    def test_default_is_resnet34_layout(self):
        model = CENet(base_channels=2)
        assert [len(stage) for stage in model.encoder] == [3, 4, 6, 3]
        assert model.stem[0].kernel_size == (7, 7) and model.stem[0].stride == (2, 2)
        assert model.stem[0].in_channels == 1

    def test_skips_are_added_not_concatenated(self):
        model = self.tiny().eval()
        seen = {}
        model.encoder[2].register_forward_hook(lambda m, i, o: seen.update(e3=o))
        model.decoder[1].register_forward_pre_hook(lambda m, i: seen.update(d=i[0]))
        with torch.no_grad():
            # the first decoder block then outputs ReLU(0) = 0, so the next one gets e3 alone
            model.decoder[0][-2].weight.zero_()
            model.decoder[0][-2].bias.zero_()
            model(torch.randn(1, 1, 64, 64))
        assert seen["d"].shape == seen["e3"].shape == (1, 32, 4, 4)
        torch.testing.assert_close(seen["d"], seen["e3"])

    @pytest.mark.parametrize(
        "kwargs", [{"channels": (8, 16, 32)}, {"blocks": (1, 1, 0, 1)}, {"channels": "abcd"}]
    )
    def test_bad_stages_give_clear_errors(self, kwargs):
        with pytest.raises(ValueError, match="four positive integers"):
            CENet(**kwargs)
