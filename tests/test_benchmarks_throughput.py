"""benchmarks/throughput.py: the estimator and the raw loop do the same work (tiny, CPU)."""

from __future__ import annotations

import json

import pytest

from ._scripts import load_script


@pytest.fixture(scope="module")
def throughput():
    return load_script("benchmarks/throughput.py")


def test_estimator_and_raw_loop_train_identically_on_the_cpu(throughput, tmp_path, capsys):
    out = tmp_path / "throughput.json"
    argv = [
        "--arch", "unet", "--n-images", "8", "--epochs", "1", "--batch-size", "4",
        "--threads", "1", "--module", "base_channels=2", "--module", "depth=1",
        "--json", str(out),
    ]
    assert throughput.main(argv) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert row["notes"] == []
    assert row["est_train_loss"] == pytest.approx(row["raw_train_loss"], rel=1e-5)
    assert row["proba_max_abs_diff"] < 1e-5
    for key in ("est_train_ips", "raw_train_ips", "est_infer_ips", "raw_infer_ips"):
        assert row[key] > 0
    assert "| unet |" in capsys.readouterr().out


def test_a_parameter_the_network_lacks_is_ignored_with_a_note(throughput):
    kept, dropped = throughput.module_params_for("cenet", {"up_mode": "bilinear", "blocks": [1]})
    assert kept == {"blocks": [1]}
    assert dropped == ["up_mode"]


def test_padding_centres_like_the_estimator(throughput):
    # 94x93 on a multiple of 16: 96x96, one row above, one below; one column left, two right
    assert throughput.padding((94, 93), 16) == (1, 2, 1, 1)
    assert throughput.padding((96, 96), 16) == (0, 0, 0, 0)
