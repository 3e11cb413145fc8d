"""Tests of PadToShape and IntensityScaler."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from chromoskl.transformers import IntensityScaler, PadToShape


class _ShapeRecorder(BaseEstimator):
    """Stands in for the segmenter in a pipeline: records what fit and predict receive."""

    def fit(self, X, y):
        self.fit_shapes_ = (X.shape, y.shape)
        self.y_seen_ = y
        return self

    def predict(self, X):
        return np.zeros((X.shape[0],) + X.shape[-2:], dtype=np.uint8)


def _images(shape=(3, 94, 93), dtype=np.int16, seed=0):
    return np.random.default_rng(seed).integers(-15, 403, size=shape).astype(dtype)


# PadToShape --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int16, np.uint8, np.float32, np.float64])
def test_pad_places_images_centred_and_keeps_dtype(dtype):
    X = _images(dtype=dtype)
    Xp = PadToShape((128, 128)).transform(X)
    assert Xp.shape == (3, 128, 128) and Xp.dtype == dtype
    # (128 - 94) // 2 = 17 rows above, (128 - 93) // 2 = 17 columns to the left
    np.testing.assert_array_equal(Xp[:, 17:111, 17:110], X)
    border = np.ones((128, 128), bool)
    border[17:111, 17:110] = False
    assert (Xp[:, border] == 0).all()


def test_pad_four_dimensional_stays_four_dimensional_with_fill():
    X = np.arange(2 * 1 * 3 * 4, dtype=np.float32).reshape(2, 1, 3, 4)
    Xp = PadToShape((5, 7), fill=-1.0).transform(X)
    assert Xp.shape == (2, 1, 5, 7)
    expected = np.full((2, 1, 5, 7), -1.0, np.float32)
    expected[..., 1:4, 1:5] = X  # (5-3)//2 = 1, (7-4)//2 = 1
    np.testing.assert_array_equal(Xp, expected)


def test_pad_same_shape_is_identity():
    X = _images((2, 8, 8))
    np.testing.assert_array_equal(PadToShape((8, 8)).transform(X), X)


def test_pad_image_too_large_raises():
    with pytest.raises(ValueError, match=r"larger than the target shape 90x128.*\(94, 128\)"):
        PadToShape((90, 128)).transform(_images())


@pytest.mark.parametrize("shape", [(128,), (0, 128), (128.0, 128), "128x128", (-1, 5)])
def test_pad_bad_shape_param_raises(shape):
    with pytest.raises(ValueError, match="shape must be two positive integers"):
        PadToShape(shape).transform(_images((1, 4, 4)))


@pytest.mark.parametrize(
    "X, error",
    [
        (np.zeros((4, 4)), ValueError),
        (np.zeros((1, 1, 1, 4, 4)), ValueError),
        (np.zeros((1, 4, 4), dtype=bool), TypeError),
        (np.zeros((1, 4, 4), dtype=complex), ValueError),  # as scikit-learn's check_array
    ],
)
def test_pad_bad_input_raises(X, error):
    with pytest.raises(error):
        PadToShape((8, 8)).transform(X)


def test_pad_is_stateless():
    pad = PadToShape((8, 8))
    check_is_fitted(pad)  # does not raise
    assert pad.__sklearn_tags__().requires_fit is False
    assert pad.fit(_images((2, 5, 6))) is pad
    assert pad.input_shape_ == (5, 6)


def test_pad_inverse_transform_round_trip_and_outputs():
    X = _images((2, 1, 94, 93), dtype=np.float32)
    pad = PadToShape((128, 128)).fit(X)
    np.testing.assert_array_equal(pad.inverse_transform(pad.transform(X)), X)
    # probability maps (n, C, H, W) and label masks (n, H, W) of the padded size
    proba = np.random.default_rng(1).random((2, 4, 128, 128)).astype(np.float32)
    np.testing.assert_array_equal(pad.inverse_transform(proba), proba[:, :, 17:111, 17:110])
    masks = np.random.default_rng(2).integers(0, 4, (2, 128, 128)).astype(np.uint8)
    cropped = pad.inverse_transform(masks)
    assert cropped.dtype == np.uint8
    np.testing.assert_array_equal(cropped, masks[:, 17:111, 17:110])
    # an explicit size wins over the fitted one
    assert pad.inverse_transform(masks, original_shape=(100, 101)).shape == (2, 100, 101)


def test_pad_inverse_transform_without_size_raises():
    with pytest.raises(ValueError, match="original image size is unknown"):
        PadToShape((8, 8)).inverse_transform(np.zeros((1, 8, 8)))
    with pytest.raises(ValueError, match="larger"):
        PadToShape((8, 8)).inverse_transform(np.zeros((1, 8, 8)), original_shape=(9, 8))


def test_pad_clone_get_params_pickle():
    pad = PadToShape((96, 96), fill=2.5)
    assert pad.get_params() == {"shape": (96, 96), "fill": 2.5}
    copy = clone(pad).set_params(shape=(64, 64))
    assert copy.shape == (64, 64) and pad.shape == (96, 96)
    X = _images((1, 50, 60))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(pad)).transform(X), pad.transform(X))


def test_pad_in_pipeline_leaves_y_alone():
    X = _images((3, 94, 93))
    y = np.random.default_rng(3).integers(0, 4, (3, 94, 93)).astype(np.uint8)
    pipe = make_pipeline(PadToShape((128, 128)), _ShapeRecorder()).fit(X, y)
    recorder = pipe[-1]
    assert recorder.fit_shapes_ == ((3, 128, 128), (3, 94, 93))
    assert recorder.y_seen_ is y
    assert pipe.predict(X).shape == (3, 128, 128)


@pytest.mark.realdata
def test_pad_real_images_round_trip(real_h5):
    h5py = pytest.importorskip("h5py")
    with h5py.File(real_h5, "r") as f:
        X = f["dataset_1"][:8, :, :, 0]
    pad = PadToShape((128, 128))
    Xp = pad.fit_transform(X)
    assert Xp.shape == (8, 128, 128) and Xp.dtype == X.dtype
    assert Xp.sum(dtype=np.int64) == X.sum(dtype=np.int64)
    np.testing.assert_array_equal(pad.inverse_transform(Xp), X)


# IntensityScaler ---------------------------------------------------------------------------


def test_standard_matches_pooled_standard_scaler():
    X = _images((4, 10, 12), dtype=np.float64)
    Xs = IntensityScaler().fit_transform(X)
    expected = StandardScaler().fit_transform(X.reshape(-1, 1)).reshape(X.shape)
    np.testing.assert_allclose(Xs, expected, rtol=1e-12, atol=1e-12)
    scaler = IntensityScaler().fit(X)
    assert scaler.offset_ == pytest.approx(X.mean(), rel=1e-12)
    assert scaler.scale_ == pytest.approx(X.std(), rel=1e-12)


def test_minmax_matches_pooled_minmax_scaler():
    X = _images((4, 1, 10, 12), dtype=np.float32)
    Xs = IntensityScaler("minmax").fit_transform(X)
    expected = MinMaxScaler().fit_transform(X.reshape(-1, 1).astype(np.float64)).reshape(X.shape)
    np.testing.assert_allclose(Xs, expected, atol=1e-6)
    assert Xs.min() == 0 and Xs.max() == pytest.approx(1.0)


def test_minmax_hand_computed():
    X = np.array([[[0.0, 2.0], [4.0, 6.0]]])
    np.testing.assert_allclose(
        IntensityScaler("minmax").fit_transform(X), [[[0.0, 1 / 3], [2 / 3, 1.0]]]
    )


def test_robust_maps_percentiles_to_unit_range_without_clipping():
    X = np.arange(101, dtype=np.float64).reshape(1, 1, 101)  # percentile p of 0..100 is p
    scaler = IntensityScaler("robust", percentiles=(10.0, 90.0)).fit(X)
    assert (scaler.offset_, scaler.scale_) == pytest.approx((10.0, 80.0))
    Xs = scaler.transform(X)
    np.testing.assert_allclose(Xs, (X - 10.0) / 80.0)
    assert Xs.min() == pytest.approx(-0.125) and Xs.max() == pytest.approx(1.125)


def test_integer_input_gives_float32_and_float_keeps_dtype():
    X16 = _images((2, 6, 6))
    assert IntensityScaler().fit_transform(X16).dtype == np.float32
    X64 = X16.astype(np.float64)
    assert IntensityScaler().fit_transform(X64).dtype == np.float64


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
def test_inverse_transform_round_trip(method):
    X = _images((3, 7, 5), dtype=np.float64)
    scaler = IntensityScaler(method).fit(X)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, atol=1e-9)


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
def test_constant_images_do_not_divide_by_zero(method):
    X = np.full((2, 4, 4), 7.0)
    scaler = IntensityScaler(method).fit(X)
    assert scaler.scale_ == 1.0
    np.testing.assert_array_equal(scaler.transform(X), np.zeros_like(X))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises(bad):
    X = np.zeros((1, 3, 3))
    X[0, 1, 1] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        IntensityScaler().fit(X)
    scaler = IntensityScaler().fit(np.ones((1, 3, 3)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        scaler.transform(X)


def test_transform_before_fit_raises():
    with pytest.raises(NotFittedError):
        IntensityScaler().transform(np.zeros((1, 3, 3)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"method": "zscore"}, "method must be one of"),
        ({"method": "robust", "percentiles": (99.0, 1.0)}, "percentiles"),
        ({"method": "robust", "percentiles": (-1.0, 50.0)}, "percentiles"),
        ({"method": "robust", "percentiles": (5.0,)}, "percentiles"),
    ],
)
def test_bad_params_raise(params, match):
    with pytest.raises(ValueError, match=match):
        IntensityScaler(**params).fit(np.zeros((1, 3, 3)))


def test_scaler_clone_and_pickle():
    X = _images((2, 5, 5), dtype=np.float32)
    scaler = IntensityScaler("robust", percentiles=(2.0, 98.0)).fit(X)
    assert clone(scaler).get_params() == {"method": "robust", "percentiles": (2.0, 98.0)}
    assert not hasattr(clone(scaler), "offset_")
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(scaler)).transform(X), scaler.transform(X)
    )


def test_scaler_in_pipeline_after_padding():
    X = _images((3, 94, 93))
    y = np.zeros((3, 94, 93), np.uint8)
    pipe = make_pipeline(PadToShape((96, 96)), IntensityScaler(), _ShapeRecorder()).fit(X, y)
    assert pipe[-1].fit_shapes_ == ((3, 96, 96), (3, 94, 93))
    scaler = pipe[1]
    padded = PadToShape((96, 96)).transform(X).astype(np.float64)
    assert scaler.offset_ == pytest.approx(padded.mean()) and scaler.scale_ == pytest.approx(
        padded.std()
    )


@pytest.mark.realdata
def test_standard_on_real_grey_values(real_h5):
    h5py = pytest.importorskip("h5py")
    with h5py.File(real_h5, "r") as f:
        X = f["dataset_1"][:64, :, :, 0]
    Xs = IntensityScaler().fit_transform(X)
    assert Xs.dtype == np.float32
    assert float(Xs.mean(dtype=np.float64)) == pytest.approx(0.0, abs=1e-5)
    assert float(Xs.std(dtype=np.float64)) == pytest.approx(1.0, abs=1e-5)
