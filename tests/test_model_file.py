"""Model files: a GPU model opens on a CPU, and a file cannot lie about its weights or ask
for more memory than they take (issue 12)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from chromoskl import ChromosomeSegmenter, DeviceWarning

from .test_estimator import tiny, toy_data


@pytest.fixture(scope="module")
def data():
    return toy_data(n=8)


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.pt"
    tiny().fit(*data).save(path)
    return path


def _rewrite(source, target, change):
    payload = torch.load(source, weights_only=True)
    change(payload)
    torch.save(payload, target)
    return target


def _with_params(**updates):
    def change(payload):
        payload["params"] = json.dumps({**json.loads(payload["params"]), **updates})

    return change


def test_a_model_saved_for_cuda_opens_on_this_machine(saved, data, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the fallback is not needed")
    path = _rewrite(saved, tmp_path / "gpu.pt", _with_params(device="cuda"))
    with pytest.warns(DeviceWarning, match="saved for device 'cuda'.*runs on the CPU"):
        seg = ChromosomeSegmenter.load(path)
    assert seg.device_ == "cpu" and seg.device == "cpu"
    expected = ChromosomeSegmenter.load(saved).predict_proba(data[0])
    np.testing.assert_array_equal(seg.predict_proba(data[0]), expected)


def test_parameters_that_do_not_describe_the_weights_are_refused(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "edited.pt", _with_params(module__base_channels=8))
    with pytest.raises(ValueError, match=r"do not fit.*of different size.*save the model again"):
        ChromosomeSegmenter.load(path)


def test_a_file_cannot_ask_for_more_memory_than_its_weights(saved, tmp_path):
    # base_channels=10**6 would ask for about 10**13 parameters (tens of TB)
    path = _rewrite(saved, tmp_path / "crafted.pt", _with_params(module__base_channels=10**6))
    started = time.perf_counter()
    with pytest.raises(ValueError, match="do not fit"):
        ChromosomeSegmenter.load(path)
    assert time.perf_counter() - started < 10  # nothing was allocated


def test_invalid_stored_parameters_are_one_clear_error(saved, tmp_path):
    path = _rewrite(saved, tmp_path / "bad.pt", _with_params(module__depth=-1))
    with pytest.raises(ValueError, match="stored network parameters are invalid.*depth"):
        ChromosomeSegmenter.load(path)


def test_weights_changed_after_saving_fail_the_checksum(saved, tmp_path):
    def overwrite(payload):
        weights = payload["state_dict"]
        name = next(k for k, v in weights.items() if v.is_floating_point())
        weights[name] = weights[name] + 0.5

    path = _rewrite(saved, tmp_path / "overwritten.pt", overwrite)
    with pytest.raises(ValueError, match="do not match the checksum"):
        ChromosomeSegmenter.load(path)


def test_weights_overwritten_in_place_in_the_file_fail_the_checksum(saved, data, tmp_path):
    """Bytes of a stored tensor changed inside the file, which torch still reads."""
    weights = torch.load(saved, weights_only=True)["state_dict"]
    name = max(weights, key=lambda k: weights[k].numel())
    needle = weights[name].numpy().tobytes()[:64]
    raw = bytearray(saved.read_bytes())
    at = raw.find(needle)
    assert at > 0
    raw[at : at + 4] = np.float32(123.0).tobytes()
    path = tmp_path / "patched.pt"
    path.write_bytes(bytes(raw))
    torch.load(path, weights_only=True)  # still a readable file
    with pytest.raises(ValueError, match="checksum"):
        ChromosomeSegmenter.load(path)


def test_a_directory_is_not_reported_as_missing(tmp_path):
    with pytest.raises(ValueError, match="is a directory; give the model file inside it"):
        ChromosomeSegmenter.load(tmp_path)


def test_torchs_weights_only_false_advice_is_not_passed_on(tmp_path):
    path = tmp_path / "pickle.pt"
    torch.save({"format": "chromoskl-model", "params": DeviceWarning("x")}, path)
    with pytest.raises(ValueError, match="holds pickled Python objects") as info:
        ChromosomeSegmenter.load(path)
    assert "weights_only=False" not in str(info.value)
    assert "can still be loaded" not in str(info.value)
