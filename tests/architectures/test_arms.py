import inspect

import pytest
import torch

from chromoskl.architectures import (
    ARCHITECTURES,
    ARMSNet,
    UNetAAR,
    UNetAR,
    UNetDAR,
    UNetPR,
    UNetR,
    create_model,
    record,
)
from chromoskl.architectures._adaptive import AMAC, ASSP
from chromoskl.architectures._context import DAC, PPM, RMP, ResidualBlock, ResPath

from .base import BaseArchitectureTester

TINY = {"base_channels": 4, "depth": 4}
# Width 12: at width 8 the crossing-bar fit of ARMS Net (3-branch ASSP) stays, at seed 0, in a
# minimum that never predicts the overlap (as UNet (AR) does at seed 1); at 12 they all fit.
LEARN = {"base_channels": 12, "depth": 3}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def first(model: torch.nn.Module, kind: type) -> torch.nn.Module:
    return next(m for m in model.modules() if isinstance(m, kind))


class _ARMSFamilyTester(BaseArchitectureTester):
    """The ARMS networks share their small test configurations."""

    tiny_kwargs = TINY
    learn_kwargs = LEARN


class TestARMSNet(_ARMSFamilyTester):
    name = "arms"
    default_param_count = 18_620_935


class TestUNetR(_ARMSFamilyTester):
    name = "unet_r"
    default_param_count = 8_914_436


class TestUNetPR(_ARMSFamilyTester):
    name = "unet_pr"
    default_param_count = 9_698_306


class TestUNetAR(_ARMSFamilyTester):
    name = "unet_ar"
    default_param_count = 8_919_047


class TestUNetDAR(_ARMSFamilyTester):
    name = "unet_dar"
    default_param_count = 16_261_127


class TestUNetAAR(_ARMSFamilyTester):
    name = "unet_aar"
    default_param_count = 18_620_935  # the same network as ARMS Net (see UNetAAR)


# ----------------------------------------------------------------- adaptive rates and sizes


@pytest.mark.parametrize(
    "side, rates, pools",
    # 128x128 input: the 8x8 worked example of ARMS section 3.2.
    [(128, (4, 2, 1, 3), (4, 2, 3)), (96, (3, 2, 3, 3), (3, 2, 3))],
)
def test_rates_and_pool_sizes_follow_the_input(side, rates, pools):
    model = ARMSNet(**TINY).eval()
    with torch.no_grad(), record(model) as seen:
        out = model(torch.randn(1, 1, side, side))
    assert out.shape == (1, 4, side, side)
    assert seen[first(model, AMAC)] == rates
    assert seen[first(model, ASSP)] == tuple((k, k) for k in pools)


def test_one_model_serves_both_sizes():
    model = ARMSNet(**TINY).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x128, x96 = torch.randn(1, 1, 128, 128), torch.randn(1, 1, 96, 96)
    with torch.no_grad(), record(model) as seen:
        a = model(x128)
        model(x96)
        assert seen[first(model, AMAC)] == (3, 2, 3, 3)
        b = model(x128)
    assert seen[first(model, AMAC)] == (4, 2, 1, 3)
    torch.testing.assert_close(a, b)  # running the other size changed nothing
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key])


def test_fixed_amac_rates_for_128_on_a_96_input():
    model = ARMSNet(**TINY, amac_rates=(4, 2, 1, 3)).eval()
    with torch.no_grad(), record(model) as seen:
        model(torch.randn(1, 1, 96, 96))
    assert seen[first(model, AMAC)] == (4, 2, 1, 3)


def test_rates_and_sizes_of_128_fixed_on_a_256_input():
    # ARMS Table 5, "UNet (AAR)128": 256x256 inputs, the module sized as for 128x128.
    model = ARMSNet(base_channels=2, amac_rates=(4, 2, 1, 3), assp_sizes=(4, 2, 3)).eval()
    adaptive = ARMSNet(base_channels=2).eval()
    with torch.no_grad(), record(model) as seen, record(adaptive) as seen_adaptive:
        model(torch.randn(1, 1, 256, 256))
        adaptive(torch.randn(1, 1, 256, 256))
    assert seen[first(model, AMAC)] == (4, 2, 1, 3)
    assert seen[first(model, ASSP)] == ((4, 4), (2, 2), (3, 3))
    # adaptive on the 16x16 map: rates 8, 4, 2, 1 and pool sizes 8, 4, 2
    assert seen_adaptive[first(adaptive, AMAC)] == (8, 4, 2, 1)
    assert seen_adaptive[first(adaptive, ASSP)] == ((8, 8), (4, 4), (2, 2))


# ----------------------------------------------------------------- the ablation switches

