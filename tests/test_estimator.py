"""ChromosomeSegmenter as a scikit-learn estimator: shapes, determinism, sklearn tools, errors."""

from __future__ import annotations

import os
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from chromoskl import ChromosomeSegmenter, IntensityWarning
from chromoskl.estimator import labels_to_instances
from chromoskl.metrics import SCORERS, overlap_iou
from chromoskl.splits import ValidationSplit

TINY = {"module__base_channels": 4, "module__depth": 2}


def toy_data(n=16, shape=(20, 24), seed=0):
    """Label maps of two crossing bars; grey value = 60 per chromosome, overlap the sum."""
    rng = np.random.default_rng(seed)
    h, w = shape
    y = np.zeros((n, h, w), dtype=np.uint8)
    for i in range(n):
        r, c = rng.integers(4, h - 4), rng.integers(4, w - 4)
        a = np.zeros((h, w), bool)
        b = np.zeros((h, w), bool)
        a[r - 1 : r + 2, 2 : w - 2] = True
        b[2 : h - 2, c - 2 : c + 2] = True
        y[i][a] = 1
        y[i][b] = 2
        y[i][a & b] = 3
    X = (60.0 * np.isin(y, (1, 3)) + 60.0 * np.isin(y, (2, 3))).astype(np.float32)
    X += rng.normal(0, 2, X.shape).astype(np.float32)
    return X, y


def tiny(**params):
    defaults = dict(max_epochs=1, batch_size=8, train_split=None, device="cpu", random_state=0)
    return ChromosomeSegmenter(**{**defaults, **TINY, **params})


@pytest.fixture(scope="module")
def data():
    return toy_data()


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return tiny(max_epochs=2).fit(X, y)


# ---------------------------------------------------------------- shapes and outputs


@pytest.mark.parametrize("shape", [(94, 93), (88, 88), (37, 53), (32, 32)])
def test_predictions_have_the_input_size(shape):
    X, y = toy_data(6, shape)
    seg = tiny(module__depth=3).fit(X, y)
    pred = seg.predict(X)
    assert pred.shape == (6, *shape) and pred.dtype == np.uint8
    proba = seg.predict_proba(X)
    assert proba.shape == (6, 4, *shape) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(proba.argmax(axis=1), pred)


def test_softmax_is_over_the_class_axis_not_the_width(fitted, data):
    X, _ = data
    proba = fitted.predict_proba(X[:2])
    # over the width the sums are nowhere near 1: the class axis is normalised
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(proba.sum(axis=-1), 1.0)


def test_channel_axis_is_optional(fitted, data):
    X, _ = data
    np.testing.assert_array_equal(fitted.predict_proba(X), fitted.predict_proba(X[:, None]))


def test_any_real_dtype(fitted, data):
    X, _ = data
    as_int = np.round(X).astype(np.int16)
    np.testing.assert_allclose(
        fitted.predict_proba(as_int), fitted.predict_proba(as_int.astype(np.float64)), atol=1e-6
    )


def test_predict_instances_splits_whole_chromosomes(fitted, data):
    X, _ = data
    labels = fitted.predict(X)
    instances = fitted.predict_instances(X)
    assert instances.shape == (len(X), 2, *X.shape[1:]) and instances.dtype == bool
    np.testing.assert_array_equal(instances[:, 0], np.isin(labels, (1, 3)))
    np.testing.assert_array_equal(instances[:, 1], np.isin(labels, (2, 3)))
    hand = labels_to_instances(np.array([[[0, 1, 2, 3]]]))
    assert hand.tolist() == [[[[False, True, False, True]], [[False, False, True, True]]]]


def test_score_is_pooled_overlap_iou(fitted, data):
    X, y = data
    assert fitted.score(X, y) == pytest.approx(overlap_iou(y, fitted.predict(X)))


