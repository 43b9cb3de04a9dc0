"""The report `llmctl status` prints: one ServiceStatus per service of the stack spec,
with GPU memory and the models folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmctl.status.probe import ProbeResult

UP, STARTING, DEGRADED, DOWN, DISABLED = "up", "starting", "degraded", "down", "disabled"
FAILED_STATES = (DOWN, DEGRADED)
REPORT_VERSION = 1


@dataclass
class ServiceStatus:
    name: str
    kind: str
    url: str
    enabled: bool = True
    state: str = UP
    version: str | None = None
    problems: list[str] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    plan: list[tuple[str, str, str, bool]] = field(
        default_factory=list, repr=False
    )  # (role, path asked, expect, required)

    def problem(self, message: str, state: str = DEGRADED) -> None:
        self.problems.append(message)
        if _severity(state) > _severity(self.state):
            self.state = state

    def to_json(self) -> dict[str, Any]:
        shown = {key: getattr(self, key) for key in ("name", "kind", "url", "enabled", "state", "version")}
        return {
            **shown,
            "problems": list(self.problems),
            "models": list(self.models),
            "details": dict(self.details),
            "probes": {role: result.to_json() for role, result in self.probes.items()},
        }


@dataclass
class StatusReport:
    stack: str | None
    host: str | None
    timeout_s: float
    elapsed_ms: float
    services: list[ServiceStatus]
    gpu: Any
    models_dir: Any
    # --watch: seconds since the previous sweep, the window of the models' rates.
    rate_window_s: float | None = None

    @property
    def failed(self) -> list[ServiceStatus]:
        return [s for s in self.services if s.enabled and s.state in FAILED_STATES]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "ok": not self.failed,
            "stack": self.stack,
            "host": self.host,
            "timeout_s": self.timeout_s,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "services": [service.to_json() for service in self.services],
            "gpu": self.gpu.to_json(),
            "models_dir": self.models_dir.to_json(),
            **({"rate_window_s": round(self.rate_window_s, 4)} if self.rate_window_s is not None else {}),
        }


def _severity(state: str) -> int:
    return {UP: 0, STARTING: 1, DEGRADED: 2, DOWN: 3}.get(state, 0)
