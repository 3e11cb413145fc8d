"""Tests of chromoskl.metrics: hand-computed cases, sklearn/scipy references, scorers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import f1_score, jaccard_score
from sklearn.model_selection import KFold, cross_validate

from chromoskl._geometry import centre_pad
from chromoskl.metrics import (
    SCORERS,
    assd_per_class,
    chromosome_iou,
    chromosome_iou_any_order,
    confusion_matrix,
    dice_per_class,
    get_scorer,
    hd95_per_class,
    iou_per_class,
    overlap_iou,
    pixel_accuracy,
    segmentation_scores,
    swapped_share,
    two_chromosome_accuracy,
)

NAN = math.nan

# A 4x4 case, every number below counted by hand.
#   per class (tp, fp, fn): 0 (9, 1, 1), 1 (1, 0, 1), 2 (1, 1, 1), 3 (2, 1, 0)
#   chromosome A {1,3}: truth 4 px, prediction the same 4 px -> IoU 1
#   chromosome B {2,3}: truth 4 px, prediction 5 px, 3 shared -> IoU 3 / 6
HAND_TRUE = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 3, 3, 0], [0, 2, 2, 0]])
HAND_PRED = np.array([[0, 0, 0, 0], [0, 1, 3, 0], [0, 3, 3, 2], [0, 2, 0, 0]])
# Every class present in both, with a known IoU each: 0 -> 1/11, 1 -> 1, 2 -> 1/3, 3 -> 0.
MIXED_TRUE = np.array([[0, 0, 0, 1], [2, 2, 3, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
MIXED_PRED = np.array([[0, 3, 3, 1], [2, 3, 2, 1], [3, 3, 3, 3], [3, 3, 3, 3]])


@pytest.mark.parametrize(
    ("y_true", "y_pred", "iou", "dice"),
    [
        (HAND_TRUE, HAND_PRED, [9 / 11, 1 / 2, 1 / 3, 2 / 3], [18 / 20, 2 / 3, 1 / 2, 4 / 5]),
        (HAND_TRUE, HAND_TRUE, [1, 1, 1, 1], [1, 1, 1, 1]),
        # Everything shifted by one class: nothing right, every class present -> all 0.
        (HAND_TRUE, (HAND_TRUE + 1) % 4, [0, 0, 0, 0], [0, 0, 0, 0]),
        # Only background and class 3 anywhere: classes 1 and 2 are undefined, not 0.
        (np.zeros((4, 4), int), np.full((4, 4), 3), [0, NAN, NAN, 0], [0, NAN, NAN, 0]),
    ],
)
def test_iou_and_dice_hand_cases(y_true, y_pred, iou, dice):
    np.testing.assert_allclose(iou_per_class(y_true, y_pred), iou)
    np.testing.assert_allclose(dice_per_class(y_true, y_pred), dice)
    np.testing.assert_allclose(overlap_iou(y_true, y_pred), iou[3])


def test_mixed_hand_case():
    # class 0: 11 true pixels, 1 kept, 10 called overlap -> IoU 1 / 11
    # class 2: 2 true pixels, 1 kept; 1 overlap pixel called 2 -> IoU 1 / 3
    cm = confusion_matrix(MIXED_TRUE, MIXED_PRED)
    np.testing.assert_array_equal(cm, [[1, 0, 0, 10], [0, 2, 0, 0], [0, 0, 1, 1], [0, 0, 1, 0]])
    np.testing.assert_allclose(iou_per_class(MIXED_TRUE, MIXED_PRED), [1 / 11, 1, 1 / 3, 0])
    np.testing.assert_allclose(dice_per_class(MIXED_TRUE, MIXED_PRED), [2 / 12, 1, 1 / 2, 0])


def test_scalar_metrics_hand_case():
    assert pixel_accuracy(HAND_TRUE, HAND_PRED) == pytest.approx(13 / 16)
    # ARMS eq. 4 per whole chromosome, then their mean: A {1,3} is predicted exactly
    # (16/16 right); B {2,3} has 4 true pixels and 5 predicted, 3 shared, so 1 missed and 2
    # invented: 13/16 right. Mean (1 + 13/16) / 2 = 29/32.
    assert two_chromosome_accuracy(HAND_TRUE, HAND_PRED) == pytest.approx(29 / 32)
    np.testing.assert_allclose(chromosome_iou(HAND_TRUE, HAND_PRED), [1.0, 0.5])


def test_two_chromosome_accuracy_is_eq4_over_every_pixel():
    # ARMS eq. 4: (TP + TN) / ALL, background included, per whole chromosome.
    y_true = np.zeros((5, 5), int)
    y_true[2, 2] = 3  # one overlap pixel: in A and in B
    all_background = np.zeros_like(y_true)
    # Each chromosome misses its one pixel: 24/25 right for A and for B.
    assert two_chromosome_accuracy(y_true, all_background) == pytest.approx(24 / 25)
    assert two_chromosome_accuracy(all_background, all_background) == 1.0
    # The overlap pixel called A only: A is right everywhere, B misses its pixel.
    a_only = np.where(y_true == 3, 1, 0)
    assert two_chromosome_accuracy(y_true, a_only) == pytest.approx((1 + 24 / 25) / 2)
    # A called B and B called A: both chromosomes wrong on both pixels.
    two = np.array([[1, 2]])
    assert two_chromosome_accuracy(two, two[:, ::-1]) == 0.0
    # ALL counts every pixel: padding with background (predicted right) raises it.
    padded = np.pad(two, 1)
    assert two_chromosome_accuracy(padded, np.pad(two[:, ::-1], 1)) == pytest.approx(10 / 12)


@pytest.mark.parametrize("shape", [(7, 9), (3, 7, 9), (2, 3, 5, 4)])
def test_confusion_matrix_matches_sklearn(shape):
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 4, size=shape)
    y_pred = rng.integers(0, 4, size=shape).astype(np.uint8)
    expected = sk_confusion_matrix(y_true.ravel(), y_pred.ravel(), labels=[0, 1, 2, 3])
    cm = confusion_matrix(y_true, y_pred)
    assert cm.dtype == np.int64 and cm.shape == (4, 4)
    np.testing.assert_array_equal(cm, expected)


def test_confusion_matrix_other_n_classes_and_odd_sizes():
    rng = np.random.default_rng(2)
    for n_classes, size in ((2, 1), (6, 33), (17, 101)):  # 17**2 > 256: the intp path
        y_true = rng.integers(0, n_classes, size=size)
        y_pred = rng.integers(0, n_classes, size=size)
        expected = sk_confusion_matrix(y_true, y_pred, labels=list(range(n_classes)))
        np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, n_classes), expected)


def test_iou_and_dice_match_sklearn_on_random_labels():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 4, size=(5, 11, 13))
    y_pred = np.where(rng.random(y_true.shape) < 0.6, y_true, rng.integers(0, 4, y_true.shape))
    labels = [0, 1, 2, 3]
    np.testing.assert_allclose(
        iou_per_class(y_true, y_pred),
        jaccard_score(y_true.ravel(), y_pred.ravel(), labels=labels, average=None),
    )
    np.testing.assert_allclose(
        dice_per_class(y_true, y_pred),
        f1_score(y_true.ravel(), y_pred.ravel(), labels=labels, average=None),
    )
    assert pixel_accuracy(y_true, y_pred) == pytest.approx(np.mean(y_true == y_pred))


def test_per_image_iou_matches_sklearn_per_image_then_mean():
    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 4, size=(4, 9, 9))
    y_pred = np.where(rng.random(y_true.shape) < 0.5, y_true, rng.integers(0, 4, y_true.shape))
    per_image = [
        jaccard_score(t.ravel(), p.ravel(), labels=[0, 1, 2, 3], average=None)
        for t, p in zip(y_true, y_pred)
    ]
    np.testing.assert_allclose(
        iou_per_class(y_true, y_pred, average="image"), np.mean(per_image, axis=0)
    )


@pytest.mark.filterwarnings("error")
def test_absent_class_is_nan_without_warning():
    y_true = np.array([[0, 1], [2, 0]])
    y_pred = np.array([[0, 1], [1, 0]])
    iou = iou_per_class(y_true, y_pred)
    assert math.isnan(iou[3])
    np.testing.assert_allclose(iou[:3], [1.0, 1 / 2, 0.0])
    assert math.isnan(dice_per_class(y_true, y_pred)[3])
    assert math.isnan(overlap_iou(y_true, y_pred))
    assert math.isnan(overlap_iou(y_true, y_pred, average="image"))
    # A class absent from every image: NaN per image, and the mean of all-NaN is NaN.
    stack_true, stack_pred = np.stack([y_true, y_true]), np.stack([y_pred, y_pred])
    assert math.isnan(iou_per_class(stack_true, stack_pred, average="image")[3])


@pytest.mark.filterwarnings("error")
def test_pooled_and_per_image_differ_on_crafted_case():
    y_true = np.zeros((3, 2, 2), int)
    y_pred = np.zeros((3, 2, 2), int)
    y_true[0], y_pred[0] = 3, 3  # image 0: 4 overlap pixels, all found -> IoU 1
    y_true[1, 0, 0] = 3  # image 1: 1 overlap pixel, missed -> IoU 0
    # image 2: no overlap in truth or prediction -> NaN, skipped by the mean
    # pooled: tp 4, fn 1, fp 0 -> 4/5; per image: mean(1, 0) = 1/2
    assert overlap_iou(y_true, y_pred) == pytest.approx(4 / 5)
    assert overlap_iou(y_true, y_pred, average="image") == pytest.approx(1 / 2)
    # Dice: pooled 8/9; per image mean(1, 0) = 1/2
    assert dice_per_class(y_true, y_pred)[3] == pytest.approx(8 / 9)
    assert dice_per_class(y_true, y_pred, average="image")[3] == pytest.approx(1 / 2)
    # A 2-D array is one image: per image equals pooled.
    np.testing.assert_allclose(
        iou_per_class(HAND_TRUE, HAND_PRED, average="image"), iou_per_class(HAND_TRUE, HAND_PRED)
    )


def test_chromosome_iou_per_image():
    # image 0 is the hand case (A 1, B 1/2); image 1 is perfect (A 1, B 1).
    y_true = np.stack([HAND_TRUE, HAND_TRUE])
    y_pred = np.stack([HAND_PRED, HAND_TRUE])
    np.testing.assert_allclose(chromosome_iou(y_true, y_pred, average="image"), [1.0, 0.75])
    # pooled B: truth 8, prediction 9, shared 7 -> 7 / 10
    np.testing.assert_allclose(chromosome_iou(y_true, y_pred), [1.0, 0.7])


def test_chromosome_iou_matches_binary_jaccard():
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 4, size=(3, 8, 8))
    y_pred = rng.integers(0, 4, size=(3, 8, 8))
    expected = [
        jaccard_score(np.isin(y_true, s).ravel(), np.isin(y_pred, s).ravel())
        for s in ((1, 3), (2, 3))
    ]
    np.testing.assert_allclose(chromosome_iou(y_true, y_pred), expected)


# ------------------------------------------------------------------------------------------
# Boundary distances
# ------------------------------------------------------------------------------------------


def _square(top: int, left: int, size: int = 6, shape=(14, 14), label: int = 1) -> np.ndarray:
    y = np.zeros(shape, int)
    y[top : top + size, left : left + size] = label
    return y


def _reference_distances(mask_true, mask_pred, spacing=(1.0, 1.0)):
    """Brute force: boundary = mask minus 4-neighbour erosion, all pairwise distances."""

    def boundary_points(mask):
        padded = np.pad(mask, 1)
        interior = (
            padded[1:-1, 1:-1]
            & padded[:-2, 1:-1]
            & padded[2:, 1:-1]
            & padded[1:-1, :-2]
            & padded[1:-1, 2:]
        )
        return np.argwhere(mask & ~interior) * np.asarray(spacing)

    pairwise = cdist(boundary_points(mask_pred), boundary_points(mask_true))
    return pairwise.min(axis=1), pairwise.min(axis=0)


def test_squares_shifted_by_two_pixels():
    # 6x6 squares, the prediction 2 px to the right. Each boundary has 20 pixels whose
    # distances to the other boundary are 0 (x8), 1 (x4), 2 (x8): sum 20, mean 1, max 2.
    y_true, y_pred = _square(2, 2), _square(2, 4)
    hd95, assd = hd95_per_class(y_true, y_pred), assd_per_class(y_true, y_pred)
    assert assd[1] == pytest.approx(1.0)
    assert hd95[1] == pytest.approx(2.0)
    assert np.isnan(hd95[2:]).all() and np.isnan(assd[2:]).all()  # classes 2, 3 empty
    # Pixel size 2 scales every distance by 2.
    assert assd_per_class(y_true, y_pred, spacing=2.0)[1] == pytest.approx(2.0)
    assert hd95_per_class(y_true, y_pred, spacing=2.0)[1] == pytest.approx(4.0)
    # Identical masks: 0.
    assert hd95_per_class(y_true, y_true)[1] == 0.0
    assert assd_per_class(y_true, y_true)[1] == 0.0


def test_distances_mean_over_images_and_nan_for_empty_masks():
    y_true = np.stack([_square(2, 2), _square(2, 2), _square(2, 2)])
    y_pred = np.stack([_square(2, 4), _square(2, 2), np.zeros((14, 14), int)])
    # image 0: ASSD 1, image 1: 0, image 2: prediction empty -> NaN, skipped
    assert assd_per_class(y_true, y_pred)[1] == pytest.approx(0.5)
    assert hd95_per_class(y_true, y_pred)[1] == pytest.approx(1.0)
    empty = np.zeros((2, 14, 14), int)
    assert np.isnan(hd95_per_class(empty, y_pred[:2])[1])
    assert np.isnan(assd_per_class(y_true[:2], empty)[1])


@pytest.mark.parametrize("spacing", [1.0, (1.0, 0.5), (0.7, 1.3)])
def test_distances_match_brute_force(spacing):
    rng = np.random.default_rng(6)
    y_true = np.zeros((20, 24), int)
    y_pred = np.zeros((20, 24), int)
    y_true[4:13, 3:15] = 3
    y_pred[5:14, 5:16] = 3
    y_pred[16:19, 18:22] = 3  # a far blob: the two directions differ
    y_true[rng.random(y_true.shape) < 0.05] = 3
    spacing_2d = (spacing, spacing) if np.isscalar(spacing) else spacing
    from_pred, from_true = _reference_distances(y_true == 3, y_pred == 3, spacing_2d)
    expected_hd95 = max(np.percentile(from_pred, 95), np.percentile(from_true, 95))
    expected_assd = np.concatenate([from_pred, from_true]).mean()
    assert hd95_per_class(y_true, y_pred, spacing=spacing)[3] == pytest.approx(expected_hd95)
    assert assd_per_class(y_true, y_pred, spacing=spacing)[3] == pytest.approx(expected_assd)


def test_distances_reject_bad_spacing():
    with pytest.raises(ValueError, match="spacing"):
        hd95_per_class(HAND_TRUE, HAND_PRED, spacing=0.0)
    with pytest.raises(ValueError, match="spacing"):
        assd_per_class(HAND_TRUE, HAND_PRED, spacing=(1.0, 1.0, 1.0))


# ------------------------------------------------------------------------------------------
# segmentation_scores
# ------------------------------------------------------------------------------------------


def test_segmentation_scores_hand_case():
    scores = segmentation_scores(HAND_TRUE, HAND_PRED)
    expected = {
        "overlap_iou": 2 / 3,
        "mean_iou": np.mean([9 / 11, 1 / 2, 1 / 3, 2 / 3]),
        "iou_background": 9 / 11,
        "iou_a": 1 / 2,
        "iou_b": 1 / 3,
        "iou_overlap": 2 / 3,
        "mean_dice": np.mean([0.9, 2 / 3, 1 / 2, 0.8]),
        "dice_background": 0.9,
        "dice_a": 2 / 3,
        "dice_b": 1 / 2,
        "dice_overlap": 0.8,
        "chromosome_a_iou": 1.0,
        "chromosome_b_iou": 0.5,
        "chromosome_iou": 0.75,
        "pixel_accuracy": 13 / 16,
        "two_chromosome_accuracy": 29 / 32,
        # Swapping 1 and 2 gives A 3/6 and B 2/6, a mean below 3/4: kept as predicted.
        "ab_swapped_share": 0.0,
        "chromosome_a_iou_any_order": 1.0,
        "chromosome_b_iou_any_order": 0.5,
        "chromosome_iou_any_order": 0.75,
    }
    assert scores == pytest.approx(expected)
    assert all(type(v) is float for v in scores.values())
    json.dumps(scores)


def test_segmentation_scores_distances_and_nan():
    y_true, y_pred = _square(2, 2), _square(2, 4)
    scores = segmentation_scores(y_true, y_pred, distances=True)
    assert scores["assd_a"] == pytest.approx(1.0)
    assert scores["hd95_a"] == pytest.approx(2.0)
    assert math.isnan(scores["hd95_overlap"]) and math.isnan(scores["iou_overlap"])
    # mean_iou skips the absent classes 2 and 3: mean of background and class 1 IoU.
    iou = iou_per_class(y_true, y_pred)
    assert scores["mean_iou"] == pytest.approx(np.mean(iou[:2]))
    assert {
        f"{m}_{c}" for m in ("hd95", "assd") for c in ("background", "a", "b", "overlap")
    } <= set(scores)
    assert all(type(v) is float for v in scores.values())
    assert "hd95_a" not in segmentation_scores(y_true, y_pred)


# ------------------------------------------------------------------------------------------
# Scorers
# ------------------------------------------------------------------------------------------


class FixedMaskSegmenter(BaseEstimator):
    """Predicts X itself as the mask: X here holds label maps (possibly larger than y)."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        self.n_predict_calls_ = getattr(self, "n_predict_calls_", 0) + 1
        return np.asarray(X).astype(np.uint8)


