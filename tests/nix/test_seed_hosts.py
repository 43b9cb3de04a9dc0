"""nix/lib evaluated for the three seed hosts, with the stack spec their module
evaluation hands to nix/lib (nix/hosts/HOST through config.services.local-llm.stackInput,
tests/nix/conftest.py), and for named scenarios no host covers (tests/nix/scenarios):
the Envoy bootstrap passes the real `envoy --mode validate`, stack.json passes llmctl's
schema and loader."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from llmctl.stack import parse_stack, schema
from testkit.envoy import validate_config, write_config
from testkit.nixeval import nix_eval, scenario_spec
from testkit.nixeval_modules import SEED_HOSTS

# The seed hosts with a gateway (checked against the hosts below).
GATEWAY_HOSTS = ("strix-halo", "atlas")


def clusters_of(config: dict) -> dict:
    return {c["name"]: c for c in config["static_resources"]["clusters"]}


def routes_of(config: dict) -> list[dict]:
    listener = config["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return manager["route_config"]["virtual_hosts"][0]["routes"]


def test_gateway_hosts_are_the_hosts_with_a_gateway(seed_specs):
    assert tuple(host for host in SEED_HOSTS if seed_specs[host]["gateway"]["enable"]) == GATEWAY_HOSTS


@pytest.mark.parametrize("host", GATEWAY_HOSTS)
def test_seed_gateway_passes_envoy_validate(host, seed_specs, tmp_path):
    config = nix_eval("lib.envoyConfig spec", spec=seed_specs[host])
    result = validate_config(write_config(config, tmp_path / f"{host}.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


@pytest.mark.parametrize("scenario", ["keyed-gateway-over-ollama", "chat-fallback-chain"])
def test_scenario_gateway_passes_envoy_validate(scenario, tmp_path):
    config = nix_eval("lib.envoyConfig spec", spec=scenario_spec(scenario))
    result = validate_config(write_config(config, tmp_path / f"{scenario}.json"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("host", SEED_HOSTS)
def test_seed_stack_json_matches_schema_and_loader(host, seed_specs):
    document = nix_eval("lib.stackJson spec", spec=seed_specs[host])
    assert list(Draft202012Validator(schema()).iter_errors(document)) == []
    spec = parse_stack(document)
    assert spec.host == host
    assert ("gateway" in spec.endpoints) == (host in GATEWAY_HOSTS)
    if host in GATEWAY_HOSTS:
        assert spec.endpoint("gateway").url == "http://127.0.0.1:4001"


def test_strix_halo_ports_aliases_and_memory(seed_specs):
    document = nix_eval("lib.stackJson spec", spec=seed_specs["strix-halo"])
    endpoints = document["endpoints"]
    assert {name: endpoints[name]["url"] for name in ("chat", "embedding", "rerank")} == {
        "chat": "http://127.0.0.1:8000",
        "embedding": "http://127.0.0.1:8001",
        "rerank": "http://127.0.0.1:8002",
    }
    assert {
        "gpt-4",
        "gpt-4-turbo",
        "gpt-4o",
        "claude-3-opus",
        "claude-3-sonnet",
        "devstral-2",
        "mistral-large",
    } <= set(endpoints["chat"]["aliases"])
    assert set(endpoints["embedding"]["aliases"]) == {"text-embedding-ada-002", "text-embedding-3-small"}
    # The host's reranker is itself named bge-reranker: only the other alias remains.
    assert endpoints["rerank"]["model"] == "bge-reranker"
    assert set(endpoints["rerank"]["aliases"]) == {"rerank-english-v3.0"}
    assert document["gpu"] == {
        "backend": "rocm",
        "profile": "strix-halo",
        "targets": ["gfx1151"],
        "memoryGiB": 120,
        "unifiedMemory": True,
    }
    config = nix_eval("lib.envoyConfig spec", spec=seed_specs["strix-halo"])
    listener = config["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 4001}
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"


def test_strix_halo_dedicated_argv_uses_the_profile(seed_specs):
    argv = nix_eval('lib.dedicatedServerArgv spec "chat"', spec=seed_specs["strix-halo"])
    # Declared by source only: the folder it is fetched into (the unit picks its GGUF).
    assert argv[0].endswith("-llama-cpp/bin/llama-server")
    assert argv[1:3] == ["-m", "/var/lib/local-llm/models/devstral"]
    assert argv[argv.index("--port") + 1] == "8000"
    assert argv[argv.index("-c") + 1] == "262144"
    # nixos-26.05's llama.cpp predates --load-mode: unified memory gets --no-mmap there.
    assert "--no-mmap" in argv and "--load-mode" not in argv
    assert argv[argv.index("-fa") + 1] == "on"
    embedding = nix_eval('lib.dedicatedServerArgv spec "embedding"', spec=seed_specs["strix-halo"])
    assert embedding[-1] == "--embedding"


def test_keyed_gateway_routes_ollama_models_and_faces_the_network():
    config = nix_eval("lib.envoyConfig spec", spec=scenario_spec("keyed-gateway-over-ollama"))
    assert config["static_resources"]["listeners"][0]["address"]["socket_address"]["address"] == "0.0.0.0"
    ollama = clusters_of(config)["ollama"]
    check = ollama["health_checks"][0]["http_health_check"]
    assert check == {"path": "/api/version", "host": "localhost"}
    by_name = {route["name"]: route for route in routes_of(config)}
    matcher = by_name["model-ollama"]["match"]["dynamic_metadata"][0]["value"]["or_match"]["value_matchers"]
    assert [m["string_match"]["exact"] for m in matcher] == ["qwen3:8b", "llama3.2:3b"]
    assert by_name["model-ollama"]["route"]["host_rewrite_literal"] == "localhost"
    assert by_name["ollama"]["match"] == {"prefix": "/ollama/"}
    assert by_name["ollama"]["route"]["prefix_rewrite"] == "/"
    # No dedicated servers: every OpenAI path falls back to llama-swap.
    for name in ("completions", "embeddings", "rerank", "models", "default"):
        assert by_name[name]["route"]["cluster"] == "llamaSwap"


def test_keyed_gateway_key_file_is_referenced_not_read():
    text = json.dumps(nix_eval("lib.envoyConfig spec", spec=scenario_spec("keyed-gateway-over-ollama")))
    assert "/run/credentials/envoy.service/api-keys" in text


def test_atlas_fails_over_to_the_7600(seed_specs):
    config = nix_eval("lib.envoyConfig spec", spec=seed_specs["atlas"])
    endpoints = clusters_of(config)["chat"]["load_assignment"]["endpoints"]
    assert [e["lb_endpoints"][0]["endpoint"]["address"]["socket_address"] for e in endpoints] == [
        {"address": "127.0.0.1", "port_value": 8000},
        {"address": "192.168.1.60", "port_value": 8000},
    ]


def test_chat_fails_over_by_priority_to_a_second_server_then_another_host():
    config = nix_eval("lib.envoyConfig spec", spec=scenario_spec("chat-fallback-chain"))
    chat = clusters_of(config)["chat"]
    assert chat["type"] == "STRICT_DNS"  # strix-halo is a host name
    endpoints = chat["load_assignment"]["endpoints"]
    assert [(e["priority"], e["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]) for e in endpoints] == [
        (0, {"address": "127.0.0.1", "port_value": 8000}),
        (1, {"address": "127.0.0.1", "port_value": 8010}),
        (2, {"address": "strix-halo", "port_value": 4001}),
    ]
    route = next(r for r in routes_of(config) if r["name"] == "model-chat")["route"]
    assert route["retry_policy"]["retry_priority"]["name"] == "envoy.retry_priorities.previous_priorities"
    assert route["timeout"] == "0s"


def test_atlas_and_its_fallback_profiles(seed_specs):
    assert seed_specs["atlas"]["gpu"]["profile"] == "rx-7900xtx"
    hw = nix_eval('{ a = lib.hardware { profile = "rx-7900xtx"; }; b = lib.hardware { profile = "rx-7600"; }; }')
    assert hw["a"]["environment"] == {} and hw["a"]["targets"] == ["gfx1100"]
    assert hw["b"]["environment"] == {"HSA_OVERRIDE_GFX_VERSION": "11.0.0"}
    assert hw["b"]["llamaCpp"] == {
        "package": "llama-cpp",
        "override": {"rocmSupport": True, "rocmGpuTargets": ["gfx1102"]},
    }
