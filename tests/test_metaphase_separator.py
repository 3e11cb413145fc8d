"""MetaphaseSeparator end to end on small generated metaphases.

Where a test is about the plumbing (crop, scale, paste back, the rest of a cluster), the
segmenter is a deterministic stand-in with ChromosomeSegmenter's ``predict`` interface that
answers with the true chromosomes of the crop; one test runs a real, tiny ChromosomeSegmenter.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage
from sklearn.base import clone

import chromoskl.metaphase._separator as separator_module
from chromoskl import ChromosomeSegmenter
from chromoskl._geometry import centre_pad
from chromoskl._tta import dihedral, undo_dihedral
from chromoskl.datasets import make_metaphase, make_overlapping_chromosomes
from chromoskl.metaphase import MetaphaseSeparator, to_segmenter_pixels
from chromoskl.metrics import instance_scores

SMALL = {"shape": (240, 260), "random_state": 0}


class TruthSegmenter:
    """Stand-in: labels each crop with the true chromosomes in it (only those of ``labelled``
    when given).

    It learns where the crop came from by recording the placement that ``crop_cluster``
    returned (monkeypatched), and cuts the true masks the same way.
    """

    def __init__(self, masks, monkeypatch, pixel_scale=0.5, labelled=None):
        self.masks, self.pixel_scale = masks, pixel_scale
        self.labelled = range(len(masks)) if labelled is None else labelled
        self.calls = []  # the placement of every crop made, in order
        self.origin = {}  # crop bytes -> (placement, component), to answer a batch of crops
        original = separator_module.crop_cluster

        def recording(corrected, component, *args, **kwargs):
            crop, placement = original(corrected, component, *args, **kwargs)
            self.calls.append(placement)
            self.origin[crop.tobytes()] = placement, component
            return crop, placement

        monkeypatch.setattr(separator_module, "crop_cluster", recording)

    def predict(self, X):
        return np.stack([self._view_labels(x) for x in X])

    def _view_labels(self, view):
        """The true labels of a crop shown in one of its 8 flips and quarter turns."""
        k, crop = self._view_of(view)
        return dihedral(torch.from_numpy(self._labels(crop)), k).numpy()

    def _view_of(self, view):
        """``(k, crop)``: which flip or turn of which crop made by the separator ``view`` is."""
        for k in range(8):
            crop = np.ascontiguousarray(undo_dihedral(torch.from_numpy(view), k).numpy())
            if crop.tobytes() in self.origin:
                return k, crop
        raise AssertionError("a crop the separator did not make")

    def _labels(self, crop):
        placement, component = self.origin[crop.tobytes()]
        r0, c0, r1, c1 = placement.box
        inside = [(self.masks[k] & component)[r0:r1, c0:c1] for k in self.labelled]
        present = [m for m, k in zip(inside, self.labelled)
                   if m.sum() > 0.5 * self.masks[k].sum()]
        assert len(present) <= 2, "a stand-in for a two-chromosome segmenter"
        labels = np.zeros(crop.shape, np.uint8)
        for k, m in enumerate(present):
            labels |= centre_pad(to_segmenter_pixels(m, self.pixel_scale),
                                 crop.shape).astype(np.uint8) << k
        return labels


def test_without_a_segmenter_every_component_is_one_mask():
    data = make_metaphase(8, n_overlaps=1, **SMALL)
    result = MetaphaseSeparator().separate(data.image)
    assert len(result.masks) == 7  # the crossing pair is one component
    assert sorted(result.source) == ["single"] * 6 + ["unresolved"]
    scores = instance_scores(data.masks, result.masks, crossed=data.crossed)
    assert scores["count_error"] == -1 and scores["crossed_pairs_separated"] == 0.0
    singles = np.setdiff1d(np.arange(8), data.crossed)
    rows, cols = np.nonzero(
        np.array([[(t & p).sum() / (t | p).sum() for p in result.masks] for t in data.masks])
        > 0.8)
    assert set(singles) <= set(rows.tolist())


def test_a_crossing_is_split_and_pasted_back_at_full_resolution(monkeypatch):
    data = make_metaphase(8, n_overlaps=1, **SMALL)
    stand_in = TruthSegmenter(data.masks, monkeypatch)
    result = MetaphaseSeparator(stand_in).separate(data.image)
    assert len(stand_in.calls) == 7  # the 6 singles shown to the segmenter, 1 cluster split
    assert len(result.masks) == 8 and list(result.source).count("cluster") == 2
    scores = instance_scores(data.masks, result.masks, crossed=data.crossed)
    assert scores["count_error"] == 0 and scores["ap50"] == 1.0
    assert scores["crossed_iou"] > 0.85
    # the crossing pixels belong to both chromosomes
    both = result.masks[result.source == "cluster"]
    truth_both = data.masks[data.crossed[0, 0]] & data.masks[data.crossed[0, 1]]
    assert (both[0] & both[1] & truth_both).sum() > 0.7 * truth_both.sum()
    # the measurements are filled in
    assert (result.area == result.masks.sum(axis=(1, 2))).all()
    assert (result.length > 10).all() and result.boxes.shape == (8, 4)


def test_a_crossing_that_looks_single_is_split_when_the_segmenter_sees_it(monkeypatch):
    data = make_metaphase(8, n_overlaps=1, **SMALL)
    # a shape rule that calls every component single: only the segmenter can find the crossing
    lenient = {"max_arms": 10, "min_solidity": 0.01, "area_ratio": 8.0}
    trusting = MetaphaseSeparator(TruthSegmenter(data.masks, monkeypatch),
                                  min_crossing_pixels=None, **lenient)
    assert sorted(trusting.separate(data.image).source) == ["single"] * 7
    stand_in = TruthSegmenter(data.masks, monkeypatch)
    result = MetaphaseSeparator(stand_in, **lenient).separate(data.image)
    assert len(stand_in.calls) == 8  # 7 components checked, then the crossing split
    assert sorted(result.source) == ["cluster"] * 2 + ["single"] * 6
    scores = instance_scores(data.masks, result.masks, crossed=data.crossed)
    assert scores["count_error"] == 0 and scores["crossed_pairs_separated"] == 1.0
    # a threshold above the crossing's overlap leaves it single (the overlap's full-resolution
    # pixel count is about 4 times its count in the segmenter's half-size pixels)
    overlap = (data.masks[data.crossed[0, 0]] & data.masks[data.crossed[0, 1]]).sum()
    strict = MetaphaseSeparator(TruthSegmenter(data.masks, monkeypatch),
                                min_crossing_pixels=int(overlap), **lenient)
    assert sorted(strict.separate(data.image).source) == ["single"] * 7


def test_three_chromosomes_do_not_crash_and_the_rest_is_unresolved(monkeypatch):
    data = make_metaphase(6, n_overlaps=1, **SMALL)
    a, b = data.crossed[0]
    # a third chromosome laid across the pair: move chromosome c onto their crossing
    c = next(k for k in range(6) if k not in (a, b))
    rows, cols = np.nonzero(data.masks[a] & data.masks[b])
    centre = np.array([rows.mean(), cols.mean()]).round().astype(int)
    cr, cc = np.nonzero(data.masks[c])
    shift = centre - np.array([cr.mean(), cc.mean()]).round().astype(int) + (3, 0)
    moved = np.roll(data.masks[c], tuple(shift), axis=(0, 1))
    image = data.image.copy()
    grey = np.where(data.masks[c], data.image - np.median(data.image), 0)
    image -= grey
    image += np.roll(grey, tuple(shift), axis=(0, 1))
    masks = data.masks.copy()
    masks[c] = moved
    stand_in = TruthSegmenter(masks, monkeypatch, labelled=[a, b])  # two of the three
    result = MetaphaseSeparator(stand_in).separate(image)
    assert len(result.masks) == 6
    assert list(result.source).count("unresolved") == 1
    assert list(result.source).count("cluster") == 2
    # the unresolved mask holds the chromosome that was not labelled
    rest = result.masks[result.source == "unresolved"][0]
    # (all but the pixels within one segmenter pixel of the pair, which paste-back fills)
    outside_pair = moved & ~(masks[a] | masks[b])
    assert (rest & outside_pair).sum() > 0.75 * outside_pair.sum()
    assert not (rest & (masks[a] | masks[b])).any()


def test_a_segmenter_that_splits_nothing_leaves_one_unresolved_mask(monkeypatch):
    data = make_metaphase(6, n_overlaps=1, **SMALL)

    class Blank:
        def predict(self, X):
            return np.zeros(np.shape(X), np.uint8)

    result = MetaphaseSeparator(Blank()).separate(data.image)
    assert len(result.masks) == 5 and list(result.source).count("unresolved") == 1


class OneViewSegmenter(TruthSegmenter):
    """Stand-in that splits a crop truly only when it is shown turned by ``good_view`` (one
    of the 8 flips and quarter turns); in any other view it calls the whole crop chromosome
    A, one piece that does not pass as a chromosome. Records the view of every crop shown."""

    def __init__(self, masks, monkeypatch, good_view):
        super().__init__(masks, monkeypatch)
        self.good_view, self.views = good_view, []

    def _view_labels(self, view):
        k, crop = self._view_of(view)
        self.views.append(k)
        truth = self._labels(crop)
        if k != self.good_view:
            truth = (truth > 0).astype(np.uint8)
        return dihedral(torch.from_numpy(truth), k).numpy()


class SurestViewSegmenter(TruthSegmenter):
    """Stand-in whose every view splits a crop into two chromosomes that pass, but only
    ``sure_view`` whole: the others leave out the top 3 rows of chromosome A alone (more
    than pasting back fills in). Its
    ``predict_proba`` is surest (0.9 against 0.6) in ``sure_view``."""

    def __init__(self, masks, monkeypatch, sure_view):
        super().__init__(masks, monkeypatch)
        self.sure_view = sure_view

    def _view_labels(self, view):
        k, crop = self._view_of(view)
        labels = self._labels(crop)
        rows = np.nonzero(labels == 1)[0]
        if k != self.sure_view and len(rows):
            top = labels[rows.min() : rows.min() + 3]  # a view of the rows
            top[top == 1] = 0
        return dihedral(torch.from_numpy(labels), k).numpy()

    def predict_proba(self, X):
        sure = [0.9 if self._view_of(x)[0] == self.sure_view else 0.6 for x in X]
        return np.stack([np.full((4, *x.shape), p, np.float32) for x, p in zip(X, sure)])


def test_a_cluster_is_shown_in_other_views_until_its_split_passes(monkeypatch):
    data = make_metaphase(8, n_overlaps=1, **SMALL)
    stand_in = OneViewSegmenter(data.masks, monkeypatch, good_view=5)
    one_view = MetaphaseSeparator(stand_in, min_crossing_pixels=None, split_views=1)
    assert sorted(one_view.separate(data.image).source) == ["single"] * 6 + ["unresolved"]
    assert stand_in.views == [0]

    stand_in = OneViewSegmenter(data.masks, monkeypatch, good_view=5)
    result = MetaphaseSeparator(stand_in, min_crossing_pixels=None).separate(data.image)
    assert sorted(stand_in.views) == list(range(8))
    assert sorted(result.source) == ["cluster"] * 2 + ["single"] * 6
    scores = instance_scores(data.masks, result.masks, crossed=data.crossed)
    assert scores["crossed_pairs_separated"] == 1.0 and scores["crossed_iou"] > 0.85


def test_of_the_views_that_pass_the_surest_is_kept(monkeypatch):
    data = make_metaphase(8, n_overlaps=1, **SMALL)
    truthful = MetaphaseSeparator(TruthSegmenter(data.masks, monkeypatch),
                                  min_crossing_pixels=None).separate(data.image)
    sure = SurestViewSegmenter(data.masks, monkeypatch, sure_view=6)
    result = MetaphaseSeparator(sure, min_crossing_pixels=None).separate(data.image)
    assert (result.source == "cluster").sum() == 2
    assert np.array_equal(result.masks, truthful.masks)
    # without predict_proba, the first view that passes: one that lacks the rows of A
    class WithoutProba(SurestViewSegmenter):
        predict_proba = None

    class FlatProba(SurestViewSegmenter):
        def predict_proba(self, X):
            return np.zeros(np.shape(X), np.float32)

    with pytest.raises(ValueError, match="predict_proba must return probabilities of shape"):
        MetaphaseSeparator(FlatProba(data.masks, monkeypatch, sure_view=6),
                           min_crossing_pixels=None).separate(data.image)
    unsure = WithoutProba(data.masks, monkeypatch, sure_view=6)
    first = MetaphaseSeparator(unsure, min_crossing_pixels=None).separate(data.image)
    assert (first.source == "cluster").sum() == 2
    assert first.masks.sum() < truthful.masks.sum()


class DecodingSegmenter(TruthSegmenter):
    """Stand-in whose ``predict_proba`` is one-hot on the true labels and whose
    ``labels_from_proba`` decodes them, as ``ChromosomeSegmenter``'s do; counts ``predict``."""

    predict_calls = 0

    def predict(self, X):
        self.predict_calls += 1
        return super().predict(X)

    def predict_proba(self, X):
        labels = np.stack([self._view_labels(x) for x in X])
        return np.moveaxis(np.eye(4, dtype=np.float32)[labels], -1, 1)

    def labels_from_proba(self, proba):
        return proba.argmax(axis=1).astype(np.uint8)