def _padded_predictions():
    """Labels (4, 4, 4) and predictions padded to (4, 7, 8) with overlap (3) all around."""
    y = np.stack([HAND_TRUE, HAND_TRUE, HAND_PRED, HAND_PRED])
    X = centre_pad(np.stack([HAND_PRED, HAND_TRUE, HAND_TRUE, HAND_PRED]), (7, 8), value=3)
    return X, y


def test_scorer_crops_prediction_centred_and_predicts_once():
    X, y = _padded_predictions()
    estimator = FixedMaskSegmenter().fit(X, y)
    score = SCORERS["overlap_iou"](estimator, X, y)
    assert estimator.n_predict_calls_ == 1
    assert isinstance(score, float)
    # Centred crop gives back the unpadded predictions exactly.
    unpadded = np.stack([HAND_PRED, HAND_TRUE, HAND_TRUE, HAND_PRED])
    assert score == pytest.approx(overlap_iou(y, unpadded))
    # A top-left crop would bring in the padding of class 3: a different (lower) score.
    assert overlap_iou(y, X[:, :4, :4]) < score
    assert SCORERS["chromosome_iou"](estimator, X, y) == pytest.approx(
        np.mean(chromosome_iou(y, unpadded))
    )


def test_scorer_single_image_and_same_size():
    estimator = FixedMaskSegmenter()
    # y of one image (H, W) against a prediction of one image (1, H, W)
    assert SCORERS["pixel_accuracy"](estimator, HAND_PRED[None], HAND_TRUE) == pytest.approx(
        13 / 16
    )
    assert SCORERS["two_chromosome_accuracy"](estimator, HAND_PRED, HAND_TRUE) == pytest.approx(
        29 / 32
    )


