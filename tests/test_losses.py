"""Tests of chromoskl.losses: hand-computed values, equivalences, edge cases, the registry."""

from __future__ import annotations

import inspect
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from chromoskl.losses import (
    LOSSES,
    AdaptiveSmoothWBCELoss,
    BCELoss,
    CELoss,
    CombinedLoss,
    DiceLoss,
    FocalLoss,
    LovaszSoftmaxLoss,
    TverskyLoss,
    WeightedBCELoss,
    adaptive_smooth_weights,
    resolve_criterion,
    smooth_imbalance_weight,
)

LN2 = math.log(2.0)

# A 1x2x1x2 case (N=1, C=2, H=1, W=2). Pixel 0: logits (0, 0) -> softmax (1/2, 1/2), target 0.
# Pixel 1: logits (ln 3, 0) -> softmax (3/4, 1/4), target 1.
# Per-class sigmoids: sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4.
LOGITS = torch.tensor([[[[0.0, math.log(3.0)]], [[0.0, 0.0]]]])
TARGET = torch.tensor([[[0, 1]]])

HAND_CASES = [
    # CE: pixel 0 -ln(1/2) = ln 2, pixel 1 -ln(1/4) = 2 ln 2; mean 1.5 ln 2.
    ("ce", {}, 1.5 * LN2),
    # Weighted CE, w = (1, 3): (1 * ln 2 + 3 * 2 ln 2) / (1 + 3) = 7/4 ln 2.
    ("ce", {"weight": [1.0, 3.0]}, 1.75 * LN2),
    # BCE on one-hot: elements (x, y) = (0, 1) ln 2, (ln 3, 0) -ln(1/4) = 2 ln 2, (0, 0) ln 2,
    # (0, 1) ln 2; mean 5/4 ln 2.
    ("bce", {}, 1.25 * LN2),
    # WBCE, w = 2 on the two positive elements: (2 ln 2 + 2 ln 2 + ln 2 + 2 ln 2) / 4.
    ("wbce", {"w": 2.0}, 1.75 * LN2),
    # AS-WBCE: each class has Pos = Neg = 1 -> weight 1, so it equals BCE here.
    ("as_wbce", {}, 1.25 * LN2),
    # MSE: pixel 0 errors 1/4, 1/4; pixel 1 errors (3/4)^2, (3/4)^2; mean 1.625 / 4.
    ("mse", {}, 0.40625),
    # Dice, smooth 0: class 0 2 * 1/2 / (5/4 + 1) = 4/9; class 1 2 * 1/4 / (3/4 + 1) = 2/7.
    ("dice", {"smooth": 0.0}, 1.0 - (4 / 9 + 2 / 7) / 2),
    # Dice, smooth 1: class 0 (1 + 1) / (9/4 + 1) = 8/13; class 1 (1/2 + 1) / (7/4 + 1) = 6/11.
    ("dice", {"smooth": 1.0}, 1.0 - (8 / 13 + 6 / 11) / 2),
    # Focal, gamma 2: pixel 0 (1/2)^2 ln 2; pixel 1 (3/4)^2 * 2 ln 2; mean 0.6875 ln 2.
    ("focal", {"gamma": 2.0}, 0.6875 * LN2),
    # Focal with alpha (1/4, 3/4): (1/4 * 1/4 ln 2 + 3/4 * 9/8 ln 2) / 2 = 0.453125 ln 2.
    ("focal", {"gamma": 2.0, "alpha": [0.25, 0.75]}, 0.453125 * LN2),
    # Tversky 0.3/0.7, smooth 0: class 0 TP 1/2, FP 3/4, FN 1/2 -> 0.5 / 1.075;
    # class 1 TP 1/4, FP 1/2, FN 3/4 -> 0.25 / 0.925.
    ("tversky", {"alpha": 0.3, "beta": 0.7, "smooth": 0.0}, 1.0 - (0.5 / 1.075 + 0.25 / 0.925) / 2),
    # Lovász-softmax: errors |p - onehot| sorted down. Class 0: pixel 1 (0.75, not class 0),
    # pixel 0 (0.5, class 0); Jaccard losses after each 1 - 1/2, 1 - 0/2 -> steps 1/2, 1/2;
    # 0.75/2 + 0.5/2 = 0.625. Class 1: pixel 1 (0.75, class 1), pixel 0 (0.5); 1 - 0/1,
    # 1 - 0/2 -> steps 1, 0; 0.75. Mean over the classes 0.6875.
    ("lovasz", {}, 0.6875),
    # Dice (smooth 1) + CE.
    ("dice_ce", {}, 1.0 - (8 / 13 + 6 / 11) / 2 + 1.5 * LN2),
    # 0.5 Dice (smooth 1) + 2 CE.
    (
        "combined",
        {"weights": (0.5, 2.0)},
        0.5 * (1.0 - (8 / 13 + 6 / 11) / 2) + 3 * LN2,
    ),
    # Combined: 2 * MSE + 1 * BCE.
    ("combined", {"losses": ("mse", "bce"), "weights": (2.0, 1.0)}, 0.8125 + 1.25 * LN2),
]


