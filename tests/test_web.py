"""The web page and JSON API of ``chromoskl serve`` (Flask's test client): what an upload of a
pair crop or a metaphase gives, the downloads, and every way an upload is refused."""

from __future__ import annotations

import io
import json
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from skimage import io as skio

from chromoskl import ChromosomeSegmenter
from chromoskl.cli import main
from chromoskl.datasets import make_metaphase, make_overlapping_chromosomes, read_grey_image
from chromoskl.metaphase import MetaphaseSeparator
from chromoskl.metrics import CHROMOSOME_LABELS
from chromoskl.recognition import PadToSquare, ResizeImages, classify_chromosomes

pytest.importorskip("flask")

from chromoskl.web import create_app  # noqa: E402  (after the skip: it needs flask)


@pytest.fixture(scope="module")
def segmenter(tiny_segmenter_file):
    return ChromosomeSegmenter.load(tiny_segmenter_file)


@pytest.fixture(scope="module")
def app(segmenter):
    app = create_app(segmenter)
    yield app
    app.extensions["chromoskl"].store.close()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def metaphase():
    return make_metaphase(6, n_overlaps=1, shape=(240, 260), random_state=0)


def _file(array, suffix: str) -> io.BytesIO:
    buffer = io.BytesIO()
    iio.imwrite(buffer, array, extension=suffix)
    buffer.seek(0)
    return buffer


def _tiff12(metaphase) -> np.ndarray:
    return np.clip(metaphase.image, 0, 4095).astype(np.uint16)


def _post(client, data, name, url="/api/separate", **form):
    return client.post(url, data={"file": (data, name), **form},
                       content_type="multipart/form-data")


def test_pair_crop_is_segmented_directly_and_its_files_download(client, segmenter, tmp_path):
    image = make_overlapping_chromosomes(1, random_state=3).images[0]
    eight = np.clip(image, 0, 255).astype(np.uint8)
    answer = _post(client, _file(eight, ".png"), "pair.png")
    assert answer.status_code == 201
    report = answer.get_json()
    assert report["kind"] == "pair" and report["image"] == "pair.png"
    labels = segmenter.predict(eight[None].astype(np.float32))[0]
    expected = [np.isin(labels, c) for c in CHROMOSOME_LABELS]
    expected = [m for m in expected if m.any()]
    assert report["n_chromosomes"] == len(expected) >= 1
    assert [c["area_px"] for c in report["chromosomes"]] == [int(m.sum()) for m in expected]

    npz = client.get(report["files"]["instances"])
    assert npz.status_code == 200 and "attachment" in npz.headers["Content-Disposition"]
    (tmp_path / "i.npz").write_bytes(npz.data)
    with np.load(tmp_path / "i.npz") as saved:
        np.testing.assert_array_equal(saved["labels"], labels)
        np.testing.assert_array_equal(saved["masks"], np.stack(expected))
    measurements = client.get(report["files"]["measurements"])
    assert measurements.mimetype == "application/json"
    stored = json.loads(measurements.data)
    assert stored == {k: v for k, v in report.items() if k not in ("id", "files")}
    for name in ("input", "overlay", "gallery"):
        picture = client.get(report["files"][name])
        assert picture.mimetype == "image/png" and picture.data[:8] == b"\x89PNG\r\n\x1a\n"
    overlay = skio.imread(io.BytesIO(client.get(report["files"]["overlay"]).data))
    assert overlay.shape[:2] == eight.shape


def test_twelve_bit_metaphase_gives_the_separators_masks(client, segmenter, metaphase,
                                                         tmp_path):
    raw = _tiff12(metaphase)
    assert raw.max() > 255  # really beyond 8 bits
    answer = _post(client, _file(raw, ".tif"), "cell.tif")
    assert answer.status_code == 201
    report = answer.get_json()
    assert report["kind"] == "metaphase"
    (tmp_path / "cell.tif").write_bytes(_file(raw, ".tif").getvalue())
    direct = MetaphaseSeparator(segmenter).separate(read_grey_image(tmp_path / "cell.tif"))
    assert report["n_chromosomes"] == len(direct.masks) >= 5
    (tmp_path / "i.npz").write_bytes(client.get(report["files"]["instances"]).data)
    with np.load(tmp_path / "i.npz") as saved:
        np.testing.assert_array_equal(saved["masks"], direct.masks)
        assert list(saved["source"]) == list(direct.source)
    overlay = skio.imread(io.BytesIO(client.get(report["files"]["overlay"]).data))
    assert overlay.shape[:2] == (240, 260)
    assert "karyogram" not in report["files"]  # no classifier


