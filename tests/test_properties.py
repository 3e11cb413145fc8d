"""Property tests (hypothesis) of the metrics, the scorers and the geometry helpers: cases
found by hypothesis itself, on small random label maps and shapes (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402
from sklearn.base import BaseEstimator  # noqa: E402

from chromoskl._geometry import centre_crop, centre_offsets, centre_pad  # noqa: E402
from chromoskl.metrics import (  # noqa: E402
    SCORERS,
    confusion_matrix,
    iou_per_class,
    segmentation_scores,
)

FAST = settings(max_examples=60, deadline=None)
SWAP = np.array([0, 2, 1, 3], dtype=np.uint8)


@st.composite
def label_pairs(draw, max_images=3, max_side=8):
    n = draw(st.integers(1, max_images))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    labels = arrays(np.uint8, (n, h, w), elements=st.integers(0, 3))
    return draw(labels), draw(labels)


class Predicts(BaseEstimator):
    """An estimator whose prediction is X itself."""

    def predict(self, X):
        return np.asarray(X)


@FAST
@given(label_pairs())
def test_confusion_matrix_counts_every_pixel_once(pair):
    y_true, y_pred = pair
    cm = confusion_matrix(y_true, y_pred)
    assert cm.sum() == y_true.size
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y_true.ravel(), minlength=4))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(y_pred.ravel(), minlength=4))


@FAST
@given(label_pairs())
def test_scores_are_in_the_unit_interval_or_nan(pair):
    scores = segmentation_scores(*pair)
    for name, value in scores.items():
        assert np.isnan(value) or 0.0 <= value <= 1.0, (name, value)


@FAST
@given(label_pairs())
def test_a_perfect_prediction_scores_one_for_every_present_class(pair):
    y_true, _ = pair
    iou = iou_per_class(y_true, y_true)
    present = np.bincount(y_true.ravel(), minlength=4) > 0
    np.testing.assert_array_equal(iou[present], 1.0)
    assert np.isnan(iou[~present]).all()
    assert segmentation_scores(y_true, y_true)["pixel_accuracy"] == 1.0


@FAST
@given(label_pairs())
def test_naming_a_and_b_the_other_way_in_both_changes_no_symmetric_score(pair):
    y_true, y_pred = pair
    before, after = segmentation_scores(y_true, y_pred), segmentation_scores(
        SWAP[y_true], SWAP[y_pred]
    )
    for name in ("overlap_iou", "mean_iou", "pixel_accuracy", "chromosome_iou",
                 "chromosome_iou_any_order", "ab_swapped_share"):
        np.testing.assert_allclose(after[name], before[name], equal_nan=True)
    np.testing.assert_allclose(after["iou_a"], before["iou_b"], equal_nan=True)


@FAST
@given(label_pairs(), st.integers(0, 4), st.integers(0, 4), st.integers(0, 3))
def test_scorers_crop_padded_predictions_back_exactly(pair, pad_h, pad_w, fill):
    y_true, y_pred = pair
    padded = centre_pad(y_pred, (y_pred.shape[1] + pad_h, y_pred.shape[2] + pad_w), value=fill)
    expected = segmentation_scores(y_true, y_pred)
    for key, scorer in SCORERS.items():
        name = key.removeprefix("neg_")
        sign = -1.0 if key.startswith("neg_") else 1.0
        np.testing.assert_allclose(scorer(Predicts(), padded, y_true), sign * expected[name],
                                   equal_nan=True)


@FAST
@given(st.integers(1, 9), st.integers(1, 9), st.integers(0, 6), st.integers(0, 6))
def test_centre_pad_then_crop_is_the_identity(h, w, extra_h, extra_w):
    array = np.arange(h * w, dtype=np.int64).reshape(1, h, w) + 1
    big = (h + extra_h, w + extra_w)
    padded = centre_pad(array, big, value=0)
    assert padded.shape[-2:] == big and padded.sum() == array.sum()
    np.testing.assert_array_equal(centre_crop(padded, (h, w)), array)
    top, left = centre_offsets((h, w), big)
    assert top == extra_h // 2 and left == extra_w // 2
    np.testing.assert_array_equal(padded[0, top : top + h, left : left + w], array[0])
