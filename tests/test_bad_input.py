"""Bad input to the estimator: one clear error or a warning that says what to do, never a
traceback from deep inside torch and never a silent wrong result (issue 12)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from chromoskl import ChromosomeSegmenter, IntensityWarning, ResourceLimitError
from chromoskl._device import resolve_device
from chromoskl._validation import check_images
from chromoskl.architectures import (
    ARMSNet,
    AttentionUNet,
    CENet,
    UNet,
    UNetPlusPlus,
)
from chromoskl.augmentation import Augmenter
from chromoskl.checkpoint import EpochCheckpoint, resume_training
from chromoskl.metrics import SCORERS, segmentation_scores
from chromoskl.transformers import PadToShape

from .test_estimator import tiny, toy_data


@pytest.fixture(scope="module")
def data():
    return toy_data()


@pytest.fixture(scope="module")
def fitted(data):
    return tiny(max_epochs=1).fit(*data)


# ---------------------------------------------------------------- devices


@pytest.mark.parametrize(
    "device, match",
    [("gpu0", "not a torch device name"), ("cuda:99", "cannot be used"),
     ("meta", "cannot be used")],
)
def test_devices_that_cannot_work_are_one_clear_error(data, device, match):
    with pytest.raises(ValueError, match=match) as info:
        tiny(device=device).fit(*data)
    assert "available here" in str(info.value) or "one of: cpu" in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_names_the_fix():
    with pytest.raises(ValueError, match="no CUDA device.*device='auto'"):
        resolve_device("cuda")


# ---------------------------------------------------------------- network parameters


@pytest.mark.parametrize(
    "network, params, match",
    [
        (UNet, {"base_channels": -4}, "base_channels must be a positive integer, got -4"),
        (UNet, {"in_channels": 0}, "in_channels must be a positive integer"),
        (UNet, {"depth": 10}, "depth must be an integer from 1 to 8"),
        (UNet, {"dropout": 1.5}, r"dropout must be a probability in \[0, 1\)"),
        (ARMSNet, {"base_channels": 2.5}, "base_channels must be a positive integer"),
        (AttentionUNet, {"channels": (8, -16)}, "each a positive integer"),
        (UNetPlusPlus, {"channels": (8,) * 12}, "at most 9"),
        (CENet, {"out_channels": -1}, "out_channels must be a positive integer"),
    ],
)
def test_network_constructors_refuse_parameters_that_cannot_work(network, params, match):
    with pytest.raises(ValueError, match=match):
        network(**params)


def test_rgb_network_on_grey_images_is_refused_before_training(data):
    with pytest.raises(ValueError, match=r"module__in_channels=3.*1 channel") as info:
        tiny(module__in_channels=3).fit(*data)
    assert "Set module__in_channels=1" in str(info.value)


def test_a_depth_that_pads_images_to_many_times_their_size_is_refused(data):
    X, y = toy_data(n=4, shape=(94, 93))
    with pytest.raises(ResourceLimitError, match=r"padded to 256x256.*module__depth=7"):
        tiny(module__depth=8).fit(X, y)


def test_a_network_too_large_for_memory_is_refused_before_it_is_built(data):
    seg = tiny(module__base_channels=100_000)
    with pytest.raises(ResourceLimitError, match="parameters and would need about"):
        seg.initialize()


# ---------------------------------------------------------------- ambiguous shapes


@pytest.mark.parametrize(
    "shape, match",
    [((94, 93, 1), r"one image with its 1 channel\(s\) last"),
     ((94, 93, 3), "rgb2gray"),
     ((2, 94, 93, 3), r"transpose\(0, 3, 1, 2\)")],
)
def test_channel_last_images_are_refused(shape, match):
    with pytest.raises(ValueError, match=match):
        check_images(np.zeros(shape, np.float32))


def test_channel_last_image_is_refused_by_predict(fitted):
    with pytest.raises(ValueError, match="channel"):
        fitted.predict(np.zeros((20, 24, 1), np.float32))


# ---------------------------------------------------------------- labels


def test_half_resolution_labels_are_refused(data):
    X, y = data
    with pytest.raises(ValueError, match=r"not constant padding.*resize them"):
        tiny().fit(X, y[:, ::2, ::2])
    with pytest.raises(ValueError, match="not constant padding"):
        tiny().fit(X, y).score(X, y[:, ::2, ::2])


def test_labels_of_padded_images_are_still_accepted(data):
    X, y = data
    padded = PadToShape((32, 32)).fit_transform(X)
    seg = tiny().fit(padded, y)
    assert 0.0 <= seg.score(padded, y) <= 1.0


def test_one_label_rule_for_fit_and_score(data, fitted):
    X, y = data
    as_float = y.astype(np.float64)
    tiny().fit(X, as_float)
    assert fitted.score(X, as_float) == pytest.approx(fitted.score(X, y))
    assert SCORERS["mean_iou"](fitted, X, as_float) == pytest.approx(
        SCORERS["mean_iou"](fitted, X, y)
    )
    as_bool = y.astype(bool)
    for call in (lambda: tiny().fit(X, as_bool), lambda: fitted.score(X, as_bool),
                 lambda: SCORERS["overlap_iou"](fitted, X, as_bool),
                 lambda: segmentation_scores(as_bool, y)):
        with pytest.raises(TypeError, match="integer class labels"):
            call()


# ---------------------------------------------------------------- grey scale per image


def test_a_few_images_on_another_grey_scale_are_named(fitted, data):
    X, _ = data
    batch = X.copy()
    batch[[3, 11]] *= 10  # two images of a 12-bit camera among sixteen
    with pytest.warns(IntensityWarning, match=r"2 of the 16 images to predict \(indices 3, 11\)"):
        fitted.predict(batch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IntensityWarning)
        fitted.predict(X)


# ---------------------------------------------------------------- seeds


def test_random_state_seeds_the_augmenter():
    X, y = toy_data(shape=(24, 24))
    augment = Augmenter(hflip=0.5, vflip=0.5, rot90=0.5, noise=0.5)
    first = tiny(augment=augment, max_epochs=2).fit(X, y).predict_proba(X[:4])
    second = tiny(augment=augment, max_epochs=2).fit(X, y).predict_proba(X[:4])
    np.testing.assert_array_equal(first, second)
    # the augmenter's own seed, when given, is kept
    own = tiny(augment=Augmenter(random_state=5)).initialize()
    assert own.augment_.random_state == 5


# ---------------------------------------------------------------- resumed runs


def test_a_resumed_run_records_the_intensity_range(data, tmp_path):
    X, y = data
    path = tmp_path / "checkpoint.pt"
    tiny(callbacks=[("checkpoint", EpochCheckpoint(path))]).fit(X, y)
    resumed = resume_training(tiny(callbacks=[("checkpoint", EpochCheckpoint(path))]), path,
                              X, y, max_epochs=2)
    assert len(resumed.history_) == 2
    assert resumed.intensity_range_ == pytest.approx(tuple(np.percentile(X, (1.0, 99.5))))
    resumed.save(tmp_path / "model.pt")
    again = ChromosomeSegmenter.load(tmp_path / "model.pt")
    with pytest.warns(IntensityWarning):
        again.predict(X * 10)


def test_resume_with_another_network_is_one_clear_error(data, tmp_path):
    X, y = data
    path = tmp_path / "checkpoint.pt"
    tiny(callbacks=[("checkpoint", EpochCheckpoint(path))]).fit(X, y)
    other = tiny(module__base_channels=8, callbacks=[("checkpoint", EpochCheckpoint(path))])
    with pytest.raises(ValueError, match=r"of different size.*base_channels=4"):
        resume_training(other, path, X, y, max_epochs=2)