@pytest.mark.parametrize(("name", "params", "expected"), HAND_CASES)
def test_hand_computed_values(name, params, expected):
    loss = LOSSES[name](**params)(LOGITS, TARGET)
    assert loss.ndim == 0
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def _random_batch(n=2, c=4, h=5, w=6):
    return torch.randn(n, c, h, w), torch.randint(0, c, (n, h, w))


@pytest.mark.parametrize("weight", [None, [0.5, 1.0, 2.0, 4.0]])
def test_ce_equals_torch_cross_entropy(weight):
    y_pred, y_true = _random_batch()
    class_weight = None if weight is None else torch.tensor(weight)
    expected = F.cross_entropy(y_pred, y_true, weight=class_weight)
    assert CELoss(weight=weight)(y_pred, y_true).item() == pytest.approx(expected.item(), rel=1e-6)


def test_bce_equals_torch_on_one_hot():
    y_pred, y_true = _random_batch(c=3)
    one_hot = F.one_hot(y_true, 3).permute(0, 3, 1, 2).float()
    expected = F.binary_cross_entropy_with_logits(y_pred, one_hot)
    assert BCELoss()(y_pred, y_true).item() == pytest.approx(expected.item(), rel=1e-6)


def test_wbce_with_w_one_is_bce_and_w_is_pos_weight():
    y_pred, y_true = _random_batch()
    bce = BCELoss()(y_pred, y_true).item()
    assert WeightedBCELoss(w=1.0)(y_pred, y_true).item() == pytest.approx(bce, rel=1e-6)
    one_hot = F.one_hot(y_true, 4).permute(0, 3, 1, 2).float()
    expected = F.binary_cross_entropy_with_logits(y_pred, one_hot, pos_weight=torch.tensor(3.0))
    assert WeightedBCELoss(w=3.0)(y_pred, y_true).item() == pytest.approx(expected.item(), rel=1e-6)


def test_adaptive_smooth_weights_known_ratios():
    # C=3 over 1001 pixels: class 0 has 1000 (Neg/Pos = 1/1000 -> 1/2), class 1 has 1
    # (Neg/Pos = 1000 -> 1/2), class 2 none (counted as 1: 1/(1 + log_1000(1001))).
    labels = torch.zeros(1, 1, 1001, dtype=torch.long)
    labels[0, 0, 0] = 1
    one_hot = F.one_hot(labels, 3).permute(0, 3, 1, 2).float()
    weights = adaptive_smooth_weights(one_hot)
    absent = 1.0 / (1.0 + math.log(1001) / math.log(1000))
    assert weights.tolist() == pytest.approx([0.5, 0.5, absent], rel=1e-6)
    # Balanced (Neg/Pos = 1) -> 1; Neg/Pos = 10**6 -> 1/3.
    balanced = F.one_hot(torch.tensor([[[0, 1]]]), 2).permute(0, 3, 1, 2).float()
    assert adaptive_smooth_weights(balanced).tolist() == pytest.approx([1.0, 1.0])
    million = torch.zeros(1, 2, 1, 10**6 + 1)
    million[0, 1, 0, 0] = 1.0
    assert adaptive_smooth_weights(million)[1].item() == pytest.approx(1 / 3, rel=1e-5)


