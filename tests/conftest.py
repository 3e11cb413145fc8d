"""Shared fixtures: fixed seeds and where the real data lives."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

REAL_DATA_DIR = Path(
    os.environ.get("CHROMOSKL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
REAL_H5 = REAL_DATA_DIR / "LowRes_13434_overlapping_pairs_regenerated.h5"


@pytest.fixture(autouse=True)
def seeds_fixed():
    """Every test starts from the same global random state."""
    random.seed(0)
    np.random.seed(0)  # noqa: NPY002 (code under test may use the legacy global state)
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: the tiny tensors of the tests gain nothing from more, and on a
    2-core machine shared with anything else two threads run several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def real_h5():
    """Path of Pommier's regenerated file; the test is skipped where ../shared/data is absent."""
    if not REAL_H5.is_file():
        pytest.skip(f"real data not found at {REAL_H5}")
    return REAL_H5


@pytest.fixture(scope="session")
def tiny_segmenter_file(tmp_path_factory):
    """A segmenter trained for one epoch on 16 generated pairs, saved: for tests of what runs
    a model (commands, the web page), not of how well it separates."""
    from chromoskl import ChromosomeSegmenter
    from chromoskl.datasets import make_overlapping_chromosomes

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pairs = make_overlapping_chromosomes(16, random_state=0)
        seg = ChromosomeSegmenter(max_epochs=1, batch_size=8, module__base_channels=4,
                                  module__depth=2, train_split=None, random_state=0)
        path = tmp_path_factory.mktemp("tiny-model") / "model.pt"
        seg.fit(pairs.images, pairs.labels).save(path)
    finally:
        torch.set_num_threads(threads)
    return path