def test_scorer_rejects_labels_larger_than_predictions():
    estimator = FixedMaskSegmenter()
    X, y = _padded_predictions()
    with pytest.raises(ValueError, match="larger than the predictions"):
        SCORERS["mean_iou"](estimator, y, X)  # swapped: labels 7x8, predictions 4x4
    with pytest.raises(ValueError, match=r"\(n, H, W\) or \(H, W\)"):
        SCORERS["mean_iou"](estimator, X[:, None], y[:, None])


def test_scorers_alone_and_together_in_cross_validate():
    X, y = _padded_predictions()
    unpadded = np.stack([HAND_PRED, HAND_TRUE, HAND_TRUE, HAND_PRED])
    cv = KFold(n_splits=2)
    single = cross_validate(FixedMaskSegmenter(), X, y, cv=cv, scoring=SCORERS["overlap_iou"])
    scoring = {"overlap": SCORERS["overlap_iou"], "chrom_b": SCORERS["chromosome_b_iou"]}
    multi = cross_validate(FixedMaskSegmenter(), X, y, cv=cv, scoring=scoring)
    for i, (_, test) in enumerate(cv.split(X)):
        expected_overlap = overlap_iou(y[test], unpadded[test])
        assert single["test_score"][i] == pytest.approx(expected_overlap)
        assert multi["test_overlap"][i] == pytest.approx(expected_overlap)
        assert multi["test_chrom_b"][i] == pytest.approx(chromosome_iou(y[test], unpadded[test])[1])
    # fold 0 scores HAND_PRED and HAND_TRUE against HAND_TRUE: overlap tp 4, fp 1 -> 4/5
    assert multi["test_overlap"][0] == pytest.approx(4 / 5)


