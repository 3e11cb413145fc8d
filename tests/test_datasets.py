"""Tests of chromoskl.datasets: the h5 loader, the synthetic generator, the pair builder."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from chromoskl import datasets
from chromoskl.datasets import (
    load_overlapping_chromosomes,
    make_overlapping_chromosomes,
    make_overlapping_pairs,
)

from .conftest import REAL_DATA_DIR

DAPI = REAL_DATA_DIR / "DAPI.tif"

# ----------------------------------------------------------------------------------------------
# Tiny h5 files in both layouts
# ----------------------------------------------------------------------------------------------

GREY = np.array(
    [
        [[0, 5, -3], [60, 120, 7]],
        [[1, 2, 3], [4, 5, 6]],
        [[-15, 402, 0], [9, 8, 7]],
    ]
)
RAW = np.array(
    [
        [[0, 1, 4], [2, 3, 0]],
        [[4, 4, 1], [1, 2, 3]],
        [[0, 0, 0], [3, 3, 2]],
    ]
)
RAW_MAPPED = np.where(RAW == 4, 0, RAW)  # the loader turns spurious 4s into background
CLEANED = np.array(
    [
        [[0, 1, 1], [2, 3, 3]],
        [[0, 0, 1], [1, 1, 3]],
        [[2, 2, 0], [3, 3, 2]],
    ],
    dtype=np.uint8,
)
PARAMS = {
    "pair_index": np.array([7, 7, 3], dtype=np.int16),
    "chrom_a": np.array([0, 0, 1], dtype=np.int16),
    "chrom_b": np.array([5, 5, 2], dtype=np.int16),
    "angle_a_deg": np.array([0, 40, 80], dtype=np.int16),
    "angle_b_deg": np.array([120, 160, 0], dtype=np.int16),
    "shift_u": np.array([0.25, 0.5, 0.75], dtype=np.float32),
    "shift_v": np.array([0.75, 0.5, 0.25], dtype=np.float32),
    "orig_index": np.array([-1, 12, -1], dtype=np.int32),
}


def _write_h5(path, dtype=np.int64, cleaned=False, params=False, chunks=None):
    """Write Pommier's layout: dataset_1 (3, 2, 3, 2); optionally the regenerated extras."""
    with h5py.File(path, "w") as file:
        file.create_dataset(
            "dataset_1", data=np.stack([GREY, RAW], axis=-1).astype(dtype), chunks=chunks
        )
        if cleaned:
            file.create_dataset("labels_cleaned", data=CLEANED)
        if params:
            for name, values in PARAMS.items():
                file.create_dataset(name, data=values)
    return path


@pytest.mark.parametrize("dtype", [np.int64, np.int16, np.int32, np.uint16])
def test_load_original_layout_any_integer_dtype(tmp_path, dtype):
    grey = GREY if np.issubdtype(dtype, np.signedinteger) else np.abs(GREY)
    path = tmp_path / "orig.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("dataset_1", data=np.stack([grey, RAW], axis=-1).astype(dtype))
    data = load_overlapping_chromosomes(path)
    assert data.images.dtype == np.float32 and data.labels.dtype == np.uint8
    assert_array_equal(data.images, grey.astype(np.float32))
    assert_array_equal(data.labels, RAW_MAPPED)  # no cleaned labels: raw, with 4 -> 0
    assert data.groups is None
    assert not set(datasets._pommier.GENERATION_PARAMS) & set(data)
    assert "original layout" in data.DESCR
    assert "3 spurious pixels" in data.DESCR and "no cleaned variant" in data.DESCR


def test_load_prefers_cleaned_labels(tmp_path):
    path = _write_h5(tmp_path / "regen.h5", dtype=np.int16, cleaned=True)
    data = load_overlapping_chromosomes(path)
    assert_array_equal(data.labels, CLEANED)
    assert_array_equal(data.images, GREY)
    assert "labels_cleaned" in data.DESCR and "regenerated layout" in data.DESCR
    raw = load_overlapping_chromosomes(path, labels="raw")
    assert_array_equal(raw.labels, RAW_MAPPED)
    assert "raw labels" in raw.DESCR


def test_load_groups_and_generation_parameters(tmp_path):
    path = _write_h5(tmp_path / "regen.h5", dtype=np.int16, cleaned=True, params=True)
    data = load_overlapping_chromosomes(path)
    assert data.groups.dtype == np.int64
    assert_array_equal(data.groups, [7, 7, 3])
    for name, values in PARAMS.items():
        assert_array_equal(data[name], values)
    assert data.DESCR.startswith("Overlapping chromosomes")


