"""`llmctl exporter`: an HTTP server whose /metrics is a status sweep, rendered by
`status.exposition`. Each scrape runs one sweep (no state between scrapes: Prometheus
keeps the history); the stack spec is read again when its file changes."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from llmctl.stack import StackSpec

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class SpecSource:
    """The stack spec, loaded again whenever its file's mtime or size changes."""

    def __init__(self, load: Callable[[], StackSpec], path: str | None) -> None:
        self._load = load
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._spec: StackSpec | None = None
        self._lock = threading.Lock()

    def get(self) -> StackSpec:
        with self._lock:
            stamp = self._file_stamp()
            if self._spec is None or stamp != self._stamp:
                self._spec, self._stamp = self._load(), stamp
            return self._spec

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self._path) if self._path else None
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size) if info else None


def make_server(host: str, port: int, specs: SpecSource, timeout: float) -> ThreadingHTTPServer:
    """A server on (host, port) answering GET /metrics; not started (serve_forever)."""
    from llmctl.status.collect import collect_status
    from llmctl.status.exposition import render

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the http.server hook
            if self.path.split("?", 1)[0] != "/metrics":
                self._answer(404, "text/plain", "only /metrics is served here\n")
                return
            try:
                body = render(collect_status(specs.get(), timeout))
            except Exception as error:  # one bad scrape must not end the exporter
                self._answer(500, "text/plain", f"sweep failed: {error}\n")
                return
            self._answer(200, CONTENT_TYPE, body)

        def _answer(self, status: int, content_type: str, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:  # the http.server signature
            pass  # one line per scrape would flood the journal

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
