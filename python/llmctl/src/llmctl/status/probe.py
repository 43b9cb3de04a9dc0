"""Concurrent HTTP GETs under one deadline.

Every request runs in its own daemon thread and the sweep waits for all of them at
most until the deadline, so a hung service costs its timeout and nothing more (a
thread still stuck in a trickling response is abandoned, and being a daemon it never
holds up the exit). Only the standard library: `llmctl status` must start fast.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class HttpProbe:
    """One GET: `expect` is "json" (the body must decode) or "text"."""

    url: str
    expect: str = "json"


@dataclass
class ProbeResult:
    url: str
    timeout_s: float
    status: int | None = None
    data: Any = None
    error: str | None = None
    elapsed_ms: float = 0.0
    body: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "ok": self.ok,
            "error": self.error,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "timeout_s": self.timeout_s,
        }


def fetch(probe: HttpProbe, timeout: float, budget_s: float | None = None) -> ProbeResult:
    """GET `probe.url`; every failure becomes `error`, a sentence saying what went wrong.
    `budget_s` is the timeout the user set, named in "no answer within" messages (a probe
    started late in a sweep is allowed only what is left of it)."""
    import http.client
    import urllib.error
    import urllib.request

    result = ProbeResult(url=probe.url, timeout_s=round(timeout, 3))
    started = time.monotonic()
    # No proxy: the services are on loopback or the LAN, never behind $http_proxy.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(probe.url, headers={"Accept": "application/json, text/plain"})
    try:
        with opener.open(request, timeout=max(timeout, 0.001)) as response:
            result.status = response.status
            raw = response.read(MAX_BODY_BYTES)
    except urllib.error.HTTPError as error:
        result.status = error.code
        result.error = f"HTTP {error.code}{_error_detail(error)}"
        raw = None
    except urllib.error.URLError as error:
        result.error = _describe_os_error(error.reason, budget_s or timeout)
        raw = None
    except TimeoutError as error:
        result.error = _describe_os_error(error, budget_s or timeout)
        raw = None
    except (OSError, http.client.HTTPException, ValueError) as error:
        result.error = f"bad answer: {type(error).__name__}: {error}"
        raw = None
    result.elapsed_ms = (time.monotonic() - started) * 1000
    if raw is not None:
        _decode(result, raw, probe.expect)
    return result


def _decode(result: ProbeResult, raw: bytes, expect: str) -> None:
    text = raw.decode("utf-8", errors="replace")
    result.body = text
    if expect != "json":
        result.data = text
        return
    try:
        result.data = json.loads(text)
    except ValueError as error:
        result.error = f"broken JSON ({error})"


def _error_detail(error) -> str:
    try:
        text = error.read(2048).decode("utf-8", errors="replace").strip()
    except Exception:
        return ""
    try:
        message = json.loads(text)
        if isinstance(message, dict):
            inner = message.get("error", message)
            text = inner.get("message", str(inner)) if isinstance(inner, dict) else str(inner)
    except ValueError:
        pass
    text = " ".join(text.split())
    return f": {text[:120]}" if text else ""


def _describe_os_error(reason: Any, timeout: float) -> str:
    import socket

    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:.1f} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror})"
    return str(getattr(reason, "strerror", None) or reason)


def sweep(
    probes: Iterable[HttpProbe],
    deadline: float,
    follow: Callable[[HttpProbe, ProbeResult], Iterable[HttpProbe]] | None = None,
    budget_s: float | None = None,
) -> dict[HttpProbe, ProbeResult]:
    """Run every probe at once, each allowed the time left until `deadline`
    (time.monotonic). `follow(probe, result)` names further probes to start as soon
    as that answer is in (llama-swap's /running leads to its llama-servers); they
    share the deadline, so one hung service never eats another's time."""
    results: dict[HttpProbe, ProbeResult] = {}
    allowed: dict[HttpProbe, float] = {}
    threads: list[threading.Thread] = []
    lock = threading.Lock()

    def run(probe: HttpProbe) -> None:
        result = fetch(probe, allowed[probe], budget_s)
        results[probe] = result
        for more in follow(probe, result) if follow else ():
            start(more)

    def start(probe: HttpProbe) -> None:
        with lock:
            if probe in allowed:
                return
            allowed[probe] = max(deadline - time.monotonic(), 0.0)
            thread = threading.Thread(target=run, args=(probe,), daemon=True)
            threads.append(thread)
        thread.start()

    for probe in probes:
        start(probe)
    joined = 0
    while joined < len(threads):  # follow-ups may add threads while we wait
        threads[joined].join(max(deadline - time.monotonic(), 0.0))
        joined += 1
    with lock:
        for probe, timeout in allowed.items():
            if probe not in results:
                results[probe] = ProbeResult(
                    url=probe.url,
                    timeout_s=round(timeout, 3),
                    error=f"no answer within {budget_s or timeout:.1f} s",
                    elapsed_ms=timeout * 1000,
                )
        return dict(results)