def test_the_form_redirects_to_a_page_with_the_pictures_and_the_count(client, metaphase):
    eight = (np.clip(metaphase.image / 16, 0, 255)).astype(np.uint8)
    rgb = np.stack([eight] * 3, axis=-1)
    posted = _post(client, _file(rgb, ".jpg"), "colour.jpg", url="/")
    assert posted.status_code == 303
    page = client.get(posted.headers["Location"])
    html = page.data.decode()
    assert page.status_code == 200
    result_id = posted.headers["Location"].rsplit("/", 1)[-1]
    report = client.get(f"/api/results/{result_id}").get_json()
    assert f'<strong id="n-chromosomes">{report["n_chromosomes"]}</strong>' in html
    for name in ("input", "overlay", "gallery", "instances", "measurements"):
        assert report["files"][name] in html
    assert report["kind"] == "metaphase" and report["n_chromosomes"] >= 5


def test_the_kind_can_be_chosen_and_the_rule_is_on_the_page(client, metaphase):
    index = client.get("/").data.decode()
    assert "188x186" in index and "94x93" in index and "4,194,304 pixels" in index
    small = _tiff12(metaphase)[:150, :150]
    assert _post(client, _file(small, ".tif"), "s.tif").get_json()["kind"] == "pair"
    chosen = _post(client, _file(small, ".tif"), "s.tif", kind="metaphase")
    assert chosen.status_code == 201 and chosen.get_json()["kind"] == "metaphase"
    refused = _post(client, _file(small, ".tif"), "s.tif", kind="karyotype")
    assert refused.status_code == 400 and "kind must be one of" in refused.get_json()["error"]


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (b"not an image at all", "cell.tif", 400, "cannot read the image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "cell.png", 400, "cannot read the image"),
        (b"MZ...", "cell.exe", 415, "unsupported file type '.exe'"),
        (b"", "", 400, "no file was sent"),
    ],
)
def test_a_bad_file_gets_a_4xx_with_its_reason(client, data, name, status, message):
    answer = _post(client, io.BytesIO(data), name)
    assert answer.status_code == status
    assert message in answer.get_json()["error"]
    page = _post(client, io.BytesIO(data), name, url="/")
    assert page.status_code == status
    html = page.data.decode()
    assert 'id="error"' in html and message.replace("'", "&#39;") in html
    assert "Traceback" not in html


def test_a_stack_is_refused_with_the_readers_message(client):
    stack = np.ones((5, 40, 50), np.uint16)
    answer = _post(client, _file(stack, ".tif"), "stack.tif")
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert "expected a grey image" in error and "upload" in error
    assert "chromoskl-serve-" not in error  # the server's temporary path is not shown


def test_oversize_uploads_get_413(segmenter, metaphase):
    app = create_app(segmenter, max_upload_mb=0.05, max_pixels=200 * 200)
    try:
        client = app.test_client()
        noise = np.random.default_rng(0).integers(0, 4096, (200, 200), dtype=np.uint16)
        big = _post(client, _file(noise, ".tif"), "big.tif")  # 80 kB > 0.05 MiB
        assert big.status_code == 413 and "0.05 MiB" in big.get_json()["error"]
        page = _post(client, _file(noise, ".tif"), "big.tif", url="/")
        assert page.status_code == 413 and "0.05 MiB" in page.data.decode()
        wide = np.zeros((201, 300), np.uint8)  # small as a file, too many pixels
        answer = _post(client, _file(wide, ".png"), "wide.png")
        assert answer.status_code == 413
        assert "60,300 pixels" in answer.get_json()["error"]
        assert "40,000" in answer.get_json()["error"]
    finally:
        app.extensions["chromoskl"].store.close()


