"""The context blocks of CE-Net and ARMS Net, on tiny hand-checkable tensors."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from chromoskl.architectures import record
from chromoskl.architectures._adaptive import AMAC, ASSP, amac_rates, assp_kernel_sizes
from chromoskl.architectures._context import DAC, PPM, RMP, ResidualBlock, ResPath


@pytest.mark.parametrize(
    "m, n, expected",
    [
        (8, 8, (4, 2, 1, 3)),  # 128x128 input, 4 poolings: the paper's rates
        (6, 6, (3, 2, 3, 3)),  # 96x96 input: 3, 1.5 -> 2, 0.75 -> 3, 0.375 -> 3
        (16, 16, (8, 4, 2, 1)),
        (2, 2, (1, 3, 3, 3)),
        (1, 1, (3, 3, 3, 3)),
        (4, 9, (3, 2, 3, 3)),  # sqrt(36) = 6, as for 6x6
        (6, 8, (4, 2, 3, 3)),  # sqrt(48) = 6.93: 3.46 -> 4, 1.73 -> 2, 0.87 -> 3, 0.43 -> 3
    ],
)
def test_amac_rates(m, n, expected):
    assert amac_rates(m, n) == expected


def test_amac_rates_levels_and_bad_input():
    assert amac_rates(8, 8, levels=2) == (4, 2)
    assert amac_rates(64, 64, levels=6) == (32, 16, 8, 4, 2, 1)
    with pytest.raises(ValueError, match="positive"):
        amac_rates(0, 8)
    with pytest.raises(ValueError, match="levels"):
        amac_rates(8, 8, levels=0)


@pytest.mark.parametrize(
    "m, n, expected",
    [
        (8, 8, (4, 2, 3)),  # the worked example of ARMS 3.2.2: 4, 2, 1 -> 3
        (6, 6, (3, 2, 3)),  # 3, 1.5 -> 2, 0.75 -> 1 -> 3
        (16, 16, (8, 4, 2)),
        (1, 1, (3, 3, 3)),
    ],
)
def test_assp_kernel_sizes(m, n, expected):
    assert assp_kernel_sizes(m, n) == expected


def test_assp_kernel_sizes_levels_and_bad_input():
    assert assp_kernel_sizes(8, 8, levels=4) == (4, 2, 3, 3)
    with pytest.raises(ValueError, match="positive"):
        assp_kernel_sizes(8, -1)


def _conv_reference(block: AMAC, x: torch.Tensor, rates) -> torch.Tensor:
    """AMAC recomputed with ordinary nn.Conv2d layers built for each rate."""
    out = x.clone()
    for weight, bias, rate in zip(block.weights, block.biases, rates):
        conv = nn.Conv2d(x.shape[1], x.shape[1], 3, padding=rate, dilation=rate)
        conv.weight.data.copy_(weight.data)
        conv.bias.data.copy_(bias.data)
        branch = conv(x)
        if rate > 1:
            branch = block.conv1x1(branch)
        out = out + F.relu(branch)
    return out


@pytest.mark.parametrize("side, rates", [(8, (4, 2, 1, 3)), (6, (3, 2, 3, 3))])
def test_amac_matches_fixed_dilated_convolutions_and_records_rates(side, rates):
    block = AMAC(3)
    for bias in block.biases:
        nn.init.normal_(bias)
    x = torch.randn(2, 3, side, side)
    with torch.no_grad(), record(block) as seen:
        out = block(x)
        expected = _conv_reference(block, x, rates)
    assert seen[block] == rates
    assert out.shape == x.shape
    torch.testing.assert_close(out, expected)


def test_amac_fixed_rates_ignore_the_map_size():
    block = AMAC(2, rates=(4, 2, 1, 3))
    with record(block) as seen:
        block(torch.randn(1, 2, 6, 6))
    assert seen[block] == (4, 2, 1, 3)
    assert len(AMAC(2, rates=(1, 2)).weights) == 2
    with pytest.raises(ValueError, match="rate"):
        AMAC(2, rates=(2, 0))


def test_amac_with_zero_weights_is_the_identity():
    block = AMAC(3)
    with torch.no_grad():
        for p in block.parameters():
            p.zero_()
    x = torch.randn(1, 3, 8, 8)
    torch.testing.assert_close(block(x), x)


def test_amac_weights_shared_across_sizes_get_gradients():
    block = AMAC(2)
    for side in (8, 2):  # rates (4, 2, 1, 3) and (1, 3, 3, 3)
        block.zero_grad()
        block(torch.randn(1, 2, side, side)).sum().backward()
        assert all(p.grad is not None for p in block.parameters())


def test_dac_keeps_shape_and_matches_the_cascade():
    block = DAC(3)
    x = torch.randn(2, 3, 6, 7)
    with torch.no_grad():
        out = block(x)
        d1, d3, d5, c = block.dilate1, block.dilate3, block.dilate5, block.conv1x1
        expected = (
            x
            + F.relu(d1(x))
            + F.relu(c(d3(x)))
            + F.relu(c(d3(d1(x))))
            + F.relu(c(d5(d3(d1(x)))))
        )
    assert out.shape == x.shape
    torch.testing.assert_close(out, expected)
    assert [m.dilation for m in (d1, d3, d5)] == [(1, 1), (3, 3), (5, 5)]
    assert all(torch.count_nonzero(m.bias) == 0 for m in (d1, d3, d5, c))


def _constant_conv(conv: nn.Conv2d, value: float = 1.0) -> None:
    with torch.no_grad():
        conv.weight.fill_(value)
        conv.bias.zero_()


def test_rmp_on_a_map_smaller_than_its_pools():
    block = RMP(2)
    _constant_conv(block.conv)
    x = torch.arange(18, dtype=torch.float32).reshape(1, 2, 3, 3)
    with record(block) as seen:
        out = block(x)
    assert out.shape == (1, 6, 3, 3)
    assert seen[block] == ((2, 2), (3, 3), (3, 3), (3, 3))
    torch.testing.assert_close(out[:, 4:], x)
    # pools 3, 5 and 6 clamp to the whole 3x3 map: the sum over channels of the global max
    global_max = x.amax(dim=(2, 3)).sum().item()  # 8 + 17
    for branch in (1, 2, 3):
        torch.testing.assert_close(out[0, branch], torch.full((3, 3), global_max))
    # the 2x2 pool of stride 2 sees the top-left window only: max 4 and 13
    torch.testing.assert_close(out[0, 0], torch.full((3, 3), 17.0))


def test_rmp_uses_pool_sizes_on_a_large_map():
    block = RMP(4)
    with record(block) as seen:
        block(torch.randn(1, 4, 12, 10))
    assert seen[block] == ((2, 2), (3, 3), (5, 5), (6, 6))
    assert block(torch.randn(1, 4, 12, 10)).shape == (1, 8, 12, 10)


def test_assp_pools_with_adaptive_sizes_and_stride_two():
    block = ASSP(1)
    for conv in block.convs:
        _constant_conv(conv)
    x = torch.randn(1, 1, 8, 8)
    with record(block) as seen:
        out = block(x)
    assert out.shape == (1, 4, 8, 8)  # three branches stacked on the input
    assert seen[block] == ((4, 4), (2, 2), (3, 3))
    torch.testing.assert_close(out[:, 3:], x)
    for branch, k in enumerate((4, 2, 3)):
        pooled = F.max_pool2d(x, k, stride=2)  # 3x3, 4x4, 3x3
        expected = F.interpolate(pooled, size=(8, 8), mode="bilinear", align_corners=False)
        torch.testing.assert_close(out[:, branch : branch + 1], expected)
    with record(block) as seen:
        block(torch.randn(1, 1, 6, 6))
    assert seen[block] == ((3, 3), (2, 2), (3, 3))


def test_assp_fixed_sizes():
    block = ASSP(2, sizes=(4, 2, 3))
    with record(block) as seen:
        block(torch.randn(1, 2, 16, 16))
    assert seen[block] == ((4, 4), (2, 2), (3, 3))
    assert ASSP(2, sizes=(2, 5)).out_channels_added == 2
    with pytest.raises(ValueError, match="sizes"):
        ASSP(2, sizes=())
    with pytest.raises(ValueError, match="every size"):
        ASSP(2, sizes=(4, 0))


def test_assp_clamps_to_a_flat_map():
    block = ASSP(2)
    with record(block) as seen:
        assert block(torch.randn(1, 2, 2, 32)).shape == (1, 5, 2, 32)
    # sqrt(64) = 8: sizes 4, 2, 1 -> 3, each clamped to the 2 rows
    assert seen[block] == ((2, 4), (2, 2), (2, 3))


def test_ppm_of_unet_pr_pools_windows_with_their_own_stride():
    # ARMS 4.3: sizes and strides 2, 3 and 4 on the 8x8 map; stride 3 drops 2 rows/columns.
    block = PPM(3, pool_sizes=(2, 3, 4))
    assert block.out_channels_added == 3
    x = torch.rand(1, 3, 8, 8)
    pooled = [stage[0](x) for stage in block.stages]
    assert [tuple(p.shape[-2:]) for p in pooled] == [(4, 4), (2, 2), (2, 2)]
    torch.testing.assert_close(pooled[1][0, 0, 1, 1], x[0, 0, 3:6, 3:6].mean())
    assert block(x).shape == (1, 6, 8, 8)
    # a window larger than the map is clamped to it
    assert PPM(3, pool_sizes=(4,))(torch.rand(1, 3, 2, 2)).shape == (1, 6, 2, 2)


def test_ppm_bin_one_is_the_global_mean():
    block = PPM(4)
    assert block.out_channels_added == 4
    conv = block.stages[0][1]
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0] = 1.0
        conv.bias.zero_()
    x = torch.rand(2, 4, 6, 6)  # positive: ReLU keeps the mean
    out = block(x)
    assert out.shape == (2, 8, 6, 6)
    torch.testing.assert_close(out[:, 0], x[:, 0].mean(dim=(1, 2))[:, None, None].expand(2, 6, 6))
    torch.testing.assert_close(out[:, 4:], x)
    assert [stage[0].output_size for stage in block.stages] == [1, 2, 3, 6]


def test_ppm_on_a_map_smaller_than_its_bins():
    assert PPM(8)(torch.randn(1, 8, 2, 2)).shape == (1, 16, 2, 2)


def test_residual_block_and_res_path():
    block = ResidualBlock(3, 5)
    assert block(torch.randn(2, 3, 4, 4)).shape == (2, 5, 4, 4)
    path = ResPath(6, length=3)
    assert sum(isinstance(m, ResidualBlock) for m in path.modules()) == 3
    assert path(torch.randn(2, 6, 5, 5)).shape == (2, 6, 5, 5)
    # per unit: 3x3 conv 6*6*9, 1x1 conv 6*6, three batch norms of 2*6 parameters
    assert sum(p.numel() for p in path.parameters()) == 3 * (324 + 36 + 36)
    with pytest.raises(ValueError, match="length"):
        ResPath(4, length=0)


def test_residual_block_with_zero_convolutions_gives_zero():
    block = ResidualBlock(2, 2).eval()
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
    # BN in eval with default stats is the identity, so everything stays 0
    out = block(torch.randn(1, 2, 3, 3))
    assert out.shape == (1, 2, 3, 3)
    assert torch.count_nonzero(out) == 0
