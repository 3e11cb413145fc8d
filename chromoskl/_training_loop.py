"""The estimator's training loop: a wall-clock budget, losses read once per epoch, and the
network's train/eval mode set only when it changes.

skorch's loop reads every batch's loss with ``loss.item()``, which makes the host wait for
the device at every step, sets the mode of every submodule before every batch, and knows
only ``max_epochs``. This mixin changes the three, and nothing else of skorch's
``NeuralNet``.
"""

from __future__ import annotations

import time

import torch

__all__ = ["BudgetedTraining"]


class BudgetedTraining:
    """Mixin for a skorch ``NeuralNet`` with a ``max_minutes`` parameter (None: no budget).

    - Training stops when ``max_minutes`` is spent: within the batch running at that moment
      (the remaining batches of the epoch are skipped, after the first) and then at the end
      of the epoch (by ``KeyboardInterrupt``, as skorch's ``EarlyStopping`` stops). A resumed
      fit counts the time of the epochs already in its history.
    - Each training batch's loss stays a tensor until the epoch ends, then all are read at
      once; with ``verbose >= 2`` (a progress bar that shows each loss) they are read at once.
    - ``module.train(mode)`` runs only when the module's mode is not ``mode`` already.
    """

    def _set_training(self, training=True):
        """skorch's ``_set_training``, skipped for a module already in that mode.

        skorch calls it before every batch; ``nn.Module.train`` walks every submodule (0.13 ms
        for the U-Net, 0.5 ms for ARMS Net on this project's CPU), which on a GPU is host
        time that the device waits through. Everything in chromoskl that changes a
        network's mode sets it back on the whole network, so the top module's flag is the
        mode of all of it.
        """
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Start the clock of ``max_minutes``, less the time of epochs already trained."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.deadline_ = None
        if self.max_minutes:
            spent = sum(row.get("dur", 0.0) for row in self.history)
            self.deadline_ = time.monotonic() + 60.0 * self.max_minutes - spent

    def _budget_spent(self) -> bool:
        deadline = getattr(self, "deadline_", None)
        return deadline is not None and time.monotonic() >= deadline

    def notify(self, method_name, **cb_kwargs):
        """skorch's ``notify``; once every callback has seen the end of an epoch, stop when the
        time budget is spent."""
        super().notify(method_name, **cb_kwargs)
        if method_name == "on_epoch_end" and self._budget_spent():
            raise KeyboardInterrupt

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch, with the two changes above for training."""
        if iterator is None or not training:
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        deferred = self.verbose < 2
        batch_count = 0
        for batch in iterator:
            if batch_count and self._budget_spent():
                break
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            loss = step["loss"].detach()
            self.history.record_batch(prefix + "_loss", loss if deferred else loss.item())
            self.history.record_batch(prefix + "_batch_size", len(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
        if deferred and batch_count:
            rows = self.history[-1]["batches"][-batch_count:]
            values = torch.stack([row[prefix + "_loss"] for row in rows]).float().tolist()
            for row, value in zip(rows, values):
                row[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", batch_count)
