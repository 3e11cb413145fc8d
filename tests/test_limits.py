"""Limits that protect the machine: sizes against memory, and large images predicted in tiles
with the same result (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest

from chromoskl import ChromosomeSegmenter, ResourceLimitError, _tiling
from chromoskl._limits import check_memory, check_padding
from chromoskl.datasets import make_overlapping_chromosomes

from .test_estimator import toy_data


def test_check_memory_refuses_with_the_numbers():
    check_memory(1e9, "this", "Do less.", available=2 * 2**30)
    with pytest.raises(ResourceLimitError, match=r"this would need about 1\.86 GB.*2 GB.*Do less"):
        check_memory(2e9, "this", "Do less.", available=2 * 2**30)


def test_make_overlapping_chromosomes_refuses_a_billion_images():
    with pytest.raises(ResourceLimitError, match="1,000,000,000"):
        make_overlapping_chromosomes(10**9)


@pytest.mark.parametrize(
    "shape, divisor, refused",
    [((94, 93), 16, False), ((94, 93), 128, False), ((94, 93), 256, True),
     ((94, 93), 1024, True), ((2000, 2000), 256, False)],
)
def test_padding_limit(shape, divisor, refused):
    if refused:
        with pytest.raises(ResourceLimitError, match="at most 128"):
            check_padding(shape, divisor, "'unet'")
    else:
        check_padding(shape, divisor, "'unet'")


NETWORKS = {
    "unet": {"module__depth": 3, "module__base_channels": 4},
    "attention_unet": {"module__depth": 3, "module__base_channels": 4},
    "unetpp": {"module__depth": 3, "module__base_channels": 4},
}


def _fitted(arch):
    seg = ChromosomeSegmenter(arch, max_epochs=1, batch_size=8, train_split=None, device="cpu",
                              random_state=0, **NETWORKS[arch])
    return seg.fit(*toy_data(n=8, shape=(40, 40)))


@pytest.fixture(scope="module")
def fitted():
    return _fitted("unet")


@pytest.mark.parametrize("arch", list(NETWORKS))
def test_large_images_are_predicted_in_tiles_with_the_same_result(arch, monkeypatch):
    fitted = _fitted(arch)
    X = toy_data(n=2, shape=(300, 270), seed=1)[0]
    whole = fitted.predict_proba(X)
    calls = []
    tiled_logits = _tiling._tiled_logits

    def spy(net, image, core, margin):
        calls.append((tuple(image.shape[-2:]), core, margin))
        return tiled_logits(net, image, core, margin)

    monkeypatch.setattr(_tiling, "_tiled_logits", spy)
    per_pixel = _tiling.activation_bytes_per_pixel(fitted, 1)
    # a budget of a 256x256 window: 128 pixels kept and 64 of context on each side, so the
    # image, padded to the network's divisor, is predicted in 3x3 tiles
    monkeypatch.setattr(_tiling, "MAX_PREDICTION_BYTES", per_pixel * 256 * 256)
    tiled = fitted.predict_proba(X)
    assert len(calls) == 2 and calls[0][1:] == (128, 64) and calls[0][0][0] >= 300
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    np.testing.assert_array_equal(tiled.argmax(axis=1), whole.argmax(axis=1))


def test_batches_that_exceed_the_budget_are_split(fitted, monkeypatch):
    X = toy_data(n=8, shape=(40, 40))[0]
    whole = fitted.predict_proba(X)
    per_pixel = _tiling.activation_bytes_per_pixel(fitted, 1)
    monkeypatch.setattr(_tiling, "MAX_PREDICTION_BYTES", per_pixel * 40 * 40 * 3)
    np.testing.assert_allclose(fitted.predict_proba(X), whole, atol=1e-6)