def test_scorer_registry():
    required = {
        "overlap_iou",
        "mean_iou",
        "chromosome_iou",
        "chromosome_a_iou",
        "chromosome_b_iou",
        "pixel_accuracy",
        "two_chromosome_accuracy",
        "mean_dice",
    }
    assert required <= set(SCORERS)
    # Every scorer is a metric of segmentation_scores; "neg_<name>" is minus metric <name>.
    metrics = {name.removeprefix("neg_") for name in SCORERS}
    assert metrics <= set(segmentation_scores(HAND_TRUE, HAND_PRED))
    assert get_scorer("overlap_iou") is SCORERS["overlap_iou"]
    assert get_scorer(SCORERS["mean_iou"]) is SCORERS["mean_iou"]
    with pytest.raises(ValueError, match="known scorers: .*overlap_iou"):
        get_scorer("overlap")
    with pytest.raises(TypeError):
        get_scorer(3)


def test_scorers_pickle():
    import pickle

    scorer = pickle.loads(pickle.dumps(SCORERS["overlap_iou"]))
    assert scorer(FixedMaskSegmenter(), HAND_PRED, HAND_TRUE) == pytest.approx(2 / 3)


# ------------------------------------------------------------------------------------------
# A/B diagnostics: swapped_share, chromosome_iou_any_order
# ------------------------------------------------------------------------------------------

