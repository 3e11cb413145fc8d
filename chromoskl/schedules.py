"""Training-time callbacks: the one-cycle learning rate, a wall-clock budget, the best weights.

skorch's ``LRScheduler`` wraps torch's schedulers, which count optimizer steps. The one-cycle
schedule here is written by hand because it must also follow a clock: given a time budget
(``ChromosomeSegmenter(max_minutes=...)``), the cycle is planned over the budget, so that the
learning rate has come down when time is up, whatever the speed of the machine.
"""

from __future__ import annotations

import copy
import math
import time

from skorch.callbacks import Callback

__all__ = ["OneCycle", "KeepBestWeights", "one_cycle_lr"]


def one_cycle_lr(
    progress: float, max_lr: float, *, pct_start: float = 0.25, div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> float:
    """The learning rate of the one-cycle policy at ``progress`` in [0, 1].

    Smith and Topin (2019), "Super-convergence", in the form of torch's ``OneCycleLR`` with
    cosine annealing: from ``max_lr / div_factor`` up to ``max_lr`` over the first
    ``pct_start`` of training, then down to ``max_lr / div_factor / final_div_factor``.
    The momentum is not cycled (torch cycles Adam's beta1 by default).
    """
    progress = min(max(progress, 0.0), 1.0)
    initial = max_lr / div_factor
    final = initial / final_div_factor
    if progress < pct_start:
        start, end, t = initial, max_lr, progress / pct_start
    else:
        start, end, t = max_lr, final, (progress - pct_start) / max(1.0 - pct_start, 1e-12)
    return end + (start - end) * (1.0 + math.cos(math.pi * t)) / 2.0


class OneCycle(Callback):
    """Set the learning rate of every batch from the one-cycle policy (:func:`one_cycle_lr`).

    Progress is counted in optimizer steps over ``max_epochs`` epochs or, when the net has a
    time budget (``max_minutes``), in seconds of training over the budget. Both count what
    earlier fits of the same net already did, so a run resumed from a checkpoint continues its
    cycle instead of starting another. The peak learning rate is the net's ``lr``.

    Parameters
    ----------
    pct_start : float, default=0.25
        Share of training spent raising the learning rate.
    div_factor : float, default=25.0
        The initial learning rate is ``lr / div_factor``.
    final_div_factor : float, default=1e4
        The final learning rate is the initial one divided by this.
    """

    def __init__(self, pct_start=0.25, div_factor=25.0, final_div_factor=1e4):
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor

    def on_train_begin(self, net, **kwargs):
        # Steps and seconds of the epochs already in the history (a resumed run).
        done = [row for row in net.history if "train_batch_count" in row]
        self.steps_done_ = sum(row["train_batch_count"] for row in done)
        self.seconds_done_ = sum(row.get("dur", 0.0) for row in done)
        self.epochs_done_ = len(done)
        self.started_ = time.monotonic()
        self.total_steps_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.total_steps_ is None and dataset_train is not None:
            batch_size = net.batch_size if net.batch_size > 0 else len(dataset_train)
            per_epoch = math.ceil(len(dataset_train) / batch_size)
            self.total_steps_ = max(per_epoch * net.max_epochs, 1)

    def progress(self, net) -> float:
        """How far through the cycle training is, in [0, 1]."""
        budget = getattr(net, "max_minutes", None)
        if budget:
            elapsed = self.seconds_done_ + time.monotonic() - self.started_
            return elapsed / (60.0 * budget)
        return self.steps_done_ / (self.total_steps_ or 1)

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        lr = one_cycle_lr(
            self.progress(net), net.lr, pct_start=self.pct_start,
            div_factor=self.div_factor, final_div_factor=self.final_div_factor,
        )
        for group in net.optimizer_.param_groups:
            group["lr"] = lr
        self.steps_done_ += 1


class KeepBestWeights(Callback):
    """Keep, in memory, the weights of the epoch with the best ``monitor`` score, and load them
    when training ends (skorch's ``EarlyStopping(load_best=True)`` without the stopping).

    Parameters
    ----------
    monitor : str, default="valid_overlap_iou"
        A per-epoch history key.
    lower_is_better : bool, default=False
    """

    def __init__(self, monitor="valid_overlap_iou", lower_is_better=False):
        self.monitor = monitor
        self.lower_is_better = lower_is_better

    def on_train_begin(self, net, **kwargs):
        self.best_score_ = None
        self.best_epoch_ = None
        self.best_state_ = None

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1].get(self.monitor)
        if score is None or (isinstance(score, float) and math.isnan(score)):
            return
        better = (
            self.best_score_ is None
            or (score < self.best_score_ if self.lower_is_better else score > self.best_score_)
        )
        if better:
            self.best_score_ = score
            self.best_epoch_ = len(net.history)
            self.best_state_ = copy.deepcopy(net.module_.state_dict())

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
