"""The real llama-server, started on a free loopback port."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from testkit.processes import ManagedProcess, free_port, http_status, start_process
from testkit.tools import llama_server_bin

# Small and deterministic: one thread pool size, no web UI, bounded context.
BASE_ARGS = ("--no-webui", "-t", "2")


def start_llama_server(
    model: Path | str,
    args: Sequence[str] = (),
    *,
    log_dir: Path,
    port: int | None = None,
    timeout: float = 90.0,
) -> ManagedProcess:
    """Start llama-server for `model` and wait until GET /health answers 200."""
    binary = llama_server_bin()
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [binary, "-m", str(model), "--host", "127.0.0.1", "--port", str(port), *BASE_ARGS, *args]
    log_path = log_dir / f"llama-server-{port}.log"
    managed = start_process(
        "llama-server", argv, log_path, lambda: http_status(f"{url}/health") == 200, timeout=timeout
    )
    managed.info.update(url=url, port=port, model=str(model))
    return managed
