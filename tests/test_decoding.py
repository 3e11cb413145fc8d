"""Tests of chromoskl.decoding on hand-built crossings: the arms linked, A the smaller."""

from __future__ import annotations

import numpy as np
import pytest

from chromoskl import _crossing_arms
from chromoskl.decoding import decode_labels, link_crossing_arms, order_by_area


def _cross(size: int = 20, band: slice = slice(8, 12), bar: slice = slice(7, 13)) -> np.ndarray:
    """An X of two bars: a horizontal one (rows ``band``, chromosome A, 4 x 20 = 80 px) under a
    wider vertical one (columns ``bar``, chromosome B, 6 x 20 = 120 px); overlap 4 x 6."""
    labels = np.zeros((size, size), dtype=np.uint8)
    labels[band, :] = 1
    labels[:, bar] = 2
    labels[band, bar] = 3
    return labels


def _proba(labels: np.ndarray, confidence: float = 0.9) -> np.ndarray:
    """Probabilities (4, H, W) with ``confidence`` on ``labels`` and the rest spread evenly."""
    proba = np.full((4, *labels.shape), (1 - confidence) / 3, dtype=np.float32)
    np.put_along_axis(proba, labels[np.newaxis].astype(np.intp), confidence, axis=0)
    return proba


def _set(proba: np.ndarray, where, p1: float, p2: float) -> None:
    """Give the pixels ``where`` the probabilities p1 (A), p2 (B), the rest to background."""
    proba[1][where], proba[2][where] = p1, p2
    proba[3][where] = 0.0
    proba[0][where] = 1 - p1 - p2


TRUTH = _cross()
SWAP = np.array([0, 2, 1, 3], dtype=np.uint8)


def _memorised_cross() -> np.ndarray:
    """The X as a network that learnt the naming by heart might see it: the right arm of A is
    part A, part B, the bottom arm of B is called A, and a corner pixel hesitates."""
    proba = _proba(TRUTH)
    _set(proba, (slice(8, 12), slice(17, 20)), 0.35, 0.55)  # right arm of A: outer part B
    _set(proba, (slice(14, 20), slice(7, 13)), 0.50, 0.40)  # bottom arm of B: called A
    _set(proba, (6, 12), 0.48, 0.42)  # a ring pixel of B (near the overlap), hesitant: A
    return proba


# ------------------------------------------------------------------------------------------
# order_by_area
# ------------------------------------------------------------------------------------------


def test_order_by_area_per_image():
    swapped = SWAP[TRUTH]  # the larger chromosome called A
    tie = np.array([[1, 1, 3, 2, 2]] * 2)
    stack = np.stack([TRUTH, swapped, np.zeros_like(TRUTH), np.pad(tie, ((0, 18), (0, 15)))])
    ordered = order_by_area(stack)
    assert ordered.dtype == np.uint8 and ordered.shape == stack.shape
    np.testing.assert_array_equal(ordered[0], TRUTH)
    np.testing.assert_array_equal(ordered[1], TRUTH)  # swapped back
    np.testing.assert_array_equal(ordered[2], 0)
    np.testing.assert_array_equal(ordered[3], stack[3])  # a tie stays as it is
    # One image (H, W); the input is not modified.
    np.testing.assert_array_equal(order_by_area(swapped), TRUTH)
    assert (swapped != TRUTH).any()


def test_order_by_area_rejects_bad_labels():
    with pytest.raises(TypeError, match="integer class labels"):
        order_by_area(TRUTH.astype(float))
    with pytest.raises(ValueError, match="label 4"):
        order_by_area(TRUTH + 1)
    with pytest.raises(ValueError, match=r"\(H, W\) or \(n, H, W\)"):
        order_by_area(TRUTH[0])


# ------------------------------------------------------------------------------------------
# link_crossing_arms and decode_labels
# ------------------------------------------------------------------------------------------


def test_crossing_arms_mended():
    proba = _memorised_cross()
    argmax = proba.argmax(axis=0)
    # The argmax gets the overlap right but mixes A and B: 12 + 36 + 1 pixels wrong.
    assert np.count_nonzero(argmax != TRUTH) == 12 + 36 + 1
    np.testing.assert_array_equal(argmax == 3, TRUTH == 3)
    linked = link_crossing_arms(proba)
    assert linked.dtype == np.uint8 and linked.shape == TRUTH.shape
    np.testing.assert_array_equal(linked, TRUTH)
    np.testing.assert_array_equal(decode_labels(proba), TRUTH)
    # Without the ring step the hesitant pixel next to the overlap keeps the argmax.
    kept = link_crossing_arms(proba, ring_confidence=0.0)
    assert np.count_nonzero(kept != TRUTH) == 1 and kept[6, 12] == 1
    # A ring pixel where the network is sure keeps its label, right or wrong.
    sure = proba.copy()
    _set(sure, (6, 12), 0.9, 0.05)
    assert link_crossing_arms(sure)[6, 12] == 1
    assert link_crossing_arms(sure, ring_confidence=1.01)[6, 12] == 2
    # Without consistency and with the network's naming: the argmax itself.
    plain = decode_labels(proba, consistency=False, order="network")
    np.testing.assert_array_equal(plain, argmax)


