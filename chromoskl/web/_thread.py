"""The web application served from a thread of this process, for tests and scripts that
drive it with a browser."""

from __future__ import annotations

import threading
from contextlib import contextmanager

__all__ = ["served_in_thread"]


@contextmanager
def served_in_thread(app, host: str = "127.0.0.1", port: int = 0):
    """Serve ``app`` with werkzeug's server in a daemon thread; yield its address.

    Parameters
    ----------
    app : flask.Flask
    host : str, default="127.0.0.1"
    port : int, default=0
        0 takes a free port.

    Yields
    ------
    address : str
        ``http://host:port``, without a trailing slash. The server stops when the block ends.
    """
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
