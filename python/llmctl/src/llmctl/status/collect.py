"""`llmctl status` without the printing: probe every service of the stack spec at
once, read GPU memory and the models folder, and say per service what is wrong
(the answers are read in `status.interpret`).

Two sweeps share one deadline: the first asks every endpoint of the spec, the second
asks the llama-servers llama-swap reports running, directly on their own ports (never
through `/upstream/...`, which would load a model). A hung service therefore costs the
timeout once, not once per request. Whether a service is up is decided by its
endpoint's health path (`endpoints.NAME.health` of the stack spec).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from llmctl.stack import StackSpec
from llmctl.status.gpu_use import annotate as annotate_gpu_use
from llmctl.status.interpret import UPSTREAM_HEALTH, interpret, running_entries
from llmctl.status.probe import HttpProbe, ProbeResult, sweep
from llmctl.status.report import DISABLED, UP, ServiceStatus, StatusReport

SERVICE_KINDS = {
    "gateway": "envoy",
    "llamaSwap": "llama-swap",
    "chat": "llama-server",
    "embedding": "llama-server",
    "rerank": "llama-server",
    "ollama": "ollama",
    "webui": "open-webui",
}
HEALTH = None  # in a plan: the endpoint's health path

# What each kind of service is asked: (role, path, expect, required). The first one
# decides between up and down; a later required one failing makes the service degraded;
# an optional one (version strings, sizes) failing is ignored.
PLANS = {
    "llama-swap": (
        ("health", HEALTH, "text", True),
        ("running", "/running", "json", True),
        ("models", "/v1/models", "json", True),
        ("version", "/api/version", "json", False),
    ),
    "llama-server": (
        ("health", HEALTH, "json", True),
        ("props", "/props", "json", True),
        ("slots", "/slots", "json", True),
        ("models", "/v1/models", "json", False),
        # Only with --metrics (501 otherwise): token counters, requests in flight.
        ("metrics", "/metrics", "text", False),
    ),
    "ollama": (
        ("version", HEALTH, "json", True),
        ("ps", "/api/ps", "json", True),
        ("tags", "/api/tags", "json", True),
    ),
    "open-webui": (
        ("health", HEALTH, "json", True),
        ("version", "/api/version", "json", False),
    ),
}
ENVOY_ADMIN_PLAN = (
    ("ready", HEALTH, "text", True),
    ("clusters", "/clusters?format=json", "json", True),
    ("server_info", "/server_info", "json", False),
)


def collect_checked(stack_path: str | None, timeout: float) -> StatusReport:
    """Load the stack spec and sweep it while the spec is validated: the schema check
    imports jsonschema (~60 ms), which would otherwise come on top of a hung service's
    timeout. A spec that fails validation is still an error, and the sweep's result is
    then thrown away."""
    from llmctl.errors import StackSpecError
    from llmctl.stack import load_stack, validate_stack

    try:
        unchecked = load_stack(stack_path, validate=False)
    except StackSpecError:
        raise
    except Exception:  # too malformed to build: the validator names the wrong key
        return collect_status(load_stack(stack_path), timeout)
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["report"] = collect_status(unchecked, timeout)
        except BaseException as error:  # re-raised in the main thread
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True, name="status-sweep")
    worker.start()
    validate_stack(unchecked.raw, unchecked.path)
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["report"]


def collect_status(spec: StackSpec, timeout: float, *, sysfs_root=None, nvidia_smi=None) -> StatusReport:
    """Probe every endpoint of `spec`; everything finishes within `timeout` seconds."""
    from llmctl.fsutil import folder_space
    from llmctl.status.gpu import read_gpus

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
            url: {role: answers[probe] for role, probe in plan.items()}
            for url, plan in _running_upstreams(service).items()
            if all(probe in answers for probe in plan.values())
        }
        interpret(service, upstreams)
    annotate_gpu_use(services, spec, deadline)

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
    from llmctl.status.gpu import GpuReport

    return GpuReport(problems=[f"GPU readers gave no answer within {timeout:.1f} s"])


def _plan_services(spec: StackSpec) -> tuple[list[ServiceStatus], dict[str, dict[str, HttpProbe]]]:
    services: list[ServiceStatus] = []
    plans: dict[str, dict[str, HttpProbe]] = {}
    for name, kind in SERVICE_KINDS.items():
        endpoint = spec.endpoints.get(name)
        admin = spec.endpoints.get("gatewayAdmin") if name == "gateway" else None
        if endpoint is None and admin is None:
            continue  # not deployed on this host
        url = (endpoint or admin).url
        enabled = (endpoint or admin).enable
        service = ServiceStatus(name=name, kind=kind, url=url, enabled=enabled, state=UP if enabled else DISABLED)
        services.append(service)
        plans[name] = _plan_probes(service, spec) if enabled else {}
    return services, plans


def _probes(service: ServiceStatus, base: str, health: str, plan) -> dict[str, HttpProbe]:
    """The probes of `plan` against `base`, the health entry asking `health`."""
    probes = {}
    for role, path, expect, required in plan:
        asked = health if path is HEALTH else path
        service.plan.append((role, asked, expect, required))
        probes[role] = HttpProbe(base + asked, expect)
    return probes


def _plan_probes(service: ServiceStatus, spec: StackSpec) -> dict[str, HttpProbe]:
    if service.kind != "envoy":
        endpoint = spec.endpoints[service.name]
        return _probes(service, endpoint.url, endpoint.health, PLANS[service.kind])
    plan = {}
    listener = spec.endpoint("gateway")
    if listener:
        plan.update(_probes(service, listener.url, listener.health, [("listener", HEALTH, "text", True)]))
    admin = spec.endpoint("gatewayAdmin")
    if admin:
        plan.update(_probes(service, admin.url, admin.health, ENVOY_ADMIN_PLAN))
    metrics = spec.endpoint("gatewayMetrics")
    if metrics:
        plan.update(_probes(service, metrics.url, metrics.health, [("metrics", HEALTH, "text", True)]))
    return plan


def _running_upstreams(service: ServiceStatus) -> dict[str, dict[str, HttpProbe]]:
    """The llama-servers a llama-swap runs, keyed by their proxy URL."""
    if service.kind != "llama-swap" or "running" not in service.probes:
        return {}
    return _upstream_plans(service.probes["running"])


def _upstream_probes(running: ProbeResult) -> list[HttpProbe]:
    return [probe for plan in _upstream_plans(running).values() for probe in plan.values()]


def _upstream_plans(running: ProbeResult) -> dict[str, dict[str, HttpProbe]]:
    upstreams = {}
    for entry in running_entries(running):
        proxy = entry.get("proxy")
        if isinstance(proxy, str) and proxy.startswith("http") and entry.get("state", "ready") == "ready":
            base = proxy.rstrip("/")
            upstreams[base] = {
                role: HttpProbe(base + (UPSTREAM_HEALTH if path is HEALTH else path), expect)
                for role, path, expect, _ in PLANS["llama-server"]
            }
    return upstreams