def test_load_params_without_cleaned_labels(tmp_path):
    path = _write_h5(tmp_path / "p.h5", params=True)
    data = load_overlapping_chromosomes(path)
    assert_array_equal(data.groups, [7, 7, 3])
    assert_array_equal(data.labels, RAW_MAPPED)


@pytest.mark.parametrize("max_samples, expected", [(1, 1), (2, 2), (3, 3), (50, 3)])
def test_load_max_samples(tmp_path, max_samples, expected):
    path = _write_h5(tmp_path / "regen.h5", cleaned=True, params=True, chunks=(1, 2, 3, 2))
    data = load_overlapping_chromosomes(path, max_samples=max_samples)
    assert data.images.shape == (expected, 2, 3)
    assert_array_equal(data.images, GREY[:expected])
    assert_array_equal(data.labels, CLEANED[:expected])
    assert_array_equal(data.shift_u, PARAMS["shift_u"][:expected])
    assert_array_equal(data.groups, PARAMS["pair_index"][:expected])


@pytest.mark.parametrize("labels, expected_labels", [("cleaned", CLEANED), ("raw", RAW_MAPPED)])
@pytest.mark.parametrize("indices", [[2, 0], [1], [2, 2, -3], np.array([0, 1, 2])])
def test_load_indices_in_the_order_asked(tmp_path, monkeypatch, indices, labels,
                                         expected_labels):
    monkeypatch.setattr(datasets._pommier, "READ_BLOCK", 2)
    path = _write_h5(tmp_path / "regen.h5", cleaned=True, params=True)
    data = load_overlapping_chromosomes(path, labels=labels, indices=indices)
    wanted = np.asarray(indices) % 3
    assert_array_equal(data.images, GREY[wanted])
    assert_array_equal(data.labels, expected_labels[wanted])
    assert_array_equal(data.groups, PARAMS["pair_index"][wanted])
    assert_array_equal(data.angle_a_deg, PARAMS["angle_a_deg"][wanted])


@pytest.mark.parametrize("max_samples", [None, 2])
def test_load_shuffled_subset_is_a_seeded_draw(tmp_path, max_samples):
    path = _write_h5(tmp_path / "regen.h5", cleaned=True, params=True)
    data = load_overlapping_chromosomes(path, max_samples=max_samples, shuffle=True,
                                        random_state=3)
    expected = np.random.RandomState(3).permutation(3)[:max_samples]
    assert not np.array_equal(expected, np.arange(len(expected)))  # a real reordering
    assert_array_equal(data.images, GREY[expected])
    assert_array_equal(data.labels, CLEANED[expected])
    assert_array_equal(data.groups, PARAMS["pair_index"][expected])
    again = load_overlapping_chromosomes(path, max_samples=max_samples, shuffle=True,
                                         random_state=3)
    assert_array_equal(again.images, data.images)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"indices": [3]}, r"0\.\.2"),
        ({"indices": [-4]}, r"0\.\.2"),
        ({"indices": []}, "non-empty"),
        ({"indices": [0.5]}, "integer"),
        ({"indices": [0], "max_samples": 1}, "not both"),
        ({"indices": [0], "shuffle": True}, "not both"),
    ],
)
def test_load_bad_indices(tmp_path, kwargs, match):
    path = _write_h5(tmp_path / "regen.h5")
    with pytest.raises(ValueError, match=match):
        load_overlapping_chromosomes(path, **kwargs)


def test_load_reads_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets._pommier, "READ_BLOCK", 2)  # 3 images: blocks [0, 2) and [2, 3)
    raw = load_overlapping_chromosomes(_write_h5(tmp_path / "a.h5"), labels="raw")
    assert_array_equal(raw.labels, RAW_MAPPED)
    assert_array_equal(raw.images, GREY)
    assert "3 spurious pixels" in raw.DESCR
    clean = load_overlapping_chromosomes(_write_h5(tmp_path / "b.h5", cleaned=True))
    assert_array_equal(clean.labels, CLEANED)


def test_load_missing_file(tmp_path):
    path = tmp_path / "nowhere.h5"
    with pytest.raises(FileNotFoundError, match="jeanpat/overlapping-chromosomes") as info:
        load_overlapping_chromosomes(path)
    assert str(path) in str(info.value) and "DeepFISH" in str(info.value)