# A (labels 1, 3) is 3 px, B (labels 2, 3) is 4 px, sharing the overlap pixel (1, 1).
AB_TRUE = np.array([[1, 1, 0, 0, 0], [0, 3, 2, 2, 2], [0, 0, 0, 0, 0]])
AB_SWAPPED = np.array([[2, 2, 0, 0, 0], [0, 3, 1, 1, 1], [0, 0, 0, 0, 0]])


def _brute_force_ab(y_true, y_pred):
    """Per image: (swapped?, defined?, best prediction), from binary masks and loops."""

    def mean_chromosome_iou(t, p):
        ious = []
        for labels in ((1, 3), (2, 3)):
            mt, mp = np.isin(t, labels), np.isin(p, labels)
            union = np.count_nonzero(mt | mp)
            if union:
                ious.append(np.count_nonzero(mt & mp) / union)
        return np.mean(ious) if ious else NAN

    out = []
    for t, p in zip(y_true, y_pred):
        exchanged = np.choose(p, [0, 2, 1, 3])
        plain, after = mean_chromosome_iou(t, p), mean_chromosome_iou(t, exchanged)
        swapped = not math.isnan(plain) and after > plain
        out.append((swapped, not math.isnan(plain), exchanged if swapped else p))
    return out


def test_perfect_swap_hand_case():
    y_true = np.stack([AB_TRUE, AB_TRUE])
    y_pred = np.stack([AB_TRUE, AB_SWAPPED])  # image 0 right, image 1 A and B exchanged
    assert swapped_share(y_true, y_pred) == 0.5
    # image 1 as predicted: A = true B (4 px), 1 px (the overlap) shared -> 1 / 6; B the same.
    np.testing.assert_allclose(chromosome_iou(y_true[1], y_pred[1]), [1 / 6, 1 / 6])
    # pooled A: truth 6, prediction 3 + 4, shared 3 + 1 -> 4/9; B: 8, 4 + 3, 4 + 1 -> 5/10
    np.testing.assert_allclose(chromosome_iou(y_true, y_pred), [4 / 9, 1 / 2])
    np.testing.assert_allclose(chromosome_iou(y_true, y_pred, average="image"), [7 / 12] * 2)
    # Any order: image 1 is scored after the exchange, so both are perfect.
    np.testing.assert_allclose(chromosome_iou_any_order(y_true, y_pred), [1.0, 1.0])
    np.testing.assert_allclose(
        chromosome_iou_any_order(y_true, y_pred, average="image"), [1.0, 1.0]
    )
    # A 2-D array is one image: all or nothing.
    assert swapped_share(AB_TRUE, AB_SWAPPED) == 1.0
    assert swapped_share(AB_TRUE, AB_TRUE) == 0.0


