"""benchmarks/label_consistency.py: slopes of a chromosome's labelled area against its overlap."""

from __future__ import annotations

import numpy as np
import pytest

from ._scripts import load_script


@pytest.fixture(scope="module")
def script():
    return load_script("benchmarks/label_consistency.py")


def pair(shift: int, grow: int = 0) -> np.ndarray:
    """A 4x10 bar A and a 12x4 bar B laid across it ``shift`` columns along; the overlap is
    labelled ``grow`` columns wider than the bars' intersection, into A's side."""
    a = np.zeros((14, 30), bool)
    b = np.zeros((14, 30), bool)
    a[5:9, 4:14] = True
    b[1:13, 4 + shift : 8 + shift] = True
    labels = (a * 1 + b * 2).astype(np.uint8)  # 3 where both
    reach = np.zeros_like(a)
    reach[:, 8 + shift : 8 + shift + grow] = True
    labels[a & reach] = 3
    return labels


def test_labels_that_follow_the_outlines_have_no_slope(script):
    # the same two bars at three shifts: the overlap changes size, the chromosomes do not
    labels = np.stack([pair(s) for s in (-2, 0, 4)])
    assert [(x == 3).sum() for x in labels] == [8, 16, 16]
    r = script.area_slopes(labels, np.zeros(3, int))
    assert r["slope_a"] == pytest.approx(0.0, abs=1e-9)
    assert r["slope_b"] == pytest.approx(0.0, abs=1e-9)
    assert r["median_spread_a_px"] == 0


def test_an_overlap_reaching_past_the_outline_gives_a_positive_slope(script):
    # the overlap labelled 2 columns past B's outline where B lies fully on A: B's labelled
    # area grows by those 8 px while the overlap grows from 8 to 24 px
    labels = np.stack([pair(-2), pair(0), pair(4, grow=2)])
    assert [(x == 3).sum() for x in labels] == [8, 16, 24]
    r = script.area_slopes(labels, np.zeros(3, int))
    assert r["slope_b"] == pytest.approx(np.polyfit([0, 8, 16], [0, 0, 8], 1)[0])
    assert r["slope_a"] == pytest.approx(0.0, abs=1e-9)
    assert r["groups"] == 1