def test_a_segmenter_that_decodes_its_probabilities_runs_once_per_view(monkeypatch):
    data = make_metaphase(8, n_overlaps=1, **SMALL)
    truthful = MetaphaseSeparator(TruthSegmenter(data.masks, monkeypatch),
                                  min_crossing_pixels=None).separate(data.image)
    stand_in = DecodingSegmenter(data.masks, monkeypatch)
    result = MetaphaseSeparator(stand_in, min_crossing_pixels=None).separate(data.image)
    assert stand_in.predict_calls == 0
    assert (result.source == "cluster").sum() == 2
    assert np.array_equal(result.masks, truthful.masks)

    class WrongLabels(DecodingSegmenter):
        def labels_from_proba(self, proba):
            return proba.argmax(axis=1)[:, :-1]

    with pytest.raises(ValueError, match="segmenter.labels_from_proba must return labels 0..3"):
        MetaphaseSeparator(WrongLabels(data.masks, monkeypatch),
                           min_crossing_pixels=None).separate(data.image)


class StubSegmenter(TruthSegmenter):
    """Stand-in whose overlap runs on along one arm of chromosome B for ``reach`` segmenter
    pixels: chromosome A ({1, 3}) gets a stub there, a third arm, as real segmenters' wide
    overlaps give it."""

    reach = 8

    def _labels(self, crop):
        labels = super()._labels(crop)
        overlap = labels == 3
        if overlap.any():
            near = (labels == 2) & (ndimage.distance_transform_edt(~overlap) <= self.reach)
            parts, n = ndimage.label(near)
            if n:
                labels[parts == np.bincount(parts.ravel())[1:].argmax() + 1] = 3
        return labels