def test_swap_decided_per_image_not_pooled():
    # Three images: right, swapped, swapped. Pooled, the exchange would help the stack as a
    # whole; per image it helps images 1 and 2 only, and image 0 must stay as predicted.
    y_true = np.stack([AB_TRUE] * 3)
    y_pred = np.stack([AB_TRUE, AB_SWAPPED, AB_SWAPPED])
    assert swapped_share(y_true, y_pred) == pytest.approx(2 / 3)
    np.testing.assert_allclose(chromosome_iou_any_order(y_true, y_pred), [1.0, 1.0])
    # Swapping the whole stack instead would get image 0 wrong. A: shared 1 + 3 + 3 of a
    # truth of 9 px and a prediction of 4 + 3 + 3 -> 7 / (9 + 10 - 7)
    np.testing.assert_allclose(
        chromosome_iou(y_true, np.choose(y_pred, [0, 2, 1, 3]))[0], 7 / 12
    )


def test_ties_and_undefined_images():
    empty = np.zeros_like(AB_TRUE)
    overlap_only = np.where(AB_TRUE > 0, 3, 0)  # the exchange changes nothing: a tie
    # image 0: swapped; image 1: nothing anywhere (left out); image 2: a tie (not swapped);
    # image 3: chromosomes missed (defined, IoUs 0 both ways, not swapped).
    y_true = np.stack([AB_TRUE, empty, AB_TRUE, AB_TRUE])
    y_pred = np.stack([AB_SWAPPED, empty, overlap_only, empty])
    assert swapped_share(y_true, y_pred) == pytest.approx(1 / 3)
    assert math.isnan(swapped_share(empty, empty))
    np.testing.assert_allclose(chromosome_iou_any_order(empty, empty), [NAN, NAN])
    # Only B predicted, where A is: the exchange turns it into a right A (B then undefined).
    only_a_true = np.array([[0, 1, 1], [0, 0, 0]])
    only_b_pred = np.array([[0, 2, 2], [0, 0, 0]])
    assert swapped_share(only_a_true, only_b_pred) == 1.0
    np.testing.assert_allclose(chromosome_iou(only_a_true, only_b_pred), [0.0, 0.0])
    np.testing.assert_allclose(chromosome_iou_any_order(only_a_true, only_b_pred), [1.0, NAN])


