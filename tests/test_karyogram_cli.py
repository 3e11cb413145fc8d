"""``classify_chromosomes`` and ``chromoskl karyogram``: metaphase, separated chromosomes,
classes, karyogram.

The classifier here is a scikit-learn pipeline (pad, resize, logistic regression) fitted on
generated karyotype chromosomes, so that these tests run without torchvision; a
``ChromosomeClassifier`` pipeline goes through the same calls.
"""

from __future__ import annotations

import json

import joblib
import numpy as np
import pytest
from skimage import io
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from chromoskl.cli import main
from chromoskl.datasets import make_karyotype_chromosomes, make_metaphase
from chromoskl.datasets._karyotype import CLASS_NAMES
from chromoskl.metaphase._pictures import stretch_grey
from chromoskl.recognition import (
    PadToSquare,
    ResizeImages,
    classify_chromosomes,
    cut_out_chromosomes,
)


def flatten(X):
    return np.asarray(X).reshape(len(X), -1)


@pytest.fixture(scope="module")
def classifier():
    data = make_karyotype_chromosomes(4, image_size=32, random_state=0)
    model = make_pipeline(PadToSquare(), ResizeImages(16), FunctionTransformer(flatten),
                          LogisticRegression(max_iter=300))
    return model.fit(data.images, data.target)


@pytest.fixture(scope="module")
def metaphase():
    return make_metaphase(6, n_overlaps=1, shape=(240, 260), random_state=0)


@pytest.fixture(scope="module")
def segmenter_file(tiny_segmenter_file):
    return tiny_segmenter_file


def test_cut_out_keeps_the_mask_grey_levels_and_blacks_out_the_rest(metaphase):
    crops = cut_out_chromosomes(metaphase.image, metaphase.masks, margin=2)
    grey = stretch_grey(metaphase.image)
    assert len(crops) == len(metaphase.masks)
    for crop, mask in zip(crops, metaphase.masks):
        rows, cols = np.nonzero(mask)
        r0, c0 = max(rows.min() - 2, 0), max(cols.min() - 2, 0)
        assert crop.shape == (min(rows.max() + 3, 240) - r0, min(cols.max() + 3, 260) - c0)
        inside = mask[r0 : r0 + crop.shape[0], c0 : c0 + crop.shape[1]]
        np.testing.assert_allclose(crop[inside], grey[r0:, c0:][: crop.shape[0],
                                                                 : crop.shape[1]][inside],
                                   rtol=1e-6)
        assert (crop[~inside] == 0).all() and crop.dtype == np.float32
    with pytest.raises(ValueError, match="to match the image"):
        cut_out_chromosomes(metaphase.image, metaphase.masks[:, :10])


def test_classify_chromosomes_names_each_mask_and_skips_unresolved(metaphase, classifier):
    source = ["single"] * len(metaphase.masks)
    source[2] = "unresolved"
    found = classify_chromosomes(metaphase.image, metaphase.masks, classifier, source=source)
    n = len(metaphase.masks)
    assert found.proba.shape == (n, 24) and len(found.chromosomes) == n
    assert found.classes[2] == -1 and found.names[2] == "?" and np.isnan(found.confidences[2])
    others = [k for k in range(n) if k != 2]
    crops = cut_out_chromosomes(metaphase.image, metaphase.masks[others])
    expected = classifier.predict_proba(crops)
    np.testing.assert_allclose(found.proba[others], expected)
    np.testing.assert_array_equal(found.classes[others], expected.argmax(axis=1))
    np.testing.assert_allclose(found.confidences[others], expected.max(axis=1))
    assert [found.names[k] for k in others] == [CLASS_NAMES[c] for c in expected.argmax(1)]


def test_classifier_that_takes_one_size_only_gets_a_clear_error(metaphase):
    data = make_karyotype_chromosomes(2, image_size=32, random_state=0)
    bare = make_pipeline(FunctionTransformer(flatten), LogisticRegression(max_iter=50))
    bare.fit(data.images, data.target)
    with pytest.raises(ValueError, match="PadToSquare and ResizeImages"):
        classify_chromosomes(metaphase.image, metaphase.masks, bare)
    odd = make_pipeline(PadToSquare(), ResizeImages(16), FunctionTransformer(flatten),
                        LogisticRegression(max_iter=50))
    odd.fit(data.images, data.target + 100)
    with pytest.raises(ValueError, match="classes must be indices"):
        classify_chromosomes(metaphase.image, metaphase.masks, odd)


def test_cli_karyogram_writes_karyogram_gallery_overlay_and_classes(
    segmenter_file, classifier, metaphase, tmp_path, capsys
):
    model = tmp_path / "classifier.joblib"
    joblib.dump(classifier, model)
    raw = tmp_path / "cell.tif"
    io.imsave(raw, np.clip(metaphase.image, 0, 4095).astype(np.uint16), check_contrast=False)
    out = tmp_path / "out"
    assert main(["karyogram", "--segmenter", str(segmenter_file), "--classifier", str(model),
                 str(raw), "--out", str(out)]) == 0
    assert "chromosomes classified" in capsys.readouterr().out
    report = json.loads((out / "cell_karyotype.json").read_text())
    entries = report["chromosomes"]
    assert report["n_chromosomes"] == len(entries) >= 5
    assert sum(report["class_counts"].values()) == len(entries)
    for entry in entries:
        if entry["source"] == "unresolved":
            assert entry["class"] == "?" and entry["confidence"] is None
        else:
            assert entry["class"] in CLASS_NAMES and 0 < entry["confidence"] <= 1
    karyogram = io.imread(out / "cell_karyogram.png")
    assert karyogram.ndim == 3 and karyogram.shape[0] > 400 and karyogram.std() > 1
    assert io.imread(out / "cell_gallery.png").ndim == 3
    assert io.imread(out / "cell_overlay.png").shape[:2] == (240, 260)


def test_cli_karyogram_bad_classifier_file_is_one_line(segmenter_file, metaphase, tmp_path,
                                                       capsys):
    raw = tmp_path / "cell.png"
    io.imsave(raw, (stretch_grey(metaphase.image) * 255).astype(np.uint8),
              check_contrast=False)
    not_a_model = tmp_path / "c.joblib"
    not_a_model.write_text("not a pickle")
    assert main(["karyogram", "--segmenter", str(segmenter_file), "--classifier",
                 str(not_a_model), str(raw)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a saved chromosome classifier" in err[0]


def test_a_chromosome_classifier_pipeline_classifies_the_cut_outs(metaphase):
    """The skorch classifier (a tiny module, so no torchvision) behind PadToSquare/Resize."""
    from chromoskl import ChromosomeClassifier
    from tests.test_recognition_classifier import TinyNet

    data = make_karyotype_chromosomes(2, image_size=32, random_state=0)
    network = ChromosomeClassifier(module=TinyNet, module__n_classes=24, max_epochs=2,
                                   augmenter=None, train_split=None, random_state=0,
                                   verbose=0)
    model = make_pipeline(PadToSquare(), ResizeImages(16), network).fit(data.images,
                                                                         data.target)
    found = classify_chromosomes(metaphase.image, metaphase.masks, model)
    expected = model.predict_proba(cut_out_chromosomes(metaphase.image, metaphase.masks))
    np.testing.assert_allclose(found.proba, expected, rtol=1e-5)
    np.testing.assert_allclose(found.proba.sum(axis=1), 1.0, rtol=1e-5)
    assert (found.classes >= 0).all() and len(found.names) == len(metaphase.masks)
