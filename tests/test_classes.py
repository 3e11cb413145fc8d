"""The class conventions live in chromoskl.classes and every user reads them from there."""

import inspect

import numpy as np
import pytest

from chromoskl import classes, decoding, estimator, metrics, plotting
from chromoskl.architectures import ARCHITECTURES


def test_the_four_classes_and_the_two_chromosomes():
    assert classes.N_CLASSES == 4
    assert (classes.BACKGROUND, classes.CHROMOSOME_A, classes.CHROMOSOME_B, classes.OVERLAP) == (
        0, 1, 2, 3)
    assert classes.CHROMOSOME_LABELS == ((1, 3), (2, 3))
    assert classes.A_B_EXCHANGED == (0, 2, 1, 3)
    assert len(classes.CLASS_NAMES) == len(classes.SHORT_CLASS_NAMES) == classes.N_CLASSES


def test_labels_to_instances_puts_the_overlap_in_both_chromosomes():
    labels = np.array([[[0, 1, 2, 3], [3, 3, 1, 0]]])
    masks = classes.labels_to_instances(labels)
    assert masks.shape == (1, 2, 2, 4) and masks.dtype == bool
    np.testing.assert_array_equal(masks[0, 0], [[0, 1, 0, 1], [1, 1, 1, 0]])
    np.testing.assert_array_equal(masks[0, 1], [[0, 0, 1, 1], [1, 1, 0, 0]])


def test_exchanging_a_and_b_twice_gives_the_labels_back():
    labels = np.array([[0, 1, 2, 3, 1]])
    once = np.take(classes.A_B_EXCHANGED, labels)
    np.testing.assert_array_equal(once, [[0, 2, 1, 3, 2]])
    np.testing.assert_array_equal(np.take(classes.A_B_EXCHANGED, once), labels)
    # the whole chromosomes trade places, the overlap stays in both
    np.testing.assert_array_equal(
        classes.labels_to_instances(once[None]), classes.labels_to_instances(labels[None])[:, ::-1]
    )


def test_the_old_public_names_are_the_same_objects():
    assert metrics.N_CLASSES is classes.N_CLASSES
    assert metrics.CHROMOSOME_LABELS is classes.CHROMOSOME_LABELS
    # the metrics' CLASS_NAMES were always the short names of the score keys
    assert metrics.CLASS_NAMES is classes.SHORT_CLASS_NAMES
    assert plotting.CLASS_NAMES is classes.CLASS_NAMES
    assert estimator.labels_to_instances is classes.labels_to_instances
    assert decoding.N_CLASSES == classes.N_CLASSES


def test_score_keys_use_the_short_names():
    y = np.array([[[0, 1], [2, 3]]])
    keys = metrics.segmentation_scores(y, y)
    assert {f"iou_{name}" for name in classes.SHORT_CLASS_NAMES} <= set(keys)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_network_outputs_the_classes_by_default(name):
    default = inspect.signature(ARCHITECTURES[name]).parameters["out_channels"].default
    assert default == classes.N_CLASSES