def test_as_wbce_hand_computed_unbalanced():
    # All logits 0: every element costs ln 2 before weighting. C=3, target [0, 0, 0, 1]:
    # class 0 Pos 3 Neg 1 and class 1 Pos 1 Neg 3 -> w01 = 1 / (1 + ln 3 / ln 1000);
    # class 2 absent, Pos counted as 1, Neg 4 -> w2 = 1 / (1 + ln 4 / ln 1000).
    # 12 elements: 4 positive (weight 1), negatives 1 + 3 with w01 and 4 with w2.
    w01 = 1.0 / (1.0 + math.log(3) / math.log(1000))
    w2 = 1.0 / (1.0 + math.log(4) / math.log(1000))
    loss = AdaptiveSmoothWBCELoss()(torch.zeros(1, 3, 1, 4), torch.tensor([[[0, 0, 0, 1]]]))
    assert loss.item() == pytest.approx((4 + 4 * w01 + 4 * w2) / 12 * LN2, rel=1e-6)


def test_wbce_is_eq1_averaged_over_4_classes_and_the_pixels():
    # ARMS eq. 1, L = -1/(4MN) sum_t sum_ij [w y log p + (1 - y) log(1 - p)], 4 classes,
    # M x N = 1 x 2 pixels of classes 0 and 3, all logits 0 (every term costs ln 2):
    # 2 positive terms weighted w = 1.5 and 6 negative terms, over 4 * 2 = 8.
    loss = WeightedBCELoss(w=1.5)(torch.zeros(1, 4, 1, 2), torch.tensor([[[0, 3]]]))
    assert loss.item() == pytest.approx((2 * 1.5 + 6) / 8 * LN2, rel=1e-6)


def test_as_wbce_weights_the_negative_term_of_eq2():
    # ARMS eq. 2: the weight carries a factor in (1 - y), so it applies to the negatives.
    # C=2 over 1001 pixels, pixel 0 of class 1, the others of class 0: Neg/Pos = 1000 for
    # class 1 and 1/1000 for class 0, weight 1/2 for both.
    target = torch.zeros(1, 1, 1001, dtype=torch.long)
    target[0, 0, 0] = 1
    # Class 0 is predicted surely and rightly (cost ~0); class 1's logits are 0, so its one
    # positive and its 1000 negatives cost ln 2 each.
    logits = torch.zeros(1, 2, 1, 1001)
    logits[0, 0] = 20.0
    logits[0, 0, 0, 0] = -20.0
    bce = BCELoss()(logits, target).item()
    as_wbce = AdaptiveSmoothWBCELoss()(logits, target).item()
    assert bce == pytest.approx(1001 * LN2 / 2002, rel=1e-4)
    # The 1000 negatives at weight 1/2, the positive at 1 (on the positive term instead it
    # would be 1000 + 1/2).
    assert as_wbce == pytest.approx((1000 / 2 + 1) * LN2 / 2002, rel=1e-4)


def test_as_wbce_class_fractions_fix_the_weights():
    # Logits 0, target [0, 0, 0, 1]: 8 elements at ln 2 each, 4 positives, 4 negatives.
    logits, target = torch.zeros(1, 2, 1, 4), torch.tensor([[[0, 0, 0, 1]]])
    # Balanced training set: every weight 1, plain BCE, whatever the batch holds.
    balanced = AdaptiveSmoothWBCELoss(class_fractions=(0.5, 0.5))(logits, target)
    assert balanced.item() == pytest.approx(LN2, rel=1e-6)
    # Training set with 1 pixel in 1001 of class 1: Neg/Pos = 1000 for both classes,
    # weight 1/2 on the 4 negatives: (4 + 4 / 2) / 8 ln 2.
    rare = AdaptiveSmoothWBCELoss(class_fractions=(1000 / 1001, 1 / 1001))(logits, target)
    assert rare.item() == pytest.approx(0.75 * LN2, rel=1e-6)
    # The batch's own fractions give the batch-counted weights.
    batch = AdaptiveSmoothWBCELoss()(logits, target).item()
    fixed = AdaptiveSmoothWBCELoss(class_fractions=(0.75, 0.25))(logits, target).item()
    assert fixed == pytest.approx(batch, rel=1e-6)
    assert smooth_imbalance_weight(torch.tensor([1000.0, 1e-3, 1.0])).tolist() == pytest.approx(
        [0.5, 0.5, 1.0]
    )


@pytest.mark.parametrize("fractions", [(0.0, 1.0), (0.5, 1.5), (-0.5, 0.5), "ab"])
def test_as_wbce_rejects_bad_class_fractions(fractions):
    with pytest.raises((ValueError, TypeError), match="class_fractions"):
        AdaptiveSmoothWBCELoss(class_fractions=fractions)


