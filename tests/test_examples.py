"""Run every example and the paper-tables benchmark at their smallest size on generated data."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import ParameterGrid, cross_validate

from chromoskl.datasets import make_overlapping_chromosomes

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_script(relative: str):
    """Import a script of examples/ or benchmarks/ by its path."""
    path = ROOT / relative
    name = "_script_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Scripts that write files write them under the test's own folder."""
    monkeypatch.chdir(tmp_path)


def assert_unit_interval(values):
    values = np.asarray(values, dtype=float)
    assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1)), values


def test_grouped_cross_validation():
    results = load_script("examples/grouped_cross_validation.py").main(["--quick"])
    assert set(results) == {"KFold", "GroupKFold"}
    for scores in results.values():
        assert scores["overlap_iou"].shape == (2,)
        assert_unit_interval(scores["overlap_iou"])
        assert_unit_interval(scores["chromosome_iou"])


def test_pipeline_padding_augmentation():
    result = load_script("examples/pipeline_padding_augmentation.py").main(["--quick"])
    assert result["padded_shape"] == (10, 128, 128)
    assert result["mask_shape"] == result["labels_shape"] == (10, 94, 93)
    assert_unit_interval(result["overlap_iou"])


def test_separate_chromosomes_writes_pngs(tmp_path):
    out = tmp_path / "overlays"
    result = load_script("examples/separate_chromosomes.py").main(
        ["--quick", "--out", str(out), "--n-overlays", "2"]
    )
    assert result["instances_shape"] == (8, 2, 94, 93)
    assert_unit_interval(result["chromosome_iou"])
    assert sorted(p.name for p in out.iterdir()) == ["overlay_000.png", "overlay_001.png"]
    for path in result["paths"]:
        assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_overlay_tints_a_red_and_b_green():
    overlay = load_script("examples/separate_chromosomes.py").overlay
    image = np.array([[0.0, 2.0, 4.0]])
    a, b = np.array([[True, False, True]]), np.array([[False, False, True]])
    rgb = overlay(image, a, b, alpha=0.5)
    expected = np.array([[[0.5, 0.0, 0.0], [0.5, 0.5, 0.5], [1.0, 1.0, 1.0]]])
    np.testing.assert_allclose(rgb, expected)


@pytest.mark.slow
def test_dask_grid_search_on_worker_processes():
    """A LocalCluster of processes: the estimator, data and scorer are pickled to them."""
    pytest.importorskip("dask.distributed")
    result = load_script("examples/dask_grid_search.py").main(
        ["--quick", "--workers", "2", "--device", "cpu", "--threads", "1"]
    )
    assert result["n_candidates"] == 4
    assert result["n_workers"] == 2
    assert len(set(result["worker_pids"])) == 2 and os.getpid() not in result["worker_pids"]
    assert result["best_params"]["batch_size"] in (8, 16)
    assert_unit_interval(result["best_score"])


def test_arms_table4_search_quick():
    script = load_script("examples/arms_table4_search.py")
    assert len(ParameterGrid(script.table4_grid())) == 4 * (1 + 7 + 1)
    result = script.main(["--quick"])
    rows = result["rows"]
    assert {(r["batch_size"], r["loss"]) for r in rows} == {
        (b, loss) for b in (8, 16) for loss in ("bce", "wbce (w=1.5)", "as_wbce")
    }
    means = [r["mean"] for r in rows]
    assert means == sorted(means, reverse=True)
    assert_unit_interval(means)
    assert result["best_score"] == means[0]


def test_paper_tables_grids_and_networks_cover_every_row():
    tables = load_script("benchmarks/paper_tables.py")
    for scale in tables.SCALES:
        rows = {row for _, table_rows in tables.TABLES.values() for row in table_rows}
        assert rows <= set(tables.NETWORKS[scale])
        assert set(tables.NETWORKS[scale]) <= set(tables.LABELS)
    assert len(ParameterGrid(tables.table4_grid("full"))) == 36
    assert len(ParameterGrid(tables.table4_grid("smoke"))) == 6
    steps = tables.build_model("unet_aar_256_rates128", "full").named_steps
    assert steps["pad"].shape == (256, 256)
    assert steps["segmenter"].get_params()["module__amac_rates"] == (4, 2, 1, 3)