def test_uploads_stay_in_the_temporary_directory_whatever_their_name(client, app, metaphase,
                                                                     tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = app.extensions["chromoskl"].store
    name = "../../../../" + str(tmp_path).lstrip("/") + "/escaped.tif"
    answer = _post(client, _file(_tiff12(metaphase)[:100, :100], ".tif"), name)
    assert answer.status_code == 201
    report = answer.get_json()
    # reported, never used as a path: its separators and dots are gone
    assert report["image"].endswith("_escaped.tif") and "/" not in report["image"]
    assert ".." not in report["image"]
    assert not any(tmp_path.rglob("escaped*"))
    written = sorted(p.name for p in (store.root / report["id"]).iterdir())
    assert written == ["gallery.png", "input.png", "instances.npz", "measurements.json",
                       "overlay.png", "upload.tif"]
    for path in (f"/results/{report['id']}/..%2F..%2Fetc%2Fpasswd",
                 f"/results/{report['id']}/upload.tif",  # not one of the result's files
                 "/results/..%2F..%2Fetc/overlay.png", "/results/0123/overlay.png",
                 "/api/results/" + "0" * 32):
        refused = client.get(path)
        assert refused.status_code == 404, path


def test_a_server_failure_is_a_500_in_one_line_without_traceback(metaphase):
    class Broken:
        def predict(self, X):
            raise RuntimeError("the network is on fire")

    app = create_app(Broken())
    try:
        client = app.test_client()
        small = _tiff12(metaphase)[:100, :100]
        answer = _post(client, _file(small, ".tif"), "s.tif")
        assert answer.status_code == 500
        assert answer.get_json()["error"].startswith("the server failed on this request "
                                                     "(RuntimeError)")
        page = _post(client, _file(small, ".tif"), "s.tif", url="/")
        assert page.status_code == 500 and "Traceback" not in page.data.decode()
        assert list(app.extensions["chromoskl"].store.root.iterdir()) == []  # discarded
    finally:
        app.extensions["chromoskl"].store.close()


def test_the_store_keeps_the_last_results_and_is_removed_on_close(segmenter, metaphase):
    app = create_app(segmenter, max_results=2)
    client = app.test_client()
    store = app.extensions["chromoskl"].store
    small = _tiff12(metaphase)[:60, :60]
    ids = [_post(client, _file(small, ".tif"), "s.tif").get_json()["id"] for _ in range(3)]
    assert sorted(p.name for p in store.root.iterdir()) == sorted(ids[1:])
    assert client.get(f"/api/results/{ids[0]}").status_code == 404
    store.close()
    assert not store.root.exists()


def _flatten(X):
    return np.asarray(X).reshape(len(X), -1)


@pytest.fixture(scope="module")
def classifier():
    """A scikit-learn pipeline of the 24 classes (as tests/test_karyogram_cli.py): the calls of
    a ChromosomeClassifier pipeline, without torchvision."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from chromoskl.datasets import make_karyotype_chromosomes

    data = make_karyotype_chromosomes(4, image_size=32, random_state=0)
    model = make_pipeline(PadToSquare(), ResizeImages(16), FunctionTransformer(_flatten),
                          LogisticRegression(max_iter=300))
    return model.fit(data.images, data.target)


def test_a_classifier_adds_classes_and_a_karyogram(segmenter, classifier, metaphase,
                                                   tmp_path):
    app = create_app(segmenter, classifier)
    try:
        client = app.test_client()
        raw = _tiff12(metaphase)
        posted = _post(client, _file(raw, ".tif"), "cell.tif", url="/")
        result_id = posted.headers["Location"].rsplit("/", 1)[-1]
        report = client.get(f"/api/results/{result_id}").get_json()
        (tmp_path / "cell.tif").write_bytes(_file(raw, ".tif").getvalue())
        image = read_grey_image(tmp_path / "cell.tif")
        direct = MetaphaseSeparator(segmenter).separate(image)
        found = classify_chromosomes(image, direct.masks, classifier, source=direct.source)
        assert [row["class"] for row in report["chromosomes"]] == found.names
        for row, confidence in zip(report["chromosomes"], found.confidences):
            assert (row["confidence"] is None) == bool(np.isnan(confidence))
            if row["confidence"] is not None:
                assert row["confidence"] == pytest.approx(confidence, abs=1e-4)
        karyogram = client.get(report["files"]["karyogram"])
        assert karyogram.status_code == 200 and karyogram.mimetype == "image/png"
        assert skio.imread(io.BytesIO(karyogram.data)).shape[0] > 200
        html = client.get(posted.headers["Location"]).data.decode()
        assert 'id="karyogram"' in html and "<th>class</th>" in html
    finally:
        app.extensions["chromoskl"].store.close()


@pytest.mark.recognition
def test_a_chromosome_classifier_pipeline_gives_a_karyogram_page(segmenter, metaphase):
    from sklearn.pipeline import make_pipeline

    from chromoskl import ChromosomeClassifier
    from chromoskl.datasets import make_karyotype_chromosomes
    from tests.test_recognition_classifier import require_torchvision

    require_torchvision()
    data = make_karyotype_chromosomes(1, image_size=32, random_state=0)
    model = make_pipeline(PadToSquare(), ResizeImages(32), ChromosomeClassifier(
        arch="resnet18", max_epochs=1, batch_size=24, train_split=None, random_state=0,
        verbose=0))
    app = create_app(segmenter, model.fit(data.images, data.target))
    try:
        answer = _post(app.test_client(), _file(_tiff12(metaphase), ".tif"), "cell.tif")
        report = answer.get_json()
        assert answer.status_code == 201 and "karyogram" in report["files"]
        names = {row["class"] for row in report["chromosomes"]}
        assert names and names <= {*map(str, range(1, 23)), "X", "Y", "?"}
    finally:
        app.extensions["chromoskl"].store.close()


def test_serve_listens_on_localhost_by_default(tiny_segmenter_file, monkeypatch, capsys):
    import werkzeug.serving

    calls = []
    monkeypatch.setattr(werkzeug.serving, "run_simple",
                        lambda host, port, app, **kw: calls.append((host, port, app, kw)))
    assert main(["serve", "--model", str(tiny_segmenter_file)]) == 0
    ((host, port, app, options),) = calls
    assert (host, port, options) == ("127.0.0.1", 8000, {"threaded": True})
    assert app.config["MAX_CONTENT_LENGTH"] == 40 * 1024 * 1024
    assert not app.extensions["chromoskl"].store.root.exists()  # removed when it stopped
    assert "http://127.0.0.1:8000/" in capsys.readouterr().out
    assert app.extensions["chromoskl"].classifier is None


def test_serve_takes_a_classifier_and_the_separators_options(tiny_segmenter_file, classifier,
                                                            tmp_path, monkeypatch):
    import joblib
    import werkzeug.serving

    joblib.dump(classifier, tmp_path / "classifier.joblib")
    apps = []
    monkeypatch.setattr(werkzeug.serving, "run_simple",
                        lambda host, port, app, **kw: apps.append((host, port, app)))
    assert main(["serve", "--model", str(tiny_segmenter_file), "--classifier",
                 str(tmp_path / "classifier.joblib"), "--host", "0.0.0.0", "--port", "8123",
                 "--min-area", "40", "--max-pixels", "1000000"]) == 0
    ((host, port, app),) = apps
    state = app.extensions["chromoskl"]
    assert (host, port, state.max_pixels) == ("0.0.0.0", 8123, 1_000_000)
    assert state.separator.min_area == 40
    assert hasattr(state.classifier, "predict_proba")


def test_serve_without_flask_says_how_to_install_it(tiny_segmenter_file, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "flask", None)  # import flask raises ImportError
    assert main(["serve", "--model", str(tiny_segmenter_file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "chromoskl[web]"' in err


def test_serve_refuses_a_missing_model_in_one_line(tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path / "none.pt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such model file" in err