def test_swap_criterion_is_the_mean_of_both_chromosomes():
    # The exchange raises B from 1/4 to 1/3 but drops A from 3/4 to 1/3: the mean falls
    # from 1/2 to 1/3, so the image is kept as predicted.
    y_true = np.array([[1, 1, 3, 2, 2, 2]])
    y_pred = np.array([[1, 1, 3, 1, 0, 0]])
    np.testing.assert_allclose(chromosome_iou(y_true, y_pred), [3 / 4, 1 / 4])
    np.testing.assert_allclose(
        chromosome_iou(y_true, np.choose(y_pred, [0, 2, 1, 3])), [1 / 3, 1 / 3]
    )
    assert swapped_share(y_true, y_pred) == 0.0
    np.testing.assert_allclose(chromosome_iou_any_order(y_true, y_pred), [3 / 4, 1 / 4])


@pytest.mark.parametrize("average", ["pooled", "image"])
def test_ab_diagnostics_match_brute_force(average):
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 4, size=(30, 6, 7))
    # Mostly right, some images swapped wholesale, some noise.
    y_pred = np.where(rng.random(y_true.shape) < 0.7, y_true, rng.integers(0, 4, y_true.shape))
    flip = rng.random(30) < 0.4
    y_pred[flip] = np.choose(y_pred[flip], [0, 2, 1, 3])
    y_true[0], y_pred[0] = 0, 0  # one undefined image
    reference = _brute_force_ab(y_true, y_pred)
    swapped = np.array([r[0] for r in reference])
    defined = np.array([r[1] for r in reference])
    best = np.stack([r[2] for r in reference])
    assert 0 < swapped.sum() < defined.sum() == 29
    assert swapped_share(y_true, y_pred) == pytest.approx(swapped.sum() / defined.sum())
    np.testing.assert_allclose(
        chromosome_iou_any_order(y_true, y_pred, average=average),
        chromosome_iou(y_true, best, average=average),
    )
    # Per image, the mean any-order chromosome IoU is never below the plain one.
    for t, p in zip(y_true[1:], y_pred[1:]):
        assert np.mean(chromosome_iou_any_order(t, p)) >= np.mean(chromosome_iou(t, p)) - 1e-12


