"""Make ``docs/serve.png``: the page of ``chromoskl serve`` after a generated metaphase was
uploaded, as headless chromium shows it.

The metaphase is ``make_metaphase(46, n_overlaps=2, random_state=0)`` (generated, never the
GPL data), written as a 12-bit TIFF and uploaded through the page's form by playwright, which
drives Debian's chromium. The model should be one trained on generated pairs
(``chromoskl train`` with no ``--data``), so that nothing in the picture derives from the GPL
data either::

    chromoskl train --out chromoskl-run
    python docs/make_screenshot.py --model chromoskl-run/model.pt

The picture is cut below the gallery (the measurements table follows on the page).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np

#: Without the background-networking flags chromium waits on a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("chromoskl-run/model.pt"))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("serve.png"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1200, help="window width in pixels")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from chromoskl import ChromosomeSegmenter
    from chromoskl.datasets import make_metaphase
    from chromoskl.web import create_app, served_in_thread

    metaphase = make_metaphase(46, n_overlaps=2, random_state=0)
    app = create_app(ChromosomeSegmenter.load(args.model))
    with tempfile.TemporaryDirectory() as scratch:
        upload = Path(scratch) / "metaphase.tif"
        iio.imwrite(upload, np.clip(metaphase.image, 0, 4095).astype(np.uint16))
        with served_in_thread(app) as address, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium,
                                                 args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            page.set_default_timeout(300_000)  # the click waits for the separation
            page.goto(address + "/")
            page.set_input_files("#file", str(upload))
            with page.expect_navigation():
                page.click("#submit")
            page.wait_for_load_state("networkidle")
            gallery = page.locator("#gallery").bounding_box()
            bottom = gallery["y"] + gallery["height"] + 30
            page.screenshot(path=str(args.out), full_page=True,
                            clip={"x": 0, "y": 0, "width": args.width, "height": bottom})
            count = page.text_content("#n-chromosomes")
            browser.close()
    app.extensions["chromoskl"].store.close()
    print(f"{args.out}: the page after uploading a generated metaphase ({count} chromosomes "
          "found)")


if __name__ == "__main__":
    main()
