"""Replays of llama-swap, Ollama, Open WebUI and llama-server answers, for what the real
programs cannot show here.

- llama-swap cannot be installed: the Go module proxy refuses its module (403), so its
  replay is the only llama-swap any test talks to; no test runs the real one.
- Ollama, Open WebUI and llama-server do run for real (tests/nix/test_ollama.py,
  test_webui*.py, test_local_stack.py, ...). Their replays stay where the real program
  cannot give the answer: a fault on demand, or a GPU host's figures (Ollama's
  `size_vram`, a llama-server llama-swap started) on this machine without a GPU.

Each answers with the JSON shapes documented in shared/reference/serving-apis.md,
on a free loopback port, from the standard library's http.server. A `fault` makes
it misbehave the way real services do: "hang" (accepts, never answers), "500"
(HTTP 500 with an error body) or "broken-json" (HTTP 200, truncated JSON);
`fault_paths` limits the fault to some paths.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from testkit.http_server import QuietHTTPServer

FAULTS = ("hang", "500", "broken-json")
HANG_SECONDS = 3600.0
GIB = 1024**3


def ollama_routes(loaded: Iterable[str] = ("llama3.2:3b",)) -> dict[str, object]:
    details = {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "3.2B",
        "quantization_level": "Q4_K_M",
    }
    tags = [
        {
            "name": "llama3.2:3b",
            "model": "llama3.2:3b",
            "modified_at": "2026-11-20T10:00:00Z",
            "size": 2 * GIB,
            "digest": "a80c4f17acd5",
            "details": details,
        },
        {
            "name": "qwen3:8b",
            "model": "qwen3:8b",
            "modified_at": "2026-11-21T10:00:00Z",
            "size": 5 * GIB,
            "digest": "500a1f067a9f",
            "details": details,
        },
    ]
    ps = [
        {**tag, "expires_at": "2026-11-22T03:00:00Z", "size_vram": tag["size"] * 3 // 4, "context_length": 4096}
        for tag in tags
        if tag["name"] in set(loaded)
    ]
    return {
        "/": "Ollama is running",
        "/api/version": {"version": "0.33.0"},
        "/api/tags": {"models": tags},
        "/api/ps": {"models": ps},
    }


def llama_swap_routes(running: Iterable[dict] = (), listed: Iterable[str] = ("qwen", "devstral")) -> dict[str, object]:
    """`running`: dicts with model and proxy (the real llama-server URL), state defaults to ready."""
    running = [
        {
            "model": r["model"],
            "state": r.get("state", "ready"),
            "cmd": f"llama-server -m {r['model']}.gguf",
            "proxy": r["proxy"],
            "ttl": 300,
            "name": "",
            "description": "",
        }
        for r in running
    ]
    names = sorted({*listed, *(r["model"] for r in running)})
    loaded = {r["model"] for r in running}
    models = [
        {
            "id": name,
            "object": "model",
            "created": 1763780000,
            "owned_by": "llama-swap",
            "status": {"value": "loaded" if name in loaded else "unloaded"},
        }
        for name in names
    ]
    return {
        "/health": "OK",
        "/running": {"running": sorted(running, key=lambda r: r["model"])},
        "/v1/models": {"object": "list", "data": models},
        "/api/version": {"version": "250", "commit": "0bdb3720", "build_date": "2026-08-22"},
    }


def llama_server_routes(alias: str = "qwen", n_ctx: int = 8192) -> dict[str, object]:
    """A llama-server as llama-swap starts it (the real one is used wherever a test can)."""
    return {
        "/health": {"status": "ok"},
        "/props": {
            "default_generation_settings": {"n_ctx": n_ctx},
            "total_slots": 2,
            "model_path": f"/models/{alias}.gguf",
            "build_info": "b7000-abcdef0",
        },
        "/slots": [
            {"id": 0, "n_ctx": n_ctx, "is_processing": True},
            {"id": 1, "n_ctx": n_ctx, "is_processing": False},
        ],
        "/v1/models": {"object": "list", "data": [{"id": alias, "object": "model", "meta": {"size": 4 * GIB}}]},
        # As llama-server --metrics writes it (names and format of the real binary).
        "/metrics": (
            "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed, excluding cached tokens\n"
            "# TYPE llamacpp:prompt_tokens_total counter\n"
            "llamacpp:prompt_tokens_total 120\n"
            "# HELP llamacpp:tokens_predicted_total Number of generation tokens processed\n"
            "# TYPE llamacpp:tokens_predicted_total counter\n"
            "llamacpp:tokens_predicted_total 345\n"
            "# HELP llamacpp:requests_processing Number of requests processing\n"
            "# TYPE llamacpp:requests_processing gauge\n"
            "llamacpp:requests_processing 1\n"
        ),
    }


def webui_routes() -> dict[str, object]:
    return {"/health": {"status": True}, "/health/db": {"status": True}, "/api/version": {"version": "0.9.6"}}


@dataclass
class ReplayServer:
    name: str
    routes: dict[str, object]
    fault: str | None = None
    fault_paths: tuple[str, ...] = ()
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.fault not in (None, *FAULTS):
            raise ValueError(f"unknown fault {self.fault!r}; one of {FAULTS}")
        self._released = threading.Event()
        self._server = QuietHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> ReplayServer:
        self._server.start(f"replay-{self.name}")
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.stop()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    def _faulty(self, path: str) -> str | None:
        if self.fault and (not self.fault_paths or path in self.fault_paths):
            return self.fault
        return None

    def _handler(self):
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                replay.requests.append(path)
                fault = replay._faulty(path)
                if fault == "hang":
                    replay._released.wait(HANG_SECONDS)
                    return
                if fault == "500":
                    self._send(500, {"error": f"{replay.name} internal error"})
                    return
                if path not in replay.routes:
                    self._send(404, "404 page not found")
                    return
                body = replay.routes[path]
                if fault == "broken-json" and not isinstance(body, str):
                    self._send(200, json.dumps(body)[: len(json.dumps(body)) // 2], content_type="application/json")
                    return
                self._send(200, body)

            def _send(self, status: int, body: object, content_type: str | None = None) -> None:
                text = body if isinstance(body, str) else json.dumps(body)
                data = text.encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type", content_type or ("text/plain" if isinstance(body, str) else "application/json")
                )
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args) -> None:  # keep test output clean
                pass

        return Handler


def start_replay(name: str, routes: dict[str, object], fault: str | None = None, fault_paths=()) -> ReplayServer:
    return ReplayServer(name, routes, fault=fault, fault_paths=tuple(fault_paths)).start()