def test_as_wbce_class_fractions_must_match_the_classes():
    loss = AdaptiveSmoothWBCELoss(class_fractions=(0.5, 0.25, 0.25))
    with pytest.raises(ValueError, match="one fraction per class"):
        loss(torch.zeros(1, 2, 1, 4), torch.tensor([[[0, 0, 0, 1]]]))


def test_focal_gamma_zero_is_cross_entropy():
    y_pred, y_true = _random_batch()
    expected = F.cross_entropy(y_pred, y_true).item()
    assert FocalLoss(gamma=0.0)(y_pred, y_true).item() == pytest.approx(expected, rel=1e-6)


def test_tversky_half_half_is_dice():
    # (TP + s/2) / (TP + (FP + FN)/2 + s/2) = (2 TP + s) / (2 TP + FP + FN + s)
    y_pred, y_true = _random_batch()
    dice = DiceLoss(smooth=0.5)(y_pred, y_true).item()
    tversky = TverskyLoss(alpha=0.5, beta=0.5, smooth=0.25)(y_pred, y_true).item()
    assert tversky == pytest.approx(dice, rel=1e-6)


def test_combined_default_equals_dice_ce():
    y_pred, y_true = _random_batch()
    assert CombinedLoss()(y_pred, y_true).item() == pytest.approx(
        DiceLoss()(y_pred, y_true).item() + CELoss()(y_pred, y_true).item(), rel=1e-6
    )
    assert LOSSES["dice_ce"] is CombinedLoss
    tuned = CombinedLoss(("focal", "dice"), (1.0, 0.0), loss_params={"focal": {"gamma": 0.0}})
    expected = F.cross_entropy(y_pred, y_true).item()
    assert tuned(y_pred, y_true).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", ["dice", "tversky"])
def test_perfect_prediction_gives_near_zero_overlap_loss(name):
    y_true = torch.tensor([[[0, 1, 2], [3, 3, 0]]])
    y_pred = 30.0 * F.one_hot(y_true, 4).permute(0, 3, 1, 2).float()
    assert LOSSES[name](smooth=0.0)(y_pred, y_true).item() == pytest.approx(0.0, abs=1e-6)
    assert LOSSES[name]()(y_pred, y_true).item() == pytest.approx(0.0, abs=1e-6)


def test_lovasz_on_hard_predictions_is_one_minus_the_iou():
    # At predictions of 0 or 1 the Lovász extension equals the Jaccard loss itself: per image,
    # 1 - IoU of each class, averaged over the classes and then the images.
    generator = torch.Generator().manual_seed(0)
    y_true = torch.randint(0, 4, (3, 6, 5), generator=generator)
    y_hard = torch.where(torch.rand(3, 6, 5, generator=generator) < 0.3,
                         torch.randint(0, 4, (3, 6, 5), generator=generator), y_true)
    logits = 40.0 * F.one_hot(y_hard, 4).permute(0, 3, 1, 2).float()
    expected = []
    for truth, guess in zip(y_true, y_hard):
        for c in range(4):
            union = ((truth == c) | (guess == c)).sum().item()
            inter = ((truth == c) & (guess == c)).sum().item()
            expected.append(1.0 - inter / union if union else 0.0)
    assert LovaszSoftmaxLoss()(logits, y_true).item() == pytest.approx(
        sum(expected) / len(expected), abs=1e-5)
    assert LovaszSoftmaxLoss()(40.0 * F.one_hot(y_true, 4).permute(0, 3, 1, 2).float(),
                               y_true).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_absent_class_gives_finite_loss_and_gradients(name):
    # 4 classes with classes 2 and 3 absent; 2 classes with only class 0 present.
    cases = [(torch.tensor([[[0, 1], [1, 0]]]), 4), (torch.zeros(1, 2, 2, dtype=torch.long), 2)]
    for y_true, c in cases:
        y_pred = torch.randn(1, c, 2, 2, requires_grad=True)
        loss = LOSSES[name]()(y_pred, y_true)
        loss.backward()
        assert torch.isfinite(loss)
        assert torch.isfinite(y_pred.grad).all()
        assert y_pred.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["dice", "tversky"])
