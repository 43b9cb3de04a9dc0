"""A deliberately slow OpenAI-style backend: streams one SSE event, stays silent for
`pause` seconds, then sends the rest. Only for proving the gateway's timeouts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

from testkit.http_server import QuietHTTPServer


def _chunk(text: str) -> bytes:
    event = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}}]}
    return f"data: {json.dumps(event)}\n\n".encode()


@contextmanager
def slow_backend(pause: float) -> Iterator[int]:
    """Serve on a free loopback port (yielded) until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            body = b'{"status":"ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (_chunk("first"), None, _chunk("second"), b"data: [DONE]\n\n", b""):
                if part is None:
                    time.sleep(pause)
                    continue
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                self.wfile.flush()

    server = QuietHTTPServer(("127.0.0.1", 0), Handler).start("slow-backend")
    try:
        yield server.port
    finally:
        server.stop()
