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
from chromoskl.ensemble import SegmenterEnsemble, a_share, load_segmenter, shared_out

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


def test_sharing_out_keeps_background_overlap_and_the_single_chromosome_total():
    proba = np.array([[0.1, 0.3, 0.1, 0.5], [0.6, 0.0, 0.0, 0.4]], np.float32).T[None, :, :, None]
    namer = np.array([[0.0, 0.2, 0.6, 0.2], [1.0, 0.0, 0.0, 0.0]], np.float32).T[None, :, :, None]
    share = a_share(namer)
    np.testing.assert_allclose(share[0, :, 0], [0.25, 0.5])  # 0.2 / 0.8; none at all: half
    shared = shared_out(proba.copy(), share)
    np.testing.assert_allclose(shared[0, :, :, 0].T, [[0.1, 0.1, 0.3, 0.5],
                                                      [0.6, 0.0, 0.0, 0.4]], atol=1e-7)


def test_a_named_member_names_a_and_b_of_the_weighted_mean(fitted, data):
    X, _ = data
    first, second = fitted.estimators_
    mean = fitted.predict_proba(X)
    named = SegmenterEnsemble.from_fitted(list(fitted.named_estimators_.items()),
                                          weights=[3, 1], ab_names_from="start1")
    proba = named.predict_proba(X)
    assert proba.dtype == np.float32 and proba.shape == mean.shape
    # background, overlap and A + B are the mean's; A's share of A + B is start1's
    np.testing.assert_allclose(proba[:, [0, 3]], mean[:, [0, 3]], atol=1e-6)
    np.testing.assert_allclose(proba[:, 1] + proba[:, 2], mean[:, 1] + mean[:, 2], atol=1e-6)
    own = second.predict_proba(X)
    single = own[:, 1] + own[:, 2]
    where = single > 1e-3
    np.testing.assert_allclose((proba[:, 1] / (proba[:, 1] + proba[:, 2]))[where],
                               (own[:, 1] / single)[where], atol=1e-4)
    assert np.abs(proba - mean).max() > 0.01  # start0's share was another
    # decoded as start1 decodes (by area), which the first member's decoding is not
    np.testing.assert_array_equal(named.predict(X), second.labels_from_proba(proba))
    assert second.ab_decoding == "area" and first.ab_decoding != "area"
    # the mean and the naming are from one prediction of each member, as predict_proba
    np.testing.assert_array_equal(
        named.combined_proba(p for _, p in named.member_proba(X)), proba)
    # weights [1, 0]: one member's overlap, the other's names
    alone = SegmenterEnsemble.from_fitted(list(fitted.named_estimators_.items()),
                                          weights=[1, 0], ab_names_from="start1")
    np.testing.assert_allclose(alone.predict_proba(X)[:, 3], first.predict_proba(X)[:, 3])


def test_the_naming_member_is_checked_before_training_and_kept_in_the_model_file(
        fitted, data, tmp_path):
    members = [("a", MustNotTrain()), ("b", MustNotTrain())]
    with pytest.raises(ValueError, match=r"ab_names_from must be None or the name of a member, "
                                         r"one of \['a', 'b'\]; got 'c'"):
        SegmenterEnsemble(members, ab_names_from="c").fit(*data)
    with pytest.raises(ValueError, match="ab_names_from must be"):
        SegmenterEnsemble.from_fitted(list(fitted.named_estimators_.items()), ab_names_from=1)
    ensemble = SegmenterEnsemble(two_members(), ab_names_from="start1")
    assert clone(ensemble).ab_names_from == "start1"
    assert ensemble.set_params(ab_names_from=None).get_params()["ab_names_from"] is None
    assert "ab_names_from" not in repr(ensemble)

    named = SegmenterEnsemble.from_fitted(list(fitted.named_estimators_.items()),
                                          ab_names_from="start1")
    path = tmp_path / "named.pt"
    named.save(path)
    loaded = load_segmenter(path)
    assert loaded.ab_names_from == "start1" and "ab_names_from='start1'" in repr(loaded)
    np.testing.assert_array_equal(loaded.predict_proba(data[0]), named.predict_proba(data[0]))
    # a file written before ab_names_from existed is the plain mean
    payload = torch.load(path, weights_only=True)
    del payload["ab_names_from"]
    torch.save(payload, path)
    assert SegmenterEnsemble.load(path).ab_names_from is None


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


def test_the_command_names_a_model_to_name_a_and_b(tiny_segmenter_file, tmp_path, capsys):
    joined = tmp_path / "joined.pt"
    assert main(["ensemble", str(tiny_segmenter_file), str(tiny_segmenter_file),
                 "--ab-names-from", "2", "--out", str(joined)]) == 0
    assert "m1 names A and B" in capsys.readouterr().out
    assert load_segmenter(joined).ab_names_from == "m1"


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
    (["SECOND", "--ab-names-from", "3"], "give a number from 1 to 2, the position of a model"),
    (["SECOND", "--ab-names-from", "0"], "give a number from 1 to 2, the position of a model"),
])
def test_bad_join_arguments_give_one_line(tiny_segmenter_file, tmp_path, capsys, extra,
                                          message):
    extra = [str(tiny_segmenter_file) if e == "SECOND" else str(tmp_path / e)
             if e.endswith(".pt") else e for e in extra]
    code = main(["ensemble", str(tiny_segmenter_file), *extra, "--out", str(tmp_path / "j.pt")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "j.pt").exists()
