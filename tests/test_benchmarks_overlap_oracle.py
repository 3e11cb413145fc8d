"""benchmarks/overlap_oracle.py: a test overlap predicted from training siblings' outlines."""

from __future__ import annotations

import numpy as np
import pytest

from ._scripts import load_script
from .test_benchmarks_label_consistency import pair


@pytest.fixture(scope="module")
def script():
    return load_script("benchmarks/overlap_oracle.py")


def score(script, labels):
    """The last image is the test image, the others its training siblings in one group."""
    n = len(labels)
    shifts = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    return script.oracle_scores(labels, np.zeros(n, int), shifts, np.arange(n - 1), [n - 1])


def test_moved_drops_what_leaves_the_frame(script):
    mask = np.zeros((4, 5), bool)
    mask[0, 0] = mask[3, 4] = True
    out = script.moved(mask, 1, -1)
    assert out.sum() == 0  # (0, 0) left through the left edge, (3, 4) through the bottom
    out = script.moved(mask, -3, -4)
    assert out[0, 0] and out.sum() == 1


def test_labels_that_follow_the_outlines_are_predicted_exactly(script):
    # bar B laid across bar A at three shifts; the test image's overlap (16 px) is the
    # intersection of the siblings' outlines, each moved to where it lies in the test image
    labels = np.stack([pair(-2), pair(0), pair(4)])
    r = score(script, labels)
    assert r["test_images"] == 1 and r["without_a_training_sibling"] == 0
    assert r["overlap_iou_nearest"] == pytest.approx(1.0)
    assert r["overlap_iou_best"] == pytest.approx(1.0)


def test_an_overlap_labelled_past_the_outline_is_what_the_oracle_misses(script):
    # the test overlap reaches 2 columns past B's bar (24 px); B's outline from a sibling is
    # the bar alone, laid over the test's B at the best whole-pixel shift: 16 of 24 px
    labels = np.stack([pair(-2), pair(0), pair(4, grow=2)])
    r = score(script, labels)
    assert r["overlap_iou_nearest"] == pytest.approx(16 / 24)
    assert r["overlap_iou_best"] == pytest.approx(16 / 24)


def test_a_test_image_without_a_training_sibling_is_counted_apart(script):
    labels = np.stack([pair(0), pair(4)])
    r = script.oracle_scores(labels, np.array([0, 1]), np.zeros((2, 2), np.float32), [0], [1])
    assert r["test_images"] == 0 and r["without_a_training_sibling"] == 1
    assert np.isnan(r["overlap_iou_nearest"])
