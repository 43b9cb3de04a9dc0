"""Module evaluation tier: each seed host (nix/hosts/HOST, its own files) evaluated with
the real upstream NixOS modules, on nixpkgs' 26.05 lib and on the older 2026-03-22 lib
(tests/nix/conftest.py; testkit/nixeval_modules.py says what the summary holds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmctl.stack import parse_stack
from testkit.nixeval_modules import SEED_HOSTS, evaluate_host, nixpkgs_libs


def listener_ports(settings: dict) -> list[int]:
    return [
        listener["address"]["socket_address"]["port_value"] for listener in settings["static_resources"]["listeners"]
    ]


@pytest.mark.parametrize("host", SEED_HOSTS)
def test_seed_host_evaluates_with_the_real_upstream_modules(module_eval, lib, host):
    summary = module_eval(host, lib)
    assert summary["assertions"] == []
    assert summary["warnings"] == []
    assert summary["hostName"] == host
    # Every unit renders with nixos/lib's unit renderer, upstream's and ours alike.
    for name, unit in summary["units"].items():
        assert unit["text"].startswith("[Unit]\n"), name
        assert "\n[Service]\n" in unit["text"], name


def test_strix_halo_dedicated_servers_gateway_and_kernel(strix_halo):
    units, files = strix_halo["units"], strix_halo["files"]
    launchers = {
        role: files[units[f"local-llm-{role}"]["serviceConfig"]["ExecStart"]]
        for role in ("chat", "embedding", "rerank")
    }
    for role, port in (("chat", 8000), ("embedding", 8001), ("rerank", 8002)):
        assert f"--host 127.0.0.1 --port {port}" in launchers[role]
    assert "-c 262144" in launchers["chat"], "the declared 256K context reaches llama-server"
    assert "--no-mmap" in launchers["chat"], "unified memory: no mmap (old flag spelling of the pinned llama.cpp)"
    assert "--embedding" in launchers["embedding"]
    binary = strix_halo["llamaCpp"]["path"] + "/bin/llama-server"
    assert f"args=({binary} -m " in launchers["chat"], "llama-server of the profile's llama.cpp build"
    assert units["local-llm-chat"]["serviceConfig"]["DevicePolicy"] == "closed"
    # 128 GB machine: GPU budget 120 GiB -> 30,720,000 pages of 4 KiB (the seed's figure).
    assert strix_halo["kernelParams"] == ["ttm.pages_limit=30720000", "ttm.page_pool_size=30720000"]
    assert listener_ports(strix_halo["envoy"]["settings"]) == [4001, 9902], "the API and the metrics"
    assert strix_halo["firewall"]["allowedTCPPorts"] == []
    assert strix_halo["llamaCpp"]["overrideArgs"] == {"rocmSupport": True, "rocmGpuTargets": ["gfx1151"]}


def test_strix_halo_stack_json_is_what_llmctl_reads(strix_halo):
    spec = parse_stack(strix_halo["stackJson"], Path("/etc/local-llm/stack.json"))
    assert spec.endpoint("chat").url == "http://127.0.0.1:8000"
    assert spec.endpoint("gateway").url == "http://127.0.0.1:4001"
    assert spec.endpoint("gateway").unit == "envoy.service", "verify checks the gateway's unit too"
    assert spec.gpu.unified_memory is True and spec.gpu.memory_gib == 120
    assert spec.models["devstral"].serve == "dedicated"


def test_stack_json_reaches_etc_as_a_file_named_by_its_content(strix_halo, nas01):
    sources = {summary["etc"]["local-llm/stack.json"]["source"] for summary in (strix_halo, nas01)}
    assert len(sources) == 2, "two different stack.json files have two store paths"
    assert all(source.startswith("/nix/store/") for source in sources)


def test_nas01_ollama_llama_swap_webui_zfs_tailnet(nas01):
    ollama = nas01["ollama"]
    assert ollama["enable"] and ollama["port"] == 11434 and ollama["host"] == "127.0.0.1"
    assert "-ollama-rocm" in ollama["package"]
    assert ollama["models"] == "/models/ollama" and ollama["loadModels"] == ["llama3.2:3b"]
    serve = nas01["units"]["ollama"]["serviceConfig"]
    assert serve["ExecStart"] == ollama["package"] + "/bin/ollama serve"
    assert nas01["units"]["ollama"]["environment"]["OLLAMA_MODELS"] == "/models/ollama"
    assert "ollama-model-loader" in nas01["units"], "upstream's loader pulls loadModels"
    assert nas01["llamaSwap"]["port"] == 8090
    swap = nas01["units"]["llama-swap"]["serviceConfig"]
    assert swap["ExecStart"] == (
        nas01["llamaSwap"]["package"]
        + "/bin/llama-swap -listen 127.0.0.1:8090 -config /var/lib/local-llm/llama-swap/config.yaml -watch-config"
    )
    assert swap["MemoryDenyWriteExecute"] is False and swap["SupplementaryGroups"] == ["render", "video"]
    assert nas01["paths"]["local-llm-discover"]["pathConfig"]["PathChanged"] == "/models"
    discover = nas01["units"]["local-llm-discover"]["serviceConfig"]
    assert discover["User"] == "local-llm" and discover["ReadWritePaths"] == ["/var/lib/local-llm/llama-swap"]
    assert discover["ExecStart"].endswith(
        "/bin/llmctl discover --stack /etc/local-llm/stack.json --output /var/lib/local-llm/llama-swap/config.yaml"
    )
    assert nas01["llamaCpp"]["overrideArgs"] == {"vulkanSupport": True}
    webui = nas01["webui"]
    assert webui["port"] == 3001 and webui["host"] == "0.0.0.0"
    environment = nas01["units"]["open-webui"]["environment"]
    assert environment["WEBUI_AUTH"] == "True" and environment["ENABLE_PERSISTENT_CONFIG"] == "False"
    assert environment["OPENAI_API_BASE_URLS"] == "http://127.0.0.1:8090/v1"
    assert environment["DATA_DIR"] == "/var/lib/open-webui/data", "upstream's unit environment is kept"
    assert nas01["units"]["open-webui"]["serviceConfig"]["EnvironmentFile"] == ["/run/secrets/open-webui.env"]
    assert nas01["firewall"]["allowedTCPPorts"] == []
    assert nas01["firewall"]["interfaces"]["tailscale0"]["allowedTCPPorts"] == [3001]
    script = nas01["units"]["local-llm-dataset"]["script"]
    assert "zfs create -p" in script and "ssdpool/local/models" in script
    for prop in ("quota=500G", "compression=lz4", "recordsize=1M", "mountpoint=/models"):
        assert prop in script
    assert nas01["supportedFilesystems"]["zfs"] is True
    assert {"local-llm", "ollama"} <= set(nas01["users"]) and nas01["users"]["ollama"]["home"] == "/var/lib/ollama"


def test_atlas_fallback_api_keys_and_open_gateway(atlas):
    settings = atlas["envoy"]["settings"]
    chat = next(c for c in settings["static_resources"]["clusters"] if c["name"] == "chat")
    priorities = [e["priority"] for e in chat["load_assignment"]["endpoints"]]
    assert priorities == [0, 1]
    fallback = chat["load_assignment"]["endpoints"][1]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert (fallback["address"], fallback["port_value"]) == ("192.168.1.60", 8000)
    assert atlas["firewall"]["allowedTCPPorts"] == [4001]
    listener = settings["static_resources"]["listeners"][0]["address"]["socket_address"]
    assert (listener["address"], listener["port_value"]) == ("0.0.0.0", 4001)
    envoy_unit = atlas["units"]["envoy"]["serviceConfig"]
    assert envoy_unit["LoadCredential"] == ["api-keys:/run/secrets/gateway-api-keys"]
    assert envoy_unit["Restart"] == "on-failure"
    assert envoy_unit["ExecStart"].startswith(atlas["envoy"]["package"] + "/bin/envoy -c /nix/store/")
    rendered = json.dumps(settings)
    assert "/run/credentials/envoy.service/api-keys" in rendered
    assert "/run/secrets/gateway-api-keys" not in rendered, "the Envoy config names only the credential"


def test_stack_json_tells_verify_what_faces_the_network_and_what_is_secret(atlas, nas01):
    spec = parse_stack(atlas["stackJson"], Path("/etc/local-llm/stack.json"))
    gateway = spec.endpoint("gateway")
    assert gateway.open_firewall and gateway.url == "http://atlas:4001", "opened: reached by host name"
    assert not spec.endpoint("chat").open_firewall and spec.endpoint("chat").url == "http://127.0.0.1:8000"
    assert spec.secret_files == ("/run/secrets/gateway-api-keys",)
    assert set(spec.generated_configs) == {
        "/etc/local-llm/stack.json",
        "/etc/local-llm/envoy.json",
        "/var/lib/local-llm/llama-swap/config.yaml",
    }
    assert spec.models_dir_owner == "local-llm:local-llm" and spec.models_dir_mode == "0755"
    nas = parse_stack(nas01["stackJson"], Path("/etc/local-llm/stack.json"))
    assert nas.endpoint("webui").open_firewall and nas.endpoint("webui").url == "http://nas-01:3001"
    assert nas.secret_files == ("/run/secrets/open-webui.env",)


def test_a_keyed_litellm_gateway_is_checked_at_its_own_credential(tmp_path):
    """With gateway.kind = "litellm", the keys are the credential of litellm.service: the
    unit loads them there and stack.json sends `llmctl verify` there, not to Envoy's."""
    host = tmp_path / "host.nix"
    host.write_text(
        "{ services.local-llm = { enable = true; llamaSwap.enable = true;"
        ' gateway = { enable = true; kind = "litellm"; apiKeyFile = "/run/secrets/gateway-api-keys"; }; }; }'
    )
    for lib in nixpkgs_libs():
        summary = evaluate_host(host, lib=lib)
        assert summary["assertions"] == [] and summary["warnings"] == []
        unit = summary["units"]["litellm"]["serviceConfig"]
        assert unit["LoadCredential"] == ["api-keys:/run/secrets/gateway-api-keys"]
        assert '"$CREDENTIALS_DIRECTORY/api-keys"' in summary["files"][unit["ExecStart"]]
        spec = parse_stack(summary["stackJson"], Path("/etc/local-llm/stack.json"))
        assert spec.endpoint("gateway").unit == "litellm.service"
        assert spec.gateway.api_key_file == "/run/credentials/litellm.service/api-keys"
        assert spec.secret_files == ("/run/secrets/gateway-api-keys",)
