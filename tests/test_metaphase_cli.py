"""``chromoskl separate``: what it writes for TIFF, PNG and RGB images, and how it fails."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage import io

from chromoskl.cli import main
from chromoskl.datasets import make_metaphase


@pytest.fixture(scope="module")
def model(tiny_segmenter_file):
    return tiny_segmenter_file


@pytest.fixture(scope="module")
def metaphase():
    return make_metaphase(6, n_overlaps=1, shape=(240, 260), random_state=0)


def test_separate_writes_instances_overlay_gallery_and_measurements(model, metaphase, tmp_path,
                                                                    capsys):
    raw = tmp_path / "cell.tif"
    io.imsave(raw, np.clip(metaphase.image, 0, 4095).astype(np.uint16), check_contrast=False)
    out = tmp_path / "out"
    assert main(["separate", "--model", str(model), str(raw), "--out", str(out)]) == 0
    assert "chromosomes" in capsys.readouterr().out
    with np.load(out / "cell_instances.npz") as saved:
        masks, source = saved["masks"], saved["source"]
        assert masks.dtype == bool and masks.shape[1:] == (240, 260)
        assert len(source) == len(masks) == len(saved["area"]) == len(saved["boxes"])
    report = json.loads((out / "cell_measurements.json").read_text())
    assert report["n_chromosomes"] == len(masks) >= 5
    first = report["chromosomes"][0]
    assert first["number"] == 1 and first["area_px"] == int(masks[0].sum())
    assert first["length_px"] > 10 and set(first["box"]) == {"row_start", "col_start",
                                                              "row_stop", "col_stop"}
    overlay = io.imread(out / "cell_overlay.png")
    assert overlay.shape[:2] == (240, 260) and overlay.shape[2] in (3, 4)
    gallery = io.imread(out / "cell_gallery.png")
    assert gallery.ndim == 3 and gallery.shape[0] > 100
    assert report["settings"]["min_crossing_pixels"] == 16
    # the segmenter's check of what looks single can be turned off
    assert main(["separate", "--model", str(model), str(raw), "--out", str(out),
                 "--min-crossing-pixels", "none"]) == 0
    report = json.loads((out / "cell_measurements.json").read_text())
    assert report["settings"]["min_crossing_pixels"] is None


def test_eight_bit_png_and_rgb_images_work_without_a_model(metaphase, tmp_path, capsys):
    image = metaphase.image
    eight = np.clip((image - image.min()) / np.ptp(image) * 255, 0, 255).astype(np.uint8)
    io.imsave(tmp_path / "grey.png", eight, check_contrast=False)
    io.imsave(tmp_path / "colour.png", np.stack([eight] * 3, axis=-1), check_contrast=False)
    out = tmp_path / "out"
    assert main(["separate", str(tmp_path / "grey.png"), str(tmp_path / "colour.png"),
                 "--out", str(out)]) == 0
    counts = [json.loads((out / f"{n}_measurements.json").read_text())["n_chromosomes"]
              for n in ("grey", "colour")]
    assert counts == [5, 5]  # the crossing pair stays one mask without a model
    assert "no --model" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("not an image"), "cannot read image"),
        (lambda p: io.imsave(p, np.ones((5, 40, 50), np.uint16), check_contrast=False),
         "expected a grey image"),
    ],
)
def test_bad_images_give_one_line(tmp_path, capsys, make, message):
    path = tmp_path / "bad.tif"
    make(path)
    assert main(["separate", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_arguments_give_one_line(tmp_path, capsys):
    assert main(["separate", str(tmp_path / "missing.tif")]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["separate", "x.tif", "--threshold", "median"])
    assert stop.value.code == 2
    assert "must be one of" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["separate", "x.tif", "--min-crossing-pixels", "0"])
    assert stop.value.code == 2
    assert "must be a positive integer or none, got '0'" in capsys.readouterr().err