def test_overlap_losses_finite_with_zero_smooth_and_absent_class(name):
    y_pred = torch.full((1, 3, 2, 2), -1e4, requires_grad=True)
    with torch.no_grad():
        y_pred[:, 0] = 1e4  # class 0 everywhere; classes 1 and 2 absent and never predicted
    loss = LOSSES[name](smooth=0.0)(y_pred, torch.zeros(1, 2, 2, dtype=torch.long))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(y_pred.grad).all()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_each_loss_decreases_under_sgd(name):
    y_true = torch.tensor([[[0, 0, 1, 2], [0, 3, 3, 2], [0, 1, 1, 0]]])
    logits = nn.Parameter(0.1 * torch.randn(1, 4, 3, 4))
    criterion = LOSSES[name]()
    optimizer = torch.optim.SGD([logits], lr=1.0)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = criterion(logits, y_true)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.mark.parametrize(
    ("cls", "param"),
    [(CELoss, "weight"), (FocalLoss, "alpha")],
)
def test_list_weights_become_buffers_that_follow_dtype(cls, param):
    criterion = cls(**{param: [1.0, 3.0]})
    assert isinstance(getattr(criterion, param), torch.Tensor)
    assert param in criterion.state_dict()
    expected = criterion(LOGITS, TARGET).item()
    criterion = criterion.to(torch.float64)
    assert getattr(criterion, param).dtype == torch.float64
    loss = criterion(LOGITS.double(), TARGET)
    assert loss.dtype == torch.float64
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # float32 logits still work with the float64 buffer
    assert criterion(LOGITS, TARGET).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_on_cuda(name):
    params = {"ce": {"weight": [1.0, 3.0]}, "focal": {"alpha": [1.0, 3.0]}}.get(name, {})
    criterion = LOSSES[name](**params)
    expected = criterion(LOGITS, TARGET).item()
    loss = criterion.to("cuda")(LOGITS.cuda(), TARGET.cuda())
    assert loss.device.type == "cuda"
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_wrong_number_of_class_weights():
    with pytest.raises(ValueError, match="3 entries but y_pred has 2 classes"):
        CELoss(weight=[1.0, 2.0, 3.0])(LOGITS, TARGET)


@pytest.mark.parametrize(
    ("y_pred", "y_true", "message"),
    [
        (torch.zeros(2, 5, 5), torch.zeros(2, 5, 5, dtype=torch.long), r"\(N, C, H, W\)"),
        (torch.zeros(2, 4, 5, 5), torch.zeros(2, 5, 6, dtype=torch.long), r"\(2, 5, 6\)"),
        (torch.zeros(2, 4, 5, 5), torch.zeros(3, 5, 5, dtype=torch.long), r"\(2, 5, 5\)"),
        (torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long), "at least 2 classes"),
        (torch.zeros(1, 2, 1, 2), torch.tensor([[[0, 2]]]), r"\[0, 1\]"),
        (torch.zeros(1, 2, 1, 2), torch.tensor([[[-1, 0]]]), r"\[0, 1\]"),
    ],
)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_bad_shapes_raise_value_error(name, y_pred, y_true, message):
    with pytest.raises(ValueError, match=message):
        LOSSES[name]()(y_pred, y_true)


def test_float_targets_raise_type_error():
    with pytest.raises(TypeError, match="integer class indices"):
        DiceLoss()(LOGITS, TARGET.float())


def test_uint8_targets_accepted():
    assert DiceLoss()(LOGITS, TARGET.to(torch.uint8)).item() == pytest.approx(
        DiceLoss()(LOGITS, TARGET).item()
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"losses": ("dice",), "weights": (1.0, 1.0)}, ValueError),
        ({"losses": (), "weights": ()}, ValueError),
        ({"losses": "dice", "weights": (1.0,)}, TypeError),
        ({"weights": 1.0}, TypeError),
        ({"weights": (1.0, -1.0)}, ValueError),
        ({"loss_params": {"focal": {"gamma": 1.0}}}, ValueError),
        ({"losses": ("dice", "nope")}, ValueError),
    ],
)
def test_combined_bad_arguments(kwargs, error):
    with pytest.raises(error):
        CombinedLoss(**kwargs)