def test_paper_tables_grouped_test_set_holds_unseen_pairs():
    tables = load_script("benchmarks/paper_tables.py")
    groups = np.repeat(np.arange(10), 3)
    train, test = tables.outer_split("grouped", np.zeros(30), groups)
    assert len(test) == 6 and not set(groups[train]) & set(groups[test])
    train, test = tables.outer_split("random", np.zeros(30), groups)
    assert len(test) == 6 and len(set(train) | set(test)) == 30


def test_paper_tables_smoke_table3_grouped(tmp_path):
    out = tmp_path / "tables"
    results = load_script("benchmarks/paper_tables.py").main(
        ["--scale", "smoke", "--tables", "3", "--split", "grouped", "--generated",
         "--out", str(out)]
    )
    rows = results["tables"]["3"]["grouped"]
    assert list(rows) == ["unet_aar_depth3", "unet_aar_depth4", "unet_aar_depth5"]
    for row in rows.values():
        assert len(row["folds"]["overlap_iou"]) == 2
        assert_unit_interval(row["folds"]["overlap_iou"])
        assert_unit_interval(row["test"]["overlap_iou"]["mean"])
        assert row["test"]["ms_per_image"]["mean"] > 0
    assert json.loads((out / "results.json").read_text())["tables"]["3"]["grouped"] == rows
    markdown = (out / "tables.md").read_text()
    assert "grouped: overlap IoU" in markdown and "UNet (AAR), 5 poolings" in markdown
    # UNet (AAR) with 4 poolings is ARMS Net: its published number is ARMS Net's.
    assert "| UNet (AAR), 4 poolings (= ARMS Net) | 0.995 (Wang et al. 2021" in markdown
    assert "| UNet (AAR), 5 poolings | n/a |" in markdown
    assert (out / "fig6_table3.png").read_bytes()[:8] == PNG_SIGNATURE


def test_paper_tables_train_a_network_shared_by_rows_once(monkeypatch):
    tables = load_script("benchmarks/paper_tables.py")
    calls = []

    def counting_cross_validate(estimator, *args, **kwargs):
        calls.append(estimator.named_steps["segmenter"].arch)
        return cross_validate(estimator, *args, **kwargs)

    monkeypatch.setattr(tables, "cross_validate", counting_cross_validate)
    data = make_overlapping_chromosomes(30, random_state=0)
    done = {}
    rows = tables.evaluate_rows(("unet_aar", "arms", "unet_aar_depth4"), "smoke", "grouped",
                                data.images, data.labels, data.groups, log=print, done=done)
    assert calls == ["arms"] and list(done) == ["arms"]
    assert rows["unet_aar"]["same_as"] == rows["unet_aar_depth4"]["same_as"] == "arms"
    assert "same_as" not in rows["arms"]
    assert rows["unet_aar"]["test"] == rows["arms"]["test"]
    assert rows["unet_aar"]["label"] == "UNet (AAR)"


def test_paper_tables_resume_keeps_the_rows_done(tmp_path, monkeypatch):
    tables = load_script("benchmarks/paper_tables.py")
    out = tmp_path / "tables"
    argv = ["--scale", "smoke", "--tables", "3", "--split", "grouped", "--generated",
            "--out", str(out)]
    first = tables.main(argv)

    def no_training(*args, **kwargs):
        raise AssertionError("a resumed run trained a row it already had")

    monkeypatch.setattr(tables, "cross_validate", no_training)
    again = tables.main([*argv, "--resume"])
    assert again["tables"] == first["tables"]
    assert again["wall_seconds"] >= first["wall_seconds"]

    saved = json.loads((out / "results.json").read_text())
    saved["n_images"] += 1
    (out / "results.json").write_text(json.dumps(saved))
    with pytest.raises(SystemExit, match="n_images"):
        tables.main([*argv, "--resume"])