PARTS = {"amac": AMAC, "assp": ASSP, "dac": DAC, "ppm": PPM, "rmp": RMP}
EXPECTED = {
    "arms": {"amac", "assp"},
    "unet_r": set(),
    "unet_pr": {"ppm"},
    "unet_ar": {"assp"},
    "unet_dar": {"dac", "assp"},
    "unet_aar": {"amac", "assp"},
}


@pytest.mark.parametrize("name, present", sorted(EXPECTED.items()))
def test_each_ablation_has_exactly_its_parts(name, present):
    model = create_model(name, **TINY)
    kinds = {type(m) for m in model.modules()}
    found = {part for part, kind in PARTS.items() if kind in kinds}
    assert found == present
    assert sum(isinstance(m, ResPath) for m in model.modules()) == 4


def test_ablations_are_the_same_class_with_other_defaults():
    for name in EXPECTED:
        cls = ARCHITECTURES[name]
        assert issubclass(cls, ARMSNet)
        assert cls.__init__ is ARMSNet.__init__
    # a switch given explicitly wins over the class's default
    switched = UNetR(**TINY, bottleneck=("amac", "assp"))
    arms = ARMSNet(**TINY)
    assert n_params(switched) == n_params(arms)
    assert [type(m) for m in switched.context] == [AMAC, ASSP]


def test_parameter_counts_differ_between_ablations():
    counts = {name: n_params(create_model(name, **TINY)) for name in EXPECTED}
    assert counts["arms"] == counts["unet_aar"]
    distinct = [counts[n] for n in ("unet_r", "unet_pr", "unet_ar", "unet_dar", "arms")]
    assert len(set(distinct)) == 5
    # ASSP adds 3 one-channel 1x1 convs on the 64-channel bottom (3 * 65) and widens the
    # first up-convolution by 3 input channels (3 * 32 * 2 * 2)
    assert counts["unet_ar"] - counts["unet_r"] == 3 * 65 + 3 * 32 * 4
    # UNet (PR)'s PPM: 3 pools, each a 1x1 conv from 64 to 64 // 3 = 21 channels with bias,
    # and 63 more input channels for the first up-convolution
    assert counts["unet_pr"] - counts["unet_r"] == 3 * (64 * 21 + 21) + 63 * 32 * 4


def test_plain_skips_remove_every_res_path():
    model = ARMSNet(**TINY, skip="plain")
    assert not any(isinstance(m, (ResPath, ResidualBlock)) for m in model.modules())
    assert model(torch.randn(1, 1, 32, 32)).shape == (1, 4, 32, 32)
    with_paths = ARMSNet(**TINY)
    # Res Path units: widths 4, 8, 16, 32 with 4, 3, 2, 1 units of (9c^2 + c^2 + 6c) each
    expected = sum(n * (10 * c * c + 6 * c) for c, n in ((4, 4), (8, 3), (16, 2), (32, 1)))
    assert n_params(with_paths) - n_params(model) == expected


def test_res_path_lengths_are_4_3_2_1():
    model = ARMSNet(**TINY)
    assert [len(path) for path in model.skips] == [4, 3, 2, 1]
    assert [path[0].conv[0].in_channels for path in model.skips] == [4, 8, 16, 32]


def test_default_widths_are_the_papers():
    signature = inspect.signature(ARMSNet.__init__)
    assert signature.parameters["base_channels"].default == 32
    assert signature.parameters["depth"].default == 4


@pytest.mark.parametrize("depth, lengths", [(3, [3, 2, 1]), (5, [5, 4, 3, 2, 1])])
def test_depth_sets_the_divisor_and_res_paths(depth, lengths):
    model = ARMSNet(base_channels=2, depth=depth).eval()
    assert model.input_divisor == 2**depth
    assert [len(path) for path in model.skips] == lengths
    side = 4 * 2**depth  # bottom map 4x4: rates (2, 1, 3, 3)
    with torch.no_grad(), record(model) as seen:
        assert model(torch.randn(1, 1, side, side)).shape == (1, 4, side, side)
    assert seen[first(model, AMAC)] == (2, 1, 3, 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"skip": "dense"}, "skip"),
        ({"bottleneck": ("amac", "aspp")}, "bottleneck part"),
        ({"depth": 0}, "depth"),
    ],
)
def test_bad_switches_give_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ARMSNet(**{**TINY, **kwargs})


def test_a_single_part_may_be_given_as_a_string():
    model = ARMSNet(**TINY, bottleneck="dac")
    assert [type(m) for m in model.context] == [DAC]


def test_registry_classes():
    assert {name: ARCHITECTURES[name] for name in EXPECTED} == {
        "arms": ARMSNet,
        "unet_r": UNetR,
        "unet_pr": UNetPR,
        "unet_ar": UNetAR,
        "unet_dar": UNetDAR,
        "unet_aar": UNetAAR,
    }
