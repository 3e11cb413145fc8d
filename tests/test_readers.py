"""Reading a lab's own labelled data: an h5 of named datasets, a folder of image/mask pairs;
``chromoskl evaluate --data`` takes both (issue 12)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from skimage import io

from chromoskl import ChromosomeSegmenter
from chromoskl.cli import main
from chromoskl.datasets import (
    load_image_folder,
    load_labelled_data,
    load_labelled_h5,
    make_overlapping_chromosomes,
)
from chromoskl.metrics import segmentation_scores


@pytest.fixture(scope="module")
def pairs():
    data = make_overlapping_chromosomes(5, shape=(40, 44), random_state=3)
    data.images = np.clip(data.images, 0, 255).round().astype(np.float32)
    return data


@pytest.fixture(scope="module")
def model(tmp_path_factory, pairs):
    path = tmp_path_factory.mktemp("model") / "model.pt"
    seg = ChromosomeSegmenter(max_epochs=1, batch_size=4, train_split=None, device="cpu",
                              random_state=0, module__base_channels=4, module__depth=2)
    seg.fit(pairs.images, pairs.labels).save(path)
    return path


def _write_h5(path, pairs, **names):
    keys = {"images": "images", "labels": "labels", **names}
    with h5py.File(path, "w") as handle:
        handle.create_dataset(keys["images"], data=pairs.images)
        handle.create_dataset(keys["labels"], data=pairs.labels)
        handle.create_dataset("pair", data=pairs.groups)
    return path


def _write_folder(folder, pairs, layout):
    for i, (image, label) in enumerate(zip(pairs.images, pairs.labels)):
        if layout == "subfolders":
            (folder / "images").mkdir(parents=True, exist_ok=True)
            (folder / "masks").mkdir(exist_ok=True)
            io.imsave(folder / "images" / f"cell{i}.png", image.astype(np.uint8),
                      check_contrast=False)
            io.imsave(folder / "masks" / f"cell{i}.png", label, check_contrast=False)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            io.imsave(folder / f"cell{i}.tif", image.astype(np.uint16), check_contrast=False)
            io.imsave(folder / f"cell{i}_mask.tif", label, check_contrast=False)
    return folder


def test_h5_with_named_datasets(tmp_path, pairs):
    path = _write_h5(tmp_path / "mine.h5", pairs, images="grey", labels="truth")
    data = load_labelled_h5(path, images="grey", labels="truth", groups="pair", max_samples=4)
    np.testing.assert_array_equal(data.images, pairs.images[:4])
    np.testing.assert_array_equal(data.labels, pairs.labels[:4])
    np.testing.assert_array_equal(data.groups, pairs.groups[:4])
    with pytest.raises(ValueError, match=r"no dataset 'images'.*\['grey', 'pair', 'truth'\]"):
        load_labelled_h5(path)


@pytest.mark.parametrize("layout", ["subfolders", "suffix"])
def test_folder_of_image_mask_pairs(tmp_path, pairs, layout):
    folder = _write_folder(tmp_path / "mine", pairs, layout)
    data = load_image_folder(folder)
    np.testing.assert_array_equal(data.images, pairs.images)
    np.testing.assert_array_equal(data.labels, pairs.labels)
    assert list(data.names) == [f"cell{i}.{'png' if layout == 'subfolders' else 'tif'}"
                                for i in range(5)]
    assert load_labelled_data(folder, max_samples=2).images.shape == (2, 40, 44)


def test_folder_errors_say_what_is_missing(tmp_path, pairs):
    folder = _write_folder(tmp_path / "mine", pairs, "suffix")
    (folder / "cell2_mask.tif").unlink()
    with pytest.raises(ValueError, match="cell2.tif has no mask"):
        load_image_folder(folder)
    io.imsave(folder / "cell2_mask.tif", (pairs.labels[2] * 85).astype(np.uint8),
              check_contrast=False)
    with pytest.raises(ValueError, match="holds label 255"):
        load_image_folder(folder)
    with pytest.raises(ValueError, match="holds no images"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize("kind", ["h5", "folder"])
def test_evaluate_reads_both(kind, tmp_path, pairs, model, capsys):
    if kind == "h5":
        source = _write_h5(tmp_path / "mine.h5", pairs, images="grey", labels="truth")
        extra = ["--images-key", "grey", "--labels-key", "truth"]
    else:
        source, extra = _write_folder(tmp_path / "mine", pairs, "subfolders"), []
    assert main(["evaluate", "--model", str(model), "--data", str(source), *extra]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_images"] == 5
    expected = segmentation_scores(
        pairs.labels, ChromosomeSegmenter.load(model).predict(pairs.images)
    )
    assert report["scores"]["overlap_iou"] == pytest.approx(expected["overlap_iou"], nan_ok=True)


def _write_pommier_h5(path, pairs):
    """Pommier's regenerated layout: the generated labels as channel 1 of dataset_1 (raw),
    and, as ``labels_cleaned``, the same labels with A and B exchanged."""
    cleaned = np.choose(pairs.labels, [0, 2, 1, 3]).astype(np.uint8)
    with h5py.File(path, "w") as handle:
        handle.create_dataset("dataset_1", data=np.stack([pairs.images, pairs.labels],
                                                         axis=-1).astype(np.int16))
        handle.create_dataset("labels_cleaned", data=cleaned)
    return path, cleaned


def test_pommier_labels_chooses_the_labelling_of_pommiers_file(tmp_path, pairs):
    path, cleaned = _write_pommier_h5(tmp_path / "pommier.h5", pairs)
    np.testing.assert_array_equal(load_labelled_data(path).labels, cleaned)
    np.testing.assert_array_equal(load_labelled_data(path, pommier_labels="raw").labels,
                                  pairs.labels)
    mine = _write_h5(tmp_path / "mine.h5", pairs)
    folder = _write_folder(tmp_path / "mine", pairs, "suffix")
    for source in (mine, folder):
        with pytest.raises(ValueError, match="applies only to Pommier's h5 layout"):
            load_labelled_data(source, pommier_labels="raw")
    with pytest.raises(ValueError, match="must be 'cleaned' or 'raw', got 'Raw'"):
        load_labelled_data(path, pommier_labels="Raw")


def test_evaluate_scores_against_the_labelling_asked_for(tmp_path, pairs, model, capsys):
    path, cleaned = _write_pommier_h5(tmp_path / "pommier.h5", pairs)
    predicted = ChromosomeSegmenter.load(model).predict(pairs.images)
    a_scores = []
    for flag, truth, source in ((["--pommier-labels", "raw"], pairs.labels,
                                 f"{path} (raw labels)"), ([], cleaned, str(path))):
        assert main(["evaluate", "--model", str(model), "--data", str(path), *flag]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["data"] == source
        expected = segmentation_scores(truth, predicted)
        for name in ("chromosome_a_iou", "chromosome_b_iou"):
            assert report["scores"][name] == pytest.approx(expected[name])
        a_scores.append(report["scores"]["chromosome_a_iou"])
    assert abs(a_scores[0] - a_scores[1]) > 0.02  # 0.033: the two labellings score differently
    mine = _write_h5(tmp_path / "mine.h5", pairs)
    assert main(["evaluate", "--model", str(model), "--data", str(mine),
                 "--pommier-labels", "raw"]) == 2
    assert "applies only to Pommier's h5 layout" in capsys.readouterr().err
