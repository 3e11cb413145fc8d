"""The training recipe as estimator parameters: augmentation, padding, schedules, losses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from chromoskl import PrecisionWarning
from chromoskl.augmentation import Augmenter
from chromoskl.metrics import SCORERS, overlap_iou
from chromoskl.splits import ValidationSplit
from chromoskl.transformers import IntensityScaler, PadToShape

from .test_estimator import tiny, toy_data


class RecordingAugmenter(Augmenter):
    """An Augmenter that records the batches it is given (and still augments them)."""

    calls: list = []

    def augment_batch(self, X, y):
        RecordingAugmenter.calls.append((tuple(X.shape), X.device.type))
        return super().augment_batch(X, y)


@pytest.fixture
def data():
    return toy_data(16, (20, 24))


def test_augmentation_sees_training_batches_only(data):
    X, y = data
    RecordingAugmenter.calls = []
    seg = tiny(
        max_epochs=2, batch_size=4, augment=RecordingAugmenter(random_state=0),
        train_split=ValidationSplit(0.25, random_state=0),
    ).fit(X, y)
    # 12 training images in batches of 4, two epochs; the 4 validation images never
    assert len(RecordingAugmenter.calls) == 6
    assert all(shape[0] == 4 and device == "cpu" for shape, device in RecordingAugmenter.calls)
    RecordingAugmenter.calls = []
    seg.predict(X)
    seg.score(X, y)
    assert RecordingAugmenter.calls == []


def test_augmentation_changes_training_but_not_prediction(data):
    X, y = data
    plain = tiny(max_epochs=2, batch_size=4).fit(X, y)
    augmented = tiny(max_epochs=2, batch_size=4,
                     augment=Augmenter(hflip=1.0, vflip=0.0, rot90=0.0, random_state=0)).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), augmented.predict_proba(X))
    # the same seeds give the same augmented fit
    again = tiny(max_epochs=2, batch_size=4,
                 augment=Augmenter(hflip=1.0, vflip=0.0, rot90=0.0, random_state=0)).fit(X, y)
    np.testing.assert_array_equal(augmented.predict_proba(X), again.predict_proba(X))


def test_augment_params_are_searchable(data):
    X, y = data
    seg = tiny(augment=Augmenter(random_state=0), augment__hflip=0.0)
    assert seg.get_params(deep=False)["augment__hflip"] == 0.0
    seg.fit(X, y)
    assert seg.augment_.hflip == 0.0 and seg.augment.hflip == 0.5  # the user's object is kept
    seg.set_params(augment__vflip=0.25).fit(X, y)
    assert seg.augment_.vflip == 0.25
    assert clone(seg).get_params(deep=False)["augment__vflip"] == 0.25
    search = GridSearchCV(tiny(augment=Augmenter(random_state=0)),
                          {"augment__rot90": [0.0, 1.0]}, scoring=SCORERS["overlap_iou"], cv=2)
    search.fit(X, y)
    assert [p["augment__rot90"] for p in search.cv_results_["params"]] == [0.0, 1.0]


def test_pipeline_with_padding_keeps_labels_at_their_size(data):
    X, y = data
    pipe = make_pipeline(IntensityScaler(), PadToShape((32, 32)), tiny(max_epochs=1))
    pipe.fit(X, y)
    padded = pipe.predict(X)
    assert padded.shape == (16, 32, 32)
    back = pipe[1].inverse_transform(padded, original_shape=(20, 24))
    assert back.shape == y.shape
    assert pipe.score(X, y) == pytest.approx(overlap_iou(y, back))


def test_weight_decay_and_lr_schedules(data):
    X, y = data
    seg = tiny(optimizer__weight_decay=1e-3).fit(X, y)
    assert seg.optimizer_.param_groups[0]["weight_decay"] == 1e-3
    step = tiny(max_epochs=3, lr=0.1, lr_schedule="step", callbacks__lr_schedule__step_size=1)
    step.fit(X, y)
    assert step.optimizer_.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)
    plateau = tiny(lr_schedule="plateau", train_split=ValidationSplit(0.25)).fit(X, y)
    assert isinstance(dict(plateau.callbacks_)["lr_schedule"].lr_scheduler_,
                      torch.optim.lr_scheduler.ReduceLROnPlateau)


def test_invalid_recipe_parameters_are_reported_together(data):
    X, y = data
    with pytest.raises(ValueError) as error:
        tiny(lr_schedule="cosine", patience=0, augment="flips").fit(X, y)
    message = str(error.value)
    assert "lr_schedule" in message and "patience" in message and "augment" in message
    with pytest.raises(ValueError, match="needs a validation split"):
        tiny(patience=3, train_split=None).fit(X, y)


@pytest.mark.parametrize("criterion", ["ce", "bce", "wbce", "as_wbce", "mse", "dice", "focal",
                                       "tversky", "dice_ce"])
def test_every_loss_trains(data, criterion):
    X, y = data
    seg = tiny(criterion=criterion, max_epochs=2).fit(X, y)
    losses = seg.history[:, "train_loss"]
    assert np.isfinite(losses).all()
    assert seg.predict(X).shape == y.shape


def test_class_weights_reach_cross_entropy(data):
    X, y = data
    seg = tiny(criterion="ce", criterion__weight=[0.1, 1.0, 1.0, 2.0]).fit(X, y)
    np.testing.assert_allclose(seg.criterion_.weight.cpu().numpy(), [0.1, 1.0, 1.0, 2.0])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_estimator_with_cuda(data):
    X, y = data
    seg = tiny(device="cuda", augment=Augmenter(random_state=0)).fit(X, y)
    assert next(seg.module_.parameters()).is_cuda
    assert seg.predict(X).shape == y.shape


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_data_recipe_on_cuda_in_bf16_predicts_float32(data):
    """What ``chromoskl train --data`` sets, on a GPU: bf16, channels_last, content boxes."""
    X, y = data
    seg = tiny(device="cuda", max_epochs=3, batch_size=4, precision="bf16", channels_last=True,
               content_margin=0, ab_loss="swap_invariant", ab_decoding="area",
               lr_schedule="onecycle").fit(X, y)
    assert next(seg.module_.parameters()).is_cuda
    assert seg.module_.encoder[0][0].weight.dtype == torch.float32
    proba = seg.predict_proba(X)
    assert proba.dtype == np.float32 and proba.shape == (len(X), 4) + X.shape[1:]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    assert np.isfinite(seg.history[:, "train_loss"]).all()


@pytest.mark.filterwarnings("ignore::chromoskl.PrecisionWarning")  # emulated on some CPUs
def test_bf16_and_channels_last_train_and_predict_float32(data):
    X, y = data
    plain = tiny(max_epochs=2, batch_size=4).fit(X, y)
    fast = tiny(max_epochs=2, batch_size=4, precision="bf16", channels_last=True).fit(X, y)
    weight = fast.module_.encoder[0][0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    proba = fast.predict_proba(X)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # bfloat16 keeps about 3 significant digits: the same fit, close but not equal
    assert np.abs(proba - plain.predict_proba(X)).max() < 0.1
    assert not np.array_equal(proba, plain.predict_proba(X))


def test_swap_invariant_training_with_area_decoding(data):
    X, y = data
    seg = tiny(max_epochs=2, batch_size=4, ab_loss="swap_invariant", ab_decoding="area").fit(X, y)
    assert type(seg.criterion_).__name__ == "SwapInvariantLoss"
    labels = seg.predict(X)
    proba = seg.predict_proba(X)
    # The chromosome called A is never the larger one, in the labels and in the probabilities.
    area_a = np.isin(labels, (1, 3)).sum(axis=(1, 2))
    area_b = np.isin(labels, (2, 3)).sum(axis=(1, 2))
    assert np.all(area_a <= area_b)
    argmax = proba.argmax(axis=1)
    proba_a = np.isin(argmax, (1, 3)).sum(axis=(1, 2))
    assert np.all(proba_a <= np.isin(argmax, (2, 3)).sum(axis=(1, 2)))
    # Decoding moves only 1 <-> 2: background and overlap are the network's.
    np.testing.assert_array_equal(labels == 3, argmax == 3)
    np.testing.assert_array_equal(labels == 0, argmax == 0)
    # the labels of predict from predict_proba's probabilities, however their A and B are named
    renamed = np.ascontiguousarray(proba[:, [0, 2, 1, 3]])
    assert not np.array_equal(renamed.argmax(axis=1), labels)
    np.testing.assert_array_equal(seg.labels_from_proba(proba), labels)
    np.testing.assert_array_equal(seg.labels_from_proba(renamed), labels)
    seg.set_params(ab_decoding="network")
    np.testing.assert_array_equal(seg.labels_from_proba(renamed), renamed.argmax(axis=1))
    np.testing.assert_array_equal(seg.labels_from_proba(seg.predict_proba(X)), seg.predict(X))


def test_auto_precision_takes_bf16_only_where_it_is_native(data, monkeypatch):
    from chromoskl import _precision

    monkeypatch.setattr(_precision, "cpu_has_native_bf16", lambda: True)
    assert _precision.resolve_precision("auto", "cpu") == "bf16"
    X, y = data
    assert tiny(precision="auto").fit(X, y).precision_ == "bf16"
    monkeypatch.setattr(_precision, "cpu_has_native_bf16", lambda: False)
    assert _precision.resolve_precision("auto", "cpu") is None
    seg = tiny(precision="auto").fit(X, y)
    assert seg.precision_ is None and seg.get_params()["precision"] == "auto"
    assert _precision.resolve_precision("bf16", "cpu") == "bf16"
    with pytest.warns(PrecisionWarning, match="precision='auto'"):
        _precision.warn_if_emulated("bf16", "cpu")
    assert _precision.resolve_precision(None, "cuda") is None


def test_bf16_asked_for_on_a_cpu_that_emulates_it_warns_once_per_fit(data, monkeypatch):
    from chromoskl import _precision

    X, y = data
    monkeypatch.setattr(_precision, "cpu_has_native_bf16", lambda: False)
    with pytest.warns(PrecisionWarning, match="without bfloat16 instructions") as caught:
        tiny(precision="bf16").fit(X, y)
    assert sum(issubclass(w.category, PrecisionWarning) for w in caught) == 1
    monkeypatch.setattr(_precision, "cpu_has_native_bf16", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        tiny(precision="bf16").fit(X, y)
        tiny(precision="auto").fit(X, y)
