"""Each chromosome of a crossing takes one label, as a whole: :func:`link_crossing_arms`.

Used by :func:`chromoskl.decoding.decode_labels`, which also names the chromosomes by area.
The connected components (:func:`scipy.ndimage.label`), dilations and distance transforms come
from :mod:`scipy.ndimage`; the rule that pairs the arms of a crossing is written here, as no
library offers it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .classes import CHROMOSOME_LABELS, N_CLASSES

__all__ = ["link_crossing_arms"]

# 8-connectivity within an image, none across the images of a stack (axis 0).
_EIGHT_IN_PLANE = np.zeros((3, 3, 3), dtype=bool)
_EIGHT_IN_PLANE[1] = True

# Geometry of a crossing (see link_crossing_arms, Notes).
# Pixels of an arm at most this far (8-connected steps) beyond the ring give its direction.
_NEAR = 4
# Two arms are "opposite" when the cosine of the angle between their directions is at most
# this (an angle of at least about 134 degrees).
_OPPOSITE_COS = -0.7
# In a T (three arms), the arm left over must be clearly not opposite either of the pair:
# cosines above this (angles below about 120 degrees).
_T_OTHER_COS = -0.5
# The two chromosomes of an X must cross: the axes of the two pairs not parallel (|cos| <= this,
# an angle of at least about 26 degrees).
_PARALLEL_COS = 0.9
# An overlap more elongated than this (ratio of the principal axes) is a shallow crossing,
# where the two chromosomes lie along each other and the directions of the arms say little.
_MAX_ELONGATION = 4.0
# Images processed together by link_crossing_arms.
_CHUNK_IMAGES = 256


def _check_proba(proba) -> np.ndarray:
    """Probabilities as a float array (n, 4, H, W); a single image (4, H, W) gets n = 1."""
    proba = np.asarray(proba)
    if proba.ndim == 3:
        proba = proba[np.newaxis]
    if proba.ndim != 4 or proba.shape[1] != N_CLASSES:
        raise ValueError(
            f"proba must have shape (n, 4, H, W) or (4, H, W) (class probabilities, as "
            f"ChromosomeSegmenter.predict_proba returns), got {np.shape(proba)}."
        )
    if not np.issubdtype(proba.dtype, np.floating):
        raise TypeError(f"proba must hold floating-point probabilities, got dtype {proba.dtype}.")
    if not np.isfinite(proba).all():
        raise ValueError("proba holds NaN or infinite values.")
    return proba


def _argmax(proba: np.ndarray) -> np.ndarray:
    """Label of the most probable class, uint8 (n, H, W)."""
    return proba.argmax(axis=1).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Arms of a crossing
# --------------------------------------------------------------------------------------------


def _pair_arms(directions: np.ndarray) -> tuple[list[int], list[int]] | None:
    """Split the arms of one crossing into the two chromosomes, or None when unclear.

    ``directions`` are unit vectors (k, 2), from the centre of the overlap towards each arm.
    Four arms (an X): the pairing of the three possible whose two pairs are the most opposite;
    both pairs must be opposite and their axes not parallel. Three arms (a T: one chromosome
    crosses, the other ends in the overlap): the most opposite pair is the crossing
    chromosome, and the arm left over must be clearly opposite to neither of them.
    """
    cos = directions @ directions.T
    if len(directions) == 4:
        pairings = (((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2)))
        (a, b), (c, d) = min(pairings, key=lambda p: cos[p[0]] + cos[p[1]])
        if max(cos[a, b], cos[c, d]) > _OPPOSITE_COS:
            return None
        axis_1, axis_2 = directions[a] - directions[b], directions[c] - directions[d]
        cross = abs(axis_1 @ axis_2) / (np.linalg.norm(axis_1) * np.linalg.norm(axis_2))
        return ([a, b], [c, d]) if cross <= _PARALLEL_COS else None
    triples = ((0, 1, 2), (0, 2, 1), (1, 2, 0))
    a, b, c = min(triples, key=lambda t: cos[t[0], t[1]])
    if cos[a, b] > _OPPOSITE_COS or min(cos[a, c], cos[b, c]) < _T_OTHER_COS:
        return None
    return [a, b], [c]


def link_crossing_arms(
    proba, *, ring: int = 2, min_arm_pixels: int = 10, ring_confidence: float = 0.5
) -> np.ndarray:
    """Argmax labels where each chromosome of a crossing takes one label, 1 or 2, as a whole.

    A chromosome that crosses another is cut by the overlap into two arms, on opposite sides
    of it; a network that has learnt the A/B naming by heart often labels the two arms
    differently, or part of an arm A and the rest B. Where the single-chromosome pixels
    around the overlap clearly form the arms of an X (four arms) or a T (three), this gives
    each arm one label, the same to the two arms of a chromosome and the other to the other
    chromosome, by the probabilities summed over those arms. Elsewhere the argmax stays.

    Parameters
    ----------
    proba : array-like of float, shape (n, 4, H, W) or (4, H, W)
        Class probabilities (0 background, 1 A only, 2 B only, 3 overlap), as
        ``ChromosomeSegmenter.predict_proba`` returns.
    ring : int, default=2
        Width in pixels of the ring of single-chromosome pixels around the overlap that is set
        apart before the arms are found: where two chromosomes cross, their outlines meet at
        the corners of the overlap, and without the ring an arm of one and an arm of the other
        would form one component.
    min_arm_pixels : int, default=10
        Components smaller than this are not arms (specks, or the tip of a chromosome that
        barely leaves the overlap); they keep the argmax.
    ring_confidence : float, default=0.5
        A pixel of the ring takes the label of the nearest relabelled arm only where the
        network hesitates between 1 and 2 there: ``|p1 - p2| / (p1 + p2) < ring_confidence``.
        0 leaves the ring as the argmax; above 1 relabels all of it.

    Returns
    -------
    labels : ndarray of uint8, shape (n, H, W), or (H, W) for one image (4, H, W)
        The argmax, with labels 1 and 2 reassigned among its single-chromosome pixels; labels 0
        and 3 are exactly those of the argmax.

    Raises
    ------
    ValueError
        If ``proba`` is not (n, 4, H, W) or (4, H, W), or holds NaN or infinity.
    TypeError
        If ``proba`` does not hold floats.

    Notes
    -----
    Per image, with O the overlap (argmax label 3) and S the single-chromosome pixels
    (argmax 1 or 2):

    1. The arms are the connected components (8-connectivity) of S less the ring (the pixels
       within ``ring`` 8-connected steps of O), whatever their labels, that come within
       ``ring + 1`` steps of O and have at least ``min_arm_pixels`` pixels.
    2. The direction of an arm is the mean position of its pixels within ``ring + 4`` steps
       of O, less the centre of O. With four arms, the pairing of the three possible whose
       two pairs point most nearly in opposite directions is taken if both pairs are opposite
       (cosine at most -0.7) and their axes cross (|cosine| at most 0.9). With three, the
       most opposite pair is one chromosome if it is opposite and the third arm is opposite
       to neither of them (cosines above -0.5). Any other image keeps the argmax: no
       overlap, an overlap more than 4 times as long as it is wide (a shallow crossing, where
       the chromosomes lie along each other and directions from its centre mean little), two
       arms, five or more, or arms of the two chromosomes that touch beyond the ring and so
       form one component.
    3. The two groups of arms take labels 1 and 2 as a whole, the group with the larger sum
       of ``p1 - p2`` over its pixels taking 1: of the two assignments, the one with the
       larger summed probability of the chosen labels. Which is finally called A is left to
       :func:`order_by_area`.
    4. A ring pixel where the network hesitates (see ``ring_confidence``) takes the label of
       the nearest pixel of a relabelled arm; a confident one keeps the argmax, so that the
       corners of the overlap, where the two chromosomes meet, stay as the network drew them.
    5. Check: a chromosome is one connected object. If the new labels cut the two chromosomes
       A = {1, 3} and B = {2, 3} into more connected components (together) than the argmax
       did, the arms were misread (for instance an arm that runs along the overlap, sliced
       lengthwise by the ring) and the image keeps the argmax.

    Why whole arms, and not the components of each label with the small ones merged into
    the label around them: on the held-out predictions of a U-Net trained on
    :func:`~chromoskl.datasets.make_overlapping_chromosomes`, about 10 000 of the 16 000
    pixels with A and B confused lay in arms wrong as a whole (or nearly), and merging
    small components into the surrounding label undid about twice as many right pixels as
    it mended (the minority label of a mixed arm was as often right as wrong). Why the
    guards: where two chromosomes lie side by side beyond the overlap, a component of S can
    hold both of them and must not be relabelled as one; the guards leave the labels of
    every image of that synthetic set and of Pommier's 13 434 labelled images unchanged when
    the probabilities are their one-hot labels. 8-connectivity keeps a thin diagonal arm in
    one piece; 4-connectivity scored the same there.

    The steps are vectorised over the stack (:func:`scipy.ndimage.label` with no
    connectivity across images, :func:`numpy.bincount` per component); only the pairing of
    the three or four arms of an image, and the ring of the images it relabels, loop in
    Python. Pairing the arms of a crossing is written here: no library offers it.
    """
    one_image = np.ndim(proba) == 3
    proba = _check_proba(proba)
    out = np.empty((proba.shape[0], *proba.shape[2:]), dtype=np.uint8)
    # Chunks of images bound the temporaries (a few arrays of int64 per pixel).
    for start in range(0, proba.shape[0], _CHUNK_IMAGES):
        stop = start + _CHUNK_IMAGES
        out[start:stop] = _link_chunk(proba[start:stop], ring, min_arm_pixels, ring_confidence)
    return out[0] if one_image else out


def _link_chunk(
    proba: np.ndarray, ring: int, min_arm_pixels: int, ring_confidence: float
) -> np.ndarray:
    """:func:`link_crossing_arms` of a checked (n, 4, H, W) stack; see its Notes."""
    labels = _argmax(proba)
    overlap = labels == 3
    single = (labels == 1) | (labels == 2)

    # Ring, arms and the zones around the overlap, for the whole stack at once (no
    # connectivity across images).
    def dilate(mask, steps):
        return ndi.binary_dilation(mask, _EIGHT_IN_PLANE, iterations=steps) if steps else mask

    ring_mask = dilate(overlap, ring) & single
    reach, near = dilate(overlap, ring + 1), dilate(overlap, ring + _NEAR)
    arms, n_arms = ndi.label(single & ~ring_mask, _EIGHT_IN_PLANE)
    if n_arms == 0:
        return labels

    # Per component (0 is the rest): size, whether it reaches the overlap, sum of p1 - p2,
    # and the summed position of its pixels near the overlap. scipy numbers the components
    # in scan order, so those of image i follow those of the images before it.
    flat, bins = arms.ravel(), n_arms + 1
    last_id = np.maximum.accumulate(arms.reshape(len(arms), -1).max(axis=1))
    image_of = np.searchsorted(last_id, np.arange(bins), side="left")
    size = np.bincount(flat, minlength=bins)
    reaches = np.bincount(flat[reach.ravel()], minlength=bins) > 0
    margin = np.bincount(flat, weights=(proba[:, 1] - proba[:, 2]).ravel(), minlength=bins)
    near_ids = arms[near]
    near_count = np.bincount(near_ids, minlength=bins)
    near_rows = np.bincount(near_ids, weights=np.nonzero(near)[1], minlength=bins)
    near_cols = np.bincount(near_ids, weights=np.nonzero(near)[2], minlength=bins)
    centre, compact = _overlap_shape(overlap)

    candidate = np.flatnonzero(reaches & (size >= min_arm_pixels) & (near_count > 0))
    candidate = candidate[candidate > 0]
    new_label = np.zeros(bins, dtype=np.uint8)  # 0: keep the argmax
    linked = []
    # The pairing is a matter of three or four arms per image: a short loop over the images.
    for index, image_arms in _group_by(image_of[candidate], candidate):
        if len(image_arms) not in (3, 4) or not compact[index]:
            continue
        position = np.stack([near_rows[image_arms], near_cols[image_arms]], 1)
        directions = position / near_count[image_arms, np.newaxis] - centre[index]
        norms = np.linalg.norm(directions, axis=1)
        if np.any(norms == 0):
            continue
        groups = _pair_arms(directions / norms[:, np.newaxis])
        if groups is None:
            continue
        first, second = (image_arms[g] for g in groups)
        one = 1 if margin[first].sum() > margin[second].sum() else 2
        new_label[first], new_label[second] = one, 3 - one
        linked.append(index)

    relabelled = new_label[arms]
    out = np.where(relabelled > 0, relabelled, labels)
    if ring_confidence > 0 and linked:
        p1, p2 = proba[linked, 1], proba[linked, 2]
        hesitant = np.abs(p1 - p2) < ring_confidence * (p1 + p2)
        for k, index in enumerate(linked):
            _fill_ring(out[index], relabelled[index] > 0, ring_mask[index] & hesitant[k])
    if linked:
        # A chromosome is one connected object: where the new labels cut the two chromosomes
        # into more pieces than the argmax did, the arms were misread; keep the argmax there.
        worse = _chromosome_pieces(out[linked]) > _chromosome_pieces(labels[linked])
        out[np.asarray(linked)[worse]] = labels[np.asarray(linked)[worse]]
    return out


def _overlap_shape(overlap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (row, column) of the overlap of each image (n, 2), and whether it is compact.

    Compact: the ratio of the principal axes of its pixel positions (the square root of the
    ratio of the eigenvalues of their covariance) is at most ``_MAX_ELONGATION``. An image
    without overlap gets the centre (0, 0); it has no arm anyway.
    """
    n = len(overlap)
    image, row, col = np.nonzero(overlap)
    count = np.maximum(np.bincount(image, minlength=n), 1)

    def mean(values):
        return np.bincount(image, weights=values, minlength=n) / count

    centre_row, centre_col = mean(row), mean(col)
    var_row = mean(row * row) - centre_row**2
    var_col = mean(col * col) - centre_col**2
    cov = mean(row * col) - centre_row * centre_col
    half_gap = np.hypot((var_row - var_col) / 2, cov)
    largest = (var_row + var_col) / 2 + half_gap
    smallest = np.maximum((var_row + var_col) / 2 - half_gap, 0.0)
    compact = largest <= _MAX_ELONGATION**2 * smallest + 1e-9
    return np.stack([centre_row, centre_col], axis=1), compact


