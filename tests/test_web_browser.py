"""``chromoskl serve`` end to end in a real headless browser: Debian's chromium driven by
playwright uploads a generated metaphase through the page's form and finds the overlay and the
chromosome count. Skipped, with the reason, where chromium or playwright is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from chromoskl import ChromosomeSegmenter
from chromoskl.datasets import make_metaphase

pytestmark = pytest.mark.browser

#: Debian's chromium (``apt-get install chromium``); CHROMIUM in the environment overrides it.
CHROMIUM = "/usr/bin/chromium"
#: Without the background-networking flags chromium waits on a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


# Checked before any fixture trains a model.
EXECUTABLE = os.environ.get("CHROMIUM", CHROMIUM)
if not (Path(EXECUTABLE).is_file() or shutil.which(EXECUTABLE)):
    pytest.skip(f"no chromium binary at {EXECUTABLE} (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytest.importorskip("flask")


def test_a_metaphase_uploaded_in_the_browser_shows_its_overlay_and_count(
    tiny_segmenter_file, tmp_path
):
    from chromoskl.web import create_app, served_in_thread

    metaphase = make_metaphase(6, n_overlaps=1, shape=(240, 260), random_state=0)
    upload = tmp_path / "metaphase.tif"
    iio.imwrite(upload, np.clip(metaphase.image, 0, 4095).astype(np.uint16))
    app = create_app(ChromosomeSegmenter.load(tiny_segmenter_file))
    try:
        with served_in_thread(app) as address, sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=EXECUTABLE,
                                                 args=CHROMIUM_ARGS, timeout=60_000)
            try:
                page = browser.new_page()
                page.set_default_timeout(120_000)  # the click waits for the separation
                page.goto(address + "/")
                page.set_input_files("#file", str(upload))
                with page.expect_navigation():
                    page.click("#submit")
                count = int(page.text_content("#n-chromosomes"))
                overlay = page.locator("#overlay")
                overlay.wait_for(state="visible")
                # the browser decoded the overlay: its natural size is the upload's
                size = overlay.evaluate("img => [img.complete, img.naturalHeight, "
                                        "img.naturalWidth]")
                link = page.get_attribute("#download-measurements", "href")
                measured = page.request.get(address + link).json()
            finally:
                browser.close()
    finally:
        app.extensions["chromoskl"].store.close()
    assert size == [True, 240, 260]
    assert count == measured["n_chromosomes"] >= 5
    assert measured["kind"] == "metaphase" and measured["image"] == "metaphase.tif"