def test_load_not_hdf5(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("these are not the chromosomes you are looking for\n" * 20)
    with pytest.raises(ValueError, match="not an HDF5 file"):
        load_overlapping_chromosomes(path)


def test_load_truncated_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "full.h5"
    with h5py.File(path, "w") as file:
        data = np.stack([rng.integers(0, 255, (64, 94, 93)), rng.integers(0, 4, (64, 94, 93))], -1)
        file.create_dataset("dataset_1", data=data, chunks=(8, 94, 93, 2))
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_overlapping_chromosomes(truncated)


def test_load_without_dataset_1(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("images", data=np.zeros((2, 4, 4)))
        file.create_dataset("masks", data=np.zeros((2, 4, 4)))
    with pytest.raises(
        ValueError, match=r"no dataset 'dataset_1' \(found: \['images', 'masks'\]\)"
    ):
        load_overlapping_chromosomes(path)


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((3, 94, 93), np.int64), r"shape \(3, 94, 93\); expected \(n, H, W, 2\)"),
        (np.zeros((3, 94, 93, 3), np.int64), r"shape \(3, 94, 93, 3\); expected \(n, H, W, 2\)"),
        (np.zeros((0, 94, 93, 2), np.int64), r"shape \(0, 94, 93, 2\)"),
        (np.zeros((3, 94, 93, 2), np.float64), "dtype float64; expected an integer dtype"),
    ],
)
def test_load_wrong_shape_or_dtype(tmp_path, array, match):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("dataset_1", data=array)
    with pytest.raises(ValueError, match=match):
        load_overlapping_chromosomes(path)


def test_load_wrong_label_values(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("dataset_1", data=np.stack([GREY, RAW + 3], axis=-1))
    with pytest.raises(ValueError, match=r"values 3\.\.7; expected 0\.\.4"):
        load_overlapping_chromosomes(path)


def test_load_wrong_cleaned_labels(tmp_path):
    path = _write_h5(tmp_path / "bad.h5")
    with h5py.File(path, "a") as file:
        file.create_dataset("labels_cleaned", data=np.zeros((3, 2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"'labels_cleaned'.*expected \(3, 2, 3\)"):
        load_overlapping_chromosomes(path)
    assert_array_equal(load_overlapping_chromosomes(path, labels="raw").labels, RAW_MAPPED)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"labels": "clean"}, ValueError, "labels must be 'cleaned' or 'raw'"),
        ({"max_samples": 0}, ValueError, "max_samples must be at least 1"),
        ({"max_samples": 2.5}, TypeError, "max_samples must be an integer"),
        ({"max_samples": True}, TypeError, "max_samples must be an integer"),
    ],
)
def test_load_bad_arguments(tmp_path, kwargs, error, match):
    path = _write_h5(tmp_path / "ok.h5")
    with pytest.raises(error, match=match):
        load_overlapping_chromosomes(path, **kwargs)


# ----------------------------------------------------------------------------------------------
# The real file (skipped where ../shared/data is absent)
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_full(real_h5):
    return load_overlapping_chromosomes(real_h5)


@pytest.mark.realdata
def test_real_file_matches_design(real_full):
    data = real_full
    assert data.images.shape == data.labels.shape == (13434, 94, 93)
    fractions = np.bincount(data.labels.ravel(), minlength=4) / data.labels.size
    np.testing.assert_allclose(fractions, [0.907, 0.024, 0.055, 0.014], atol=0.001)
    assert np.unique(data.groups).size == 66
    assert data.images.mean(dtype=np.float64) == pytest.approx(5.8991370728, rel=1e-9)
    assert (data.images.min(), data.images.max()) == (-15, 402)
    assert (data.orig_index >= 0).sum() == 2432
    assert "regenerated layout" in data.DESCR


@pytest.mark.realdata
def test_real_file_raw_labels_and_max_samples(real_h5, real_full):
    raw = load_overlapping_chromosomes(real_h5, labels="raw", max_samples=500)
    assert raw.images.shape == (500, 94, 93)
    assert_array_equal(raw.images, real_full.images[:500])
    assert_array_equal(raw.groups, real_full.groups[:500])
    assert raw.labels.max() == 3  # the spurious 4s became background
    assert 0 < (raw.labels != real_full.labels[:500]).mean() < 0.02


# ----------------------------------------------------------------------------------------------
# make_overlapping_chromosomes
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic():
    return make_overlapping_chromosomes(200, random_state=0)


