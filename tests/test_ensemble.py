"""SegmenterEnsemble: the mean of its members' probabilities, as a scikit-learn estimator, in
one model file, and from the command line (issue 9)."""

from __future__ import annotations

import os
import warnings

import joblib
import numpy as np
import pytest
import torch
from skimage import io
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate

from chromoskl import ChromosomeSegmenter
from chromoskl.cli import main
from chromoskl.datasets import make_metaphase
from chromoskl.ensemble import SegmenterEnsemble, load_segmenter

from .test_estimator import tiny, toy_data


@pytest.fixture(scope="module")
def data():
    return toy_data(n=16)


def two_members(**second):
    # the second names A by area, the first as the labels do: the mean must align them
    return [("start0", tiny()), ("start1", tiny(random_state=1, ab_decoding="area", **second))]


@pytest.fixture(scope="module")
def fitted(data):
    return SegmenterEnsemble(two_members(), weights=[3, 1]).fit(*data)


def test_the_prediction_is_the_weighted_mean_of_the_members(fitted, data):
    X, _ = data
    first, second = fitted.estimators_
    expected = 0.75 * first.predict_proba(X) + 0.25 * second.predict_proba(X)
    proba = fitted.predict_proba(X)
    assert proba.dtype == np.float32 and proba.shape == (16, 4, 20, 24)
    np.testing.assert_allclose(proba, expected, atol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # the two starts learnt different networks, so the mean is not either one
    assert np.abs(first.predict_proba(X) - second.predict_proba(X)).max() > 0.01
    np.testing.assert_array_equal(fitted.predict(X), first.labels_from_proba(expected))
    assert fitted.predict_instances(X).shape == (16, 2, 20, 24)
    assert fitted.named_estimators_.start1 is second


def test_each_members_own_probabilities_come_one_at_a_time_and_make_the_mean(fitted, data):
    X, _ = data
    stream = fitted.member_proba(X)
    name, proba = next(stream)  # a generator: the second member has not predicted yet
    assert name == "start0"
    np.testing.assert_array_equal(proba, fitted.estimators_[0].predict_proba(X))
    rest = list(stream)
    assert [n for n, _ in rest] == ["start1"]
    np.testing.assert_array_equal(rest[0][1], fitted.estimators_[1].predict_proba(X))
    np.testing.assert_array_equal(fitted.mean_proba([proba, rest[0][1]]), fitted.predict_proba(X))
    with pytest.raises(ValueError, match="1 probability arrays for 2 members"):
        fitted.mean_proba([proba])
    with pytest.raises(ValueError, match="more than 2 probability arrays for 2 members"):
        fitted.mean_proba([proba] * 3)


def test_fit_trains_clones_and_leaves_the_given_members_unfitted(data):
    members = two_members()
    ensemble = SegmenterEnsemble(members).fit(*data)
    assert not hasattr(members[0][1], "module_")
    assert all(fitted is not given for fitted, (_, given) in zip(ensemble.estimators_, members))
    # the same seeds train the same members
    again = SegmenterEnsemble(two_members()).fit(*data)
    np.testing.assert_array_equal(ensemble.predict_proba(data[0]), again.predict_proba(data[0]))


def test_score_is_the_overlap_iou_of_the_mean(fitted, data):
    from chromoskl.metrics import overlap_iou

    X, y = data
    labels = fitted.predict_proba(X).argmax(axis=1)
    assert fitted.score(X, y) == pytest.approx(overlap_iou(y, labels))


def test_member_parameters_are_reached_by_name_for_search_and_cloning(data):
    ensemble = SegmenterEnsemble(two_members())
    params = ensemble.get_params()
    assert params["start1__random_state"] == 1 and params["start0__lr"] == tiny().lr
    assert not any(key.startswith("start0___") for key in params)
    ensemble.set_params(start1__lr=0.02, weights=[1, 2])
    assert dict(ensemble.estimators)["start1"].lr == 0.02 and ensemble.weights == [1, 2]
    copy = clone(ensemble)
    assert dict(copy.estimators)["start1"].lr == 0.02
    assert dict(copy.estimators)["start1"] is not dict(ensemble.estimators)["start1"]
    replacement = tiny(random_state=7)
    ensemble.set_params(start0=replacement)
    assert dict(ensemble.estimators)["start0"] is replacement
    with pytest.raises(ValueError, match="Invalid parameter 'other__lr'.*start0"):
        ensemble.set_params(other__lr=1.0)
    assert "start1" in repr(ensemble) and "[unfitted]" in repr(ensemble)


def test_grid_search_and_grouped_cross_validation_run_on_it(data):
    X, y = data
    groups = np.repeat(np.arange(4), 4)
    ensemble = SegmenterEnsemble(two_members())
    cv = cross_validate(ensemble, X, y, groups=groups, cv=GroupKFold(2))
    assert cv["test_score"].shape == (2,) and np.all((cv["test_score"] >= 0)
                                                     & (cv["test_score"] <= 1))
    search = GridSearchCV(ensemble, {"start1__lr": [1e-3, 1e-2]}, cv=GroupKFold(2)).fit(
        X, y, groups=groups)
    assert search.best_params_["start1__lr"] in (1e-3, 1e-2)
    assert dict(search.best_estimator_.estimators)["start1"].lr == search.best_params_[
        "start1__lr"]


class ThreadRecorder(BaseEstimator):
    """A member that records the process and the torch threads it was fitted with."""

    def fit(self, X, y):
        self.pid_, self.threads_ = os.getpid(), torch.get_num_threads()
        return self

    def predict_proba(self, X):
        raise NotImplementedError

    def labels_from_proba(self, proba):
        raise NotImplementedError


def test_n_jobs_fits_members_in_other_processes_with_their_share_of_the_threads(data):
    members = [("a", ThreadRecorder()), ("b", ThreadRecorder())]
    fitted = SegmenterEnsemble(members, n_jobs=2).fit(*data).estimators_
    assert os.getpid() not in {member.pid_ for member in fitted}
    assert [member.threads_ for member in fitted] == [max(1, joblib.cpu_count() // 2)] * 2
    assert SegmenterEnsemble(members).fit(*data).estimators_[0].pid_ == os.getpid()


def test_members_fitted_side_by_side_are_those_fitted_in_turn_with_as_many_threads(data):
    X, y = data
    side_by_side = SegmenterEnsemble(two_members(), n_jobs=2).fit(X, y)
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, joblib.cpu_count() // 2))
    try:
        in_turn = SegmenterEnsemble(two_members()).fit(X, y)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(side_by_side.predict_proba(X), in_turn.predict_proba(X),
                               atol=1e-6)
    assert side_by_side.named_estimators_.start1.random_state == 1


def test_read_only_arrays_as_joblib_hands_them_to_workers_fit_without_a_warning(data):
    X, y = data
    X_read_only, y_read_only = X.copy(), y.copy()
    X_read_only.setflags(write=False)
    y_read_only.setflags(write=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seg = tiny().fit(X_read_only, y_read_only)
    assert not [w for w in caught if "not writable" in str(w.message)]
    np.testing.assert_array_equal(seg.predict_proba(X), tiny().fit(X, y).predict_proba(X))


@pytest.mark.parametrize("estimators, message", [
    ([], "non-empty list"),
    ("start0", "non-empty list"),
    ([("a", tiny()), ("a", tiny())], r"distinct names.*\['a', 'a'\]"),
    ([("a__b", tiny())], "contain no '__'"),
    ([("weights", tiny())], "names"),
    ([("n_jobs", tiny())], "names"),
])
def test_bad_members_are_one_clear_error_before_training(data, estimators, message):
    with pytest.raises(ValueError, match=message):
        SegmenterEnsemble(estimators).fit(*data)


def test_a_member_that_cannot_predict_probabilities_is_refused(data):
    from sklearn.linear_model import LinearRegression

    with pytest.raises(TypeError, match="'lr'.*no predict_proba, labels_from_proba"):
        SegmenterEnsemble([("seg", tiny()), ("lr", LinearRegression())]).fit(*data)


class MustNotTrain(BaseEstimator):
    def fit(self, X, y):
        raise AssertionError("a member trained before the weights were checked")

    def predict_proba(self, X):
        raise NotImplementedError

    def labels_from_proba(self, proba):
        raise NotImplementedError


@pytest.mark.parametrize("weights", [[1.0], [1.0, -1.0], [0, 0], [1.0, float("nan")], 2.0,
                                     "12", [1.0, "a"]])
def test_bad_weights_are_refused_before_any_member_trains(data, weights):
    members = [("a", MustNotTrain()), ("b", MustNotTrain())]
    with pytest.raises(ValueError, match="weights must be None or 2 non-negative numbers"):
        SegmenterEnsemble(members, weights=weights).fit(*data)


def test_joining_fitted_members_needs_them_fitted(fitted):
    with pytest.raises(ValueError, match="'new' is not fitted; fit it first"):
        SegmenterEnsemble.from_fitted([("old", fitted.estimators_[0]), ("new", tiny())])
    joined = SegmenterEnsemble.from_fitted(list(fitted.named_estimators_.items()))
    assert joined.estimators_ == fitted.estimators_


def test_the_model_file_round_trips_and_overrides_reach_every_member(fitted, data, tmp_path):
    X, _ = data
    path = tmp_path / "ensemble.pt"
    fitted.save(path)
    loaded = SegmenterEnsemble.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert [n for n, _ in loaded.estimators] == ["start0", "start1"]
    assert loaded.weights == [3.0, 1.0]
    assert loaded.intensity_range_ == fitted.estimators_[0].intensity_range_
    assert all(member.tta for member in SegmenterEnsemble.load(path, tta=True).estimators_)
    assert isinstance(load_segmenter(path), SegmenterEnsemble)
    assert torch.load(path, weights_only=True)["format"] == "chromoskl-ensemble"


def test_each_kind_of_file_names_the_other_loader(fitted, tmp_path):
    ensemble_file, single_file = tmp_path / "ensemble.pt", tmp_path / "single.pt"
    fitted.save(ensemble_file)
    fitted.estimators_[0].save(single_file)
    with pytest.raises(ValueError, match="holds an ensemble.*load_segmenter"):
        ChromosomeSegmenter.load(ensemble_file)
    with pytest.raises(ValueError, match="holds one segmenter, not an ensemble"):
        SegmenterEnsemble.load(single_file)
    assert isinstance(load_segmenter(single_file), ChromosomeSegmenter)


def test_a_member_changed_after_saving_fails_its_checksum(fitted, tmp_path):
    path = tmp_path / "ensemble.pt"
    fitted.save(path)
    payload = torch.load(path, weights_only=True)
    weights = payload["members"][1]["state_dict"]
    name = next(k for k, v in weights.items() if v.is_floating_point())
    weights[name] = weights[name] + 0.5
    torch.save(payload, path)
    with pytest.raises(ValueError, match=r"member 'start1'.*do not match the checksum"):
        SegmenterEnsemble.load(path)


def test_the_command_joins_models_that_every_command_then_reads(tiny_segmenter_file, tmp_path,
                                                                capsys):
    joined = tmp_path / "joined.pt"
    assert main(["ensemble", str(tiny_segmenter_file), str(tiny_segmenter_file),
                 "--out", str(joined)]) == 0
    assert "the mean of 2 models" in capsys.readouterr().out
    # two copies of one model average to that model: separate finds the same chromosomes
    metaphase = make_metaphase(6, n_overlaps=1, shape=(240, 260), random_state=0)
    raw = tmp_path / "cell.tif"
    io.imsave(raw, np.clip(metaphase.image, 0, 4095).astype(np.uint16), check_contrast=False)
    for model, out in ((tiny_segmenter_file, "single"), (joined, "joined")):
        assert main(["separate", "--model", str(model), str(raw),
                     "--out", str(tmp_path / out)]) == 0
    with np.load(tmp_path / "single" / "cell_instances.npz") as single, \
            np.load(tmp_path / "joined" / "cell_instances.npz") as both:
        np.testing.assert_array_equal(single["masks"], both["masks"])
    assert main(["evaluate", "--model", str(joined), "--n-samples", "8"]) == 0
    assert "overlap_iou" in capsys.readouterr().out


def test_an_ensemble_is_not_exported_and_the_command_says_what_to_do(fitted, tmp_path,
                                                                     capsys):
    path = tmp_path / "ensemble.pt"
    fitted.save(path)
    assert main(["export", "--model", str(path), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "holds an ensemble" in err and "export one of the model files" in err
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("extra, message", [
    ([], "two or more model files"),
    (["SECOND", "--weights", "1"], "one number per model"),
    (["missing.pt"], "no such model file"),
])
def test_bad_join_arguments_give_one_line(tiny_segmenter_file, tmp_path, capsys, extra,
                                          message):
    extra = [str(tiny_segmenter_file) if e == "SECOND" else str(tmp_path / e)
             if e.endswith(".pt") else e for e in extra]
    code = main(["ensemble", str(tiny_segmenter_file), *extra, "--out", str(tmp_path / "j.pt")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "j.pt").exists()
