"""A web page and a JSON API that separate the chromosomes of an uploaded image.

For lab staff who do not write Python: ``chromoskl serve --model MODEL`` starts it (Flask, an
optional dependency: ``pip install "chromoskl[web]"``). :func:`create_app` builds the
application around a fitted segmenter (and optionally a classifier), for tests and for
serving it with another WSGI server; :func:`served_in_thread` runs it beside a browser that
drives it (the end-to-end test, ``docs/make_screenshot.py``).
"""

from ._thread import served_in_thread
from .app import MAX_PIXELS, MAX_UPLOAD_MB, create_app

__all__ = ["create_app", "served_in_thread", "MAX_PIXELS", "MAX_UPLOAD_MB"]