def test_swapped_naming_mended_by_area_only():
    # A network that calls the larger chromosome A, consistently: nothing to link, but the
    # order by area names them by the convention.
    proba = _proba(SWAP[TRUTH])
    np.testing.assert_array_equal(link_crossing_arms(proba), SWAP[TRUTH])
    np.testing.assert_array_equal(decode_labels(proba), TRUTH)
    np.testing.assert_array_equal(decode_labels(proba, order="network"), SWAP[TRUTH])
    np.testing.assert_array_equal(decode_labels(proba, consistency=False), TRUTH)


def test_memorised_and_swapped_together_in_a_stack():
    memorised = _memorised_cross()
    swapped = memorised[SWAP]  # the same errors with the naming reversed
    stack = np.stack([memorised, swapped, _proba(TRUTH)])
    decoded = decode_labels(stack)
    assert decoded.shape == (3, 20, 20)
    for image in decoded:
        np.testing.assert_array_equal(image, TRUTH)


def test_t_crossing_mended():
    # B crosses vertically; A comes from the left and ends in the overlap: three arms.
    truth = np.zeros((20, 20), dtype=np.uint8)
    truth[8:12, 0:13] = 1
    truth[:, 7:13] = 2
    truth[8:12, 7:13] = 3
    proba = _proba(truth)
    _set(proba, (slice(0, 6), slice(7, 13)), 0.6, 0.3)  # top arm of B called A
    assert (proba.argmax(axis=0) != truth).sum() == 36
    np.testing.assert_array_equal(decode_labels(proba), truth)


def _bar(shape, start, stop, half_width: float) -> np.ndarray:
    """Pixels within ``half_width`` of the segment from ``start`` to ``stop`` (row, col)."""
    rows, cols = np.indices(shape)
    (r0, c0), (dr, dc) = start, np.subtract(stop, start)
    t = np.clip(((rows - r0) * dr + (cols - c0) * dc) / (dr * dr + dc * dc), 0, 1)
    return np.hypot(rows - r0 - t * dr, cols - c0 - t * dc) <= half_width