def test_a_chromosome_split_from_a_cluster_may_keep_a_stub(monkeypatch):
    data = make_metaphase(8, n_overlaps=1, **SMALL)
    params = {"min_crossing_pixels": None, "split_views": 1}
    strict = MetaphaseSeparator(StubSegmenter(data.masks, monkeypatch), split_max_arms=2,
                                **params).separate(data.image)
    assert sorted(strict.source) == ["cluster"] + ["single"] * 6 + ["unresolved"]
    result = MetaphaseSeparator(StubSegmenter(data.masks, monkeypatch),
                                **params).separate(data.image)
    assert sorted(result.source) == ["cluster"] * 2 + ["single"] * 6
    scores = instance_scores(data.masks, result.masks, crossed=data.crossed)
    assert scores["count_error"] == 0 and scores["crossed_pairs_separated"] == 1.0


class LCutSegmenter(TruthSegmenter):
    """Stand-in that cuts the crossing into two L's (one arm of A with one arm of B, each
    with the overlap) in the views of ``l_views``, and splits it truly in the others; its
    ``predict_proba`` is ``sure[0]`` in the L views and ``sure[1]`` in the others."""

    def __init__(self, masks, monkeypatch, l_views, sure):
        super().__init__(masks, monkeypatch)
        self.l_views, self.sure = l_views, sure

    def _view_labels(self, view):
        k, crop = self._view_of(view)
        labels = self._labels(crop)
        if k in self.l_views:
            overlap = labels == 3
            arms = [_two_largest(labels == c) for c in (1, 2)]
            labels = np.zeros_like(labels)
            labels[arms[0][0] | arms[1][0] | overlap] |= 1
            labels[arms[0][1] | arms[1][1] | overlap] |= 2
        return dihedral(torch.from_numpy(labels), k).numpy()

    def predict_proba(self, X):
        sure = [self.sure[self._view_of(x)[0] not in self.l_views] for x in X]
        return np.stack([np.full((4, *x.shape), p, np.float32) for x, p in zip(X, sure)])


