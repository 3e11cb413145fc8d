"""The one-cycle schedule, the time budget and the best weights kept."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from chromoskl.checkpoint import EpochCheckpoint, resume_training
from chromoskl.schedules import one_cycle_lr
from chromoskl.splits import ValidationSplit

from .test_estimator import tiny, toy_data


class RecordLR(Callback):
    """The learning rate each training batch ran with."""

    def on_train_begin(self, net, **kwargs):
        if not hasattr(self, "lrs_"):
            self.lrs_ = []

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.lrs_.append(net.optimizer_.param_groups[0]["lr"])


@pytest.fixture(scope="module")
def data():
    return toy_data(16, (20, 24))


def test_one_cycle_lr_rises_to_the_peak_then_anneals():
    assert one_cycle_lr(0.0, 1e-2) == pytest.approx(1e-2 / 25)
    assert one_cycle_lr(0.25, 1e-2) == pytest.approx(1e-2)
    assert one_cycle_lr(1.0, 1e-2) == pytest.approx(1e-2 / 25 / 1e4)
    assert one_cycle_lr(0.125, 1e-2) == pytest.approx((1e-2 + 1e-2 / 25) / 2)
    lrs = [one_cycle_lr(p, 1.0) for p in np.linspace(0, 1, 101)]
    peak = int(np.argmax(lrs))
    assert peak == 25
    assert np.all(np.diff(lrs[: peak + 1]) > 0) and np.all(np.diff(lrs[peak:]) < 0)
    # outside [0, 1] it holds its ends
    assert one_cycle_lr(-1.0, 1.0) == one_cycle_lr(0.0, 1.0)
    assert one_cycle_lr(2.0, 1.0) == one_cycle_lr(1.0, 1.0)


def test_one_cycle_is_planned_over_the_epochs(data):
    X, y = data
    record = RecordLR()
    tiny(max_epochs=4, batch_size=4, lr=0.01, lr_schedule="onecycle",
         callbacks=[("lr", record)]).fit(X, y)
    lrs = record.lrs_
    assert len(lrs) == 16  # 4 batches x 4 epochs
    expected = [one_cycle_lr(step / 16, 0.01) for step in range(16)]
    np.testing.assert_allclose(lrs, expected)
    assert max(lrs) == pytest.approx(0.01, rel=0.05)


def test_one_cycle_continues_when_a_run_is_resumed(data, tmp_path):
    X, y = data
    path = tmp_path / "checkpoint.pt"
    first = RecordLR()
    tiny(max_epochs=2, batch_size=4, lr=0.01, lr_schedule="onecycle",
         callbacks=[("lr", first), ("checkpoint", EpochCheckpoint(path))]).fit(X, y)
    second = RecordLR()
    resumed = tiny(max_epochs=4, batch_size=4, lr=0.01, lr_schedule="onecycle",
                   callbacks=[("lr", second), ("checkpoint", EpochCheckpoint(path))])
    resume_training(resumed, path, X, y, max_epochs=4)
    # The second half of a 4-epoch cycle, not a new cycle (which would start at lr / 25).
    expected = [one_cycle_lr(step / 16, 0.01) for step in range(8, 16)]
    np.testing.assert_allclose(second.lrs_, expected)


def test_time_budget_stops_training_and_keeps_the_best_epoch(data):
    X, y = data
    started = time.monotonic()
    seg = tiny(max_epochs=100_000, max_minutes=0.03, batch_size=4, lr_schedule="onecycle",
               lr=0.01, train_split=ValidationSplit(0.25, random_state=0)).fit(X, y)
    took = time.monotonic() - started
    epochs = len(seg.history)
    assert 1 <= epochs < 100_000
    assert took < 1.8 + 30.0  # the budget (1.8 s) plus far more than one epoch of slack
    keep = dict(seg.callbacks_)["keep_best"]
    scores = seg.history[:, "valid_overlap_iou"]
    assert keep.best_score_ == max(scores)
    assert keep.best_epoch_ == int(np.argmax(scores)) + 1
    for name, tensor in seg.module_.state_dict().items():
        torch.testing.assert_close(tensor, keep.best_state_[name])


def test_time_budget_cuts_an_epoch_short(data):
    X, y = data
    # Batches of one image and a budget shorter than an epoch: the epoch is cut, at least
    # one batch runs, and the schedule has come down when time is up.
    seg = tiny(max_epochs=3, max_minutes=0.002, batch_size=1, train_split=None,
               lr_schedule="onecycle", lr=0.01)
    seg.fit(np.repeat(X, 25, axis=0), np.repeat(y, 25, axis=0))  # 400 batches of one image
    assert len(seg.history) == 1
    assert 1 <= seg.history[-1, "train_batch_count"] < 400


def test_budget_and_schedule_checks_are_reported(data):
    X, y = data
    with pytest.raises(ValueError, match="max_minutes must be a positive number"):
        tiny(max_minutes=-1).fit(X, y)
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        tiny(lr_schedule="cosine").fit(X, y)
    with pytest.raises(ValueError, match="precision must be one of"):
        tiny(precision="fp16").fit(X, y)
    with pytest.raises(ValueError, match="ab_decoding must be one of"):
        tiny(ab_decoding="size").fit(X, y)
