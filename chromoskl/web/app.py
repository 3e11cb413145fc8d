"""The Flask application: a page and a JSON API that separate the chromosomes of an upload.

Routes
------
``GET /``
    The upload form (a file, and whether it is a pair crop or a metaphase: by size unless
    chosen).
``POST /``
    Separate the upload, then redirect to its page (303).
``GET /results/<id>``
    The result's page: the input, the overlay, the gallery (and the karyogram with a
    classifier), the measurements, links to download the masks and the measurements.
``POST /api/separate``
    The same from a program: a multipart form with ``file`` (and ``kind``); the answer is the
    measurements as JSON with ``id`` and the addresses of the ``files``.
``GET /api/results/<id>``
    That JSON again.
``GET /results/<id>/<file>``
    One of the files: ``input.png``, ``overlay.png``, ``gallery.png``, ``karyogram.png``,
    ``instances.npz`` (``chromoskl separate``'s instance file), ``measurements.json``.

A refused upload gets its reason: on the page, above the form, with the status code; from the
API, ``{"error": message}``. 400: damaged or unreadable file; 413: over the size or pixel
bound; 415: not TIFF/PNG/JPEG. An error of the server itself is a 500 with a one-line message,
and its traceback goes to the log, never to the client.
"""

from __future__ import annotations

import json
import threading

from sklearn.utils import Bunch

from ._analysis import KINDS, PAIR_SIZE_FACTOR, analyse
from ._store import RESULT_FILES, ResultStore
from ._upload import SUFFIXES, UploadError, read_upload

__all__ = ["create_app", "MAX_UPLOAD_MB", "MAX_PIXELS"]

#: Largest request accepted, in MiB (Flask's ``MAX_CONTENT_LENGTH``): an uncompressed 16-bit
#: RGBA TIFF at the pixel bound (2048x2048) is 32 MiB.
MAX_UPLOAD_MB = 40
#: Largest image accepted, in pixels: 2048x2048, 2.7 times DAPI.tif (1024x1536).
MAX_PIXELS = 2048 * 2048


def create_app(segmenter, classifier=None, *, max_upload_mb: float = MAX_UPLOAD_MB,
               max_pixels: int = MAX_PIXELS, max_results: int = 100, **separator_params):
    """Build the web application around a fitted segmenter.

    Parameters
    ----------
    segmenter : fitted ChromosomeSegmenter
        Splits pair crops, and the clusters of a metaphase.
    classifier : object with predict_proba or None, default=None
        A fitted :class:`~chromoskl.ChromosomeClassifier` (or pipeline ending in one): each
        separated chromosome gets a class, and the page a karyogram.
    max_upload_mb : float, default=40
        Largest upload, in MiB; larger requests get 413.
    max_pixels : int, default=2048 * 2048
        Largest image, in pixels, checked from the file's header; larger images get 413.
    max_results : int, default=100
        Results kept in the temporary directory; the oldest are removed beyond it.
    **separator_params
        Passed to :class:`~chromoskl.metaphase.MetaphaseSeparator` (``pixel_scale``,
        ``threshold``, ``min_area``, ``input_shape``...).

    Returns
    -------
    app : flask.Flask
        ``app.extensions["chromoskl"].store`` is its :class:`ResultStore`; its temporary
        directory is removed at exit, or by ``store.close()``.
    """
    from flask import Flask
    from werkzeug.exceptions import HTTPException

    from ..metaphase import MetaphaseSeparator

    if not max_pixels >= 1 or not max_upload_mb > 0:
        raise ValueError(f"max_pixels and max_upload_mb must be positive, got {max_pixels} "
                         f"and {max_upload_mb}")
    separator = MetaphaseSeparator(segmenter, **separator_params).fit()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = int(max_upload_mb * 1024 * 1024)
    training = tuple(separator.input_shape)
    app.extensions["chromoskl"] = Bunch(
        store=ResultStore(max_results), separator=separator, classifier=classifier,
        max_pixels=int(max_pixels), lock=threading.Lock(),
        limits={
            "max_upload_mb": max_upload_mb, "max_pixels": int(max_pixels),
            "suffixes": SUFFIXES, "training_shape": training,
            "pair_shape": tuple(PAIR_SIZE_FACTOR * s for s in training),
        },
    )
    _add_routes(app)
    app.register_error_handler(UploadError, lambda e: _refuse(str(e), e.status))
    app.register_error_handler(HTTPException, lambda e: _refuse(e.description, e.code))
    app.register_error_handler(413, lambda e: _refuse(
        f"the upload is larger than this server's limit of {max_upload_mb:g} MiB.", 413))
    app.register_error_handler(Exception, _server_error)
    return app