@pytest.mark.parametrize(
    ("cls", "kwargs", "error"),
    [
        (CELoss, {"weight": "heavy"}, TypeError),
        (CELoss, {"weight": 2.0}, ValueError),
        (CELoss, {"weight": [1.0, -1.0]}, ValueError),
        (FocalLoss, {"gamma": -1.0}, ValueError),
        (WeightedBCELoss, {"w": float("nan")}, ValueError),
        (DiceLoss, {"smooth": -1.0}, ValueError),
    ],
)
def test_bad_constructor_arguments(cls, kwargs, error):
    with pytest.raises(error):
        cls(**kwargs)


def test_resolve_criterion():
    assert resolve_criterion("Dice") is DiceLoss
    assert resolve_criterion("AS_WBCE") is AdaptiveSmoothWBCELoss
    assert resolve_criterion("Lovasz") is LovaszSoftmaxLoss
    assert resolve_criterion(nn.CrossEntropyLoss) is nn.CrossEntropyLoss
    with pytest.raises(ValueError, match="as_wbce, bce, ce, combined"):
        resolve_criterion("lovász")
    for bad in (DiceLoss(), 3, None, int):
        with pytest.raises(TypeError, match="loss name"):
            resolve_criterion(bad)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_constructor_arguments_have_defaults_and_are_stored(name):
    criterion = LOSSES[name]()
    for param in inspect.signature(LOSSES[name]).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue  # no __init__ of its own: nn.Module's (*args, **kwargs)
        assert param.default is not inspect.Parameter.empty
        assert hasattr(criterion, param.name)


# ---------------------------------------------------------------- swap invariance, label checks


def test_swap_invariant_loss_is_the_smaller_of_the_two_assignments():
    from chromoskl.losses import CELoss, SwapInvariantLoss, swap_chromosomes

    torch.manual_seed(0)
    logits = torch.randn(3, 4, 6, 7)
    labels = torch.randint(0, 4, (3, 6, 7))
    swapped = swap_chromosomes(labels)
    assert torch.equal(swapped == 1, labels == 2) and torch.equal(swapped == 3, labels == 3)
    ce = torch.nn.CrossEntropyLoss(reduction="none")
    per_image = torch.minimum(ce(logits, labels).mean((1, 2)), ce(logits, swapped).mean((1, 2)))
    loss = SwapInvariantLoss(CELoss())(logits, labels)
    torch.testing.assert_close(loss, per_image.mean())
    # A prediction that is right but for the names of A and B costs nothing extra.
    perfect = 20.0 * torch.nn.functional.one_hot(labels, 4).movedim(-1, 1).float()
    named_wrong = 20.0 * torch.nn.functional.one_hot(swapped, 4).movedim(-1, 1).float()
    invariant = SwapInvariantLoss(CELoss())
    torch.testing.assert_close(invariant(named_wrong, labels), invariant(perfect, labels))
    assert CELoss()(named_wrong, labels) > 1.0 > CELoss()(perfect, labels)


def test_label_range_check_can_be_done_once_up_front():
    from chromoskl.losses import labels_already_checked

    logits = torch.zeros(1, 4, 3, 3)
    bad = torch.full((1, 3, 3), 2)
    bad[0, 0, 0] = 7
    with pytest.raises(ValueError, match="values from 0 to 7|from 2 to 7"):
        CombinedLoss()(logits, bad)
    with labels_already_checked():
        good = torch.full((1, 3, 3), 2)
        assert torch.isfinite(CombinedLoss()(logits, good))
    # the check is back outside the block
    with pytest.raises(ValueError):
        CombinedLoss()(logits, bad)


def test_deep_supervision_loss_weighs_the_maps_final_first():
    y_pred, y_true = _random_batch()
    aux = y_pred.flip(-1)
    ce = CELoss()
    loss = LOSSES["deep_supervision"](loss="ce", weights=(3.0, 1.0))
    expected = (3 * ce(y_pred, y_true) + ce(aux, y_true)) / 4
    assert loss((y_pred, aux), y_true).item() == pytest.approx(expected.item(), rel=1e-6)
    # one map: the loss itself, whatever the weights
    assert loss(y_pred, y_true).item() == pytest.approx(ce(y_pred, y_true).item(), rel=1e-6)
    tuned = LOSSES["deep_supervision"](loss="focal", loss_params={"gamma": 0.0})
    expected = (ce(y_pred, y_true) + ce(aux, y_true)) / 2
    assert tuned((y_pred, aux), y_true).item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match="2 weights but the network returns 3 maps"):
        loss((y_pred, aux, aux), y_true)