def _two_largest(mask):
    """The two largest connected parts of ``mask``."""
    parts, _ = ndimage.label(mask)
    largest = np.argsort(np.bincount(parts.ravel())[1:])[::-1][:2] + 1
    return [parts == k for k in largest]


def test_a_split_that_runs_straight_through_the_crossing_beats_two_ls(monkeypatch):
    data = make_metaphase(8, n_overlaps=1, **SMALL)
    truthful = MetaphaseSeparator(TruthSegmenter(data.masks, monkeypatch),
                                  min_crossing_pixels=None).separate(data.image)

    def separated(sure, **params):
        stand_in = LCutSegmenter(data.masks, monkeypatch, l_views={0, 2, 5, 7}, sure=sure)
        result = MetaphaseSeparator(stand_in, min_crossing_pixels=None,
                                    **params).separate(data.image)
        assert (result.source == "cluster").sum() == 2  # L's pass as chromosomes too
        scores = instance_scores(data.masks, result.masks, crossed=data.crossed)
        return scores["crossed_pairs_separated"], np.array_equal(result.masks, truthful.masks)

    # confidence alone: the L's, which the segmenter is surer of (0.9 against 0.85)
    assert separated((0.9, 0.85), split_max_bend=None) == (0.0, False)
    # their bend beyond 60 degrees costs them more than the 0.05
    assert separated((0.9, 0.85)) == (1.0, True)
    # a bend is not refused: the L's of a segmenter far surer of them still win
    assert separated((0.99, 0.6)) == (0.0, False)


