"""Hard-example sampling: draw the training images that the network still gets wrong more
often.

After an hour of the 2-hour recipe the held-out overlap IoU flattens while the network fits
its own training images only to about 0.97 (``benchmarks/RESULTS.md``): most batches then
repeat images it already segments well. :class:`LossProportionalSampling` keeps each training
image's latest cross-entropy, measured on the batch it was trained in (no extra forward
pass), and from the second epoch on draws each epoch's images with replacement, with
probability part uniform and part proportional to that loss.

The idea is loss-based importance sampling (Loshchilov and Hutter 2015, "Online batch
selection for faster training of neural networks"; Katharopoulos and Fleuret 2018, "Not all
samples are created equal"). Departure: the draws are not reweighted to keep the gradient
unbiased, since the aim is to fit the hard images and not to estimate the mean loss faster;
the uniform share keeps every image in play. Written by hand: neither skorch nor torch keeps
per-sample losses for a sampler (torch's ``WeightedRandomSampler`` takes fixed weights).

On Pommier's random split it did not pay: beside the 2-hour shift recipe, 70 minutes each,
the recipe with half of the draws by loss scored 0.9487 overlap IoU against 0.9509
(``benchmarks/RESULTS.md``, session 54), so no recipe of the library uses it.
"""

from __future__ import annotations

import torch
from skorch.callbacks import Callback

from ._content_crops import ContentCropBatches
from .losses._orientation import orientation_order
from .losses._swap import image_cross_entropy, swap_chromosomes

__all__ = ["LossProportionalSampling"]


class LossProportionalSampling(Callback):
    """Draw each epoch's training images with probability that grows with their loss.

    Image ``i`` is drawn with probability
    ``uniform_share / n + (1 - uniform_share) * loss_i / sum(loss)``, ``n`` draws per epoch
    with replacement, where ``loss_i`` is the per-pixel mean cross-entropy of the network's
    class probabilities against the image's (augmented) labels, the last time the image was
    trained on (against the labels the network is trained to: with ``ab_loss="swap_invariant"``
    the smaller of the losses against the labels and against them with A and B exchanged;
    with ``"orientation"``, the labels named by their axes' order). The first epoch draws
    every image once, as without the callback.

    It works on the estimator's content-crop batches (``content_margin`` set, training on
    tensors); any other training iterator raises a ``ValueError`` at the first epoch.

    Parameters
    ----------
    uniform_share : float in [0, 1], default=0.5
        The share of the draws that ignores the losses; 1 is uniform sampling with
        replacement.

    Attributes
    ----------
    image_losses_ : Tensor (n,) float32
        Each training image's latest loss (NaN for an image not trained on yet).
    """

    def __init__(self, uniform_share=0.5):
        self.uniform_share = uniform_share

    def initialize(self):
        if not 0.0 <= float(self.uniform_share) <= 1.0:
            raise ValueError(f"uniform_share must lie in [0, 1], got {self.uniform_share!r}")
        self.image_losses_ = None
        self.batches_ = None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.batches_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        batches = net.get_iterator(dataset_train, training=True)
        if not isinstance(batches, ContentCropBatches):
            raise ValueError(
                "LossProportionalSampling draws from the estimator's content-crop batches: "
                "set content_margin (for example content_margin=0) and pass arrays, not a "
                f"Dataset; got a training iterator of type {type(batches).__name__}"
            )
        n = batches.n_images
        if self.image_losses_ is None or len(self.image_losses_) != n:
            self.image_losses_ = torch.full((n,), float("nan"))
        self.batches_ = batches
        batches.sample_weights = self._weights()

    def _weights(self):
        losses = self.image_losses_
        seen = ~torch.isnan(losses)
        if not seen.all():  # an epoch has not passed yet: every image once
            return None
        total = float(losses.sum())
        uniform = torch.full_like(losses, 1.0 / len(losses))
        if total <= 0:
            return uniform
        share = float(self.uniform_share)
        return share * uniform + (1.0 - share) * losses / total

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, y_true=None,
                     **kwargs):
        if not training or self.batches_ is None or y_true is None:
            return
        final = y_pred[0] if isinstance(y_pred, (tuple, list)) else y_pred
        with torch.no_grad():
            proba = net._get_predict_nonlinearity()(final.detach().float())
            labels = torch.as_tensor(y_true, device=proba.device).long()
            if net.ab_loss == "orientation":  # the labels the network is trained to
                labels = orientation_order(labels)
            log_probs = proba.clamp_min(1e-6).log()
            losses = image_cross_entropy(log_probs, labels)
            if net.ab_loss == "swap_invariant":  # either naming of A and B is right
                losses = torch.minimum(losses, image_cross_entropy(log_probs,
                                                                   swap_chromosomes(labels)))
        losses = losses.cpu()
        # an image drawn twice in one batch keeps one of its (equal) losses
        self.image_losses_[self.batches_.last_indices] = losses

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if self.batches_ is not None:
            self.batches_.sample_weights = None
        self.batches_ = None
