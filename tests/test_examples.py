"""Run every example and the paper-tables benchmark at their smallest size on generated data."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from sklearn.model_selection import ParameterGrid, cross_validate

from chromoskl.datasets import make_overlapping_chromosomes

from ._scripts import load_script

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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
    # ARMS Table 4: BCE at 4 batch sizes, then 7 weights of WBCE and AS-WBCE at batch 32
    grid = list(ParameterGrid(script.table4_grid()))
    assert len(grid) == 4 + 7 + 1
    assert {p["segmenter__batch_size"] for p in grid if p["segmenter__criterion"] != "bce"} == {32}
    result = script.main(["--quick"])
    rows = result["rows"]
    assert {(r["batch_size"], r["loss"]) for r in rows} == {
        (8, "bce"), (16, "bce"), (8, "wbce (w=1.5)"), (8, "as_wbce")
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
    # ARMS Table 4's twelve rows: BCE at 8, 16, 32, 64, then 7 WBCE weights and AS-WBCE at 32
    full = list(ParameterGrid(tables.table4_grid("full")))
    assert len(full) == 12
    assert sorted(p["segmenter__batch_size"] for p in full if p["segmenter__criterion"] == "bce") \
        == [8, 16, 32, 64]
    assert {p["segmenter__batch_size"] for p in full if p["segmenter__criterion"] != "bce"} == {32}
    assert set(tables.PUBLISHED_TABLE4) == {
        (p["segmenter__batch_size"], p["segmenter__criterion"] if "segmenter__criterion__w" not in p
         else f"wbce (w={p['segmenter__criterion__w']})") for p in full
    }
    assert len(ParameterGrid(tables.table4_grid("smoke"))) == 4
    steps = tables.build_model("unet_aar_256_sizes128", "full").named_steps
    assert steps["pad"].shape == (256, 256)
    params = steps["segmenter"].get_params()
    assert params["module__amac_rates"] == (4, 2, 1, 3)
    assert params["module__assp_sizes"] == (4, 2, 3)
    # ARMS protocol: Adam 1e-3, batch 32, up to 300 epochs, early stopping after 30
    assert (params["lr"], params["batch_size"], params["max_epochs"], params["patience"]) == (
        1e-3, 32, 300, 30
    )
    # ARMS Table 2: BCE for every network but ARMS Net, which has AS-wBCE
    losses = {row: tables.build_model(row, "full").named_steps["segmenter"].criterion
              for row in tables.TABLES["5"][1]}
    assert losses.pop("arms") == "as_wbce" and set(losses.values()) == {"bce"}
    with_fractions = tables.build_model("arms", "full", (0.9, 0.04, 0.05, 0.01))
    assert with_fractions.named_steps["segmenter"].get_params()[
        "criterion__class_fractions"] == (0.9, 0.04, 0.05, 0.01)


def test_paper_tables_class_fractions_count_the_padding_as_background():
    tables = load_script("benchmarks/paper_tables.py")
    y = np.array([[[1, 3], [0, 2]]])
    assert tables.class_fractions(y) == (0.25, 0.25, 0.25, 0.25)
    assert tables.class_fractions(y, (4, 4)) == (13 / 16, 1 / 16, 1 / 16, 1 / 16)


def test_paper_tables_published_numbers_fill_every_trained_row_of_tables_3_and_5():
    tables = load_script("benchmarks/paper_tables.py")
    for number in ("3", "5"):
        assert set(tables.PUBLISHED[number]) == set(tables.TABLES[number][1])
    assert tables.PUBLISHED["3"]["unet_aar_depth4"]["values"] == tables.PUBLISHED["5"][
        "unet_aar"]["values"]
    assert tables.PUBLISHED["6"]["arms"]["values"]["overlap_iou"] == "99.45"
    assert tables.PUBLISHED["6"]["attention_unet"]["values"]["overlap_iou"] == "97.23"
    for by_row in (*tables.PUBLISHED.values(), *tables.PUBLISHED_ONLY.values()):
        for entry in by_row.values():
            assert "split" in entry["source"] or "set" in entry["source"]
    assert tables._as_fraction("99.9943") == "0.999943"


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
    # UNet (AAR) with 4 poolings is UNet (AAR) of Table 5, trained once; published: Table 3.
    assert ("| UNet (AAR), 4 poolings (= UNet (AAR)) | 0.9922 | 0.9970 | 0.9985 | 0.999943 "
            "| 4.6 | ARMS Table 3; random split, test set") in markdown
    assert "| UNet (AAR), 5 poolings | 0.9860 | 0.9964 | 0.9982 | 0.999932 | 4.8 |" in markdown
    for row in rows.values():
        assert_unit_interval(row["test"]["accuracy_padded"]["mean"])
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
    # UNet (AAR) and ARMS Net are one network with two losses (ARMS Table 2): two fits; UNet
    # (AAR) with 4 poolings is UNet (AAR): no third.
    assert calls == ["unet_aar", "arms"] and list(done) == ["unet_aar", "arms"]
    assert rows["unet_aar_depth4"]["same_as"] == "unet_aar"
    assert "same_as" not in rows["arms"] and "same_as" not in rows["unet_aar"]
    assert rows["unet_aar_depth4"]["test"] == rows["unet_aar"]["test"]
    assert rows["unet_aar_depth4"]["label"] == "UNet (AAR), 4 poolings"


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
