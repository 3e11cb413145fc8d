"""WeightAveraging: an exponential moving average of the weights, put in at the end of fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from chromoskl.averaging import WeightAveraging
from chromoskl.splits import ValidationSplit

from .test_estimator import tiny, toy_data


class RecordWeights(Callback):
    """The network's parameters after every training step."""

    def on_train_begin(self, net, **kwargs):
        self.steps_ = []

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.steps_.append([p.detach().clone() for p in net.module_.parameters()])


def fitted_with_average(decay, **params):
    X, y = toy_data(n=16)
    record = RecordWeights()
    seg = tiny(max_epochs=2, callbacks=[("record", record), ("ema", WeightAveraging(decay))],
               **params)
    return seg.fit(X, y), record, X


def test_network_ends_with_the_moving_average_of_its_steps():
    seg, record, _ = fitted_with_average(0.5)
    assert len(record.steps_) == 4  # 16 images, batch 8, 2 epochs
    expected = record.steps_[0]  # torch's AveragedModel starts from the first step's weights
    for step in record.steps_[1:]:
        expected = [0.5 * old + 0.5 * new for old, new in zip(expected, step)]
    final = [p.detach() for p in seg.module_.parameters()]
    for got, want in zip(final, expected):
        torch.testing.assert_close(got, want)
    # ... and not the last step's weights, which the callback kept aside
    assert any(not torch.equal(got, last) for got, last in zip(final, record.steps_[-1]))
    ema = dict(seg.callbacks_)["ema"]
    kept = [ema.last_weights_[name] for name, _ in seg.module_.named_parameters()]
    for weights, last in zip(kept, record.steps_[-1]):
        torch.testing.assert_close(weights, last)


def test_buffers_are_averaged_too_unless_told_not_to():
    averaged, _, _ = fitted_with_average(0.9)
    own, _, _ = fitted_with_average(0.9, callbacks__ema__use_buffers=False)
    ema = dict(own.callbacks_)["ema"]
    name = next(n for n in ema.last_weights_ if n.endswith("running_mean"))
    # without buffer averaging the network keeps its own last running statistics
    torch.testing.assert_close(own.module_.state_dict()[name], ema.last_weights_[name])
    assert not torch.equal(averaged.module_.state_dict()[name],
                           dict(averaged.callbacks_)["ema"].last_weights_[name])


def test_averaged_network_predicts_differently_from_its_last_weights():
    seg, _, X = fitted_with_average(0.9)
    averaged = seg.predict_proba(X)
    seg.module_.load_state_dict(dict(seg.callbacks_)["ema"].last_weights_)
    assert np.abs(averaged - seg.predict_proba(X)).max() > 1e-3


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, "0.9"])
def test_decay_outside_the_open_unit_interval_is_refused(decay):
    X, y = toy_data(n=8)
    with pytest.raises(ValueError, match=r"decay must be a number in \(0, 1\)"):
        tiny(callbacks=[("ema", WeightAveraging(decay))]).fit(X, y)


def test_refused_beside_keeping_the_best_epoch():
    X, y = toy_data(n=8)
    seg = tiny(callbacks=[("ema", WeightAveraging())], max_minutes=1.0)
    seg.fit(X, y)  # no validation split: nothing else puts weights back
    seg.set_params(train_split=ValidationSplit(0.25, random_state=0))
    with pytest.raises(ValueError, match="WeightAveraging callback puts the averaged weights"):
        seg.fit(X, y)


def test_box_statistics_are_those_of_the_averaged_weights():
    seg, _, X = fitted_with_average(0.9, content_margin=0)
    again = seg._statistics_per_box_size(X)  # from the weights now in the network
    assert set(again) == set(seg.box_norm_stats_) and again
    for size, stats in again.items():
        for name, value in stats.items():
            torch.testing.assert_close(seg.box_norm_stats_[size][name], value)
    # the last own weights would have other statistics
    seg.module_.load_state_dict(dict(seg.callbacks_)["ema"].last_weights_)
    other = seg._statistics_per_box_size(X)
    size, stats = next(iter(other.items()))
    assert any(not torch.allclose(seg.box_norm_stats_[size][n], v) for n, v in stats.items())
