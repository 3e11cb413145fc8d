"""Instance metrics: IoU matrix, Hungarian matching, COCO AP, count and crossed scores."""

from __future__ import annotations

import numpy as np
import pytest

from chromoskl.metrics import (
    average_precision,
    instance_iou,
    instance_scores,
    match_instances,
)


def _box(shape, r0, c0, r1, c1):
    mask = np.zeros(shape, bool)
    mask[r0:r1, c0:c1] = True
    return mask


SHAPE = (20, 20)
# three true chromosomes; 0 and 1 cross (share a 2x2 square)
TRUE = np.stack([
    _box(SHAPE, 0, 4, 10, 6),     # 20 px
    _box(SHAPE, 4, 0, 6, 10),     # 20 px, 4 shared with 0
    _box(SHAPE, 12, 12, 20, 16),  # 32 px
])


def test_iou_matrix_by_hand():
    pred = np.stack([TRUE[2], _box(SHAPE, 0, 4, 5, 6)])  # exact copy; half of chromosome 0
    iou = instance_iou(TRUE, pred)
    assert iou.shape == (3, 2)
    assert iou[2, 0] == 1.0 and iou[0, 0] == 0.0
    assert iou[0, 1] == pytest.approx(10 / 20)
    # chromosome 1 (rows 4..5) meets the half of 0 (rows 0..4) in row 4, columns 4..5: 2 px
    assert iou[1, 1] == pytest.approx(2 / (20 + 10 - 2))


def test_hungarian_matching_finds_the_permutation():
    pred = TRUE[[2, 0, 1]]
    rows, cols, ious = match_instances(TRUE, pred)
    assert dict(zip(rows.tolist(), cols.tolist())) == {0: 1, 1: 2, 2: 0}
    np.testing.assert_allclose(ious, 1.0)


def test_matching_prefers_the_total_over_a_greedy_choice():
    # pred 0 overlaps true 0 best, but giving it to true 1 frees pred 1 for true 0
    t = np.stack([_box(SHAPE, 0, 0, 4, 10), _box(SHAPE, 0, 5, 4, 15)])
    p = np.stack([_box(SHAPE, 0, 4, 4, 14), _box(SHAPE, 0, 0, 4, 5)])
    rows, cols, ious = match_instances(t, p)
    assert dict(zip(rows.tolist(), cols.tolist())) == {0: 1, 1: 0}
    assert ious.sum() > instance_iou(t, p)[0, 0]


@pytest.mark.parametrize(
    ("pred_index", "scores", "expected"),
    [
        ([0, 1, 2], None, 1.0),              # all found
        ([0, 1, 2, 2], None, 1.0),           # a duplicate ranked last: precision 1 up to recall 1
        ([2, 0], None, 67 / 101),            # two of three: precision 1 on recall 0..0.66
        ([2, 0, 1], [0.1, 0.9, 0.5], 1.0),   # order by score does not change an all-correct set
    ],
)
def test_average_precision_coco_by_hand(pred_index, scores, expected):
    assert average_precision(TRUE, TRUE[pred_index], scores=scores) == pytest.approx(expected)


def test_average_precision_false_positive_first():
    # ranks: FP, TP, TP for 2 true -> precision 0, 1/2, 2/3 at recall 0, .5, 1; the envelope
    # is 2/3 everywhere
    t = np.stack([TRUE[0], TRUE[2]])
    p = np.stack([_box(SHAPE, 15, 0, 19, 4), TRUE[0], TRUE[2]])
    assert average_precision(t, p) == pytest.approx(2 / 3)


def test_average_precision_threshold_and_empty_cases():
    half = np.stack([_box(SHAPE, 0, 4, 6, 6)])  # IoU 12/20 = 0.6 with chromosome 0
    assert average_precision(TRUE[:1], half, iou_threshold=0.5) == pytest.approx(1.0)
    assert average_precision(TRUE[:1], half, iou_threshold=0.75) == 0.0
    assert average_precision(TRUE, np.zeros((0, *SHAPE), bool)) == 0.0
    assert np.isnan(average_precision(np.zeros((0, *SHAPE), bool), TRUE))


def test_instance_scores_count_and_crossed():
    # the crossing pair merged into one mask, as components alone would give it
    merged = TRUE[0] | TRUE[1]
    pred = np.stack([merged, TRUE[2]])
    scores = instance_scores(TRUE, pred, crossed=[[0, 1]])
    assert scores["n_true"] == 3 and scores["n_pred"] == 2 and scores["count_error"] == -1
    # merged matches one of 0/1 at 20/36, the other crossed chromosome is unmatched (0)
    assert scores["crossed_iou"] == pytest.approx((20 / 36 + 0.0) / 2)
    assert scores["crossed_pairs_separated"] == 0.0
    assert scores["mean_matched_iou"] == pytest.approx((20 / 36 + 1.0) / 2)
    separated = instance_scores(TRUE, TRUE, crossed=[[0, 1]])
    assert separated["crossed_iou"] == 1.0 and separated["crossed_pairs_separated"] == 1.0
    assert separated["ap50"] == separated["ap75"] == 1.0


def test_bad_shapes_raise_clear_errors():
    with pytest.raises(ValueError, match="stack of masks"):
        instance_iou(TRUE[0], TRUE)
    with pytest.raises(ValueError, match="same image shape"):
        instance_iou(TRUE, np.zeros((1, 5, 5), bool))
