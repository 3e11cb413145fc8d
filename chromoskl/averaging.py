"""An exponential moving average of the network's weights, kept beside training.

The random split's test images are the training pairs in other placements, and a U-Net
trained on them for hours fits its training images almost perfectly while its test score
falls from where it stood at a higher learning rate (``benchmarks/RESULTS.md``, issue 9).
Averaging the weights along the trajectory (Polyak and Juditsky 1992; as an exponential
moving average, the "EMA" of many segmentation and detection recipes; Izmailov et al. 2018
for why such averages generalise) is the cheapest regulariser that costs no training speed:
one in-place update of a copy of the weights per step.

The averaging itself is torch's :class:`torch.optim.swa_utils.AveragedModel` with
:func:`~torch.optim.swa_utils.get_ema_multi_avg_fn`; what is written here is only the skorch
callback around it: when to update, when to put the average into the network, and keeping
the last raw weights so that both can be scored.
"""

from __future__ import annotations

import copy
import numbers

import torch
from skorch.callbacks import Callback
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ._persistence import uncompiled

__all__ = ["WeightAveraging"]


class WeightAveraging(Callback):
    """Train as usual, then keep an exponential moving average of the weights.

    After every training step the average moves towards the network's weights:
    ``average = decay * average + (1 - decay) * weights``. When training ends, the average is
    loaded into the network (``ChromosomeSegmenter`` then estimates its per-box-size
    BatchNorm statistics for the averaged weights, as it would for the last ones).

    Use it as a skorch callback::

        ChromosomeSegmenter(..., callbacks=[("ema", WeightAveraging(decay=0.999))])

    Parameters
    ----------
    decay : float, default=0.999
        The weight of the old average at each step, in (0, 1). The average forgets with a
        time constant of about ``1 / (1 - decay)`` steps (1,000 for 0.999: three epochs of
        Pommier's 10,747 training pairs at batch 32).
    use_buffers : bool, default=True
        Average the buffers (BatchNorm's running statistics) as well, as torch's
        ``AveragedModel`` does with ``use_buffers=True``; False keeps the network's own.

    Attributes
    ----------
    averaged_model_ : torch.optim.swa_utils.AveragedModel
        The average, on the network's device.
    last_weights_ : dict or None
        The network's own weights (state dict) at the end of training, before the average
        replaced them; None until training ends.

    Notes
    -----
    Not one of the papers' settings. With a validation split and a time budget the segmenter
    also keeps the best epoch's weights (``keep_best``); which weights end up in the network
    then depends on the order of the callbacks, so ``ChromosomeSegmenter`` refuses the two
    together.

    References
    ----------
    B. T. Polyak, A. B. Juditsky. Acceleration of stochastic approximation by averaging.
    SIAM Journal on Control and Optimization 30(4), 1992.
    P. Izmailov, D. Podoprikhin, T. Garipov, D. Vetrov, A. G. Wilson. Averaging weights
    leads to wider optima and better generalization. UAI 2018.
    """

    def __init__(self, decay=0.999, use_buffers=True):
        self.decay = decay
        self.use_buffers = use_buffers

    def initialize(self):
        if not (isinstance(self.decay, numbers.Real) and 0.0 < self.decay < 1.0):
            raise ValueError(
                f"WeightAveraging decay must be a number in (0, 1), got {self.decay!r}; "
                f"0.999 averages over about the last 1,000 steps."
            )
        return super().initialize()

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        # A new average for each fit: the one of an earlier fit belongs to other weights.
        self.averaged_model_ = AveragedModel(
            uncompiled(net.module_), multi_avg_fn=get_ema_multi_avg_fn(self.decay),
            use_buffers=self.use_buffers,
        )
        self.last_weights_ = None

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.averaged_model_.update_parameters(uncompiled(net.module_))

    def on_train_end(self, net, X=None, y=None, **kwargs):
        module = uncompiled(net.module_)
        self.last_weights_ = copy.deepcopy(module.state_dict())
        with torch.no_grad():
            module.load_state_dict(self.averaged_model_.module.state_dict())