def test_make_shapes_and_dtypes(synthetic):
    assert synthetic.images.shape == synthetic.labels.shape == (200, 94, 93)
    assert synthetic.images.dtype == np.float32 and synthetic.labels.dtype == np.uint8
    assert synthetic.groups.shape == (200,) and synthetic.groups.dtype == np.int64
    assert set(np.unique(synthetic.labels)) == {0, 1, 2, 3}
    assert "66 pairs of 12" in synthetic.DESCR


def test_make_is_seeded():
    first = make_overlapping_chromosomes(12, random_state=3)
    again = make_overlapping_chromosomes(12, random_state=np.random.RandomState(3))
    other = make_overlapping_chromosomes(12, random_state=4)
    for key in ("images", "labels", "groups"):
        assert_array_equal(first[key], again[key])
    assert not np.array_equal(first.labels, other.labels)
    assert not np.array_equal(first.images, other.images)


def test_make_every_sample_has_all_classes(synthetic):
    counts = np.stack([np.bincount(lab.ravel(), minlength=4) for lab in synthetic.labels])
    assert (counts[:, 1:] >= datasets._synthetic.MIN_CLASS_PIXELS).all()


def test_make_label_1_is_the_smaller_chromosome(synthetic):
    area_a = np.isin(synthetic.labels, (1, 3)).sum(axis=(1, 2))
    area_b = np.isin(synthetic.labels, (2, 3)).sum(axis=(1, 2))
    assert (area_a <= area_b).all()
    assert np.median(area_b / area_a) > 1.3  # the two sizes differ, as a network must see


def test_make_overlap_is_brighter(synthetic):
    x, y = synthetic.images, synthetic.labels
    per_sample = [
        (img[lab == 3].mean(), img[(lab == 1) | (lab == 2)].mean()) for img, lab in zip(x, y)
    ]
    overlap, single = np.array(per_sample).T
    assert (overlap > single).mean() > 0.95
    assert x[y == 3].mean() > 1.6 * x[(y == 1) | (y == 2)].mean()
    assert 60 < x[(y == 1) | (y == 2)].mean() < 200 and x.max() < 500


def test_make_background_like_the_real_data(synthetic):
    x, y = synthetic.images, synthetic.labels
    assert 0.85 < (y == 0).mean() < 0.95
    background = x[y == 0]
    assert abs(background.mean()) < 0.05 and 0.9 < background.std() < 1.1
    assert background.min() < 0


@pytest.mark.parametrize("n_samples, n_groups", [(200, 66), (10, 10)])
def test_make_groups_are_pairs(n_samples, n_groups):
    data = make_overlapping_chromosomes(n_samples, random_state=0)
    counts = np.bincount(data.groups)
    assert counts.size == n_groups and counts.min() >= 1
    assert counts.max() - counts.min() <= 1  # pairs used in turn


def test_make_other_shape_and_pool():
    data = make_overlapping_chromosomes(6, shape=(40, 64), n_chromosomes=2, random_state=1)
    assert data.images.shape == (6, 40, 64)
    assert_array_equal(data.groups, np.zeros(6))
    assert all(set(np.unique(lab)) == {0, 1, 2, 3} for lab in data.labels)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_samples": 0}, ValueError, "n_samples must be at least 1"),
        ({"n_samples": 3.0}, TypeError, "n_samples must be an integer"),
        ({"n_chromosomes": 1}, ValueError, "n_chromosomes must be at least 2"),
        ({"shape": (23, 94)}, ValueError, r"shape\[0\] must be at least 24"),
        ({"shape": 94}, ValueError, r"shape must be a pair"),
        ({"shape": (94, 93, 1)}, ValueError, r"shape must be a pair"),
    ],
)
def test_make_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_overlapping_chromosomes(**{"n_samples": 2, **kwargs})


# ----------------------------------------------------------------------------------------------
# make_overlapping_pairs
# ----------------------------------------------------------------------------------------------


def _two_squares():
    """A 2x2 chromosome (label 5, grey 1) and a 3x3 one (label 9, grey 2) far apart."""
    image = np.zeros((12, 12))
    mask = np.zeros((12, 12), dtype=np.int32)
    mask[1:3, 1:3], image[1:3, 1:3] = 5, 1.0
    mask[6:9, 7:10], image[6:9, 7:10] = 9, 2.0
    return image, mask


