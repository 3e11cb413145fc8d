"""straighten, PadToSquare/ResizeImages and the karyogram layout (no torchvision needed)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from chromoskl.karyogram import KARYOGRAM_ROWS, karyogram_layout, plot_karyogram
from chromoskl.recognition import PadToSquare, ResizeImages, Straightener, straighten


def _arc_band(radius=30.0, turn=np.pi / 2, half_width=3.0, size=80):
    """A band of constant width along a quarter circle; its arc length is radius * turn."""
    rows, cols = np.mgrid[0:size, 0:size].astype(float)
    centre = (10.0, 10.0)
    r = np.hypot(rows - centre[0], cols - centre[1])
    angle = np.arctan2(rows - centre[0], cols - centre[1])
    mask = (np.abs(r - radius) <= half_width) & (angle >= 0) & (angle <= turn)
    image = mask * (0.5 + 0.5 * (angle > turn / 2))  # two halves of different brightness
    return image.astype(np.float32), mask


def test_straighten_recovers_the_arc_length_and_width():
    image, mask = _arc_band()
    straight, smask = straighten(image, mask, return_mask=True, p_arm_up=False)
    assert straight.dtype == np.float32 and straight.shape == smask.shape
    assert abs(straight.shape[0] - 30 * np.pi / 2) <= 4  # 47.1 px of medial axis
    inner = smask[5:-5].sum(axis=1)
    # the width, 7 px, is kept all along (to a pixel: the mask is sampled nearest-neighbour)
    assert inner.min() >= 5 and inner.max() <= 8 and abs(inner.mean() - 6.5) < 1
    # the two halves stay on the two halves of the straightened axis
    profile = np.array([row[m].mean() for row, m in zip(straight[5:-5], smask[5:-5])])
    assert {round(profile[:10].mean(), 1), round(profile[-10:].mean(), 1)} == {0.5, 1.0}


def test_straighten_turns_a_straight_bar_upright():
    rows, cols = np.mgrid[0:60, 0:60].astype(float)
    along = (rows - 30) * np.cos(0.6) + (cols - 30) * np.sin(0.6)
    across = -(rows - 30) * np.sin(0.6) + (cols - 30) * np.cos(0.6)
    mask = (np.abs(along) <= 20) & (np.abs(across) <= 2.5)
    straight = straighten(mask.astype(float), mask)
    assert abs(straight.shape[0] - 41) <= 3 and straight.shape[0] > 2 * straight.shape[1]


def test_p_arm_goes_up():
    # a bar narrowed at a quarter of its length from the bottom: the short arm is below
    mask = np.zeros((70, 30), bool)
    mask[10:60, 11:19] = True
    mask[46:49, 11:13] = mask[46:49, 17:19] = False
    for m in (mask, mask[::-1]):
        width = straighten(m.astype(float), m, return_mask=True)[1].sum(axis=1)
        narrowest = np.argmin(width[5:-5]) + 5
        assert width[narrowest] <= 5 and narrowest < len(width) / 2


def test_straighten_errors():
    with pytest.raises(ValueError, match="2-D"):
        straighten(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="empty"):
        straighten(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="shape"):
        straighten(np.ones((8, 8)), np.ones((4, 4), bool))


def test_pad_and_resize_pipeline():
    images = [np.ones((10, 4), np.float32), np.full((6, 12), 0.5, np.float32)]
    squares = PadToSquare().fit_transform(images)
    assert [s.shape for s in squares] == [(10, 10), (12, 12)]
    assert squares[0][:, :3].sum() == 0 and squares[0][:, 3:7].sum() == 40
    out = make_pipeline(Straightener(), PadToSquare(), ResizeImages(16)).fit_transform(
        np.stack([np.pad(np.ones((20, 4)), 6)] * 2)
    )
    assert out.shape == (2, 16, 16) and out.dtype == np.float32
    assert clone(ResizeImages(8)).size == 8
    with pytest.raises(ValueError, match="size must be an int"):
        ResizeImages(3).transform(images)
    with pytest.raises(ValueError, match="2-D"):
        PadToSquare().transform([np.zeros(5)])


def test_karyogram_layout_standard_order():
    places = karyogram_layout([0, "X", 0, 23, "21", 12])
    assert places == [(0, 0, 0), (1, 7, 0), (0, 0, 1), (3, 4, 0), (3, 2, 0), (2, 0, 0)]
    assert sum(len(row) for row in KARYOGRAM_ROWS) == 24
    with pytest.raises(ValueError, match="unknown chromosome class"):
        karyogram_layout([24])


def test_plot_karyogram_writes_a_png(tmp_path):
    chromosomes = [np.ones((20 - k, 5)) for k in range(4)]
    path = tmp_path / "k" / "karyogram.png"
    plot_karyogram(chromosomes, [0, 0, "X", "Y"], [0.9, 0.8, 0.7, 0.6], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="differ in length"):
        plot_karyogram(chromosomes, [0], [0.5])