def _state():
    from flask import current_app

    return current_app.extensions["chromoskl"]


def _separate_upload() -> tuple[str, dict]:
    """Read the request's upload, separate it, store the result; its id and report."""
    from flask import request
    from werkzeug.utils import secure_filename

    state = _state()
    kind = request.form.get("kind", "auto")
    if kind not in KINDS:
        raise UploadError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}.")
    storage = request.files.get("file")
    result_id, directory = state.store.new()
    try:
        image = read_upload(storage, directory, max_pixels=state.max_pixels)
        with state.lock:  # one separation at a time: memory stays bounded, torch unshared
            try:
                report = analyse(image, directory, separator=state.separator, kind=kind,
                                 name=secure_filename(storage.filename) or "upload",
                                 classifier=state.classifier)
            except (ValueError, TypeError) as error:  # the separator's checks of the image
                raise UploadError(f"cannot analyse this image: {error}") from None
    except BaseException:
        state.store.discard(result_id)
        raise
    return result_id, report


def _with_files(result_id: str, report: dict) -> dict:
    from flask import url_for

    directory = _state().store.directory(result_id)
    files = {name.split(".")[0]: url_for("result_file", result_id=result_id, name=name)
             for name in RESULT_FILES if (directory / name).is_file()}
    return {"id": result_id, **report, "files": files}


def _stored_report(result_id: str) -> dict:
    from flask import abort

    path = _state().store.file(result_id, "measurements.json")
    if path is None:
        abort(404, f"no result {result_id!r}: results are kept while the server runs, the "
                   "last ones only.")
    return json.loads(path.read_text())


def _add_routes(app) -> None:
    from flask import abort, jsonify, redirect, render_template, send_file, url_for

    @app.get("/")
    def index():
        return render_template("index.html", limits=_state().limits, kinds=KINDS)

    @app.post("/")
    def upload():
        result_id, _ = _separate_upload()
        return redirect(url_for("result_page", result_id=result_id), code=303)

    @app.get("/results/<result_id>")
    def result_page(result_id):
        report = _with_files(result_id, _stored_report(result_id))
        return render_template("result.html", report=report, limits=_state().limits)

    @app.get("/results/<result_id>/<name>")
    def result_file(result_id, name):
        path = _state().store.file(result_id, name)
        if path is None:
            abort(404, f"no file {name!r} in result {result_id!r}.")
        download = not name.endswith(".png")
        return send_file(path, mimetype=RESULT_FILES[name], as_attachment=download,
                         download_name=f"chromoskl_{result_id[:8]}_{name}")

    @app.post("/api/separate")
    def api_separate():
        result_id, report = _separate_upload()
        return jsonify(_with_files(result_id, report)), 201

    @app.get("/api/results/<result_id>")
    def api_result(result_id):
        return jsonify(_with_files(result_id, _stored_report(result_id)))


def _wants_json() -> bool:
    from flask import request

    return request.path.startswith("/api/")


def _refuse(message: str, status: int):
    """A refused request: JSON for the API, the form with the message for the page."""
    from flask import jsonify, render_template

    if _wants_json():
        return jsonify({"error": message, "status": status}), status
    return render_template("index.html", limits=_state().limits, kinds=KINDS,
                           error=message), status


def _server_error(error: Exception):
    """An unexpected failure: logged with its traceback, answered in one line."""
    from flask import current_app

    current_app.logger.exception("chromoskl serve: failed on a request")
    return _refuse(f"the server failed on this request ({type(error).__name__}); the "
                   "details are in its log.", 500)