def _chromosome_pieces(labels: np.ndarray) -> np.ndarray:
    """Connected components (8-connectivity) of A = {1, 3} plus those of B = {2, 3}, per image."""
    count = np.zeros(len(labels), dtype=np.intp)
    for chromosome in CHROMOSOME_LABELS:
        pieces, _ = ndi.label(np.isin(labels, chromosome), _EIGHT_IN_PLANE)
        last_id = np.maximum.accumulate(pieces.reshape(len(labels), -1).max(axis=1))
        count += np.diff(last_id, prepend=0)
    return count


def _group_by(keys: np.ndarray, values: np.ndarray):
    """Yield (key, values with that key) for sorted or unsorted integer keys."""
    if keys.size == 0:
        return
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    for start, stop in zip(starts, np.r_[starts[1:], len(keys)]):
        yield int(keys[start]), values[start:stop]


def _fill_ring(labels: np.ndarray, arm_mask: np.ndarray, pixels: np.ndarray) -> None:
    """Give ``pixels`` of one image (in place) the label of the nearest pixel of ``arm_mask``."""
    if not pixels.any():
        return
    nearest = ndi.distance_transform_edt(~arm_mask, return_distances=False, return_indices=True)
    labels[pixels] = labels[nearest[0][pixels], nearest[1][pixels]]
