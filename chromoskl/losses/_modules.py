"""The ``nn.Module`` wrappers of the losses and the registry.

The binary cross-entropies of ARMS Net (BCE, eq. 1, eq. 2) are in ``_bce``; the input checks
shared by every wrapper are in ``_inputs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from kornia.losses import lovasz_softmax_loss
from torch import nn

from ..exceptions import UnknownNameError
from ._bce import AdaptiveSmoothWBCELoss, BCELoss, WeightedBCELoss
from ._deep_supervision import DeepSupervisionLoss
from ._edge import EdgeWeightedCELoss
from ._functional import focal_loss_with_logits, soft_dice_score, tversky_index
from ._inputs import (
    _as_float,
    _check_inputs,
    _check_non_negative,
    _class_weights,
    _one_hot,
    _weights_for,
    labels_already_checked,  # noqa: F401  (re-exported by chromoskl.losses)
)

# ----------------------------------------------------------------------------------------
# nn.Module wrappers.
# ----------------------------------------------------------------------------------------


class CELoss(nn.Module):
    """Cross-entropy of softmax over the classes (registry name ``"ce"``).

    Equal to ``F.cross_entropy(y_pred, y_true, weight=weight)``: with weights, the mean is
    weighted, ``sum(w[y] * l) / sum(w[y])``.

    Parameters
    ----------
    weight : sequence of C floats or None, default=None
        Class weights; kept as the buffer ``weight``.
    """

    def __init__(self, weight: Sequence[float] | None = None):
        super().__init__()
        self.register_buffer("weight", _class_weights(weight, "weight"))

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        return F.cross_entropy(y_pred, y_true, weight=_weights_for(self.weight, y_pred, "weight"))


class MSELoss(nn.Module):
    """Mean squared error between softmax probabilities and the one-hot target (``"mse"``).

    Averaged over all N * C * H * W elements. The loss the thesis trained its Attention
    U-Net with (Lemma 2023, section 5.1: "Mean Squared Error (MSE) loss function", averaged
    over the pixels). The thesis does not name the activation of its 4-channel output; the
    softmax here is our choice, so that the four probabilities of a pixel sum to 1.

    References
    ----------
    S. Lemma. Detecting overlapping gene regions using the U-Net attention mechanism.
    Master's paper, Minnesota State University, Mankato, 2023; section 5.1, Figure 10.
    """

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        probs = F.softmax(_as_float(y_pred), dim=1)
        return F.mse_loss(probs, _one_hot(y_true, probs))


class DiceLoss(nn.Module):
    """Soft Dice loss: ``1 - mean over classes of`` :func:`soft_dice_score` (``"dice"``).

    Softmax over the classes; Dice pooled over the batch and the pixels (SMP's default for
    multi-class), every class counted in the mean. Classes absent from the target are
    handled as MONAI's ``DiceLoss`` does (``smooth_nr = smooth_dr = smooth``, no masking):
    a class absent from both target and prediction scores about 1 (loss 0), and a class
    absent from the target but predicted scores about ``smooth / (sum(p) + smooth)``, so the
    loss pushes its probabilities down. SMP instead zeroes the loss of classes with no target
    pixel. With ``smooth=0`` the denominator is clamped to 1e-7, so nothing is NaN.

    Parameters
    ----------
    smooth : float, default=1.0

    References
    ----------
    F. Milletari, N. Navab, S.-A. Ahmadi. V-Net: Fully Convolutional Neural Networks for
    Volumetric Medical Image Segmentation. 3DV 2016.
    """

    def __init__(self, smooth: float = 1.0):
        super().__init__()
        _check_non_negative(smooth=smooth)
        self.smooth = smooth

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        probs = F.softmax(_as_float(y_pred), dim=1)
        return 1.0 - soft_dice_score(probs, _one_hot(y_true, probs), self.smooth).mean()


class LovaszSoftmaxLoss(nn.Module):
    """Lovász-softmax loss (``"lovasz"``): a convex surrogate of ``1 - IoU`` per class.

    Calls kornia's ``lovasz_softmax_loss`` on float32 logits (mixed-precision logits are cast
    first, as for every loss here, so that the sort over the errors is not done at 8 bits of
    mantissa). kornia scores each image on its own and averages the classes, every class
    counted, then the images; chromoskl's IoU metrics pool the pixels of all images, so this
    loss is a per-image stand-in for what is scored.
    It has no parameters of its own; weigh it against others with ``"combined"``, e.g.
    ``criterion="combined", criterion__losses=("dice", "edge_ce", "lovasz")``.

    References
    ----------
    M. Berman, A. Rannen Triki, M. B. Blaschko. The Lovász-Softmax loss: A tractable surrogate
    for the optimization of the intersection-over-union measure in neural networks. CVPR 2018.
    """

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        return lovasz_softmax_loss(_as_float(y_pred), y_true)


class FocalLoss(nn.Module):
    """Multi-class focal loss (``"focal"``); see :func:`focal_loss_with_logits`.

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter; 0 gives cross-entropy.
    alpha : sequence of C floats or None, default=None
        Per-class weights; kept as the buffer ``alpha``.

    References
    ----------
    T.-Y. Lin et al. Focal Loss for Dense Object Detection. ICCV 2017.
    """

    def __init__(self, gamma: float = 2.0, alpha: Sequence[float] | None = None):
        super().__init__()
        _check_non_negative(gamma=gamma)
        self.gamma = gamma
        self.register_buffer("alpha", _class_weights(alpha, "alpha"))

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        y_pred = _as_float(y_pred)
        alpha = _weights_for(self.alpha, y_pred, "alpha")
        return focal_loss_with_logits(y_pred, y_true, self.gamma, alpha)


class TverskyLoss(nn.Module):
    """Tversky loss: ``1 - mean over classes of`` :func:`tversky_index` (``"tversky"``).

    Softmax over the classes, pooled over batch and pixels, absent classes as in
    :class:`DiceLoss`.

    Parameters
    ----------
    alpha : float, default=0.3
        Weight of false positives.
    beta : float, default=0.7
        Weight of false negatives (Salehi et al.'s best pair is 0.3/0.7).
    smooth : float, default=1.0

    References
    ----------
    S. S. M. Salehi, D. Erdogmus, A. Gholipour. Tversky loss function for image segmentation
    using 3D fully convolutional deep networks. MLMI 2017.
    """

    def __init__(self, alpha: float = 0.3, beta: float = 0.7, smooth: float = 1.0):
        super().__init__()
        _check_non_negative(alpha=alpha, beta=beta, smooth=smooth)
        self.alpha = alpha
        self.beta = beta
        self.smooth = smooth

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        y_true = _check_inputs(y_pred, y_true)
        probs = F.softmax(_as_float(y_pred), dim=1)
        target = _one_hot(y_true, probs)
        return 1.0 - tversky_index(probs, target, self.alpha, self.beta, self.smooth).mean()


class CombinedLoss(nn.Module):
    """Weighted sum of registry losses (``"combined"``; ``"dice_ce"`` names its default, Dice +
    cross-entropy with equal weights, as in MONAI's ``DiceCELoss``).

    Parameters
    ----------
    losses : sequence of str or nn.Module classes, default=("dice", "ce")
        Each resolved by :func:`resolve_criterion` and built with its defaults, or with the
        keyword arguments that ``loss_params`` gives for it.
    weights : sequence of float, default=(1.0, 1.0)
        One per loss (``criterion__weights`` in a grid search).
    loss_params : mapping or None, default=None
        ``{name: {param: value}}`` for the constructors of the losses given by name, e.g.
        ``{"focal": {"gamma": 1.0}}``.

    Attributes
    ----------
    terms : nn.ModuleList
        The built losses, in the order of ``losses``.

    Raises
    ------
    ValueError
        If ``losses`` is empty, ``weights`` has another length, a weight is negative or not
        finite, or ``loss_params`` names a loss that is not in ``losses``.
    """

    def __init__(
        self,
        losses: Sequence[str | type[nn.Module]] = ("dice", "ce"),
        weights: Sequence[float] = (1.0, 1.0),
        loss_params: Mapping[str, Mapping] | None = None,
    ):
        super().__init__()
        if isinstance(losses, (str, type)):
            raise TypeError(f"losses must be a sequence of names or classes, got {losses!r}.")
        try:
            if isinstance(weights, (str, bytes)):
                raise TypeError
            weights = tuple(float(x) for x in weights)
        except (TypeError, ValueError):
            raise TypeError(f"weights must be a sequence of floats, got {weights!r}.") from None
        losses = tuple(losses)
        if not losses or len(weights) != len(losses):
            raise ValueError(
                f"Give one weight per loss: got losses={losses!r} and weights={weights!r}."
            )
        _check_non_negative(**{f"weights[{i}]": x for i, x in enumerate(weights)})
        params = {str(k).lower(): dict(v) for k, v in (loss_params or {}).items()}
        names = {x.lower() for x in losses if isinstance(x, str)}
        if set(params) - names:
            raise ValueError(
                f"loss_params names {sorted(set(params) - names)}, which are not in "
                f"losses={losses!r}."
            )
        self.losses = losses
        self.weights = weights
        self.loss_params = loss_params
        self.terms = nn.ModuleList(
            resolve_criterion(x)(**params.get(x.lower() if isinstance(x, str) else "", {}))
            for x in losses
        )

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        return sum(w * term(y_pred, y_true) for w, term in zip(self.weights, self.terms))


class DiceEdgeCELoss(CombinedLoss):
    """Dice + the edge-weighted cross-entropy (``"dice_edge_ce"``): :class:`CombinedLoss`
    with ``losses=("dice", "edge_ce")``, so that one name (``--criterion`` of the CLI) trains
    with :class:`~chromoskl.losses.EdgeWeightedCELoss`; ``criterion__loss_params={"edge_ce":
    {"edge_weight": 10.0}}`` sets its weight.
    """

    def __init__(
        self,
        losses: Sequence[str | type[nn.Module]] = ("dice", "edge_ce"),
        weights: Sequence[float] = (1.0, 1.0),
        loss_params: Mapping[str, Mapping] | None = None,
    ):
        super().__init__(losses, weights, loss_params)


LOSSES: dict[str, type[nn.Module]] = {
    "ce": CELoss,
    "edge_ce": EdgeWeightedCELoss,
    "bce": BCELoss,
    "wbce": WeightedBCELoss,
    "as_wbce": AdaptiveSmoothWBCELoss,
    "mse": MSELoss,
    "dice": DiceLoss,
    "focal": FocalLoss,
    "tversky": TverskyLoss,
    "lovasz": LovaszSoftmaxLoss,
    "dice_ce": CombinedLoss,
    "dice_edge_ce": DiceEdgeCELoss,
    "combined": CombinedLoss,
    "deep_supervision": DeepSupervisionLoss,
}


def resolve_criterion(criterion: str | type[nn.Module]) -> type[nn.Module]:
    """Return the loss class for a registry name, or ``criterion`` itself if it is a class.

    Parameters
    ----------
    criterion : str or nn.Module subclass
        A key of ``LOSSES`` (case-insensitive), or any ``nn.Module`` subclass.

    Returns
    -------
    cls : type of nn.Module

    Raises
    ------
    chromoskl.exceptions.UnknownNameError
        For an unknown name (a ``ValueError`` and a ``KeyError``); the message lists the
        known ones.
    TypeError
        For anything else (an instance, a function, ...).
    """
    known = ", ".join(sorted(LOSSES))
    if isinstance(criterion, str):
        try:
            return LOSSES[criterion.lower()]
        except KeyError:
            raise UnknownNameError("loss", criterion, LOSSES, plural="losses") from None
    if isinstance(criterion, type) and issubclass(criterion, nn.Module):
        return criterion
    raise TypeError(
        f"criterion must be a loss name ({known}) or an nn.Module subclass, got {criterion!r}."
    )
