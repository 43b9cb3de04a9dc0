"""`llmctl status` without the printing: probe every service of the stack spec at
once, read GPU memory and the models folder, and say per service what is wrong.

Two sweeps share one deadline: the first asks every endpoint of the spec, the second
asks the llama-servers llama-swap reports running, directly on their own ports (never
through `/upstream/...`, which would load a model). A hung service therefore costs the
timeout once, not once per request.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from llmctl.core.probe import Probe, ProbeResult, sweep

SERVICE_KINDS = {
    "gateway": "envoy",
    "llamaSwap": "llama-swap",
    "chat": "llama-server",
    "embedding": "llama-server",
    "rerank": "llama-server",
    "ollama": "ollama",
    "webui": "open-webui",
}
UP, STARTING, DEGRADED, DOWN, DISABLED = "up", "starting", "degraded", "down", "disabled"
FAILED_STATES = (DOWN, DEGRADED)
REPORT_VERSION = 1

# What each kind of service is asked: (role, path, expect, required). The first one
# decides between up and down; a later required one failing makes the service degraded;
# an optional one (version strings, sizes) failing is ignored.
PLANS = {
    "llama-swap": (
        ("health", "/health", "text", True),
        ("running", "/running", "json", True),
        ("models", "/v1/models", "json", True),
        ("version", "/api/version", "json", False),
    ),
    "llama-server": (
        ("health", "/health", "json", True),
        ("props", "/props", "json", True),
        ("slots", "/slots", "json", True),
        ("models", "/v1/models", "json", False),
    ),
    "ollama": (
        ("version", "/api/version", "json", True),
        ("ps", "/api/ps", "json", True),
        ("tags", "/api/tags", "json", True),
    ),
    "open-webui": (
        ("health", "/health", "json", True),
        ("version", "/api/version", "json", False),
    ),
}
ENVOY_ADMIN_PLAN = (
    ("ready", "/ready", "text", True),
    ("clusters", "/clusters?format=json", "json", True),
    ("server_info", "/server_info", "json", False),
)


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

    def problem(self, message: str, state: str = DEGRADED) -> None:
        self.problems.append(message)
        if _severity(state) > _severity(self.state):
            self.state = state

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "url": self.url,
            "enabled": self.enabled,
            "state": self.state,
            "version": self.version,
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
        }


def _severity(state: str) -> int:
    return {UP: 0, STARTING: 1, DEGRADED: 2, DOWN: 3}.get(state, 0)


def collect_status(spec, timeout: float, *, sysfs_root=None, nvidia_smi=None) -> StatusReport:
    """Probe every endpoint of `spec`; everything finishes within `timeout` seconds."""
    from llmctl.core.disk import folder_space
    from llmctl.core.gpu import read_gpus

    started = time.monotonic()
    deadline = started + timeout
    gpu: dict[str, Any] = {}
    gpu_thread = threading.Thread(
        target=lambda: gpu.update(report=read_gpus(sysfs_root, nvidia_smi)), daemon=True, name="gpu"
    )
    gpu_thread.start()

    services, plans = _plan_services(spec)
    running_probes = {plans[s.name]["running"] for s in services if s.kind == "llama-swap" and plans[s.name]}
    answers = sweep(
        [probe for plan in plans.values() for probe in plan.values()],
        deadline,
        follow=lambda probe, result: _upstream_probes(result) if probe in running_probes else (),
        budget_s=timeout,
    )
    for service in services:
        service.probes = {role: answers[probe] for role, probe in plans[service.name].items()}
        upstreams = {
            url: _pick(plan, answers)
            for url, plan in _running_upstreams(service).items()
            if all(probe in answers for probe in plan.values())
        }
        _interpret(service, upstreams)

    space = folder_space(spec.models_dir)
    gpu_thread.join(max(deadline - time.monotonic(), 0.0))
    gpu_report = gpu.get("report") or _gpu_timed_out(timeout)
    return StatusReport(
        stack=str(spec.path) if spec.path else None,
        host=spec.host,
        timeout_s=timeout,
        elapsed_ms=(time.monotonic() - started) * 1000,
        services=services,
        gpu=gpu_report,
        models_dir=space,
    )


def _gpu_timed_out(timeout: float):
    from llmctl.core.gpu import GpuReport

    return GpuReport(problems=[f"GPU readers gave no answer within {timeout:.1f} s"])


def _plan_services(spec) -> tuple[list[ServiceStatus], dict[str, dict[str, Probe]]]:
    services: list[ServiceStatus] = []
    plans: dict[str, dict[str, Probe]] = {}
    for name, kind in SERVICE_KINDS.items():
        endpoint = spec.endpoints.get(name)
        admin = spec.endpoints.get("gatewayAdmin") if name == "gateway" else None
        if endpoint is None and admin is None:
            continue  # not deployed on this host
        url = (endpoint or admin).url
        enabled = (endpoint or admin).enable
        service = ServiceStatus(name=name, kind=kind, url=url, enabled=enabled, state=UP if enabled else DISABLED)
        services.append(service)
        plans[name] = _plan_probes(name, kind, spec) if enabled else {}
    return services, plans


def _plan_probes(name: str, kind: str, spec) -> dict[str, Probe]:
    if kind != "envoy":
        base = spec.endpoints[name].url
        return {role: Probe(base + path, expect) for role, path, expect, _ in PLANS[kind]}
    plan = {}
    listener = spec.endpoint("gateway")
    if listener:
        plan["listener"] = Probe(listener.url + "/health", "text")
    admin = spec.endpoint("gatewayAdmin")
    if admin:
        plan.update({role: Probe(admin.url + path, expect) for role, path, expect, _ in ENVOY_ADMIN_PLAN})
    metrics = spec.endpoint("gatewayMetrics")
    if metrics:
        plan["metrics"] = Probe(metrics.url + "/metrics", "text")
    return plan


def _running_upstreams(service: ServiceStatus) -> dict[str, dict[str, Probe]]:
    """The llama-servers a llama-swap runs, keyed by their proxy URL."""
    if service.kind != "llama-swap" or "running" not in service.probes:
        return {}
    return _upstream_plans(service.probes["running"])


def _upstream_probes(running: ProbeResult) -> list[Probe]:
    return [probe for plan in _upstream_plans(running).values() for probe in plan.values()]


def _upstream_plans(running: ProbeResult) -> dict[str, dict[str, Probe]]:
    upstreams = {}
    for entry in _running_entries(running):
        proxy = entry.get("proxy")
        if isinstance(proxy, str) and proxy.startswith("http") and entry.get("state", "ready") == "ready":
            base = proxy.rstrip("/")
            upstreams[base] = {role: Probe(base + path, expect) for role, path, expect, _ in PLANS["llama-server"]}
    return upstreams


def _pick(plan: dict[str, Probe], answers: dict[Probe, ProbeResult]) -> dict[str, ProbeResult]:
    return {role: answers[probe] for role, probe in plan.items()}


def _running_entries(result: ProbeResult) -> list[dict[str, Any]]:
    if not result.ok or not isinstance(result.data, dict) or not isinstance(result.data.get("running"), list):
        return []
    return [entry for entry in result.data["running"] if isinstance(entry, dict)]


def _interpret(service: ServiceStatus, upstreams: dict[str, dict[str, ProbeResult]]) -> None:
    if not service.enabled:
        return
    if service.kind == "envoy":
        _interpret_envoy(service)
        return
    plan = PLANS[service.kind]
    if not _check_required(service, plan):
        return
    if service.kind == "llama-server":
        model, version = _llama_server_model(service.probes)
        service.version = version
        service.models = [model] if model else []
    elif service.kind == "llama-swap":
        _interpret_llama_swap(service, upstreams)
    elif service.kind == "ollama":
        _interpret_ollama(service)
    elif service.kind == "open-webui":
        _interpret_webui(service)


def _check_required(service: ServiceStatus, plan) -> bool:
    """Mark failed required probes; False when the service is down (first probe failed)."""
    for index, (role, path, _expect, required) in enumerate(plan):
        result = service.probes[role]
        if result.ok or not required:
            continue
        if index == 0 and service.kind == "llama-server" and result.status == 503:
            service.problem(f"GET {path}: still loading the model", STARTING)
            return False
        if role == "slots" and result.status == 501:
            continue  # started with --no-slots
        service.problem(f"GET {path}: {result.error}", DOWN if index == 0 else DEGRADED)
        if index == 0:
            return False
    return True


def _json(result: ProbeResult | None, kind: type) -> Any:
    if result is None or not result.ok or not isinstance(result.data, kind):
        return kind()
    return result.data


def _llama_server_model(probes: dict[str, ProbeResult]) -> tuple[dict | None, str | None]:
    props = _json(probes.get("props"), dict)
    slots = _json(probes.get("slots"), list)
    listed = _json(probes.get("models"), dict).get("data") or [{}]
    first = listed[0] if isinstance(listed[0], dict) else {}
    meta = first.get("meta") if isinstance(first.get("meta"), dict) else {}
    settings = (
        props.get("default_generation_settings") if isinstance(props.get("default_generation_settings"), dict) else {}
    )
    model_path = props.get("model_path")
    name = first.get("id") or (PurePosixPath(model_path).name if isinstance(model_path, str) else None)
    if not props and not first:
        return None, None
    model = {
        "name": name,
        "state": "ready",
        "context": settings.get("n_ctx"),
        "slots": props.get("total_slots"),
        "slots_busy": sum(1 for slot in slots if isinstance(slot, dict) and slot.get("is_processing")),
        "size_bytes": meta.get("size"),
        "vram_bytes": None,
        "path": model_path,
    }
    return model, props.get("build_info")


def _interpret_llama_swap(service: ServiceStatus, upstreams: dict[str, dict[str, ProbeResult]]) -> None:
    version = _json(service.probes.get("version"), dict).get("version")
    service.version = str(version) if version is not None else None
    listed = _json(service.probes["models"], dict).get("data")
    service.details["listed"] = len(listed) if isinstance(listed, list) else None
    running = service.probes["running"]
    if running.ok and not isinstance(_json(running, dict).get("running"), list):
        service.problem("GET /running: answer has no 'running' list")
    for entry in _running_entries(running):
        proxy = str(entry.get("proxy") or "").rstrip("/")
        model = {
            "name": entry.get("model"),
            "state": entry.get("state", "ready"),
            "upstream": proxy or None,
            "context": None,
            "slots": None,
            "slots_busy": None,
            "size_bytes": None,
            "vram_bytes": None,
        }
        answers = upstreams.get(proxy)
        if answers:
            health = answers["health"]
            if not health.ok:
                service.problem(f"model {entry.get('model')}: its llama-server {proxy} /health: {health.error}")
            upstream_model, _ = _llama_server_model(answers)
            for key in ("context", "slots", "slots_busy", "size_bytes"):
                model[key] = (upstream_model or {}).get(key)
        service.models.append(model)


def _interpret_ollama(service: ServiceStatus) -> None:
    service.version = _json(service.probes["version"], dict).get("version")
    loaded = _json(service.probes["ps"], dict).get("models")
    if not isinstance(loaded, list):
        service.problem("GET /api/ps: answer has no 'models' list")
        loaded = []
    for entry in loaded:
        if isinstance(entry, dict):
            service.models.append(
                {
                    "name": entry.get("name") or entry.get("model"),
                    "state": "loaded",
                    "context": entry.get("context_length"),
                    "size_bytes": entry.get("size"),
                    "vram_bytes": entry.get("size_vram"),
                    "expires_at": entry.get("expires_at"),
                }
            )
    available = _json(service.probes["tags"], dict).get("models")
    service.details["available"] = len(available) if isinstance(available, list) else None


def _interpret_webui(service: ServiceStatus) -> None:
    health = _json(service.probes["health"], dict)
    if health.get("status") is not True:
        service.problem(f"GET /health: reports {service.probes['health'].body.strip()[:80]!r}", DOWN)
    service.version = _json(service.probes["version"], dict).get("version")


def _interpret_envoy(service: ServiceStatus) -> None:
    probes = service.probes
    listener = probes.get("listener")
    if listener is not None and (listener.status is None or listener.status >= 500):
        service.problem(f"listener GET /health: {listener.error}", DOWN)
    ready = probes.get("ready")
    if ready is not None:
        if not ready.ok or ready.body.strip() != "LIVE":
            detail = ready.error or f"state {ready.body.strip()[:40]!r}"
            service.problem(f"admin GET /ready: {detail}", DOWN)
        clusters = probes["clusters"]
        if ready.ok and not clusters.ok:
            service.problem(f"admin GET /clusters: {clusters.error}")
        upstream = _cluster_health(_json(clusters, dict))
        service.details["clusters"] = upstream
        for cluster in upstream:
            if cluster["hosts"] and not cluster["healthy"]:
                service.problem(f"upstream cluster {cluster['name']}: no healthy host (0/{cluster['hosts']})")
        info = _json(probes.get("server_info"), dict)
        parts = str(info.get("version", "")).split("/")
        service.version = parts[1] if len(parts) > 1 else None
    metrics = probes.get("metrics")
    if metrics is not None and not metrics.ok:
        service.problem(f"metrics GET /metrics: {metrics.error}")


# Flags Envoy sets in a host's health_status when that host must not get traffic.
UNHEALTHY_FLAGS = (
    "failed_active_health_check",
    "failed_outlier_check",
    "failed_active_degraded_check",
    "pending_dynamic_removal",
    "pending_active_hc",
    "excluded_via_immediate_hc_fail",
    "active_hc_timeout",
)


def _cluster_health(document: dict) -> list[dict[str, Any]]:
    """Per cluster of the admin `/clusters?format=json`: hosts and how many are healthy."""
    clusters = []
    for cluster in document.get("cluster_statuses") or []:
        hosts = [h for h in cluster.get("host_statuses") or [] if isinstance(h, dict)]
        healthy = sum(1 for host in hosts if _host_healthy(host.get("health_status") or {}))
        clusters.append({"name": cluster.get("name"), "hosts": len(hosts), "healthy": healthy})
    return clusters


def _host_healthy(status: dict) -> bool:
    if any(status.get(flag) for flag in UNHEALTHY_FLAGS):
        return False
    return status.get("eds_health_status", "HEALTHY") in ("HEALTHY", "DEGRADED")
