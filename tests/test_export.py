"""Export to ONNX and TorchScript (issue 13): the files compute what ``predict_proba`` computes,
for every architecture, at image sizes other than the one exported with."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from chromoskl import ChromosomeSegmenter
from chromoskl.architectures import ARCHITECTURES
from chromoskl.cli import main
from chromoskl.export import export_segmenter, format_of

#: The smallest widths of each network (a new architecture must be added here).
TINY = {
    "unet": {"base_channels": 4, "depth": 2},
    "attention_unet": {"channels": (4, 8, 16)},
    "unetpp": {"channels": (4, 8, 16)},
    "cenet": {"channels": (8, 16, 32, 64), "blocks": (1, 1, 1, 1)},
    **{name: {"base_channels": 4, "depth": 3}
       for name in ("arms", "unet_r", "unet_pr", "unet_ar", "unet_dar", "unet_aar")},
}
#: Networks that compute layer settings from the map size (ARMS Net's adaptive AMAC/ASSP):
#: exported to ONNX for one size, not traced at all.
ONE_SIZE_ONLY = {"arms", "unet_ar", "unet_dar", "unet_aar"}
#: Networks whose trace keeps Python-computed sizes (CE-Net's clamped pooling windows).
TRACED_FOR_ONE_SIZE = {"cenet"}
#: An odd size, and a second size (other batch, other padded size) for the dynamic axes.
SIZE, OTHER = (3, 37, 41), (1, 45, 66)
TOLERANCE = 1e-4


def _fitted(name, **params):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 200, (8, *SIZE[1:])).astype(np.float32)
    y = rng.integers(0, 4, (8, *SIZE[1:]))
    seg = ChromosomeSegmenter(
        name, max_epochs=1, batch_size=4, train_split=None, device="cpu", random_state=0,
        **{f"module__{key}": value for key, value in TINY[name].items()}, **params,
    )
    return seg.fit(X, y)


def _images(shape, seed=1):
    return np.random.default_rng(seed).uniform(0, 200, shape).astype(np.float32)


def _run_onnx(path, images):
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"images": images[:, None]})[0]


def _run_torchscript(path, images):
    return torch.jit.load(str(path))(torch.from_numpy(images[:, None])).numpy()


def _needs_onnx():
    for name in ("onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(name)


def test_every_architecture_has_tiny_widths():
    assert set(TINY) == set(ARCHITECTURES)


# ------------------------------------------------------------------ every architecture


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_onnx_matches_pytorch_for_every_architecture(name, tmp_path):
    _needs_onnx()
    seg = _fitted(name)
    path = tmp_path / "model.onnx"
    images, other = _images(SIZE), _images(OTHER, seed=2)
    if name in ONE_SIZE_ONLY:
        with pytest.raises(ValueError, match=r"image_shape=\(H, W\)"):
            seg.export(path)
        assert not path.exists()
        seg.export(path, image_shape=SIZE[1:])
        with pytest.raises(Exception, match="(?i)dimension"):  # onnxruntime refuses the size
            _run_onnx(path, other)
        others = []
    else:
        seg.export(path)
        others = [other]
    for batch in [images, *others]:
        got = _run_onnx(path, batch)
        assert got.shape == (len(batch), 4, *batch.shape[1:])
        np.testing.assert_allclose(got, seg.predict_proba(batch), atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_torchscript_matches_pytorch_for_every_architecture(name, tmp_path):
    seg = _fitted(name)
    path = tmp_path / "model.pt"
    images, other = _images(SIZE), _images(OTHER, seed=2)
    if name in ONE_SIZE_ONLY:
        with pytest.raises(ValueError, match="cannot be traced"):
            seg.export(path, image_shape=SIZE[1:])
        assert not path.exists()
        return
    if name in TRACED_FOR_ONE_SIZE:
        with pytest.raises(ValueError, match=r"does not follow the image size"):
            seg.export(path)
        seg.export(path, image_shape=SIZE[1:])
        with pytest.raises(Exception, match="exported for 37x41 images only"):
            _run_torchscript(path, other)
        batches = [images]
    else:
        seg.export(path)
        batches = [images, other]
    for batch in batches:
        got = _run_torchscript(path, batch)
        assert got.shape == (len(batch), 4, *batch.shape[1:])
        np.testing.assert_allclose(got, seg.predict_proba(batch), atol=TOLERANCE, rtol=0)


# ------------------------------------------------------------------ what the graph holds


def test_area_decoding_and_tta_are_inside_the_graph(tmp_path):
    seg = _fitted("unet", ab_decoding="area", tta=True)
    images = _images((6, 30, 45))
    expected = seg.predict_proba(images)
    # the A/B exchange happened somewhere, so the test sees it (the network is barely trained)
    unswapped = seg.set_params(ab_decoding="network").predict_proba(images)
    seg.set_params(ab_decoding="area")
    assert not np.allclose(expected, unswapped)
    seg.export(tmp_path / "model.ts")
    np.testing.assert_allclose(_run_torchscript(tmp_path / "model.ts", images), expected,
                               atol=TOLERANCE, rtol=0)


def test_shift_tta_is_inside_the_graph(tmp_path):
    seg = _fitted("unet", tta="shifts")
    images = _images((3, 30, 45))
    expected = seg.predict_proba(images)
    assert not np.allclose(expected, seg.set_params(tta=False).predict_proba(images))
    seg.set_params(tta="shifts").export(tmp_path / "model.ts")
    np.testing.assert_allclose(_run_torchscript(tmp_path / "model.ts", images), expected,
                               atol=TOLERANCE, rtol=0)


@pytest.mark.slow
def test_onnx_file_names_its_axes_and_keeps_the_intensity_range(tmp_path):
    _needs_onnx()
    import onnx

    seg = _fitted("unet", ab_decoding="area", tta=True)
    seg.export(tmp_path / "model.onnx")
    model = onnx.load(str(tmp_path / "model.onnx"))
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 1, "height", "width"]
    meta = {entry.key: entry.value for entry in model.metadata_props}
    assert json.loads(meta["chromoskl.intensity_range"]) == pytest.approx(seg.intensity_range_)
    assert json.loads(meta["chromoskl.min_image_size"]) == [2, 2]
    images = _images((5, 30, 45))
    np.testing.assert_allclose(_run_onnx(tmp_path / "model.onnx", images),
                               seg.predict_proba(images), atol=TOLERANCE, rtol=0)


def test_torchscript_file_keeps_the_intensity_range(tmp_path):
    seg = _fitted("unet")
    seg.export(tmp_path / "model.pt")
    files = {"chromoskl.json": ""}
    torch.jit.load(str(tmp_path / "model.pt"), _extra_files=files)
    meta = json.loads(files["chromoskl.json"])
    assert json.loads(meta["chromoskl.intensity_range"]) == pytest.approx(seg.intensity_range_)


# ------------------------------------------------------------------ formats, files, errors


@pytest.mark.parametrize(
    "path, given, expected",
    [("m.onnx", None, "onnx"), ("m.PT", None, "torchscript"), ("m.ts", None, "torchscript"),
     ("m.bin", "onnx", "onnx")],
)
def test_format_from_suffix_or_argument(path, given, expected):
    assert format_of(path, given) == expected


@pytest.mark.parametrize("path, given", [("m.bin", None), ("m.onnx", "tflite")])
def test_unknown_format_is_one_clear_error(path, given):
    with pytest.raises(ValueError, match="format"):
        format_of(path, given)


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    seg = _fitted("unet")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxscript" else real(name, *a))
    with pytest.raises(ImportError, match=r'onnxscript: pip install "chromoskl\[export\]"'):
        seg.export(tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary(monkeypatch, tmp_path):
    seg = _fitted("unet")
    path = tmp_path / "model.pt"
    path.write_bytes(b"old")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        export_segmenter(seg, path)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["model.pt"]


@pytest.mark.parametrize("shape", [(37,), (0, 41), (37.5, 41), "37x41"])
def test_bad_image_shape_is_one_clear_error(shape, tmp_path):
    with pytest.raises(ValueError, match="image_shape must be"):
        _fitted("unet").export(tmp_path / "model.pt", image_shape=shape)


def test_unfitted_segmenter_cannot_be_exported(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ChromosomeSegmenter().export(tmp_path / "model.pt")


# ------------------------------------------------------------------ the command line


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "model.pt"
    _fitted("unet").save(path)
    return path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("chromoskl: error:"), err
    return err


def test_cli_exports_torchscript_that_matches_the_model(model_file, tmp_path, capsys):
    out = tmp_path / "exported.ts"
    assert main(["export", "--model", str(model_file), "--out", str(out)]) == 0
    assert "torchscript, any image size" in capsys.readouterr().out
    images = _images(SIZE)
    expected = ChromosomeSegmenter.load(model_file).predict_proba(images)
    np.testing.assert_allclose(_run_torchscript(out, images), expected, atol=TOLERANCE, rtol=0)


@pytest.mark.slow
def test_cli_exports_onnx_for_one_size(model_file, tmp_path, capsys):
    _needs_onnx()
    out = tmp_path / "exported.bin"
    assert main(["export", "--model", str(model_file), "--out", str(out), "--format", "onnx",
                 "--image-size", "37", "41"]) == 0
    assert "onnx, 37x41 images" in capsys.readouterr().out
    images = _images(SIZE)
    expected = ChromosomeSegmenter.load(model_file).predict_proba(images)
    np.testing.assert_allclose(_run_onnx(out, images), expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize(
    "args, message",
    [(["--out", "{tmp}/m.bin"], "Cannot tell the export format"),
     (["--out", "{tmp}"], "is a directory"),
     (["--out", "{tmp}/m.pt", "--model", "{tmp}/absent.pt"], "no such model file")],
)
def test_cli_errors_are_one_line_with_status_2(args, message, model_file, tmp_path, capsys):
    args = [a.format(tmp=tmp_path) for a in args]
    if "--model" not in args:
        args += ["--model", str(model_file)]
    assert main(["export", *args]) == 2
    assert message in _one_error_line(capsys)


def test_cli_without_onnx_names_the_extra(model_file, tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("onnx") else real(name, *a))
    assert main(["export", "--model", str(model_file), "--out", str(tmp_path / "m.onnx")]) == 2
    assert 'pip install "chromoskl[export]"' in _one_error_line(capsys)
    assert not Path(tmp_path / "m.onnx").exists()


def test_cli_one_size_network_without_image_size_says_what_to_do(tmp_path, capsys):
    model = tmp_path / "arms.pt"
    _fitted("arms").save(model)
    assert main(["export", "--model", str(model), "--out", str(tmp_path / "arms.ts")]) == 2
    assert "cannot be traced" in _one_error_line(capsys)


def test_a_segmenter_on_content_boxes_is_not_exported_silently(tmp_path):
    seg = _fitted("unet").set_params(content_margin=2)
    with pytest.raises(ValueError, match=r"content_margin=2.*set_params\(content_margin=None\)"):
        seg.export(tmp_path / "model.pt")
    assert list(tmp_path.iterdir()) == []
    seg.set_params(content_margin=None).export(tmp_path / "model.pt")  # knowingly: whole images
    assert (tmp_path / "model.pt").stat().st_size > 0
