"""Start a real program on a free loopback port, wait until it is healthy, stop it.

Used by the llama-server and Envoy fixtures, the demo harness and the
benchmarks. A program that exits early or never becomes healthy raises
`ProcessStartError` with the tail of its log, so a failing test says why.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOG_TAIL_LINES = 40


class ProcessStartError(RuntimeError):
    """The program exited or did not become healthy in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The HTTP status of GET `url`, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError, TimeoutError):
        return None


@dataclass
class ManagedProcess:
    """A started program with its log file; `stop()` is idempotent."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen
    info: dict = field(default_factory=dict)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def start_process(
    name: str,
    argv: Sequence[str],
    log_path: Path,
    ready: Callable[[], bool],
    *,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> ManagedProcess:
    """Start `argv`, poll `ready()` until it is true, or fail with the log tail."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "wb")  # noqa: SIM115 - the child keeps writing after we return
    process = subprocess.Popen(
        [str(part) for part in argv],
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
    )
    log_file.close()
    managed = ManagedProcess(name=name, argv=[str(p) for p in argv], log_path=log_path, process=process)
    deadline = time.monotonic() + timeout
    while True:
        code = process.poll()
        if code is not None:
            raise ProcessStartError(
                f"{name} exited with code {code} before it became healthy.\n"
                f"command: {' '.join(managed.argv)}\n--- last lines of {log_path} ---\n{managed.log_tail()}"
            )
        if ready():
            return managed
        if time.monotonic() > deadline:
            managed.kill()
            raise ProcessStartError(
                f"{name} did not become healthy within {timeout:.0f} s.\n"
                f"command: {' '.join(managed.argv)}\n--- last lines of {log_path} ---\n{managed.log_tail()}"
            )
        time.sleep(0.05)