def _assert_pair_split_only_by(pair, rule, monkeypatch):
    """Four single rods (60 x 12) and ``pair``, two masks of shape (160, 200) that pass the
    other shape tests as one chromosome: with ``rule`` set to None the pair is one single;
    with its default, a cluster that the segmenter splits into its two chromosomes."""
    from tests.test_metaphase_steps import _rod

    rods = [_rod((160, 200), (5, 120 + 16 * k), (64, 131 + 16 * k)) for k in range(4)]
    masks = np.array(rods + list(pair))
    image = 600.0 * masks.sum(axis=0)  # grey summed where two chromosomes overlap
    params = {"background_radius": None, "min_crossing_pixels": None}
    without = MetaphaseSeparator(TruthSegmenter(masks, monkeypatch), **{rule: None}, **params)
    assert sorted(without.separate(image).source) == ["single"] * 5
    result = MetaphaseSeparator(TruthSegmenter(masks, monkeypatch), **params).separate(image)
    assert sorted(result.source) == ["cluster"] * 2 + ["single"] * 4
    scores = instance_scores(masks, result.masks, crossed=np.array([[4, 5]]))
    assert scores["count_error"] == 0 and scores["crossed_pairs_separated"] == 1.0


def test_two_chromosomes_meeting_at_a_corner_are_split(monkeypatch):
    from tests.test_metaphase_steps import _vee

    pair = _vee((160, 200), 120, start=(130, 20))  # end to end, turned
    _assert_pair_split_only_by(pair, "max_turn", monkeypatch)


def test_two_chromosomes_side_by_side_are_split(monkeypatch):
    from tests.test_metaphase_steps import _rod

    shape = (160, 200)
    pair = [_rod(shape, (80, 20), (139, 31)), _rod(shape, (80, 32), (139, 43))]  # touching
    _assert_pair_split_only_by(pair, "max_width_ratio", monkeypatch)


