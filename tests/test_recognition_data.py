"""make_karyotype_chromosomes and load_chromosome_images (no torchvision needed)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from chromoskl.datasets import load_chromosome_images, make_karyotype_chromosomes
from chromoskl.datasets._karyotype import CENTROMERE_INDEX, CLASS_NAMES, RELATIVE_LENGTH
from chromoskl.recognition import straighten


def test_generator_shapes_and_determinism():
    a = make_karyotype_chromosomes(2, image_size=32, random_state=3)
    b = make_karyotype_chromosomes(2, image_size=32, random_state=3)
    c = make_karyotype_chromosomes(2, image_size=32, random_state=4)
    assert a.images.shape == a.masks.shape == (48, 32, 32)
    assert a.images.dtype == np.float32 and a.masks.dtype == bool
    assert a.images.min() >= 0 and a.images.max() <= 1
    np.testing.assert_array_equal(a.target, np.repeat(np.arange(24), 2))
    assert a.target_names == list(CLASS_NAMES) and a.target_names[22:] == ["X", "Y"]
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)


def test_generator_follows_the_iscn_table():
    assert len(RELATIVE_LENGTH) == len(CENTROMERE_INDEX) == 24
    assert CENTROMERE_INDEX[0] == 48 and CENTROMERE_INDEX[12] == 17  # Oxford Reference values
    data = make_karyotype_chromosomes(3, image_size=64, noise=0.0, random_state=0)
    lengths = np.array([straighten(im, m).shape[0] for im, m in zip(data.images, data.masks)])
    mean_length = lengths.reshape(24, 3).mean(axis=1)
    # measured lengths follow the table: chromosome 1 about 4.4 times chromosome 21 (8.4 / 1.9),
    # blurred by the round tips, which add the same width to every class
    assert mean_length[0] > 1.8 * mean_length[20]
    assert np.corrcoef(mean_length, RELATIVE_LENGTH)[0, 1] > 0.97


def test_generator_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_per_class"):
        make_karyotype_chromosomes(0)
    with pytest.raises(ValueError, match="image_size"):
        make_karyotype_chromosomes(1, image_size=16)
    with pytest.raises(ValueError, match="noise"):
        make_karyotype_chromosomes(1, noise=-1)


def _write(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.zeros((12, 10), np.uint8)
    image[3:9, 4:6] = value
    tifffile.imwrite(path, image)


def test_folder_reads_classes_from_file_and_folder_names(tmp_path, capsys):
    _write(tmp_path / "chr7_0001.tif", 200)
    _write(tmp_path / "X-3.tif", 100)
    _write(tmp_path / "chromosome22.tiff", 50)
    _write(tmp_path / "chrY" / "anything.tif", 255)
    _write(tmp_path / "12" / "cell5_b.tif", 10)
    data = load_chromosome_images(tmp_path, verbose=True)
    names = [data.target_names[k] for k in data.target]
    by_file = dict(zip([p.split("/")[-1] for p in data.filenames], names))
    assert by_file == {
        "X-3.tif": "X", "cell5_b.tif": "12", "chr7_0001.tif": "7",
        "chromosome22.tiff": "22", "anything.tif": "Y",
    }
    assert data.images.shape == (5, 12, 10) and data.images.dtype == np.float32
    row = data.filenames.index(str(tmp_path / "chr7_0001.tif"))
    assert data.images[row].max() == pytest.approx(200 / 255)
    assert data.class_counts["7"] == 1 and data.class_counts["1"] == 0
    assert sum(data.class_counts.values()) == 5
    assert "5 chromosome images" in capsys.readouterr().out


def test_folder_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_chromosome_images(tmp_path / "missing")
    with pytest.raises(ValueError, match="no image"):
        load_chromosome_images(tmp_path)
    _write(tmp_path / "chr23_1.tif", 1)
    with pytest.raises(ValueError, match=r"unknown class '23' for .*chr23_1\.tif"):
        load_chromosome_images(tmp_path)
    (tmp_path / "chr23_1.tif").unlink()
    _write(tmp_path / "cell.tif", 1)
    with pytest.raises(ValueError, match=r"cannot tell the class of .*cell\.tif"):
        load_chromosome_images(tmp_path)