def test_pairs_hand_computed_case():
    # one angle, one shift (u = v = 0.5): the 2x2 slides int(0.5 * 5) - 2 = 0 rows and
    # columns from the 3x3's corner, so the two share their top-left corner; the 3x3 union
    # is centred on a 5x5 canvas at (1, 1).
    data = make_overlapping_pairs(*_two_squares(), shape=(5, 5), angles=[0], shifts=1)
    expected_labels = np.zeros((5, 5), np.uint8)
    expected_labels[1:4, 1:4] = 2
    expected_labels[1:3, 1:3] = 3
    expected_image = np.where(expected_labels == 3, 3.0, np.where(expected_labels, 2.0, 0.0))
    assert_array_equal(data.labels, [expected_labels])
    assert_array_equal(data.images, [expected_image])
    assert data.images.dtype == np.float32
    assert_array_equal(data.groups, [0])
    assert_array_equal(data.pair, [[5, 9]])  # the smaller one is chromosome A


def test_pairs_counts_and_drops():
    image, mask = _two_squares()
    # shifts=3: the 2x2 starts int(u * 5) - 2 = -1, 0, 1 rows (columns) from the 3x3's
    # corner, sharing 1, 2, 2 rows (columns) with it; squares are the same after 0 and 90
    # degrees, so 2 x 2 angles x 9 shifts = 36 images
    data = make_overlapping_pairs(image, mask, shape=(8, 8), angles=[0, 90], shifts=3)
    assert data.images.shape == (36, 8, 8)
    per_shift = np.outer([1, 2, 2], [1, 2, 2]).ravel().tolist()
    assert (data.labels == 3).sum(axis=(1, 2)).tolist() == per_shift * 4
    assert_array_equal(data.images[data.labels == 3], 3.0)
    assert_array_equal(data.images[data.labels == 2], 2.0)
    assert_array_equal(data.images[data.labels == 1], 1.0)
    # on a 3x3 canvas only the shifts that keep the 2x2 inside the 3x3 (0 or 1 each way) fit
    small = make_overlapping_pairs(image, mask, shape=(3, 3), angles=[0], shifts=3)
    assert (small.labels == 3).sum(axis=(1, 2)).tolist() == [4, 4, 4, 4]
    assert "5 combinations did not fit" in small.DESCR
    with pytest.raises(ValueError, match="No overlapping pair fits in a 2x2 canvas"):
        make_overlapping_pairs(image, mask, shape=(2, 2), angles=[0], shifts=3)


def _rods(n_rods=4):
    """A metaphase of ``n_rods`` bright bars of distinct sizes and textures."""
    rng = np.random.default_rng(0)
    image = rng.normal(0, 1, (80, 80))
    mask = np.zeros((80, 80), dtype=np.int64)
    for k in range(n_rods):
        top, left, height, width = 4 + 19 * k, 5 + 9 * k, 6 + k, 14 + 5 * k
        mask[top : top + height, left : left + width] = k + 1
        image[top : top + height, left : left + width] = rng.uniform(40, 120, (height, width))
    return image, mask


def test_pairs_overlap_is_the_sum_and_smaller_is_a():
    image, mask = _rods()
    data = make_overlapping_pairs(image, mask, shape=(64, 64), angles=[0, 90], shifts=3)
    assert np.unique(data.groups).tolist() == list(range(6))
    assert ((data.labels == 3).sum(axis=(1, 2)) > 0).all()
    patches = {k: (np.where(mask == k, image, 0), mask == k) for k in range(1, 5)}
    for img, lab, (id_a, id_b) in zip(data.images, data.labels, data.pair):
        placed = [
            _place(img.shape, lab, classes, *patches[k])
            for classes, k in (((1, 3), id_a), ((2, 3), id_b))
        ]
        expected = np.zeros(img.shape, np.float32)
        expected += placed[0]
        expected += placed[1]
        assert_array_equal(img, expected)  # class 3 holds the sum of the two chromosomes
        assert np.isin(lab, (1, 3)).sum() <= np.isin(lab, (2, 3)).sum()