def test_a_real_tiny_segmenter_runs_end_to_end():
    pairs = make_overlapping_chromosomes(24, random_state=0)
    seg = ChromosomeSegmenter(max_epochs=1, batch_size=8, module__base_channels=4,
                              module__depth=2, train_split=None, random_state=0)
    seg.fit(pairs.images, pairs.labels)
    data = make_metaphase(6, n_overlaps=1, **SMALL)
    separator = MetaphaseSeparator(seg)
    result = separator.separate(data.image)
    k = len(result.masks)
    assert k >= 5 and len(result.source) == len(result.area) == len(result.length) == k
    assert set(result.source) <= {"single", "cluster", "unresolved"}
    # the grey scale was matched to the training images (gain 8 of the generated metaphase)
    assert 0.05 < result.grey_factor < 0.5
    # every foreground pixel is in some mask
    assert (result.masks.any(axis=0) == (result.components > 0)).mean() > 0.99


def test_a_blank_image_has_no_chromosomes():
    result = MetaphaseSeparator().separate(np.full((64, 64), 250.0))
    assert result.masks.shape == (0, 64, 64) and len(result.source) == len(result.area) == 0


def test_predict_clone_and_parameter_errors():
    images = [make_metaphase(3, n_overlaps=0, shape=(200, 200), random_state=s).image
              for s in (1, 2)]
    separator = MetaphaseSeparator(min_area=40)
    results = separator.predict(images)
    assert [len(r.masks) for r in results] == [3, 3]
    assert clone(separator).get_params()["min_area"] == 40
    with pytest.raises(ValueError, match="pixel_scale must be a positive number.*min_area"):
        MetaphaseSeparator(pixel_scale=0, min_area=-1).separate(images[0])
    with pytest.raises(ValueError, match="arm_width_ratio must be a positive number"):
        MetaphaseSeparator(arm_width_ratio=0).separate(images[0])
    with pytest.raises(ValueError, match="min_crossing_pixels must be a positive integer"):
        MetaphaseSeparator(min_crossing_pixels=2.5).separate(images[0])
    with pytest.raises(ValueError, match="split_views must be at most 8"):
        MetaphaseSeparator(split_views=9).fit()
    with pytest.raises(ValueError, match="split_views must be a positive integer"):
        MetaphaseSeparator(split_views=0).fit()
    with pytest.raises(ValueError, match="split_max_arms must be a positive integer"):
        MetaphaseSeparator(split_max_arms=2.5).fit()
    for name in ("split_max_bend", "max_turn"):
        for degrees in (-1, 181, "60", True):
            with pytest.raises(ValueError, match=f"{name} must be None or a number of "
                                                 "degrees from 0 to 180"):
                MetaphaseSeparator(**{name: degrees}).fit()
    for ratio in (0.5, "2", True):
        with pytest.raises(ValueError, match="max_width_ratio must be None or a number >= 1"):
            MetaphaseSeparator(max_width_ratio=ratio).fit()
    with pytest.raises(ValueError, match="segmenter must have a predict method"):
        MetaphaseSeparator(segmenter="unet").fit()


@pytest.fixture(scope="module")
def dapi():
    from tests.conftest import REAL_DATA_DIR

    path = REAL_DATA_DIR / "DAPI.tif"
    if not path.is_file():
        pytest.skip(f"real data not found at {path}")
    import tifffile

    return tifffile.imread(path)


@pytest.mark.realdata
def test_dapi_without_a_segmenter_finds_about_46(dapi):
    result = MetaphaseSeparator().separate(dapi)
    # 45 components measured (benchmarks/metaphase.py): 41 single, 4 clusters
    assert 42 <= len(result.masks) <= 48
    assert (result.source == "single").sum() >= 38


@pytest.mark.realdata
def test_a_synthetic_metaphase_from_the_real_chromosomes(dapi):
    from chromoskl.datasets import chromosomes_from_metaphase

    chromosomes = chromosomes_from_metaphase(dapi)
    assert len(chromosomes) >= 38
    data = make_metaphase(10, n_overlaps=2, shape=(500, 500), chromosomes=chromosomes,
                          random_state=0)
    assert data.masks.shape == (10, 500, 500) and data.crossed.shape == (2, 2)
    a, b = data.crossed[0]
    assert (data.masks[a] & data.masks[b]).any()
    # the real chromosomes keep their top-hat grey values (gain 1) over the background
    assert np.median(data.image[data.masks.any(axis=0)]) > np.median(data.image) + 300
