"""Tests of the joint image/label Augmenter.

Images are built so that their grey value encodes the label (``X = 10 * y + 5``): after any
geometric transform the pair is aligned exactly when ``X_aug == 10 * y_aug + 5`` still holds.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from scipy.ndimage import affine_transform, gaussian_filter
from skimage.transform import rotate as sk_rotate
from sklearn.base import BaseEstimator, clone

import chromoskl.augmentation as augmentation
from chromoskl.augmentation import Augmenter

GEOMETRY_OFF = {"hflip": 0.0, "vflip": 0.0, "rot90": 0.0}
EVERYTHING_ON = {
    "rotate": 0.5,
    "scale": 0.5,
    "translate": 0.5,
    "brightness": 0.5,
    "contrast": 0.5,
    "blur": 0.5,
    "noise": 0.5,
}


def blocks(n=6, h=30, w=36, labels=(1, 2, 3)):
    """Label maps of rectangles (same on every sample) well inside a frame of h x w."""
    y = np.zeros((n, h, w), np.int64)
    a, b, o = labels
    y[:, 5:15, 8:20] = a
    y[:, 12:24, 15:29] = b
    y[:, 12:15, 15:20] = o
    return y


def encode(y, channels=1):
    """Images whose grey value is 10 * label + 5, as a float32 tensor (n, C, H, W)."""
    X = (10.0 * y + 5.0).astype(np.float32)
    return torch.tensor(np.repeat(X[:, None], channels, axis=1))


def run(aug, y, channels=1):
    X_aug, y_aug = aug.augment_batch(encode(y, channels), torch.tensor(y))
    return X_aug.numpy(), y_aug.numpy()


def uniform_interior(y):
    """Pixels of each map whose 3x3 neighbourhood holds one label (frame border excluded)."""
    centre = y[:, 1:-1, 1:-1]
    same = np.ones_like(centre, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            same &= y[:, 1 + di : y.shape[1] - 1 + di, 1 + dj : y.shape[2] - 1 + dj] == centre
    mask = np.zeros(y.shape, bool)
    mask[:, 1:-1, 1:-1] = same
    return mask


# exact moves: flips and quarter turns ------------------------------------------------------


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"hflip": 1.0}, lambda a: a[..., ::-1]),
        ({"vflip": 1.0}, lambda a: a[..., ::-1, :]),
        ({"hflip": 1.0, "vflip": 1.0}, lambda a: a[..., ::-1, ::-1]),
    ],
)
def test_flips_are_exact(params, expected):
    y = blocks()
    X_aug, y_aug = run(Augmenter(**{**GEOMETRY_OFF, **params}, random_state=0), y, channels=2)
    np.testing.assert_array_equal(y_aug, expected(y))
    np.testing.assert_array_equal(X_aug, expected(encode(y, 2).numpy()))


def test_rot90_square_is_a_quarter_turn_of_image_and_labels_together():
    y = blocks(n=12, h=32, w=32)
    X_aug, y_aug = run(Augmenter(**{**GEOMETRY_OFF, "rot90": 1.0}, random_state=0), y)
    turns = []
    for i in range(len(y)):
        k = [k for k in (1, 2, 3) if np.array_equal(y_aug[i], np.rot90(y[i], k))]
        assert len(k) == 1
        np.testing.assert_array_equal(X_aug[i, 0], np.rot90(10.0 * y[i] + 5.0, k[0]))
        turns.append(k[0])
    assert set(turns) == {1, 2, 3}


def test_rot90_non_square_turns_inside_the_frame():
    y = blocks(n=8, h=30, w=37)  # H - W odd: the centre is rounded to the pixel grid
    X_aug, y_aug = run(Augmenter(**{**GEOMETRY_OFF, "rot90": 1.0}, random_state=0), y)
    assert X_aug.shape == (8, 1, 30, 37)
    filled = X_aug[:, 0] == 0
    assert filled.any()  # quarter turns cut corners and fill new ones
    np.testing.assert_array_equal(X_aug[:, 0][~filled], 10.0 * y_aug[~filled] + 5.0)
    assert (y_aug[filled] == 0).all()
    # every label pixel is kept: the rectangles lie within the inscribed square
    kept = np.bincount(y_aug[~filled].ravel(), minlength=4)[1:]
    np.testing.assert_array_equal(kept, np.bincount(y.ravel(), minlength=4)[1:])


def test_flips_and_turns_are_drawn_per_sample():
    y = blocks(n=32, h=32, w=32)
    _, y_aug = run(Augmenter(hflip=0.5, vflip=0.0, rot90=0.0, random_state=0), y)
    flipped = [np.array_equal(y_aug[i], y[i, :, ::-1]) for i in range(32)]
    assert 4 < sum(flipped) < 28


# affine moves: rotation, zoom, translation -------------------------------------------------


def assert_aligned(X_aug, y_aug):
    """Wherever a chromosome label sits in a uniform 3x3 patch, the grey value matches it."""
    inside = uniform_interior(y_aug) & (y_aug > 0)
    assert inside.sum() > 100
    np.testing.assert_allclose(X_aug[:, 0][inside], 10.0 * y_aug[inside] + 5.0, atol=1e-3)


def test_rotation_by_fixed_angle_matches_skimage():
    y = blocks(n=2)
    aug = Augmenter(**GEOMETRY_OFF, rotate=1.0, rotate_range=(30.0, 30.0), random_state=0)
    X_aug, y_aug = run(aug, y)
    expected = sk_rotate(y[0].astype(float), 30, order=0, preserve_range=True).astype(int)
    assert (y_aug[0] == expected).mean() > 0.995
    assert_aligned(X_aug, y_aug)


@pytest.mark.parametrize("size", [(32, 32), (30, 36)])
def test_rotation_by_any_angle_keeps_alignment(size):
    y = blocks(n=8, h=size[0], w=size[1])
    X_aug, y_aug = run(Augmenter(**GEOMETRY_OFF, rotate=1.0, random_state=3), y)
    assert not np.array_equal(y_aug, y)
    assert_aligned(X_aug, y_aug)


def test_affine_quarter_turn_agrees_with_rot90_path():
    y = blocks(n=2, h=32, w=32)
    aug = Augmenter(**GEOMETRY_OFF, rotate=1.0, rotate_range=(90.0, 90.0), random_state=0)
    X_aug, y_aug = run(aug, y)
    np.testing.assert_array_equal(y_aug, np.rot90(y, 1, axes=(1, 2)))
    np.testing.assert_allclose(X_aug[:, 0], np.rot90(10.0 * y + 5.0, 1, axes=(1, 2)), atol=1e-4)


@pytest.mark.parametrize("factor", [0.8, 1.3])
def test_zoom_matches_scipy_about_the_centre(factor):
    y = blocks(n=2)
    aug = Augmenter(**GEOMETRY_OFF, scale=1.0, scale_range=(factor, factor), random_state=0)
    X_aug, y_aug = run(aug, y)
    centre = (np.array(y.shape[1:]) - 1) / 2
    offset = centre - centre / factor
    expected = affine_transform(y[0], np.full(2, 1 / factor), offset=offset, order=0)
    assert (y_aug[0] == expected).mean() > 0.995
    area = np.count_nonzero(y_aug[0]) / np.count_nonzero(y[0])
    assert area == pytest.approx(factor**2, rel=0.1)
    assert_aligned(X_aug, y_aug)


def test_translation_moves_a_rectangle_rigidly_by_a_fraction_of_each_side():
    y = np.zeros((24, 30, 60), np.int64)  # non-square: rows shift by <= 6, columns by <= 12
    y[:, 10:20, 20:38] = 2
    aug = Augmenter(**GEOMETRY_OFF, translate=1.0, translate_range=0.2, random_state=0)
    X_aug, y_aug = run(aug, y)
    shifts = []
    for i in range(len(y)):
        rows, cols = np.nonzero(y_aug[i])
        assert set(np.unique(y_aug[i])) == {0, 2}
        height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
        assert abs(height - 10) <= 1 and abs(width - 18) <= 1
        assert rows.size == height * width  # still a full rectangle
        shifts.append((rows.min() - 10, cols.min() - 20))
    shifts = np.array(shifts)
    assert np.abs(shifts[:, 0]).max() <= 0.2 * 30 + 1
    assert np.abs(shifts[:, 1]).max() <= 0.2 * 60 + 1
    assert np.abs(shifts[:, 1]).max() > 0.2 * 30 + 1  # columns use the width, not the height
    assert len({tuple(s) for s in shifts}) > 12
    assert_aligned(X_aug, y_aug)


@pytest.mark.parametrize("reach", [1, 3])
def test_whole_pixel_shifts_move_images_and_labels_exactly(reach):
    y = blocks(n=40)
    X = encode(y)
    aug = Augmenter(**GEOMETRY_OFF, shift=1.0, shift_pixels=reach, fill=-1.0, random_state=0)
    X_aug, y_aug = (t.numpy() for t in aug.augment_batch(X, torch.tensor(y)))
    h, w = y.shape[1:]
    seen = set()
    for i in range(len(y)):
        # the one offset (dy, dx) within reach that reproduces the sample, grey values exact
        matches = []
        for dy in range(-reach, reach + 1):
            for dx in range(-reach, reach + 1):
                moved = np.full((h, w), -1.0, np.float32)
                labels = np.zeros((h, w), y.dtype)
                rows = slice(max(dy, 0), h + min(dy, 0))
                cols = slice(max(dx, 0), w + min(dx, 0))
                source = (slice(max(-dy, 0), h + min(-dy, 0)),
                          slice(max(-dx, 0), w + min(-dx, 0)))
                moved[rows, cols] = X.numpy()[i, 0][source]
                labels[rows, cols] = y[i][source]
                if np.array_equal(X_aug[i, 0], moved) and np.array_equal(y_aug[i], labels):
                    matches.append((dy, dx))
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) >= 7  # offsets drawn per sample, over the whole square of them


def test_shift_probability_zero_or_reach_zero_leaves_the_batch_alone():
    y = blocks(n=8)
    for params in ({"shift": 0.0}, {"shift": 1.0, "shift_pixels": 0}):
        X_aug, y_aug = run(Augmenter(**GEOMETRY_OFF, **params, random_state=0), y)
        np.testing.assert_array_equal(y_aug, y)
        np.testing.assert_array_equal(X_aug, encode(y).numpy())


def test_outside_the_frame_gets_fill_and_background():
    y = np.full((1, 20, 20), 2, np.int64)
    aug = Augmenter(**GEOMETRY_OFF, scale=1.0, scale_range=(0.5, 0.5), fill=-7.0, random_state=0)
    X_aug, y_aug = run(aug, y)
    assert y_aug[0, 0, 0] == 0 and X_aug[0, 0, 0, 0] == pytest.approx(-7.0)
    assert y_aug[0, 10, 10] == 2 and X_aug[0, 0, 10, 10] == pytest.approx(25.0)


@pytest.mark.parametrize("present", [(0, 2), (0, 1, 3)])
def test_label_maps_gain_no_new_values(present):
    y = blocks(n=16, labels=(present[1], present[-1], present[1]))
    _, y_aug = run(Augmenter(**EVERYTHING_ON, random_state=0), y)
    assert set(np.unique(y_aug)) <= set(present)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64])
def test_dtypes_and_shapes_are_kept(dtype):
    y = torch.tensor(blocks(n=4)).to(dtype)
    X = encode(blocks(n=4), channels=3).double()
    X_aug, y_aug = Augmenter(**EVERYTHING_ON, random_state=0).augment_batch(X, y)
    assert X_aug.dtype == torch.float64 and X_aug.shape == X.shape
    assert y_aug.dtype == dtype and y_aug.shape == y.shape


# intensity -------------------------------------------------------------------------------


def test_brightness_adds_a_constant_relative_to_the_batch_range():
    y = blocks(n=16)
    X = encode(y).numpy()
    X_aug, y_aug = run(Augmenter(**GEOMETRY_OFF, brightness=1.0, random_state=0), y)
    np.testing.assert_array_equal(y_aug, y)
    delta = (X_aug - X).reshape(16, -1)
    np.testing.assert_allclose(delta, delta[:, :1].repeat(delta.shape[1], 1), atol=1e-4)
    ref = X.max() - X.min()  # 30 here
    assert np.abs(delta[:, 0]).max() <= 0.1 * ref + 1e-4
    assert np.abs(delta[:, 0]).min() > 0 and np.unique(np.round(delta[:, 0], 3)).size == 16


def test_contrast_scales_about_each_image_mean():
    y = blocks(n=8)
    X = encode(y).numpy()
    X_aug, y_aug = run(Augmenter(**GEOMETRY_OFF, contrast=1.0, random_state=0), y)
    np.testing.assert_array_equal(y_aug, y)
    mean = X.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(X_aug.mean(axis=(1, 2, 3), keepdims=True), mean, atol=1e-4)
    factor = (X_aug - mean).reshape(8, -1)[:, 0] / (X - mean).reshape(8, -1)[:, 0]
    np.testing.assert_allclose(X_aug, mean + factor[:, None, None, None] * (X - mean), atol=1e-4)
    assert ((factor >= 0.8 - 1e-6) & (factor <= 1.2 + 1e-6)).all()
    assert np.ptp(factor) > 0.05


def test_blur_matches_scipy_gaussian_filter():
    y = blocks(n=3)
    X = encode(y).numpy()
    aug = Augmenter(**GEOMETRY_OFF, blur=1.0, blur_sigma=(1.0, 1.0), random_state=0)
    X_aug, y_aug = run(aug, y)
    np.testing.assert_array_equal(y_aug, y)
    expected = gaussian_filter(X, sigma=(0, 0, 1.0, 1.0), mode="nearest", truncate=3.0)
    np.testing.assert_allclose(X_aug, expected, atol=1e-4)


def test_noise_has_the_requested_relative_std():
    y = blocks(n=8)
    X = encode(y).numpy()
    X_aug, y_aug = run(Augmenter(**GEOMETRY_OFF, noise=1.0, noise_std=0.05, random_state=0), y)
    np.testing.assert_array_equal(y_aug, y)
    residual = X_aug - X
    assert residual.std() == pytest.approx(0.05 * 30.0, rel=0.05)
    assert abs(residual.mean()) < 0.05


def test_intensity_ops_leave_labels_alone():
    y = blocks(n=8)
    params = {**GEOMETRY_OFF, "brightness": 1.0, "contrast": 1.0, "blur": 1.0, "noise": 1.0}
    X_aug, y_aug = run(Augmenter(**params, random_state=0), y)
    np.testing.assert_array_equal(y_aug, y)
    assert not np.allclose(X_aug, encode(y).numpy())


def test_nothing_enabled_is_identity():
    y = blocks(n=2)
    X_aug, y_aug = run(Augmenter(**GEOMETRY_OFF, random_state=0), y)
    np.testing.assert_array_equal(X_aug, encode(y).numpy())
    np.testing.assert_array_equal(y_aug, y)


# randomness and sklearn protocol ---------------------------------------------------------


def test_same_random_state_same_draws_and_new_draws_per_call():
    y = blocks(n=8)
    first = run(Augmenter(**EVERYTHING_ON, random_state=42), y)
    aug = Augmenter(**EVERYTHING_ON, random_state=42)
    again = run(aug, y)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    second_call = run(aug, y)
    assert not np.array_equal(second_call[0], first[0])
    # a clone starts the stream again
    cloned = run(clone(aug), y)
    np.testing.assert_array_equal(cloned[0], first[0])


def test_random_state_kinds():
    y = blocks(n=8)
    a = run(Augmenter(**EVERYTHING_ON, random_state=np.random.RandomState(0)), y)[0]
    b = run(Augmenter(**EVERYTHING_ON, random_state=np.random.RandomState(0)), y)[0]
    np.testing.assert_array_equal(a, b)
    c = run(Augmenter(**EVERYTHING_ON, random_state=None), y)[0]
    d = run(Augmenter(**EVERYTHING_ON, random_state=None), y)[0]
    assert not np.array_equal(c, d)
    with pytest.raises(TypeError, match="random_state"):
        run(Augmenter(random_state="seed"), y)


def test_get_params_set_params_and_nesting():
    aug = Augmenter(rotate=0.3, rotate_range=(-10, 10), n_copies=2, random_state=5)
    params = aug.get_params()
    assert params["rotate"] == 0.3 and params["rotate_range"] == (-10, 10)
    assert params["hflip"] == 0.5 and params["translate_range"] == 0.1
    assert clone(aug).get_params() == params

    class Holder(BaseEstimator):  # stands in for ChromosomeSegmenter(augment=...)
        def __init__(self, augment=None):
            self.augment = augment

    holder = Holder(augment=aug)
    assert holder.get_params()["augment__rotate"] == 0.3
    holder.set_params(augment__rotate=0.7, augment__blur=0.2)
    assert aug.rotate == 0.7 and aug.blur == 0.2


def test_pickle_drops_the_generator_and_restarts_the_stream():
    y = blocks(n=4)
    aug = Augmenter(**EVERYTHING_ON, random_state=1)
    first = run(aug, y)[0]
    assert isinstance(aug._generator, torch.Generator)
    restored = pickle.loads(pickle.dumps(aug))
    assert not hasattr(restored, "_generator") and hasattr(aug, "_generator")
    np.testing.assert_array_equal(run(restored, y)[0], first)
    assert not hasattr(clone(aug), "_generator")


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hflip": 1.5}, "hflip must be a probability"),
        ({"rotate": -0.1}, "rotate must be a probability"),
        ({"noise": "often"}, "noise must be a probability"),
        ({"rotate_range": (10, -10)}, "rotate_range"),
        ({"scale_range": (0.0, 1.1)}, "scale_range"),
        ({"contrast_range": (1.2, 0.8)}, "contrast_range"),
        ({"blur_sigma": (0.0, 1.0)}, "blur_sigma"),
        ({"brightness_range": 0.1}, "brightness_range"),
        ({"translate_range": -0.1}, "translate_range"),
        ({"noise_std": -1.0}, "noise_std"),
        ({"n_copies": -1}, "n_copies"),
        ({"shift": 2.0}, "shift must be a probability"),
        ({"shift_pixels": 1.5}, "shift_pixels must be an int"),
        ({"shift_pixels": -1}, "shift_pixels must be an int"),
        ({"fill": float("nan")}, "fill"),
    ],
)
def test_bad_params_raise_at_first_use(params, match):
    aug = Augmenter(**params)  # no validation in __init__
    with pytest.raises(ValueError, match=match):
        run(aug, blocks(n=1))


def test_all_bad_params_are_listed_together():
    with pytest.raises(ValueError, match="vflip.*scale_range"):
        run(Augmenter(vflip=2, scale_range=(2, 1)), blocks(n=1))


@pytest.mark.parametrize(
    "X, y, error, match",
    [
        (np.zeros((1, 1, 4, 4)), torch.zeros(1, 4, 4).long(), TypeError, "torch tensors"),
        (torch.zeros(1, 1, 4, 4).long(), torch.zeros(1, 4, 4).long(), TypeError, "floating"),
        (torch.zeros(1, 1, 4, 4), torch.zeros(1, 4, 4), TypeError, "integer"),
        (torch.zeros(1, 4, 4), torch.zeros(1, 4, 4).long(), ValueError, r"\(n, C, H, W\)"),
        (torch.zeros(1, 1, 4, 4), torch.zeros(1, 3, 4).long(), ValueError, "to match X"),
    ],
)
def test_bad_batches_raise(X, y, error, match):
    with pytest.raises(error, match=match):
        Augmenter().augment_batch(X, y)


# fit_resample ------------------------------------------------------------------------------


@pytest.mark.parametrize("four_d", [False, True])
def test_fit_resample_keeps_originals_and_layout(four_d):
    y = blocks(n=5).astype(np.uint8)
    X = (10 * y + 5).astype(np.int16)
    if four_d:
        X = X[:, None]
    X_res, y_res = Augmenter(n_copies=2, random_state=0).fit_resample(X, y)
    assert X_res.shape == (15,) + X.shape[1:] and y_res.shape == (15, 30, 36)
    assert X_res.dtype == np.int16 and y_res.dtype == np.uint8
    np.testing.assert_array_equal(X_res[:5], X)
    np.testing.assert_array_equal(y_res[:5], y)
    grey = X_res if X_res.ndim == 3 else X_res[:, 0]
    filled = (grey == 0) & (y_res == 0)  # rot90 on a non-square frame fills corners
    np.testing.assert_array_equal(grey[~filled], 10 * y_res[~filled].astype(np.int16) + 5)
    assert set(np.unique(y_res)) == {0, 1, 2, 3}
    assert not np.array_equal(y_res[5:10], y_res[10:15])


def test_fit_resample_in_chunks_and_zero_copies(monkeypatch):
    monkeypatch.setattr(augmentation, "_CHUNK", 3)
    y = blocks(n=7, h=32, w=32)
    X = (10.0 * y + 5.0).astype(np.float64)
    X_res, y_res = Augmenter(random_state=0).fit_resample(X, y)
    assert X_res.shape == (14, 32, 32) and X_res.dtype == np.float64
    np.testing.assert_array_equal(X_res, 10.0 * y_res + 5.0)
    X_same, y_same = Augmenter(n_copies=0).fit_resample(X, y)
    np.testing.assert_array_equal(X_same, X)
    np.testing.assert_array_equal(y_same, y)


def test_fit_resample_bad_arrays_raise():
    with pytest.raises(TypeError, match="integer labels"):
        Augmenter().fit_resample(np.zeros((2, 4, 4)), np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="to match X"):
        Augmenter().fit_resample(np.zeros((2, 4, 4)), np.zeros((2, 4, 5), np.uint8))


# device ----------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_and_stays_there():
    y = blocks(n=8)
    X = encode(y).cuda()
    aug = Augmenter(rotate=1.0, scale=1.0, blur=0.5, noise=0.5, random_state=0)
    X_aug, y_aug = aug.augment_batch(X, torch.tensor(y).cuda())
    assert X_aug.is_cuda and y_aug.is_cuda and aug._generator.device.type == "cuda"
    assert set(torch.unique(y_aug).tolist()) <= {0, 1, 2, 3}
    aug_geo = Augmenter(rotate=1.0, scale=1.0, random_state=0)
    X_geo, y_geo = aug_geo.augment_batch(X, torch.tensor(y).cuda())
    assert_aligned(X_geo.cpu().numpy(), y_geo.cpu().numpy())