def _place(shape, labels, classes, grey, mask):
    """Put ``grey`` (rotated by the multiple of 90 degrees that fits) where ``classes`` are."""
    whole = np.isin(labels, classes)
    rows, cols = np.flatnonzero(whole.any(1)), np.flatnonzero(whole.any(0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    rr, cc = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    grey = grey[rr[0] : rr[-1] + 1, cc[0] : cc[-1] + 1].astype(np.float32)
    mask = mask[rr[0] : rr[-1] + 1, cc[0] : cc[-1] + 1]
    for k in range(4):
        if np.array_equal(np.rot90(mask, k), whole[box]):
            out = np.zeros(shape, np.float32)
            out[box] = np.rot90(grey, k)
            return out
    raise AssertionError("no rotation of the chromosome matches its label")


def test_pairs_any_angles_and_max_pairs():
    image, mask = _rods()
    data = make_overlapping_pairs(
        image, mask, shape=(64, 64), angles=3, shifts=2, max_pairs=2, random_state=0
    )
    again = make_overlapping_pairs(
        image, mask, shape=(64, 64), angles=3, shifts=2, max_pairs=2, random_state=0
    )
    assert_array_equal(data.images, again.images)
    assert set(data.groups) == {0, 1} and "[0.0, 60.0, 120.0]" in data.DESCR
    assert len({tuple(sorted(p)) for p in data.pair}) == 2
    assert set(np.unique(data.labels)) == {0, 1, 2, 3}
    assert np.isfinite(data.images).all()
    x, y = data.images, data.labels
    assert x[y == 3].mean() > 1.5 * x[(y == 1) | (y == 2)].mean()


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"image": np.zeros((2, 12, 12))}, ValueError, "image must be a non-empty 2-D array"),
        ({"image": np.full((12, 12), np.nan)}, ValueError, "NaN or infinite"),
        ({"mask": np.zeros((12, 11), int)}, ValueError, "mask has shape"),
        ({"mask": np.ones((12, 12))}, TypeError, "mask must be an integer label image"),
        ({"mask": -np.ones((12, 12), int)}, ValueError, "negative labels"),
        ({"mask": np.ones((12, 12), int)}, ValueError, "at least 2 are needed"),
        ({"angles": []}, ValueError, "angles must be a positive int"),
        ({"angles": 0}, ValueError, "angles must be at least 1"),
        ({"shifts": 0}, ValueError, "shifts must be at least 1"),
        ({"max_pairs": 0}, ValueError, "max_pairs must be at least 1"),
        ({"shape": (0, 5)}, ValueError, r"shape\[0\] must be at least 1"),
    ],
)
def test_pairs_bad_arguments(change, error, match):
    image, mask = _two_squares()
    kwargs = {"image": image, "mask": mask, **change}
    with pytest.raises(error, match=match):
        make_overlapping_pairs(kwargs.pop("image"), kwargs.pop("mask"), **kwargs)


@pytest.fixture(scope="module")
def dapi_chromosomes():
    """Four small chromosomes of Pommier's DAPI metaphase, down-sampled by 2 as he did."""
    if not DAPI.is_file():
        pytest.skip(f"real data not found at {DAPI}")
    from skimage import filters, io, measure, segmentation

    image = io.imread(DAPI)[::2, ::2].astype(np.float64)
    image = np.clip(image - np.median(image), 0, None) / 16.0  # 12 to 8 bits, as Pommier
    labelled = measure.label(segmentation.clear_border(image > filters.threshold_otsu(image)))
    areas = np.bincount(labelled.ravel())
    keep = [k for k in np.argsort(areas) if 100 <= areas[k] and k != 0][:4]
    mask = np.zeros_like(labelled)
    for new, old in enumerate(keep, start=1):
        mask[labelled == old] = new
    return image, mask


@pytest.mark.realdata
def test_pairs_on_real_dapi_exact(dapi_chromosomes):
    image, mask = dapi_chromosomes
    data = make_overlapping_pairs(image, mask, angles=[0, 90], shifts=3)
    assert data.images.shape[1:] == (94, 93) and np.unique(data.groups).size == 6
    assert ((data.labels == 3).sum(axis=(1, 2)) > 0).all()
    patches = {k: (np.where(mask == k, image, 0), mask == k) for k in range(1, 5)}
    for img, lab, (id_a, id_b) in zip(data.images, data.labels, data.pair):
        expected = np.zeros(img.shape, np.float32)
        expected += _place(img.shape, lab, (1, 3), *patches[id_a])
        expected += _place(img.shape, lab, (2, 3), *patches[id_b])
        assert_array_equal(img, expected)


@pytest.mark.realdata
def test_pairs_on_real_dapi_rotated(dapi_chromosomes):
    image, mask = dapi_chromosomes
    data = make_overlapping_pairs(image, mask, angles=3, shifts=3)
    x, y = data.images, data.labels
    assert len(x) > 100 and set(np.unique(y)) == {0, 1, 2, 3}
    assert (np.isin(y, (1, 3)).sum(axis=(1, 2)) <= np.isin(y, (2, 3)).sum(axis=(1, 2))).all()
    assert (x[y == 0] == 0).all()
    assert x[y == 3].mean() > 1.5 * x[(y == 1) | (y == 2)].mean()