def _star(arms: dict[float, int], size: int = 30) -> np.ndarray:
    """Arms 14 px long and 5 wide, at the given angles (degrees, counterclockwise from the
    right) with the given labels, around a disc of overlap at the centre."""
    shape, centre = (size, size), (size // 2, size // 2)
    labels = np.zeros(shape, dtype=np.uint8)
    for angle, label in arms.items():
        end = (
            centre[0] - 14 * np.sin(np.radians(angle)),
            centre[1] + 14 * np.cos(np.radians(angle)),
        )
        labels[_bar(shape, centre, end, 2.0)] = label
    rows, cols = np.indices(shape)
    labels[np.hypot(rows - centre[0], cols - centre[1]) <= 3.5] = 3
    return labels


@pytest.mark.parametrize(
    "arms",
    [
        # Three arms: the right one is opposite both others, which of them continues it is
        # unclear.
        {0: 1, 150: 2, 210: 2},
        # Four arms, but only one opposite pair: not the X of two crossing chromosomes.
        {0: 1, 60: 1, 120: 2, 240: 2},
        # Three arms, no pair opposite enough (130 degrees apart at most).
        {0: 1, 65: 2, 130: 2},
    ],
)
def test_ambiguous_arms_left_alone(arms):
    labels = _star(arms)
    proba = _proba(labels, confidence=0.6)
    # (Relabelling the whole ring too, so that the connectivity check cannot be what stops it.)
    for ring_confidence in (0.5, 1.01):
        linked = link_crossing_arms(proba, ring_confidence=ring_confidence)
        np.testing.assert_array_equal(linked, labels)


def test_touching_chromosomes_keep_their_labels():
    # Two chromosomes side by side, touching along their length, no overlap: a component of
    # the single-chromosome pixels holds both, and both labels must stay.
    touching = np.zeros((20, 20), dtype=np.uint8)
    touching[4:8, 2:18] = 1
    touching[8:14, 2:18] = 2
    # Two chromosomes crossing at a shallow angle: beyond the overlap their arms lie side by
    # side and touch, so that an arm of A and an arm of B form one component.
    a = _bar((24, 24), (0, 4), (23, 17), 2.0)
    b = _bar((24, 24), (0, 15), (23, 6), 2.6)
    shallow = np.where(a & b, 3, np.where(b, 2, np.where(a, 1, 0))).astype(np.uint8)
    assert np.bincount(shallow.ravel()).tolist() == [576 - 84 - 108 - 26, 84, 108, 26]
    for labels in (touching, shallow):
        for confidence in (0.9, 0.6):
            proba = _proba(labels, confidence)
            np.testing.assert_array_equal(link_crossing_arms(proba), labels)
            np.testing.assert_array_equal(decode_labels(proba), labels)


def test_shallow_crossing_left_alone(monkeypatch):
    # An overlap 18 wide and 4 high (principal axes 4.6 : 1): the directions of the arms
    # from its centre are not trusted, and the argmax stays.
    truth = _cross(size=30, band=slice(10, 14), bar=slice(6, 24))
    truth[:, 6:24][truth[:, 6:24] == 2] = 0
    truth[0:10, 12:18] = 2
    truth[14:30, 12:18] = 2
    truth[10:14, 6:24] = 3
    proba = _proba(truth)
    _set(proba, (slice(10, 14), slice(26, 30)), 0.3, 0.6)  # right arm of A called B
    argmax = proba.argmax(axis=0)
    np.testing.assert_array_equal(link_crossing_arms(proba), argmax)
    # With the guard relaxed the same arms are linked: the guard is what kept them.
    monkeypatch.setattr(_crossing_arms, "_MAX_ELONGATION", 10.0)
    np.testing.assert_array_equal(link_crossing_arms(proba), truth)


def test_only_labels_1_and_2_move():
    # Noisy probabilities around crossings: whatever is relabelled, background and overlap
    # are those of the argmax, pixel for pixel, and chromosome pixels stay chromosome.
    rng = np.random.default_rng(0)
    clean = np.stack([_memorised_cross(), _memorised_cross()[SWAP], _proba(TRUTH)] * 4)
    proba = clean + rng.uniform(0, 0.5, size=clean.shape).astype(np.float32)
    proba /= proba.sum(axis=1, keepdims=True)
    argmax = proba.argmax(axis=1)
    for decoded in (link_crossing_arms(proba), decode_labels(proba)):
        np.testing.assert_array_equal(decoded == 3, argmax == 3)
        np.testing.assert_array_equal(decoded == 0, argmax == 0)
    assert (link_crossing_arms(proba) != argmax).any()  # something was relabelled


def test_one_image_and_invalid_input():
    proba = _memorised_cross()
    assert decode_labels(proba).shape == (20, 20)
    assert link_crossing_arms(proba[np.newaxis]).shape == (1, 20, 20)
    with pytest.raises(ValueError, match="order"):
        decode_labels(proba, order="size")
    with pytest.raises(ValueError, match=r"\(n, 4, H, W\)"):
        decode_labels(proba[:3])
    with pytest.raises(TypeError, match="floating-point"):
        link_crossing_arms(proba.astype(int))
    proba[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        decode_labels(proba)


def test_right_labels_of_real_data_stay_right(real_h5, monkeypatch):
    # Pommier's labels as one-hot probabilities: a perfect network. Decoding must give them
    # back. The images listed are those where the arms, without the final connectivity
    # check, were misread (arms that run along the overlap, sliced lengthwise by the ring).
    h5py = pytest.importorskip("h5py")
    misread = [86, 582, 1539, 1679, 1820, 2280, 2323, 2357, 2377, 2452, 2454, 2583, 2619, 2839]
    with h5py.File(real_h5, "r") as f:
        labels = np.concatenate([f["labels_cleaned"][:80], f["labels_cleaned"][misread]])
    proba = np.eye(4, dtype=np.float32)[labels].transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(decode_labels(proba), labels)
    # Without the check, the misread images do change: the check is what keeps them.
    monkeypatch.setattr(_crossing_arms, "_chromosome_pieces", lambda y: np.zeros(len(y), dtype=int))
    changed = (link_crossing_arms(proba) != labels).any(axis=(1, 2))
    assert not changed[:80].any() and changed[80:].all()


def _unit(*angles: float) -> np.ndarray:
    radians = np.radians(angles)
    return np.stack([-np.sin(radians), np.cos(radians)], axis=1)  # (row, col), row down


@pytest.mark.parametrize(
    ("angles", "expected"),
    [
        ((0, 95, 180, 270), ([0, 2], [1, 3])),  # an X
        ((180, 0, 270, 95), ([0, 1], [2, 3])),  # the same, in another order
        ((0, 15, 180, 195), None),  # two opposite pairs, but along nearly the same axis
        ((0, 60, 180, 240), ([0, 2], [1, 3])),
        ((0, 60, 125, 240), None),  # 125 degrees apart: not opposite enough
        ((90, 270, 0), ([0, 1], [2])),  # a T
        ((90, 270, 160), ([0, 1], [2])),  # the third at 70 and 110 degrees from the pair
        ((90, 270, 135), None),  # the third arm nearly opposite one of the pair (135 deg)
        ((0, 130, 65), None),  # no pair opposite
    ],
)
def test_pairing_of_arms(angles, expected):
    assert _crossing_arms._pair_arms(_unit(*angles)) == expected
