"""One network signature for every architecture, and diagnostics collected by forward hooks."""

import copy
import inspect

import pytest
import torch

from chromoskl.architectures import (
    ARCHITECTURES,
    ARMSNet,
    AttentionUNet,
    CENet,
    UNet,
    UNetPlusPlus,
    create_model,
    record,
)
from chromoskl.architectures._adaptive import AMAC, ASSP
from chromoskl.architectures._blocks import AttentionGate
from chromoskl.architectures._context import RMP

SIZE_PARAMETERS = ("in_channels", "out_channels", "base_channels", "depth", "channels")
# CE-Net needs one block count per stage; everything else takes the size parameters alone
EXTRA = {"cenet": {"blocks": (1, 1, 1)}}


def _shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_network_takes_the_same_size_parameters_in_the_same_order(name):
    parameters = list(inspect.signature(ARCHITECTURES[name]).parameters)
    assert parameters[: len(SIZE_PARAMETERS)] == list(SIZE_PARAMETERS)
    assert inspect.signature(ARCHITECTURES[name]).parameters["channels"].default is None


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_channels_spells_out_what_base_channels_and_depth_say(name):
    extra = EXTRA.get(name, {})
    by_size = create_model(name, base_channels=4, depth=2, **extra)
    by_levels = create_model(name, channels=(4, 8, 16), **extra)
    assert _shapes(by_size) == _shapes(by_levels)
    # two halvings between the first and the deepest level (CE-Net's stem halves twice more)
    assert by_size.input_divisor == (16 if name == "cenet" else 4)


@pytest.mark.parametrize(
    "cls, base, depth", [(UNet, 64, 2), (AttentionUNet, 64, 2), (UNetPlusPlus, 32, 4),
                         (CENet, 64, 3), (ARMSNet, 32, 4)],
)
def test_the_defaults_are_the_published_widths(cls, base, depth):
    parameters = inspect.signature(cls).parameters
    assert (parameters["base_channels"].default, parameters["depth"].default) == (base, depth)


def test_attention_unet_is_a_unet_with_gated_skips():
    assert issubclass(AttentionUNet, UNet)
    att, unet = AttentionUNet(base_channels=4), UNet(base_channels=4)
    assert [type(g) for g in att.gates] == [AttentionGate, AttentionGate]
    # the U-Net's parameters are the same, by name and shape; only the gates are added
    extra = set(_shapes(att)) - set(_shapes(unet))
    assert extra and all(key.startswith("gates.") for key in extra)
    assert {k: v for k, v in _shapes(att).items() if k not in extra} == _shapes(unet)


def test_cenet_depth_sets_its_stages():
    model = CENet(base_channels=4, depth=2, blocks=(1, 1, 2))
    assert [stage[-1].body[-1].num_features for stage in model.encoder] == [4, 8, 16]
    assert len(model.decoder) == 3 and model.input_divisor == 16
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 1, 48, 32)).shape == (1, 4, 48, 32)
    with pytest.raises(ValueError, match="one count per encoder stage, 3 here"):
        CENet(base_channels=4, depth=2)


# ------------------------------------------------------------------ diagnostics from hooks


def _hooks(model):
    return sum(len(m._forward_hooks) for m in model.modules())


def test_record_collects_every_kind_and_removes_its_hooks():
    model = ARMSNet(base_channels=2, depth=3).eval()
    assert _hooks(model) == 0
    with torch.no_grad(), record(model) as seen:
        assert _hooks(model) == 2  # AMAC and ASSP
        model(torch.randn(1, 1, 64, 64))  # bottom map 8x8
    assert _hooks(model) == 0
    assert seen.of_kind("rates") == [(4, 2, 1, 3)]
    assert seen.of_kind("kernel_sizes") == [((4, 4), (2, 2), (3, 3))]
    assert [type(block) for block in seen] == [AMAC, ASSP]
    with torch.no_grad():
        model(torch.randn(1, 1, 32, 32))  # after the block: nothing more is recorded
    assert seen.calls(next(iter(seen))) == [(4, 2, 1, 3)]


def test_record_keeps_every_call_and_the_last_one_by_block():
    model = CENet(base_channels=4, blocks=(1, 1, 1, 1)).eval()
    with torch.no_grad(), record(model, "kernel_sizes") as seen:
        model(torch.randn(1, 1, 96, 96))  # 3x3 bottom map
        model(torch.randn(1, 1, 256, 256))  # 8x8
    assert seen.calls(model.rmp) == [((2, 2), (3, 3), (3, 3), (3, 3)),
                                     ((2, 2), (3, 3), (5, 5), (6, 6))]
    assert seen[model.rmp] == ((2, 2), (3, 3), (5, 5), (6, 6))
    assert isinstance(model.rmp, RMP) and len(seen) == 1


def test_record_only_the_kinds_asked_for():
    model = AttentionUNet(base_channels=2, depth=2)
    with torch.no_grad(), record(model, ["rates"]) as seen:
        model(torch.randn(1, 1, 8, 8))
    assert len(seen) == 0 and seen.of_kind("coefficients") == []
    with pytest.raises(ValueError, match="kinds must name one or more of"):
        with record(model, "attention"):
            pass


def test_recording_changes_neither_output_nor_weights_and_gives_detached_coefficients():
    # in training mode, where a hook that ran the gate again would move its batch-norm
    # statistics: the recorded twin must end exactly like the plain one
    torch.manual_seed(0)
    model = AttentionUNet(base_channels=2, depth=2).train()
    twin = copy.deepcopy(model)
    x = torch.randn(2, 1, 8, 12)
    plain = model(x)
    with record(twin) as seen:
        recorded = twin(x)
    torch.testing.assert_close(plain, recorded, rtol=0, atol=0)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(twin.state_dict()[key], value, rtol=0, atol=0)
    deepest, top = seen.of_kind("coefficients")
    assert deepest.shape == (2, 1, 4, 6) and top.shape == (2, 1, 8, 12)
    assert not top.requires_grad and 0 <= top.min() and top.max() <= 1


def test_a_block_that_did_not_run_says_how_to_record_it():
    gate = AttentionGate(2, 2)
    with record(gate) as seen:
        pass
    with pytest.raises(KeyError, match="Nothing was recorded for this AttentionGate"):
        seen[gate]


def test_hooks_are_removed_when_the_forward_pass_fails():
    model = UNetPlusPlus(base_channels=2, depth=2)
    with pytest.raises(ValueError, match="divisible"), record(model):
        assert _hooks(model) > 0
        model(torch.randn(1, 1, 7, 7))
    assert _hooks(model) == 0
