"""Segmentation losses: pure tensor functions (``_functional``), thin ``nn.Module`` wrappers
(``_modules``).

Every wrapper is called as ``criterion(y_pred, y_true)`` with ``y_pred`` the raw logits of
shape (N, C, H, W), any number of classes C >= 2, and ``y_true`` the class indices of shape
(N, H, W). Wrappers only check the input, apply the activation (softmax over the class axis,
or a per-class sigmoid) and one-hot encode the target, then call the pure functions. Every
constructor argument has a default and is stored under its own name (a class-weight
sequence becomes a tensor buffer of that name, so it follows the module's device and dtype),
so ``ChromosomeSegmenter(criterion="dice", criterion__smooth=0.1)`` and ``GridSearchCV`` over
``criterion__*`` work. A class absent from a batch gives a finite loss and finite gradients.

The binary cross-entropies of ARMS Net (eq. 1 and 2, with the reading of the paper that they
follow) are in ``_bce``.

The papers' losses: ARMS Net trains its ablation networks with BCE and itself with AS-wBCE
(``"bce"``, ``"as_wbce"``; Table 2), and compares fixed weights (``"wbce"``; Table 4); the
Attention U-Net thesis (Lemma 2023) trains with MSE (``"mse"``); the Attention U-Net slides
(Passos Martins and Ygé 2024) compare cross-entropy, focal and Dice losses (``"ce"``,
``"focal"``, ``"dice"``) and name Tversky as future work (``"tversky"``).

``"lovasz"`` (:class:`LovaszSoftmaxLoss`, kornia's Lovász-softmax; Berman et al. 2018) is a
surrogate of the IoU that chromoskl's scores measure; none of the papers trains with it.

``"edge_ce"`` (:class:`EdgeWeightedCELoss`) is chromoskl's own: cross-entropy that weighs the
edges between A, B and their overlap more, after U-Net's weight map; ``"dice_edge_ce"``
(:class:`DiceEdgeCELoss`) adds Dice to it.

``"deep_supervision"`` (:class:`DeepSupervisionLoss`) applies any of them to every output map
of a deeply supervised network, with weights that ``criterion__weights`` can search.

Two wrappers change which chromosome the loss calls A, for ``ChromosomeSegmenter(ab_loss=...)``:
:class:`SwapInvariantLoss` (``_swap``) takes the better of the two namings per image, and
:class:`OrientationOrderLoss` (``_orientation``) names them by their axes' order.

``LOSSES`` maps registry names to classes; :func:`resolve_criterion` turns a name or a class
into a class.
"""

from ._bce import AdaptiveSmoothWBCELoss, BCELoss, WeightedBCELoss
from ._deep_supervision import DeepSupervisionLoss, loss_over_heads
from ._edge import EdgeWeightedCELoss, inner_edge_band
from ._functional import (
    adaptive_smooth_weights,
    focal_loss_with_logits,
    smooth_imbalance_weight,
    soft_dice_score,
    tversky_index,
    weighted_bce_with_logits,
)
from ._modules import (
    LOSSES,
    CELoss,
    CombinedLoss,
    DiceEdgeCELoss,
    DiceLoss,
    FocalLoss,
    LovaszSoftmaxLoss,
    MSELoss,
    TverskyLoss,
    labels_already_checked,
    resolve_criterion,
)
from ._orientation import OrientationOrderLoss, axis_angles, orientation_order, orientation_ordered
from ._swap import SwapInvariantLoss, swap_chromosomes, swap_invariant

__all__ = [
    "LOSSES",
    "resolve_criterion",
    "weighted_bce_with_logits",
    "adaptive_smooth_weights",
    "smooth_imbalance_weight",
    "soft_dice_score",
    "tversky_index",
    "focal_loss_with_logits",
    "CELoss",
    "EdgeWeightedCELoss",
    "inner_edge_band",
    "BCELoss",
    "WeightedBCELoss",
    "AdaptiveSmoothWBCELoss",
    "MSELoss",
    "DiceLoss",
    "FocalLoss",
    "LovaszSoftmaxLoss",
    "TverskyLoss",
    "CombinedLoss",
    "DiceEdgeCELoss",
    "DeepSupervisionLoss",
    "loss_over_heads",
    "SwapInvariantLoss",
    "swap_chromosomes",
    "swap_invariant",
    "OrientationOrderLoss",
    "axis_angles",
    "orientation_order",
    "orientation_ordered",
    "labels_already_checked",
]
