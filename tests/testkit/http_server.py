"""The standard library's threading HTTP server, minus tracebacks for clients that hang up,
served from a thread on a free loopback port.

Tests drop connections on purpose (resume, timeouts); the server must not print a
traceback for each one.

    server = QuietHTTPServer(("127.0.0.1", 0), Handler).start("replay-ollama")
    server.url    # http://127.0.0.1:PORT
    server.stop()
"""

from __future__ import annotations

import sys
import threading
from http.server import ThreadingHTTPServer

# How often serve_forever looks for shutdown(): stop() waits up to this long
# (the standard library's 0.5 s cost every test that stops a server half a second).
POLL_SECONDS = 0.05


class QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, name: str = "http-server") -> QuietHTTPServer:
        """Serve from a daemon thread; returns the server."""
        threading.Thread(target=self.serve_forever, args=(POLL_SECONDS,), name=name, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving (only after start()) and close the socket."""
        self.shutdown()
        self.server_close()