def test_ab_diagnostics_in_scores_and_scorers():
    y_true = np.stack([AB_TRUE, AB_TRUE])
    y_pred = np.stack([AB_TRUE, AB_SWAPPED])
    scores = segmentation_scores(y_true, y_pred)
    assert scores["ab_swapped_share"] == 0.5
    assert scores["chromosome_a_iou"] == pytest.approx(4 / 9)
    assert scores["chromosome_a_iou_any_order"] == 1.0
    assert scores["chromosome_b_iou_any_order"] == 1.0
    assert scores["chromosome_iou_any_order"] == 1.0
    estimator = FixedMaskSegmenter()
    # Lower is better: the scorer returns minus the share, as sklearn's "neg_*" scorers.
    assert SCORERS["neg_ab_swapped_share"](estimator, y_pred, y_true) == -0.5
    assert "ab_swapped_share" not in SCORERS
    assert SCORERS["chromosome_iou_any_order"](estimator, y_pred, y_true) == 1.0
    assert repr(SCORERS["neg_ab_swapped_share"]) == (
        "make_scorer(mask_score, greater_is_better=False, response_method='predict', "
        "metric=ab_swapped_share)"
    )
    # Scored per image, also after the centred crop of padded predictions.
    padded = centre_pad(y_pred, (7, 9), value=0)
    assert SCORERS["neg_ab_swapped_share"](estimator, padded, y_true) == -0.5


def test_ab_diagnostics_invalid_input():
    with pytest.raises(ValueError, match="average"):
        chromosome_iou_any_order(AB_TRUE, AB_TRUE, average="micro")
    with pytest.raises(TypeError, match="integer class labels"):
        swapped_share(AB_TRUE.astype(float), AB_TRUE)
    with pytest.raises(ValueError, match="label 4"):
        swapped_share(AB_TRUE, AB_TRUE + 1)


# ------------------------------------------------------------------------------------------
# Invalid input
# ------------------------------------------------------------------------------------------


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 4\).*\(4, 3\)"):
        iou_per_class(HAND_TRUE, HAND_PRED[:, :3])


@pytest.mark.parametrize(
    "function",
    [confusion_matrix, iou_per_class, chromosome_iou, pixel_accuracy, hd95_per_class],
)
def test_float_labels_raise_type_error(function):
    with pytest.raises(TypeError, match="integer class labels"):
        function(HAND_TRUE.astype(float), HAND_PRED)


@pytest.mark.parametrize("bad", [7, -1, 4])
def test_out_of_range_label_raises(bad):
    y_pred = HAND_PRED.copy()
    y_pred[0, 0] = bad
    with pytest.raises(ValueError, match=f"label {bad}"):
        confusion_matrix(HAND_TRUE, y_pred)
    with pytest.raises(ValueError, match=f"label {bad}"):
        segmentation_scores(y_pred, HAND_TRUE)


def test_other_invalid_arguments():
    with pytest.raises(ValueError, match="average"):
        iou_per_class(HAND_TRUE, HAND_PRED, average="micro")
    with pytest.raises(ValueError, match="n_classes"):
        confusion_matrix(HAND_TRUE, HAND_PRED, n_classes=0)
    with pytest.raises(ValueError, match="empty"):
        pixel_accuracy(np.zeros((0, 4), int), np.zeros((0, 4), int))
    # label 3 is out of range for 3 classes
    with pytest.raises(ValueError, match=r"0\.\.2"):
        dice_per_class(HAND_TRUE, HAND_PRED, n_classes=3)


# ------------------------------------------------------------------------------------------
# Real data (skipped where ../shared/data is absent)
# ------------------------------------------------------------------------------------------


def test_real_labels_class_fractions(real_h5):
    h5py = pytest.importorskip("h5py")
    with h5py.File(real_h5, "r") as f:
        labels = f["labels_cleaned"][:]
    cm = confusion_matrix(labels, labels)
    assert cm.sum() == labels.size == 13434 * 94 * 93
    assert np.count_nonzero(cm - np.diag(np.diag(cm))) == 0
    # Pommier's labels: background 90.7 %, A 2.4 %, B 5.5 %, overlap 1.4 % of the pixels.
    np.testing.assert_allclose(np.diag(cm) / cm.sum(), [0.907, 0.024, 0.055, 0.014], atol=6e-4)
    assert overlap_iou(labels, labels) == 1.0
