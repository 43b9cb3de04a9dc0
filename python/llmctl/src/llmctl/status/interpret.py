"""What the answers of a service's probes say: its state (up, starting, degraded,
down), its problems, version and loaded models, per kind of service."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from llmctl.stack import default_health_path
from llmctl.status.metrics_text import llamacpp_counters
from llmctl.status.probe import ProbeResult
from llmctl.status.report import DEGRADED, DOWN, STARTING, ServiceStatus

# The llama-servers llama-swap runs are not endpoints of the spec; they answer where
# the spec's own llama-servers do.
UPSTREAM_HEALTH = default_health_path("chat")


def interpret(service: ServiceStatus, upstreams: dict[str, dict[str, ProbeResult]]) -> None:
    """Set the service's state, problems, version and models from its answers
    (`upstreams`: the answers of the llama-servers a llama-swap runs, by proxy URL)."""
    if not service.enabled:
        return
    if service.kind == "envoy":
        _interpret_envoy(service)
        return
    if not _check_required(service):
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


def _check_required(service: ServiceStatus) -> bool:
    """Mark failed required probes; False when the service is down (first probe failed)."""
    for index, (role, path, _expect, required) in enumerate(service.plan):
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
        # llama-server's /metrics (with --metrics): token counters, requests in flight.
        "llamacpp": _counters(probes.get("metrics")),
    }
    return model, props.get("build_info")


def _counters(result: ProbeResult | None) -> dict[str, float] | None:
    if result is None or not result.ok or not isinstance(result.data, str):
        return None
    return llamacpp_counters(result.data) or None


def _interpret_llama_swap(service: ServiceStatus, upstreams: dict[str, dict[str, ProbeResult]]) -> None:
    version = _json(service.probes.get("version"), dict).get("version")
    service.version = str(version) if version is not None else None
    listed = _json(service.probes["models"], dict).get("data")
    service.details["listed"] = len(listed) if isinstance(listed, list) else None
    service.details["listed_models"] = _ids(listed, "id")
    running = service.probes["running"]
    if running.ok and not isinstance(_json(running, dict).get("running"), list):
        service.problem("GET /running: answer has no 'running' list")
    for entry in running_entries(running):
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
            "llamacpp": None,
        }
        answers = upstreams.get(proxy)
        if answers:
            health = answers["health"]
            if not health.ok:
                service.problem(
                    f"model {entry.get('model')}: its llama-server {proxy} {UPSTREAM_HEALTH}: {health.error}"
                )
            upstream_model, _ = _llama_server_model(answers)
            for key in ("context", "slots", "slots_busy", "size_bytes", "llamacpp"):
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
    service.details["listed_models"] = _ids(available, "name")


def _ids(entries, key: str) -> list[str]:
    """The names in a model list (llama-swap's /v1/models ids, Ollama's tags)."""
    if not isinstance(entries, list):
        return []
    return [str(entry[key]) for entry in entries if isinstance(entry, dict) and entry.get(key)]


def _interpret_webui(service: ServiceStatus) -> None:
    health = _json(service.probes["health"], dict)
    if health.get("status") is not True:
        body = service.probes["health"].body.strip()[:80]
        service.problem(f"GET {_asked(service, 'health')}: reports {body!r}", DOWN)
    service.version = _json(service.probes["version"], dict).get("version")


def _interpret_envoy(service: ServiceStatus) -> None:
    probes = service.probes
    listener = probes.get("listener")
    if listener is not None and (listener.status is None or listener.status >= 500):
        service.problem(f"listener GET {_asked(service, 'listener')}: {listener.error}", DOWN)
    ready = probes.get("ready")
    if ready is not None:
        if not ready.ok or ready.body.strip() != "LIVE":
            detail = ready.error or f"state {ready.body.strip()[:40]!r}"
            service.problem(f"admin GET {_asked(service, 'ready')}: {detail}", DOWN)
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
        service.problem(f"metrics GET {_asked(service, 'metrics')}: {metrics.error}")


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


def _asked(service: ServiceStatus, role: str) -> str:
    """The path the probe of `role` asked."""
    return next(path for name, path, _, _ in service.plan if name == role)


def running_entries(result: ProbeResult) -> list[dict[str, Any]]:
    """The entries of llama-swap's `/running` answer."""
    if not result.ok or not isinstance(result.data, dict) or not isinstance(result.data.get("running"), list):
        return []
    return [entry for entry in result.data["running"] if isinstance(entry, dict)]
