"""The ``chromoskl`` command: what a user runs, what it writes, how it fails."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from skimage import io

from chromoskl import ChromosomeSegmenter
from chromoskl.cli import _training_settings, build_parser, main, segmenter_params
from chromoskl.datasets import load_overlapping_chromosomes, make_overlapping_chromosomes
from chromoskl.metrics import segmentation_scores
from chromoskl.splits import holdout_indices

SMALL = ["--n-samples", "30", "--epochs", "1", "--batch-size", "8", "--module", "depth=2",
         "--module", "base_channels=4"]


def small_hold_out(report):
    """The held-out images and labels of a ``SMALL`` run (seed 0), as ``train`` drew them."""
    data = make_overlapping_chromosomes(30, random_state=0)
    _, test, _ = holdout_indices(30, data.groups, kind="grouped", test_size=0.2, random_state=0)
    assert report["n_test"] == len(test)
    return data.images[test], data.labels[test]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", *SMALL, "--out", str(out)]) == 0
    return out


def test_another_start_on_the_same_hold_out_joins_the_first_as_an_ensemble(trained, tmp_path,
                                                                          capsys):
    other = tmp_path / "start1"
    assert main(["train", *SMALL, "--init-seed", "1", "--out", str(other)]) == 0
    first, second = (json.loads((run / "metrics.json").read_text()) for run in (trained, other))
    assert (first["seed"], first["init_seed"], second["seed"], second["init_seed"]) == (0, 0, 0, 1)
    assert second["n_test"] == first["n_test"]
    weights = [ChromosomeSegmenter.load(run / "model.pt").module_.state_dict()
               for run in (trained, other)]
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    both = tmp_path / "both.pt"
    assert main(["ensemble", str(trained / "model.pt"), str(other / "model.pt"),
                 "--out", str(both)]) == 0
    assert main(["evaluate", "--model", str(both), "--n-samples", "8"]) == 0
    assert '"overlap_iou"' in capsys.readouterr().out


def test_members_train_side_by_side_and_each_resumes_from_its_own_checkpoint(tmp_path):
    from chromoskl.ensemble import load_segmenter

    out = tmp_path / "members"
    assert main(["train", *SMALL, "--members", "2", "--init-seed", "3", "--out", str(out)]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert (report["init_seed"], report["epochs_run"]) == ([3, 4], [1, 1])
    assert {"checkpoint-start3.pt", "checkpoint-start4.pt"} <= {p.name for p in out.iterdir()}
    first = load_segmenter(out / "model.pt")
    assert [name for name, _ in first.estimators] == ["start3", "start4"]
    starts = [member.module_.state_dict() for member in first.estimators_]
    assert any(not torch.equal(starts[0][k], starts[1][k]) for k in starts[0])
    # each member's own held-out scores are reported beside the mean's
    X_test, y_test = small_hold_out(report)
    assert report["test"] == pytest.approx(segmentation_scores(y_test, first.predict(X_test)),
                                           nan_ok=True)
    for name, member in zip(["start3", "start4"], first.estimators_):
        assert report["members_test"][name] == pytest.approx(
            segmentation_scores(y_test, member.predict(X_test)), nan_ok=True)
    assert report["members_test"]["start3"] != report["members_test"]["start4"]

    # start4 lost its checkpoint (stopped before its first epoch ended): it starts afresh,
    # while start3 continues its own run
    (out / "checkpoint-start4.pt").unlink()
    two_epochs = [a if a != "1" else "2" for a in SMALL]
    assert two_epochs[two_epochs.index("--epochs") + 1] == "2"
    assert main(["train", *two_epochs, "--members", "2", "--init-seed", "3", "--resume",
                 "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == [2, 2]
    resumed = load_segmenter(out / "model.pt")
    assert [len(member.history_) for member in resumed.estimators_] == [2, 2]
    # start3's first epoch is the one of its checkpoint; start4's first epoch is new (its
    # one-cycle schedule is planned over 2 epochs now, so its loss is another)
    assert resumed.estimators_[0].history_[0] == first.estimators_[0].history_[0]
    assert resumed.estimators_[1].history_[0]["train_loss"] != pytest.approx(
        first.estimators_[1].history_[0]["train_loss"], abs=1e-6)


def test_members_may_differ_in_how_they_name_a_and_b(tmp_path):
    from chromoskl.ensemble import load_segmenter

    out = tmp_path / "mixed"
    assert main(["train", *SMALL, "--members", "2", "--ab-loss", "fixed", "swap_invariant",
                 "--ab-decoding", "network", "area", "--out", str(out)]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert (report["recipe"]["ab_loss"], report["recipe"]["ab_decoding"]) == (
        ["fixed", "swap_invariant"], ["network", "area"])
    mixed = load_segmenter(out / "model.pt")
    assert [(m.ab_loss, m.ab_decoding) for m in mixed.estimators_] == [
        ("fixed", "network"), ("swap_invariant", "area")]
    assert [type(m.criterion_).__name__ for m in mixed.estimators_] == [
        "DiceEdgeCELoss", "SwapInvariantLoss"]
    # the mean is decoded as the first member decodes: the network's naming, no area order
    X_test, _ = small_hold_out(report)
    mean = mixed.predict_proba(X_test)
    assert np.array_equal(mixed.predict(X_test), mean.argmax(axis=1))
    assert not np.array_equal(mixed.estimators_[1].labels_from_proba(mean), mean.argmax(axis=1))


def test_a_member_named_on_the_command_line_names_a_and_b_of_the_saved_model(tmp_path, capsys):
    from chromoskl.ensemble import load_segmenter

    out = tmp_path / "named"
    assert main(["train", *SMALL, "--members", "2", "--ab-loss", "fixed", "swap_invariant",
                 "--ab-decoding", "network", "area", "--ab-names-from", "2",
                 "--out", str(out)]) == 0
    assert "member start1 names A and B" in capsys.readouterr().out
    report = json.loads((out / "metrics.json").read_text())
    named = load_segmenter(out / "model.pt")
    assert report["ab_names_from"] == named.ab_names_from == "start1"
    X_test, y_test = small_hold_out(report)
    # the held-out scores are those of the saved model, which decodes as start1 (by area)
    labels = named.predict(X_test)
    assert report["test"] == pytest.approx(segmentation_scores(y_test, labels), nan_ok=True)
    proba = named.predict_proba(X_test)
    np.testing.assert_array_equal(labels, named.estimators_[1].labels_from_proba(proba))
    assert report["members_test"]["start1"] == pytest.approx(
        segmentation_scores(y_test, named.estimators_[1].predict(X_test)), nan_ok=True)


@pytest.mark.parametrize("flags, expected", [
    (["--ab-loss", "fixed"], ("fixed", "area")),
    (["--ab-loss", "fixed", "--ab-decoding", "network"], ("fixed", "network")),
    (["--ab-loss", "fixed", "swap_invariant", "--ab-decoding", "area"],
     (["fixed", "swap_invariant"], "area")),
])
def test_one_value_of_a_per_member_flag_is_every_member_s(flags, expected):
    settings = _training_settings(build_parser().parse_args(["train", *flags]))
    assert (settings["ab_loss"], settings["ab_decoding"]) == expected


def test_train_writes_model_metrics_and_pictures(trained):
    names = {p.name for p in trained.iterdir()}
    assert {"model.pt", "metrics.json", "predictions.png", "training_curves.png",
            "checkpoint.pt"} <= names
    report = json.loads((trained / "metrics.json").read_text())
    assert report["split"] == "grouped by chromosome pair"
    assert report["n_train"] + report["n_test"] == 30 and report["n_test"] > 0
    assert report["module"] == {"base_channels": 4, "depth": 2}
    assert 0.0 <= report["test"]["overlap_iou"] <= 1.0
    assert 0.0 <= report["test"]["pixel_accuracy"] <= 1.0
    picture = io.imread(trained / "predictions.png")
    assert picture.ndim == 3 and picture.shape[0] > 200
    seg = ChromosomeSegmenter.load(trained / "model.pt")
    assert seg.module_.encoder[0][0].out_channels == 4
    assert (seg.criterion, seg.ab_loss, seg.ab_decoding) == ("dice_edge_ce", "fixed", "area")


def test_evaluate_prints_scores(trained, capsys, tmp_path):
    code = main(["evaluate", "--model", str(trained / "model.pt"), "--n-samples", "6",
                 "--out", str(tmp_path)])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_images"] == 6
    assert set(report["scores"]) >= {"overlap_iou", "chromosome_a_iou", "mean_iou"}
    assert json.loads((tmp_path / "metrics.json").read_text()) == report


def test_predict_on_images_and_h5(trained, tmp_path, capsys):
    data = make_overlapping_chromosomes(3, shape=(40, 44), random_state=0)
    png = tmp_path / "cell.png"
    io.imsave(png, np.clip(data.images[0], 0, 255).astype(np.uint8), check_contrast=False)
    tif = tmp_path / "cell16.tif"
    io.imsave(tif, np.clip(data.images[1] * 10, 0, 4095).astype(np.uint16),
              check_contrast=False)
    h5 = tmp_path / "pairs.h5"
    with h5py.File(h5, "w") as handle:
        stacked = np.stack([data.images.round(), data.labels], axis=-1).astype(np.int64)
        handle.create_dataset("dataset_1", data=stacked)
    out = tmp_path / "out"
    assert main(["predict", "--model", str(trained / "model.pt"), str(png), str(tif), str(h5),
                 "--out", str(out)]) == 0
    # The tif is on a 10x grey scale: one warning line for it, no traceback.
    err = capsys.readouterr().err
    assert err.count("chromoskl: warning: The images to predict have grey values unlike") == 1
    assert "Traceback" not in err and "warnings.warn" not in err
    labels = io.imread(out / "cell_labels.png")
    assert labels.shape == (40, 44) and set(np.unique(labels)) <= {0, 1, 2, 3}
    assert io.imread(out / "cell16_overlay.png").shape == (40, 44, 3)
    with h5py.File(out / "pairs_labels.h5") as handle:
        assert handle["labels"].shape == (3, 40, 44)
    assert (out / "pairs_overlays.png").is_file()


def test_evaluate_and_predict_take_test_time_augmentation(trained, tmp_path, capsys):
    data = make_overlapping_chromosomes(6, shape=(40, 44), random_state=3)
    h5 = tmp_path / "pairs.h5"
    with h5py.File(h5, "w") as handle:
        stacked = np.stack([data.images.round(), data.labels], axis=-1).astype(np.int64)
        handle.create_dataset("dataset_1", data=stacked)
    model = trained / "model.pt"
    shifted = ChromosomeSegmenter.load(model, tta="shifts")
    images = load_overlapping_chromosomes(h5).images
    expected = shifted.predict(images)
    out = tmp_path / "out"
    assert main(["predict", "--model", str(model), str(h5), "--tta", "shifts",
                 "--out", str(out)]) == 0
    with h5py.File(out / "pairs_labels.h5") as handle:
        np.testing.assert_array_equal(handle["labels"][()], expected)
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--data", str(h5), "--tta", "shifts"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tta"] == "shifts"
    wanted = segmentation_scores(load_overlapping_chromosomes(h5).labels, expected)
    assert report["scores"]["overlap_iou"] == pytest.approx(wanted["overlap_iou"])
    assert main(["evaluate", "--model", str(model), "--data", str(h5)]) == 0
    assert json.loads(capsys.readouterr().out)["tta"] is False


def test_resume_continues_an_interrupted_run(tmp_path):
    out = tmp_path / "run"
    assert main(["train", *SMALL, "--out", str(out)]) == 0
    first = torch.load(out / "checkpoint.pt", weights_only=True)
    assert len(json.loads(first["history"])) == 1
    args = [a if a != "1" else "3" for a in SMALL]  # --epochs 3
    assert main(["train", *args, "--out", str(out), "--resume"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["epochs_run"] == 3
    resumed = torch.load(out / "checkpoint.pt", weights_only=True)
    assert len(json.loads(resumed["history"])) == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", "missing.h5"], "missing.h5"),
        (["train", *SMALL, "--arch", "resnet9000"], "known architectures"),
        (["train", *SMALL, "--test-size", "1.5"], "--test-size"),
        (["train", *SMALL, "--resume"], "no checkpoint"),
        (["evaluate", "--model", "nowhere.pt"], "nowhere.pt"),
        (["predict", "--model", "MODEL", "notes.txt"], "notes.txt"),
    ],
    ids=["missing-data", "unknown-arch", "bad-test-size", "nothing-to-resume", "missing-model",
         "unsupported-file"],
)
def test_bad_arguments_give_one_line(argv, message, tmp_path, trained, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    argv = [str(trained / "model.pt") if a == "MODEL" else a for a in argv]
    if argv[0] == "train":
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert err.startswith("chromoskl: error:") and message in err


def test_corrupt_model_file(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"\x00" * 100)
    assert main(["evaluate", "--model", str(bad), "--n-samples", "2"]) == 2
    assert "not a readable chromoskl model file" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "0"])
    assert exit_info.value.code == 2
    assert "positive integer" in capsys.readouterr().err


def test_time_budget_without_epochs_trains_until_the_budget(tmp_path):
    out = tmp_path / "budget"
    small = ["--n-samples", "30", "--batch-size", "8", "--module", "base_channels=4"]
    assert main(["train", *small, "--max-minutes", "0.02", "--out", str(out)]) == 0
    report = json.loads((out / "metrics.json").read_text())
    # The budget, not the recipe's 6 epochs nor an epoch count, ended training.
    assert report["max_minutes"] == 0.02
    assert report["recipe"]["epochs"] > 1000
    assert 1 <= report["epochs_run"] < 1000
    assert report["fit_seconds"] < 1.2 + 30.0


def test_validation_size_zero_trains_on_every_training_image(tmp_path):
    small = ["--n-samples", "30", "--batch-size", "8", "--module", "base_channels=4",
             "--epochs", "2"]
    runs = {}
    for size in ("0.25", "0"):
        out = tmp_path / f"valid{size}"
        assert main(["train", *small, "--validation-size", size, "--out", str(out)]) == 0
        runs[size] = (json.loads((out / "metrics.json").read_text()),
                      ChromosomeSegmenter.load(out / "model.pt"))
    report, seg = runs["0"]
    assert report["validation_size"] == 0.0
    assert seg.train_split is None
    assert [row["epoch"] for row in seg.history_] == [1, 2]
    assert all("valid_loss" not in row for row in seg.history_)
    report, seg = runs["0.25"]
    assert report["validation_size"] == 0.25
    assert all("valid_loss" in row for row in seg.history_)

    def trained_images(seg):
        return sum(batch["train_batch_size"] for batch in seg.history_[0]["batches"]
                   if "train_batch_size" in batch)

    # 24 training images (30, less the 20 % hold-out): a quarter of them kept for validation.
    assert trained_images(runs["0"][1]) == 24
    assert trained_images(runs["0.25"][1]) == 18


def test_flags_override_the_recipe(tmp_path):
    out = tmp_path / "flags"
    assert main(["train", *SMALL, "--lr-schedule", "none", "--criterion", "ce", "--lr", "0.002",
                 "--ab-loss", "swap_invariant", "--ab-decoding", "area", "--content-margin", "2",
                 "--label-model", "summed_masks", "--out", str(out)]) == 0
    recipe = json.loads((out / "metrics.json").read_text())["recipe"]
    assert recipe == {"batch_size": 8, "lr": 0.002, "lr_schedule": None, "criterion": "ce",
                      "ab_loss": "swap_invariant", "ab_decoding": "area", "epochs": 1,
                      "channels_last": True, "content_margin": 2, "augment": "none",
                      "label_model": "summed_masks"}
    seg = ChromosomeSegmenter.load(out / "model.pt")
    assert (seg.ab_loss, seg.ab_decoding, seg.criterion) == ("swap_invariant", "area", "ce")
    assert seg.content_margin == 2
    assert seg.label_model == "summed_masks" and seg.module_.network.head.out_channels == 5


@pytest.mark.parametrize("name, expected", [
    (None, None),
    ("none", None),
    ("shifts", {"shift": 1.0, "shift_pixels": 1, "hflip": 0.0, "vflip": 0.0, "rot90": 0.0}),
    ("dihedral", {"shift": 0.0, "hflip": 0.5, "vflip": 0.5, "rot90": 0.5}),
])
def test_augment_names_the_training_augmenter(name, expected):
    flags = [] if name is None else ["--augment", name]
    settings = _training_settings(build_parser().parse_args(["train", *flags]))
    augment = segmenter_params({**settings, "module": {}})["augment"]
    if expected is None:
        assert augment is None
    else:
        assert {key: getattr(augment, key) for key in expected} == expected
        assert augment.random_state is None  # the estimator's random_state seeds it


def test_tta_is_what_the_saved_model_predicts_with_and_what_was_scored(tmp_path):
    out = tmp_path / "views"
    assert main(["train", *SMALL, "--augment", "shifts", "--tta", "shifts",
                 "--out", str(out)]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert (report["recipe"]["augment"], report["tta"]) == ("shifts", "shifts")
    seg = ChromosomeSegmenter.load(out / "model.pt")
    assert seg.tta == "shifts"
    X_test, y_test = small_hold_out(report)
    with_views = seg.predict_proba(X_test)
    plain = seg.set_params(tta=False).predict_proba(X_test)
    assert not np.allclose(with_views, plain)
    scored = segmentation_scores(y_test, seg.set_params(tta="shifts").predict(X_test))
    assert scored == pytest.approx(report["test"])


def test_a_data_file_trains_on_content_boxes_by_default(tmp_path):
    from .test_content_crops import crosses_on_flat_background

    X, y = crosses_on_flat_background(24, frame=(48, 48))
    data = tmp_path / "pairs.h5"
    with h5py.File(data, "w") as handle:
        handle["images"], handle["labels"] = X, y
    out = tmp_path / "boxes"
    assert main(["train", "--data", str(data), "--epochs", "1", "--batch-size", "8",
                 "--module", "depth=2", "--module", "base_channels=4", "--out", str(out)]) == 0
    recipe = json.loads((out / "metrics.json").read_text())["recipe"]
    assert (recipe["content_margin"], recipe["ab_loss"], recipe["augment"]) == (
        0, "swap_invariant", "shifts")
    seg = ChromosomeSegmenter.load(out / "model.pt")
    assert seg.content_margin == 0 and seg.box_norm_stats_
    assert seg.criterion == "dice_edge_ce"
    # the --module sizes, not the recipe's channels, built the network: 2 poolings, width 4
    assert seg.module_.input_divisor == 4
    assert seg.module_.head.in_channels == 4


@pytest.mark.parametrize("module, expected", [
    ([], {"base_channels": 16, "depth": 4, "channels": [16, 16, 32, 64, 128]}),
    (["base_channels=4"], {"base_channels": 4, "depth": 4}),
    (["depth=2"], {"base_channels": 16, "depth": 2}),
    (["channels=[8, 8, 16]"], {"base_channels": 16, "depth": 4, "channels": [8, 8, 16]}),
])
def test_the_file_recipes_channels_yield_to_a_size_asked_for(module, expected):
    args = build_parser().parse_args(
        ["train", "--data", "pairs.h5", *[a for m in module for a in ("--module", m)]])
    assert _training_settings(args)["module"] == expected


@pytest.mark.parametrize("data, precision, epochs", [
    ([], "fp32", 6),
    ([], "bf16", 8),
    (["--data", "pairs.h5"], "fp32", 16),
    (["--data", "pairs.h5"], "bf16", 16),
])
def test_the_recipe_follows_the_precision_training_runs_in(data, precision, epochs):
    # the default job is sized to its 90 s: bfloat16 trains more epochs in them
    args = build_parser().parse_args(["train", *data, "--precision", precision])
    settings = _training_settings(args)
    assert settings["epochs"] == epochs
    assert settings["batch_size"] == (32 if data else 8)


def test_bf16_on_a_cpu_that_emulates_it_is_one_warning_line(tmp_path, capsys, monkeypatch):
    from chromoskl import _precision

    monkeypatch.setattr(_precision, "cpu_has_native_bf16", lambda: False)
    assert main(["train", *SMALL, "--precision", "bf16", "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert err.count("chromoskl: warning: precision='bf16' on a CPU without bfloat16") == 1
    assert "--precision auto or fp32" in err and "Traceback" not in err


def test_content_margin_none_runs_whole_images(tmp_path):
    out = tmp_path / "whole"
    assert main(["train", *SMALL, "--content-margin", "none", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["recipe"]["content_margin"] is None
    assert ChromosomeSegmenter.load(out / "model.pt").content_margin is None


@pytest.mark.parametrize("flag, value", [("--max-minutes", "0"), ("--max-minutes", "soon"),
                                         ("--lr", "-1"), ("--content-margin", "-1"),
                                         ("--content-margin", "wide"),
                                         ("--validation-size", "1"),
                                         ("--validation-size", "-0.1"),
                                         ("--validation-size", "tenth")])
def test_bad_numbers_are_usage_errors(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", flag, value])
    assert exit_info.value.code == 2
    assert flag in capsys.readouterr().err
