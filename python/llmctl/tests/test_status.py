"""`llmctl status` against replay servers for Ollama, llama-swap and Open WebUI: each
documented answer is read, and a hung, failing or garbled service is named with the
reason while the sweep still ends within --timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from llmctl.cli import cli
from testkit.processes import free_port
from testkit.replay_servers import (
    ReplayServer,
    llama_server_routes,
    llama_swap_routes,
    ollama_routes,
    start_replay,
    webui_routes,
)

TIMEOUT = "1.5"  # generous: other test suites share the 2 cores


@pytest.fixture
def replays():
    """Factory: start(faults={service: (fault, paths)}, running=[...]) -> the three servers."""
    started = []

    def start(faults=None, running=()):
        faults = faults or {}
        routes = {
            "ollama": ollama_routes(),
            "llamaSwap": llama_swap_routes(running=running),
            "webui": webui_routes(),
        }
        servers = {}
        for name, table in routes.items():
            fault, paths = faults.get(name, (None, ()))
            servers[name] = start_replay(name, table, fault, paths)
            started.append(servers[name])
        return servers

    yield start
    for server in started:
        server.stop()


def write_stack(tmp_path, servers, extra=None) -> str:
    endpoints = {name: {"url": server.url} for name, server in servers.items()}
    endpoints.update(extra or {})
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"version": 1, "host": "replay", "modelsDir": str(tmp_path), "endpoints": endpoints}))
    return str(path)


def status(stack: str, *args: str):
    return CliRunner().invoke(cli, ["--stack", stack, "status", "--timeout", TIMEOUT, *args])


def by_name(report: dict) -> dict[str, dict]:
    return {service["name"]: service for service in report["services"]}


def test_every_service_up_with_its_documented_answers(tmp_path, replays):
    servers = replays()
    result = status(write_stack(tmp_path, servers), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["version"] == 1 and report["host"] == "replay"
    services = by_name(report)
    assert {name: s["state"] for name, s in services.items()} == {"llamaSwap": "up", "ollama": "up", "webui": "up"}
    ollama = services["ollama"]
    assert ollama["version"] == "0.33.0"
    assert ollama["details"] == {"available": 2, "listed_models": ["llama3.2:3b", "qwen3:8b"]}
    assert ollama["models"] == [
        {
            "name": "llama3.2:3b",
            "state": "loaded",
            "context": 4096,
            "size_bytes": 2 * 1024**3,
            "vram_bytes": 2 * 1024**3 * 3 // 4,
            "expires_at": "2026-11-22T03:00:00Z",
        }
    ]
    assert services["llamaSwap"]["version"] == "250"
    assert services["llamaSwap"]["models"] == []
    assert services["llamaSwap"]["details"] == {"listed": 2, "listed_models": ["devstral", "qwen"]}
    assert services["webui"]["version"] == "0.9.6"
    for service in services.values():
        assert all(p["ok"] and p["timeout_s"] <= float(TIMEOUT) for p in service["probes"].values())
    human = status(write_stack(tmp_path, servers))
    assert "llama3.2:3b ctx 4096 1.5 GiB of 2.0 GiB on GPU" in human.stdout
    assert "nothing loaded (2 available)" in human.stdout
    assert "Problems:" not in human.stdout


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("service", "fault", "paths", "state", "reason"),
    [
        ("ollama", "hang", (), "down", "ollama: GET /api/version: no answer within 1.5 s"),
        ("llamaSwap", "hang", ("/running",), "degraded", "llamaSwap: GET /running: no answer within 1.5 s"),
        ("llamaSwap", "500", (), "down", "llamaSwap: GET /health: HTTP 500: llamaSwap internal error"),
        ("ollama", "500", ("/api/ps",), "degraded", "ollama: GET /api/ps: HTTP 500: ollama internal error"),
        ("webui", "broken-json", (), "down", "webui: GET /health: broken JSON (Unterminated string"),
        ("ollama", "broken-json", ("/api/tags",), "degraded", "ollama: GET /api/tags: broken JSON ("),
    ],
)
def test_a_wrong_service_is_named_with_the_reason(tmp_path, replays, service, fault, paths, state, reason):
    """The hang lasts an hour: the test (timeout 60 s) can only pass if the sweep gives up
    at --timeout; every probe reports the time it was allowed."""
    stack = write_stack(tmp_path, replays({service: (fault, paths)}))
    result = status(stack)
    assert result.exit_code == 1
    assert reason in result.stdout
    assert f"not healthy: {service} ({state})" in result.stderr
    assert "Traceback" not in result.output
    report = json.loads(status(stack, "--json").stdout)
    services = by_name(report)
    assert services[service]["state"] == state
    assert [name for name, s in services.items() if s["state"] != "up"] == [service], "the others are unaffected"
    assert report["ok"] is False and report["timeout_s"] == float(TIMEOUT)
    for probe in services[service]["probes"].values():
        assert probe["timeout_s"] <= float(TIMEOUT)
        if fault == "hang" and not probe["ok"]:
            assert probe["error"] == "no answer within 1.5 s"


def test_nothing_listening_and_disabled(tmp_path, replays):
    servers = replays()
    extra = {
        "chat": {"url": f"http://127.0.0.1:{free_port()}"},
        "rerank": {"url": "http://127.0.0.1:9", "enable": False},
    }
    result = status(write_stack(tmp_path, servers, extra), "--json")
    assert result.exit_code == 1
    services = by_name(json.loads(result.stdout))
    assert services["chat"]["state"] == "down"
    assert services["chat"]["problems"] == ["GET /health: connection refused (nothing listens there)"]
    assert services["rerank"]["state"] == "disabled" and services["rerank"]["probes"] == {}
    assert "1 service not healthy: chat (down)" in result.stderr


def test_llama_swap_model_whose_server_is_gone(tmp_path, replays):
    dead = f"http://127.0.0.1:{free_port()}"
    servers = replays(running=[{"model": "qwen", "proxy": dead}])
    result = status(write_stack(tmp_path, servers), "--json")
    assert result.exit_code == 1
    swap = by_name(json.loads(result.stdout))["llamaSwap"]
    assert swap["state"] == "degraded"
    assert swap["models"][0]["name"] == "qwen" and swap["models"][0]["upstream"] == dead
    assert swap["problems"] == [
        f"model qwen: its llama-server {dead} /health: connection refused (nothing listens there)"
    ]
    assert "/upstream/" not in " ".join(servers["llamaSwap"].requests), "status never asks llama-swap to load"


def test_watch_prints_one_json_document_per_sweep(tmp_path, replays):
    stack = write_stack(tmp_path, replays())
    argv = [sys.executable, "-m", "llmctl", "--stack", stack, "status", "--json", "--watch", "--interval", "0.5"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as process:
        try:
            lines = [process.stdout.readline() for _ in range(2)]
        finally:
            process.terminate()
    assert [json.loads(line)["ok"] for line in lines] == [True, True]


def test_bad_timeout_is_a_usage_error(tmp_path):
    result = status(write_stack(tmp_path, {}), "--timeout", "0")
    assert result.exit_code == 2
    assert "--timeout" in result.output


def test_missing_stack_spec_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(cli, ["--stack", str(tmp_path / "none.json"), "status"])
    assert result.exit_code == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.output


def test_invalid_stack_spec_is_still_rejected(tmp_path, replays):
    """The sweep starts before the schema check; a wrong key is an error all the same."""
    path = tmp_path / "stack.json"
    path.write_text(json.dumps({"version": 1, "endpoints": {"ollama": {"url": replays()["ollama"].url, "port": 1}}}))
    result = CliRunner().invoke(cli, ["--stack", str(path), "status", "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "unknown key 'endpoints.ollama.port'" in result.stderr


@pytest.mark.timeout(60)
def test_a_hung_service_does_not_starve_llama_swaps_servers(tmp_path, replays):
    """llama-swap's servers are asked as soon as /running answers, not after the slowest
    service: with Ollama hung until the deadline, the running model is still read."""
    upstream = start_replay("qwen-server", llama_server_routes())
    try:
        servers = replays({"ollama": ("hang", ())}, running=[{"model": "qwen", "proxy": upstream.url}])
        result = status(write_stack(tmp_path, servers), "--json")
    finally:
        upstream.stop()
    assert result.exit_code == 1
    services = by_name(json.loads(result.stdout))
    assert services["ollama"]["state"] == "down"
    swap = services["llamaSwap"]
    assert swap["state"] == "up", swap["problems"]
    assert swap["models"] == [
        {
            "name": "qwen",
            "state": "ready",
            "upstream": upstream.url,
            "context": 8192,
            "slots": 2,
            "slots_busy": 1,
            "size_bytes": 4 * 1024**3,
            "vram_bytes": None,
            "llamacpp": {"prompt_tokens_total": 120.0, "tokens_predicted_total": 345.0, "requests_processing": 1.0},
        }
    ]
    assert {"/health", "/props", "/slots", "/metrics"} <= set(upstream.requests)


def test_up_or_down_is_decided_by_the_endpoints_health_path(tmp_path, replays):
    servers = replays()
    endpoints = {
        "llamaSwap": {"url": servers["llamaSwap"].url, "health": "/v1/models"},  # answers: up
        "webui": {"url": servers["webui"].url, "health": "/no-such-health"},  # 404: down
    }
    result = status(write_stack(tmp_path, {}, endpoints), "--json")
    assert result.exit_code == 1
    services = by_name(json.loads(result.stdout))
    assert services["llamaSwap"]["state"] == "up"
    assert services["llamaSwap"]["probes"]["health"]["url"] == servers["llamaSwap"].url + "/v1/models"
    assert services["webui"]["state"] == "down"
    assert services["webui"]["problems"][0].startswith("GET /no-such-health: HTTP 404")


def status_on_gpu_host(tmp_path, backend: str, models: dict | None = None, **endpoints):
    """`llmctl status --json` for `endpoints` on a Strix Halo host whose spec plans `backend`."""
    document = {
        "version": 1,
        "modelsDir": str(tmp_path),
        "endpoints": endpoints,
        "gpu": {"backend": backend, "profile": "strix-halo", "memoryGiB": 120, "unifiedMemory": True},
        "models": models or {},
    }
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(document))
    return status(str(path), "--json")


@pytest.mark.parametrize(("vram_share", "state"), [(0, "degraded"), (1, "up")])
def test_an_ollama_model_on_the_cpu_where_a_gpu_is_planned_is_a_problem(tmp_path, vram_share, state):
    routes = ollama_routes()
    for model in routes["/api/ps"]["models"]:
        model["size_vram"] = model["size"] * vram_share
    with ReplayServer("ollama", routes) as server:
        result = status_on_gpu_host(tmp_path, "vulkan", ollama={"url": server.url})
    ollama = by_name(json.loads(result.stdout))["ollama"]
    assert ollama["state"] == state
    verdict = ollama["details"]["gpu_use"]["llama3.2:3b"]
    assert verdict["ok"] is (vram_share == 1)
    if state == "degraded":
        assert result.exit_code == 1
        assert ollama["problems"] == [
            f"llama3.2:3b: {verdict['summary']}; cause: {verdict['cause']}; next: {verdict['next_step']}"
        ]
        assert "running on the CPU where a vulkan GPU was planned" in verdict["summary"]


def replay_journal(tmp_path, monkeypatch, log: str) -> None:
    """A journalctl on PATH that answers with a recorded llama-server start."""
    recorded = Path(__file__).parent / "data" / "llama-logs" / log
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    journalctl = bin_dir / "journalctl"
    journalctl.write_text(f'#!/bin/sh\ncat "{recorded}"\n')
    journalctl.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def test_a_llama_server_whose_journal_shows_a_cpu_fallback_is_a_problem(tmp_path, monkeypatch):
    replay_journal(tmp_path, monkeypatch, "rocm-no-device-b11434.log")
    with ReplayServer("chat", llama_server_routes()) as server:
        result = status_on_gpu_host(tmp_path, "rocm", chat={"url": server.url, "unit": "local-llm-chat.service"})
    chat = by_name(json.loads(result.stdout))["chat"]
    assert chat["state"] == "degraded" and result.exit_code == 1
    (problem,) = chat["problems"]
    assert problem.startswith("chat: running on the CPU where a rocm GPU was planned")
    assert "no ROCm-capable device is detected" in problem and "HSA_OVERRIDE_GFX_VERSION" in problem


def test_a_dedicated_model_declared_on_the_cpu_is_no_problem_on_a_gpu_host(tmp_path, monkeypatch):
    """gpuLayers = 0 in the spec: the host's GPU is planned for other models; status judges
    the server against its declared -ngl, as `llmctl verify` does."""
    replay_journal(tmp_path, monkeypatch, "rocm-no-device-b11434.log")
    chat = {"url": "", "unit": "local-llm-chat.service", "model": "small"}
    with ReplayServer("chat", llama_server_routes()) as server:
        chat["url"] = server.url
        result = status_on_gpu_host(tmp_path, "rocm", models={"small": {"gpuLayers": 0}}, chat=chat)
    chat_status = by_name(json.loads(result.stdout))["chat"]
    assert chat_status["problems"] == [] and chat_status["state"] == "up", chat_status
    assert chat_status["details"]["gpu_use"]["chat"]["ok"] is True
    assert result.exit_code == 0
