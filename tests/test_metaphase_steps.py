"""The steps of metaphase separation, each on its own, on small hand-made images."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import polygon, rectangle

from chromoskl.metaphase import (
    bend_at_overlap,
    classify_components,
    count_arms,
    crop_cluster,
    foreground_mask,
    gallery_chromosome,
    grey_factor,
    label_components,
    mask_box,
    medial_axis_length,
    paste_instances,
    segmenter_sees_crossing,
    sharpest_turn,
    subtract_background,
    to_segmenter_pixels,
)
from chromoskl.metaphase._checks import check_metaphase_image
from chromoskl.metaphase._scale import BRIGHT_SHARE


def _rod(shape, start, end):
    mask = np.zeros(shape, bool)
    rows, cols = rectangle(start, end=end, shape=shape)
    mask[rows, cols] = True
    return mask


def _bar(shape, centre, degrees, length, width):
    """A rod turned by ``degrees`` from the column axis (skimage.draw.polygon)."""
    along = np.array([np.sin(np.radians(degrees)), np.cos(np.radians(degrees))])
    across = np.array([along[1], -along[0]])
    corners = np.array([np.asarray(centre) + s * length / 2 * along + t * width / 2 * across
                        for s, t in ((-1, -1), (1, -1), (1, 1), (-1, 1))])
    mask = np.zeros(shape, bool)
    mask[polygon(corners[:, 0], corners[:, 1], shape)] = True
    return mask


def test_top_hat_removes_an_uneven_background_and_keeps_a_chromosome():
    rows, cols = np.mgrid[:80, :100]
    background = 250 + 2.0 * cols + 0.5 * rows  # a gradient of 200 grey levels
    rod = _rod((80, 100), (30, 20), (37, 70))  # 8 px wide
    image = background + 600.0 * rod
    corrected = subtract_background(image, radius=10)
    assert corrected.dtype == np.float32
    inner = (slice(10, -10), slice(10, -10))  # the image's edges bias the opening
    assert np.abs(corrected[inner][~rod[inner]]).max() < 1e-3
    assert corrected[rod].mean() == pytest.approx(600.0, rel=0.02)


def test_images_are_checked_and_rgb_turns_grey():
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[5:10, 5:20] = 200
    grey = check_metaphase_image(rgb)
    assert grey.shape == (20, 30) and grey[7, 7] > grey[0, 0]
    with pytest.raises(ValueError, match=r"one grey image \(H, W\)"):
        check_metaphase_image(np.zeros((2, 20, 30)))
    with pytest.raises(ValueError, match="NaN"):
        check_metaphase_image(np.full((20, 20), np.nan))
    with pytest.raises(TypeError, match="real grey values"):
        check_metaphase_image(np.full((20, 20), "a"))
    with pytest.raises(ValueError, match="radius"):
        subtract_background(np.zeros((20, 20)), radius=0)


def test_foreground_fills_holes_and_drops_debris():
    image = np.zeros((60, 60), np.float32)
    image[10:30, 10:20] = 100.0
    image[18:21, 14:16] = 5.0  # a pale band inside the chromosome
    image[50:52, 50:52] = 100.0  # 4 px of debris
    mask = foreground_mask(image, "otsu", min_area=10)
    assert mask[10:30, 10:20].all() and not mask[50:52, 50:52].any()
    assert mask.sum() == 200
    # a number as the threshold; min_area=1 keeps the debris (the band is still filled)
    assert foreground_mask(image, 50.0, min_area=1).sum() == 204
    assert not foreground_mask(np.zeros((10, 10)), "otsu").any()
    with pytest.raises(ValueError, match="threshold must be one of"):
        foreground_mask(image, "median")


def _vee(shape, turn, length=60, width=12, start=(90, 20)):
    """Two bars of ``length`` end to end, their ends overlapping by half a width, the second
    turned by ``turn`` degrees from the direction of the first (which runs along a row)."""
    first = _bar(shape, (start[0], start[1] + length / 2), 0, length, width)
    corner = np.array([start[0], start[1] + length], dtype=float)
    along = np.array([-np.sin(np.radians(turn)), np.cos(np.radians(turn))])
    second = _bar(shape, corner + (length - width) / 2 * along, -turn, length, width)
    return first, second


def test_singles_clusters_and_unresolved():
    shape = (120, 160)
    rods = [_rod(shape, (5, 5 + 12 * k), (34, 11 + 12 * k)) for k in range(6)]  # 6 singles
    cross = _rod(shape, (45, 20), (74, 26)) | _rod(shape, (57, 8), (62, 38))  # an X
    blob = _rod(shape, (80, 80), (119, 159))  # a nucleus: 40 x 80
    labels, regions = label_components(np.any(rods, axis=0) | cross | blob)
    assert labels.max() == 8 and len(regions) == 8
    kinds = dict(zip([r.label for r in regions], classify_components(regions)))
    assert kinds[labels[50, 23]] == "cluster"
    assert kinds[labels[100, 100]] == "unresolved"
    assert sorted(kinds[labels[10, 7 + 12 * k]] for k in range(6)) == ["single"] * 6
    # a rod bent by about 70 degrees is as hollow as the X (solidity 0.59 and 0.57) but has
    # two arms: single
    rows, cols = np.mgrid[:120, :160]
    arc = (np.abs(np.hypot(rows - 150, cols - 80) - 100) <= 4) & (rows < 64)
    arc_labels, arc_regions = label_components(np.any(rods, axis=0) | arc)
    x_region = regions[labels[50, 23] - 1]
    assert arc_regions[arc_labels[50, 80] - 1].solidity < x_region.solidity + 0.05
    kinds = classify_components(arc_regions, reference_area=800)  # a long chromosome
    assert kinds[arc_labels[50, 80] - 1] == "single"
    with pytest.raises(ValueError, match="min_solidity"):
        classify_components(regions, min_solidity=0)


def test_two_rods_meeting_at_a_corner_are_a_cluster_by_their_turn():
    shape = (120, 160)
    rods = [_rod(shape, (5, 100 + 14 * k), (64, 111 + 14 * k)) for k in range(4)]  # 60 x 12
    vee = np.any(_vee(shape, 120), axis=0)  # each bar as large as a rod, turned by 120
    labels, regions = label_components(np.any(rods, axis=0) | vee)
    corner = labels[90, 50]
    # two arms, solid enough (0.59), 1.8 times a rod's area: single by the other tests
    assert regions[corner - 1].solidity > 0.5
    assert classify_components(regions)[corner - 1] == "single"
    kinds = classify_components(regions, max_turn=60)
    assert kinds[corner - 1] == "cluster"
    assert list(kinds).count("single") == 4  # straight rods do not turn
    with pytest.raises(ValueError, match="max_turn must be None or degrees"):
        classify_components(regions, max_turn=200)


def test_two_rods_side_by_side_are_a_cluster_by_their_width():
    shape = (120, 160)
    rods = [_rod(shape, (5, 100 + 14 * k), (64, 111 + 14 * k)) for k in range(4)]  # 60 x 12
    pair = _rod(shape, (40, 10), (99, 21)) | _rod(shape, (40, 22), (99, 33))  # 60 x 24
    labels, regions = label_components(np.any(rods, axis=0) | pair)
    side_by_side = labels[70, 20] - 1
    # two arms, solid, twice a rod's area (under area_ratio 2.2): single by the other tests
    assert regions[side_by_side].area == 2 * regions[labels[30, 105] - 1].area
    assert classify_components(regions)[side_by_side] == "single"
    kinds = classify_components(regions, max_width_ratio=1.5)
    assert kinds[side_by_side] == "cluster"
    assert list(kinds).count("single") == 4  # the rods are the median width
    # a reference width given: the pair is 24 pixels wide, within 1.5 times 17
    assert classify_components(regions, max_width_ratio=1.5, reference_width=17)[
        side_by_side] == "single"
    for ratio in (0.9, float("nan")):
        with pytest.raises(ValueError, match="max_width_ratio must be None or a number >= 1"):
            classify_components(regions, max_width_ratio=ratio)


def test_sharpest_turn_of_rods_bent_rods_and_corners():
    shape = (120, 160)
    assert sharpest_turn(_rod(shape, (50, 10), (61, 149))) == 0.0  # 12 px wide, straight
    assert sharpest_turn(_bar(shape, (60, 80), 45, 120, 12)) < 5  # diagonal
    # a chord of one width back and ahead spans the corner: the turn reads a little less
    # than the angle between the bars
    measured = [sharpest_turn(np.any(_vee(shape, turn), axis=0)) for turn in (30, 60, 90, 120)]
    assert measured == pytest.approx([24.4, 51.3, 85.9, 104.0], abs=0.1)
    # a rod bent gently by about 80 degrees along its length (radius 100, 12 px wide)
    rows, cols = np.mgrid[:120, :160]
    arc = (np.abs(np.hypot(rows - 150, cols - 80) - 100) <= 6) & (rows < 64)
    assert sharpest_turn(arc) == pytest.approx(15.2, abs=0.1)
    # a width given by the caller is used as it is (the arc's own is 12): chords three
    # times as long span more of the bend
    assert sharpest_turn(arc, width=12) == sharpest_turn(arc)
    assert sharpest_turn(arc, width=36) == pytest.approx(20.2, abs=0.1)
    # too short to hold two chords beyond its ends: nothing measured
    assert sharpest_turn(_rod(shape, (50, 10), (61, 40))) == 0.0
    assert sharpest_turn(np.zeros(shape, bool)) == 0.0


def test_arms_of_a_rod_a_bent_rod_a_t_and_an_x():
    shape = (100, 100)
    rod = _rod(shape, (20, 10), (29, 79))  # 10 px wide: its skeleton forks at the square ends
    assert count_arms(rod) == 2
    rows, cols = np.mgrid[:100, :100]
    radius = np.hypot(rows - 90, cols - 50)
    arc = (np.abs(radius - 60) <= 5) & (rows < 80)  # a rod bent by about 110 degrees
    assert count_arms(arc) == 2
    t_shape = rod | _rod(shape, (30, 40), (79, 49))
    assert count_arms(t_shape) == 3
    x_shape = _rod(shape, (45, 10), (54, 89)) | _rod(shape, (10, 45), (89, 54))
    assert count_arms(x_shape) == 4
    ring = (np.abs(np.hypot(rows - 50, cols - 50) - 30) <= 4)
    assert count_arms(ring) == 0


def test_short_arms_of_a_crossing_count_from_a_fraction_of_the_width():
    # two 10-px-wide rods crossing, each sticking out 10 px (one width) past the other
    plus = _rod((80, 80), (35, 25), (44, 54)) | _rod((80, 80), (25, 35), (54, 44))
    assert count_arms(plus, width_ratio=1.0) < 3  # arms of one width are pruned as spurs
    assert count_arms(plus, width_ratio=0.7) == 4
    assert count_arms(plus, min_length=5) == 4  # an explicit length wins over the ratio
    rod = _rod((100, 100), (20, 10), (29, 79))
    assert count_arms(rod, width_ratio=0.45) == 2  # a rod's end spurs stay below half a width


def test_bend_at_overlap_tells_two_straight_rods_from_two_ls():
    shape = (100, 100)
    rows, cols = np.indices(shape) - 50
    for degrees in (90, 60, 30):
        across, tilted = _bar(shape, (50, 50), 0, 80, 10), _bar(shape, (50, 50), degrees, 80, 10)
        overlap = across & tilted
        # split truly, each chromosome runs straight on through the crossing
        assert bend_at_overlap(across, overlap) < 1 and bend_at_overlap(tilted, overlap) < 1
        # cut into two L's (one half of each rod), each turns by the angle of the crossing
        # or by its supplement, as the halves are paired
        left = cols < 0
        up = rows * np.sin(np.radians(degrees)) + cols * np.cos(np.radians(degrees)) < 0
        for half in (up, ~up):
            turn = degrees if half is up else 180 - degrees
            for piece in ((across & left) | (tilted & ~half), (across & ~left) | (tilted & half)):
                assert bend_at_overlap(piece | overlap, overlap) == pytest.approx(turn, abs=1)
    # a piece that ends at the overlap, or no overlap: nothing to continue
    plus = _rod(shape, (45, 10), (54, 89)), _rod(shape, (10, 45), (89, 54))
    overlap = plus[0] & plus[1]
    assert bend_at_overlap(plus[0] & (cols < 5), overlap) == 0.0
    assert bend_at_overlap(plus[0], np.zeros(shape, bool)) == 0.0


def test_a_crossing_needs_overlap_and_both_chromosomes_alone():
    labels = np.zeros((40, 40), np.uint8)
    labels[5:35, 10:16] = 1  # chromosome A alone
    labels[17:23, 2:30] = 2  # chromosome B alone, laid across A
    labels[17:23, 10:16] = 3  # their crossing: 36 pixels
    assert segmenter_sees_crossing(labels, min_pixels=36)
    assert not segmenter_sees_crossing(labels, min_pixels=37)
    # a rod split into A and B with no overlap, or a bright band called overlap: single
    assert not segmenter_sees_crossing(np.where(labels == 3, 1, labels), min_pixels=16)
    assert not segmenter_sees_crossing(np.where(labels == 2, 0, labels), min_pixels=16)


def test_gallery_chromosome_straightens_a_bent_rod_and_falls_back_on_a_dot():
    rows, cols = np.mgrid[:100, :100]
    radius = np.hypot(rows - 90, cols - 50)
    arc = (np.abs(radius - 60) <= 5) & (rows < 80)  # 11 px wide, bent by about 110 degrees
    image = np.where(arc, 100.0, 0.0)
    straight = gallery_chromosome(image, arc)
    # the medial axis (an arc of about 115 px) becomes the height; the width stays about 11 px
    assert straight.shape[0] > 90 and straight.shape[1] <= 16
    assert straight.max() == pytest.approx(100.0) and straight[0].max() > 0
    dot = np.zeros((20, 20), bool)
    dot[10, 10] = True
    assert gallery_chromosome(np.ones((20, 20)), dot).shape[0] >= 1  # no skeleton path: upright
    assert gallery_chromosome(image, np.zeros_like(arc)).shape == (1, 1)


def test_medial_axis_length_of_straight_and_diagonal_rods():
    bar = _rod((40, 80), (18, 10), (22, 69))  # 60 px long, 5 wide
    assert 50 <= medial_axis_length(bar) <= 60
    diagonal = np.zeros((60, 60), bool)
    for k in range(40):
        diagonal[10 + k, 10 + k : 13 + k] = True
    assert medial_axis_length(diagonal) == pytest.approx(39 * np.sqrt(2), rel=0.1)
    assert medial_axis_length(np.zeros((5, 5), bool)) == 0.0


def test_grey_factor_maps_the_foreground_to_the_training_scale():
    corrected = np.zeros((20, 20))
    corrected[5:15, 5:15] = 1600.0  # a 12-bit chromosome
    foreground = corrected > 0
    # Pommier-like training range: background 0, bright (overlaps) 200
    assert grey_factor(corrected, foreground, (0.0, 200.0)) == pytest.approx(
        BRIGHT_SHARE * 200 / 1600)
    # Pommier's pairs span 0..130: a 12-bit chromosome comes down by about 16 (12 bits to 8)
    assert 1 / 20 < grey_factor(corrected, foreground, (0.0, 130.0)) < 1 / 14
    assert grey_factor(corrected, np.zeros_like(foreground), (0.0, 200.0)) == 1.0


def test_resampling_to_the_segmenter_pixels():
    image = np.arange(40 * 30, dtype=np.float32).reshape(40, 30)
    assert to_segmenter_pixels(image, 0.5).shape == (20, 15)
    mask = _rod((40, 30), (10, 10), (29, 19))
    small = to_segmenter_pixels(mask, 0.5)
    assert small.dtype == bool and small.sum() == pytest.approx(mask.sum() / 4, rel=0.1)
    assert to_segmenter_pixels(image, 1.0) is image


def test_crop_puts_the_cluster_alone_on_a_padded_canvas_and_paste_inverts_it():
    shape = (200, 240)
    first = _rod(shape, (60, 100), (119, 111))
    second = _rod(shape, (84, 80), (95, 139))
    neighbour = _rod(shape, (60, 114), (70, 120))  # close to the cluster, not part of it
    corrected = 400.0 * first + 400.0 * second + 300.0 * neighbour
    component = first | second
    box = mask_box(component)
    crop, placement = crop_cluster(corrected, component, box, pixel_scale=0.5, grey_factor=0.25,
                                   input_shape=(48, 50), margin=4)
    assert crop.shape == (48, 50)
    assert placement.box == (56, 76, 124, 144) and placement.scaled_shape == (34, 34)
    # the neighbour's pixels are blacked out; the overlap is the sum of both (800 x 0.25)
    assert crop.max() == pytest.approx(200.0, rel=0.05)
    # the neighbour (300 x 0.25 = 75 if it were seen) sits at rows 9..14, columns 27..30
    assert crop[9:15, 28:31].max() < 20
    # the true chromosomes, taken to the crop and pasted back, come back where they were
    from chromoskl._geometry import centre_pad

    r0, c0, r1, c1 = placement.box
    instances = np.stack([centre_pad(to_segmenter_pixels(m[r0:r1, c0:c1], 0.5), crop.shape)
                          for m in (first, second)])
    pasted = paste_instances(instances, placement, component)
    for truth, got in zip((first, second), pasted):
        truth = truth[r0:r1, c0:c1]
        iou = (truth & got).sum() / (truth | got).sum()
        assert iou > 0.9
    # together they cover the component, and the crossing belongs to both
    assert (pasted.any(axis=0) == component[r0:r1, c0:c1]).all()
    assert (pasted[0] & pasted[1])[84 - r0 : 95 - r0, 100 - c0 : 111 - c0].mean() > 0.8