def test_learns_the_toy_task():
    X, y = toy_data(48, (24, 24))
    seg = tiny(max_epochs=15, lr=1e-2, batch_size=8, module__base_channels=8)
    seg.fit(X, y)
    losses = seg.history[:, "train_loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert seg.score(X, y) > 0.5


# ---------------------------------------------------------------- determinism and device


def test_random_state_makes_fits_identical(data):
    X, y = data
    first = tiny(max_epochs=2, batch_size=4).fit(X, y).predict_proba(X)
    second = tiny(max_epochs=2, batch_size=4).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    third = tiny(max_epochs=2, batch_size=4, random_state=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(first, third)


def test_device_auto_is_kept_as_a_parameter(data):
    X, y = data
    seg = tiny(device="auto").fit(X, y)
    assert seg.get_params()["device"] == "auto"
    assert seg.device_ == ("cuda" if torch.cuda.is_available() else "cpu")
    assert next(seg.module_.parameters()).device.type == seg.device_


# ---------------------------------------------------------------- labels smaller than images


def test_labels_smaller_than_images_are_centred(data):
    X, y = data
    big = np.pad(X, ((0, 0), (3, 4), (5, 5)))
    seg = tiny().fit(big, y)
    pred = seg.predict(big)
    assert pred.shape == big.shape
    # the score crops the prediction to the labels' centre
    inner = pred[:, 3:-4, 5:-5]
    assert seg.score(big, y) == pytest.approx(overlap_iou(y, inner))


# ---------------------------------------------------------------- parameters


def test_module_and_criterion_params_reach_their_objects(data):
    X, y = data
    seg = tiny(module__base_channels=6, criterion="wbce", criterion__w=1.7).fit(X, y)
    assert seg.module_.encoder[0][0].out_channels == 6
    assert seg.criterion_.w == 1.7
    seg.set_params(module__base_channels=5)
    assert seg.module_.encoder[0][0].out_channels == 5
    assert seg.get_params()["module__base_channels"] == 5


def test_clone_and_get_set_params(fitted):
    twin = clone(fitted)
    assert twin.get_params(deep=False).keys() == fitted.get_params(deep=False).keys()
    assert twin.arch == "unet" and not twin.initialized_
    twin.set_params(max_epochs=3, criterion="dice")
    assert twin.max_epochs == 3 and fitted.max_epochs == 2


def test_unknown_arch_and_loss_are_listed():
    X, y = toy_data(4)
    with pytest.raises(ValueError, match="unknown.*known architectures: .*unet"):
        tiny(arch="unknown").fit(X, y)
    with pytest.raises(ValueError, match="known losses:"):
        tiny(criterion="nope").fit(X, y)


def test_arch_accepts_a_module_class(data, tmp_path):
    X, y = data

    class OneByOne(torch.nn.Module):
        def __init__(self, in_channels=1, out_channels=4):
            super().__init__()
            self.conv = torch.nn.Conv2d(in_channels, out_channels, 1)

        def forward(self, x):
            return self.conv(x)

    seg = ChromosomeSegmenter(OneByOne, max_epochs=1, train_split=None, device="cpu")
    assert seg.fit(X, y).predict(X).shape == y.shape
    path = tmp_path / "custom.pt"
    seg.save(path)
    with pytest.raises(ValueError, match="custom architecture .*OneByOne.*arch=ThatClass"):
        ChromosomeSegmenter.load(path)
    again = ChromosomeSegmenter.load(path, arch=OneByOne)
    np.testing.assert_array_equal(again.predict(X), seg.predict(X))


# ---------------------------------------------------------------- persistence


@pytest.mark.parametrize("dumps", [pickle.dumps, None], ids=["pickle", "joblib"])
def test_pickle_and_joblib_round_trips(fitted, data, dumps, tmp_path):
    X, _ = data
    if dumps is None:
        joblib.dump(fitted, tmp_path / "seg.joblib")
        again = joblib.load(tmp_path / "seg.joblib")
    else:
        again = pickle.loads(dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    assert again.get_params()["device"] == fitted.get_params()["device"]


def test_save_and_load_without_pickle(fitted, data, tmp_path):
    X, _ = data
    path = tmp_path / "model.pt"
    fitted.save(path)
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "chromoskl-model"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    again = ChromosomeSegmenter.load(path)
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    assert again.get_params()["module__base_channels"] == 4
    assert len(again.history_) == 2


def test_images_unlike_the_training_ones_warn(fitted, data, tmp_path):
    X, _ = data
    assert fitted.intensity_range_ == pytest.approx(tuple(np.percentile(X, (1.0, 99.5))))
    with warnings.catch_warnings():
        warnings.simplefilter("error", IntensityWarning)
        fitted.predict(X)
        fitted.predict(X[:3] * 1.5)  # a brighter stain, same background: no warning
    with pytest.warns(IntensityWarning, match=r"background \(1st percentile\) 24\d"):
        fitted.predict(X + 250)  # a raw camera background
    with pytest.warns(IntensityWarning, match="unlike the training images"):
        fitted.predict(X * 10)  # a 12-bit scale
    fitted.save(tmp_path / "model.pt")
    again = ChromosomeSegmenter.load(tmp_path / "model.pt")
    assert again.intensity_range_ == pytest.approx(fitted.intensity_range_)
    with pytest.warns(IntensityWarning):
        again.predict(X + 250)


def test_save_is_whole_or_nothing(fitted, tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    fitted.save(path)
    before = path.read_bytes()

    def broken_save(obj, handle):
        handle.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        fitted.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


@pytest.mark.parametrize("content", [b"", b"not a model", None])
def test_loading_a_bad_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.pt"
    if content is None:
        torch.save({"something": torch.zeros(2)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match="chromoskl model file"):
        ChromosomeSegmenter.load(path)
    with pytest.raises(FileNotFoundError):
        ChromosomeSegmenter.load(tmp_path / "missing.pt")


# ---------------------------------------------------------------- scikit-learn tools


def test_grid_search_over_module_and_criterion_params(data):
    X, y = data
    search = GridSearchCV(
        tiny(),
        {"module__base_channels": [2, 4], "criterion": ["ce", "dice"]},
        scoring={"overlap": SCORERS["overlap_iou"], "mean": SCORERS["mean_iou"]},
        refit="overlap",
        cv=2,
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_overlap"]).all()
    assert search.best_estimator_.predict(X).shape == y.shape


def test_cross_validate_with_group_kfold(data):
    X, y = data
    groups = np.repeat(np.arange(4), 4)
    result = cross_validate(
        tiny(), X, y, groups=groups, cv=GroupKFold(n_splits=4),
        scoring={"overlap": SCORERS["overlap_iou"]},
    )
    assert result["test_overlap"].shape == (4,)
    assert np.all((result["test_overlap"] >= 0) & (result["test_overlap"] <= 1))


def test_in_a_pipeline(data):
    X, y = data
    pipe = make_pipeline(FunctionTransformer(lambda images: images / 100.0), tiny())
    pipe.fit(X, y)
    assert pipe.predict(X).shape == y.shape
    assert 0.0 <= pipe.score(X, y) <= 1.0


def test_groups_give_a_grouped_validation_split(data):
    X, y = data
    groups = np.repeat(np.arange(8), 2)
    split = ValidationSplit(0.25, random_state=0)
    dataset = tiny().initialize().get_dataset(X, y)
    train, valid = split(dataset, y, groups=groups)
    assert not set(groups[train.indices]) & set(groups[valid.indices])
    seg = tiny(train_split=split, max_epochs=2).fit(X, y, groups=groups)
    assert np.isfinite(seg.history[-1, "valid_loss"])
    assert 0.0 <= seg.history[-1, "valid_overlap_iou"] <= 1.0


# ---------------------------------------------------------------- training control


def test_early_stopping_stops_and_keeps_the_best(data):
    X, y = data
    seg = tiny(
        max_epochs=30, lr=0.0, patience=2, module__batch_norm=False,
        train_split=ValidationSplit(0.25, random_state=0),
    ).fit(X, y)
    # with lr=0 and no batch statistics the validation loss never improves after epoch 1
    assert len(seg.history) == 3
    assert dict(seg.callbacks_)["early_stopping"].load_best


class TwoHeads(torch.nn.Module):
    """A network with two output maps (final, auxiliary), for deep supervision."""

    def __init__(self, in_channels=1, out_channels=4):
        super().__init__()
        self.final = torch.nn.Conv2d(in_channels, out_channels, 1)
        self.aux = torch.nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x):
        return self.final(x), self.aux(x)


def test_deep_supervision_heads_are_averaged_and_predict_uses_the_first(data):
    X, y = data

    seg = ChromosomeSegmenter(TwoHeads, max_epochs=1, train_split=None, device="cpu",
                              random_state=0).fit(X, y)
    images = torch.as_tensor(X[:, None])
    target = torch.as_tensor(y, dtype=torch.long)
    with torch.no_grad():
        final, aux = seg.module_(images)
        expected = (seg.criterion_(final, target) + seg.criterion_(aux, target)) / 2
        assert seg.get_loss((final, aux), target).item() == pytest.approx(expected.item())
        seg.set_params(deep_supervision_weights=[3.0, 1.0])
        weighted = (3 * seg.criterion_(final, target) + seg.criterion_(aux, target)) / 4
        assert seg.get_loss((final, aux), target).item() == pytest.approx(weighted.item())
    np.testing.assert_allclose(
        seg.predict_proba(X), torch.softmax(final, 1).numpy(), rtol=1e-5, atol=1e-6
    )


def test_deep_supervision_weights_are_criterion_params(data):
    X, y = data

    seg = ChromosomeSegmenter(
        TwoHeads, criterion="deep_supervision", criterion__weights=[1.0, 0.0], max_epochs=1,
        train_split=None, device="cpu", random_state=0, ab_loss="swap_invariant",
    ).fit(X, y)
    assert "criterion__weights" in seg.get_params()
    # swap invariance wraps the loss of each map, inside the deep supervision
    assert type(seg.criterion_.loss_).__name__ == "SwapInvariantLoss"
    images = torch.as_tensor(X[:, None])
    target = torch.as_tensor(y, dtype=torch.long)
    with torch.no_grad():
        final, aux = seg.module_(images)
        per_map = seg.criterion_.loss_
        assert seg.get_loss((final, aux), target).item() == pytest.approx(
            per_map(final, target).item())
        seg.set_params(criterion__weights=[1.0, 3.0])
        weighted = (per_map(final, target) + 3 * per_map(aux, target)) / 4
        assert seg.get_loss((final, aux), target).item() == pytest.approx(weighted.item())


def test_tta_is_equivariant_to_flips_and_rotations(fitted, data):
    X, _ = data
    square = X[:4, :20, :20]
    seg = clone(fitted).set_params(tta=True)
    seg.initialize()
    seg.module_.load_state_dict(fitted.module_.state_dict())
    proba = seg.predict_proba(square)
    rotated = seg.predict_proba(np.rot90(square, 1, axes=(1, 2)).copy())
    np.testing.assert_allclose(rotated, np.rot90(proba, 1, axes=(2, 3)), atol=1e-5)
    flipped = seg.predict_proba(square[:, :, ::-1].copy())
    np.testing.assert_allclose(flipped, proba[..., ::-1], atol=1e-5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # without TTA the plain network is not equivariant
    assert not np.allclose(fitted.predict_proba(square[:, :, ::-1].copy()),
                           fitted.predict_proba(square)[..., ::-1], atol=1e-5)



def _shifted_back(proba, dy, dx):
    """proba of an image moved (dy, dx), moved back, the edge it leaves repeated."""
    padded = np.pad(proba, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    h, w = proba.shape[-2:]
    return padded[..., 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]


def test_tta_shifts_is_the_mean_over_the_nine_one_pixel_shifts(fitted, data):
    X, _ = data
    images = X[:4]
    expected = 0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            # the image moved dy rows down and dx columns right, its edge repeated
            padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="edge")
            moved = padded[:, 1 - dy : 1 - dy + images.shape[1], 1 - dx : 1 - dx + images.shape[2]]
            expected = expected + _shifted_back(fitted.predict_proba(moved.copy()), dy, dx)
    seg = clone(fitted).set_params(tta="shifts")
    seg.initialize()
    seg.module_.load_state_dict(fitted.module_.state_dict())
    proba = seg.predict_proba(images)
    np.testing.assert_allclose(proba, expected / 9, atol=1e-5)
    # the mean differs from the plain network's probabilities: the views disagree
    assert np.abs(proba - fitted.predict_proba(images)).max() > 1e-3


@pytest.mark.parametrize("tta", ["flips", 2, "Shifts"])
def test_an_unknown_tta_is_refused_before_training_and_at_prediction(fitted, data, tta):
    X, y = data
    with pytest.raises(ValueError, match="tta must be False, True.*'shifts'"):
        tiny(tta=tta).fit(X, y)
    with pytest.raises(ValueError, match="tta must be"):
        clone(fitted).set_params(tta=tta).initialize().predict_proba(X[:2])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make_bad, error, match",
    [
        (lambda X, y: (X, np.where(y == 3, 4, y)), ValueError, r"0\.\.3.*\[4\]"),
        (lambda X, y: (X, y + 0.5), ValueError, "non-integer"),
        (lambda X, y: (np.where(y == 1, np.nan, X), y), ValueError, "NaN or infinite"),
        (lambda X, y: (np.where(y == 1, np.inf, X), y), ValueError, "NaN or infinite"),
        (lambda X, y: (X[:-1], y), ValueError, "different numbers of images"),
        (lambda X, y: (X[0], y[0]), ValueError, r"X\[None\]"),
        (lambda X, y: (X[:, 2:-2, 2:-2], y), ValueError, "larger than the images"),
        (lambda X, y: (X[:0], y[:0]), ValueError, "empty"),
        (lambda X, y: (X.astype(str), y), TypeError, "real numbers"),
        (lambda X, y: (X, y.astype(bool)), TypeError, "integer class labels"),
    ],
    ids=["label-4", "fractional", "nan", "inf", "length", "2d", "labels-larger", "empty",
         "strings", "bool-labels"],
)
def test_bad_input_gives_a_clear_error(data, make_bad, error, match):
    X, y = make_bad(*data)
    with pytest.raises(error, match=match):
        tiny().fit(X, y)


def test_predict_before_fit_raises_not_fitted(data):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        tiny().predict(data[0])


def test_whole_number_float_labels_are_accepted(data):
    X, y = data
    tiny().fit(X, y.astype(np.float64))
