"""Module evaluation tier: the NixOS modules evaluated with nixpkgs' lib for each seed
host and for broken declarations (see tests/testkit/nixeval_modules.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from llmctl.stack import parse_stack
from testkit.nixeval_modules import REPO, evaluate_host

HOSTS = REPO / "nix" / "hosts"


@pytest.fixture(scope="module")
def strix_halo():
    return evaluate_host(HOSTS / "strix-halo" / "local-llm.nix")


@pytest.fixture(scope="module")
def nas01():
    return evaluate_host(HOSTS / "nas-01" / "local-llm.nix")


@pytest.fixture(scope="module")
def atlas():
    return evaluate_host(HOSTS / "atlas" / "local-llm.nix")


def listener_port(settings: dict, name_fragment: str = "") -> list[int]:
    return [
        listener["address"]["socket_address"]["port_value"] for listener in settings["static_resources"]["listeners"]
    ]


def test_seed_hosts_pass_their_assertions(strix_halo, nas01, atlas):
    for summary in (strix_halo, nas01, atlas):
        assert summary["assertions"] == []


def test_strix_halo_dedicated_servers_gateway_and_kernel(strix_halo):
    units = strix_halo["units"]
    for role, port in (("chat", 8000), ("embedding", 8001), ("rerank", 8002)):
        script = units[f"local-llm-{role}"]["serviceConfig"]["ExecStart"]
        assert f"--port {port}" in script or f"'--port' '{port}'" in script
        assert "'--host' '127.0.0.1'" in script or "--host 127.0.0.1" in script
    chat = units["local-llm-chat"]["serviceConfig"]["ExecStart"]
    assert "262144" in chat, "the declared 256K context reaches llama-server"
    assert "--no-mmap" in chat, "unified memory: no mmap (old flag spelling of the pinned llama.cpp)"
    assert "--embedding" in units["local-llm-embedding"]["serviceConfig"]["ExecStart"]
    assert units["local-llm-chat"]["serviceConfig"]["DevicePolicy"] == "closed"
    assert "/dev/kfd rw" in units["local-llm-chat"]["serviceConfig"]["DeviceAllow"]
    # 128 GB machine: GPU budget 120 GiB -> 30,720,000 pages of 4 KiB (the seed's figure).
    assert "ttm.pages_limit=30720000" in strix_halo["kernelParams"]
    assert "ttm.page_pool_size=30720000" in strix_halo["kernelParams"]
    assert listener_port(strix_halo["envoy"]["settings"])[0] == 4001
    assert strix_halo["firewall"]["allowedTCPPorts"] == []
    override = strix_halo["llamaCpp"]["overrideArgs"]
    assert override == {"rocmSupport": True, "rocmGpuTargets": ["gfx1151"]}


def test_strix_halo_stack_json_is_what_llmctl_reads(strix_halo):
    spec = parse_stack(strix_halo["stackJson"], Path("/etc/local-llm/stack.json"))
    assert spec.endpoint("chat").url == "http://127.0.0.1:8000"
    assert spec.endpoint("gateway").url == "http://127.0.0.1:4001"
    assert spec.endpoint("gateway").unit == "envoy.service", "verify checks the gateway's unit too"
    assert spec.gpu.unified_memory is True and spec.gpu.memory_gib == 120
    assert spec.models["devstral"].serve == "dedicated"


def test_nas01_ollama_llama_swap_webui_zfs_tailnet(nas01):
    assert nas01["ollama"]["enable"] and nas01["ollama"]["port"] == 11434
    assert nas01["ollama"]["package"] == "ollama-rocm"
    assert nas01["ollama"]["models"] == "/models/ollama"
    assert nas01["ollama"]["loadModels"] == ["llama3.2:3b"]
    assert nas01["llamaSwap"]["port"] == 8090
    start = nas01["units"]["llama-swap"]["serviceConfig"]["ExecStart"]
    assert "-listen 127.0.0.1:8090" in start and "-watch-config" in start
    assert "-config /var/lib/local-llm/llama-swap/config.yaml" in start
    assert nas01["units"]["llama-swap"]["serviceConfig"]["MemoryDenyWriteExecute"] is False
    assert nas01["paths"]["local-llm-discover"]["PathChanged"] == "/models"
    discover = nas01["units"]["local-llm-discover"]["serviceConfig"]
    assert discover["User"] == "local-llm" and discover["ReadWritePaths"] == ["/var/lib/local-llm/llama-swap"]
    assert (
        "discover --stack /etc/local-llm/stack.json --output /var/lib/local-llm/llama-swap/config.yaml"
        in (discover["ExecStart"])
    )
    assert nas01["llamaCpp"]["overrideArgs"] == {"vulkanSupport": True}
    webui = nas01["webui"]
    assert webui["port"] == 3001 and webui["host"] == "0.0.0.0"
    assert webui["environment"]["WEBUI_AUTH"] == "True"
    assert webui["environment"]["ENABLE_PERSISTENT_CONFIG"] == "False"
    assert webui["environment"]["OPENAI_API_BASE_URLS"] == "http://127.0.0.1:8090/v1"
    assert webui["environmentFile"] == "/run/secrets/open-webui.env"
    assert nas01["firewall"]["allowedTCPPorts"] == []
    assert nas01["firewall"]["interfaces"]["tailscale0"]["allowedTCPPorts"] == [3001]
    script = nas01["units"]["local-llm-dataset"]["script"]
    assert "zfs create -p" in script and "ssdpool/local/models" in script
    for prop in ("quota=500G", "compression=lz4", "recordsize=1M", "mountpoint=/models"):
        assert prop in script
    assert nas01["supportedFilesystems"]["zfs"] is True


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
    rendered = json.dumps(settings)
    assert "/run/credentials/envoy.service/api-keys" in rendered
    assert "/run/secrets/gateway-api-keys" not in rendered, "the Envoy config names only the credential"


BROKEN = {
    "zfs without hostId": (
        'services.local-llm = { enable = true; zfs.dataset = "tank/models"; };',
        "needs networking.hostId",
    ),
    "two services on one port": (
        "services.local-llm = { enable = true; llamaSwap.enable = true; webui = { enable = true; port = 8090; }; };",
        "port 8090 is used by llama-swap and webui",
    ),
    "gateway without backend": (
        "services.local-llm = { enable = true; gateway.enable = true; };",
        "gateway: no backend",
    ),
    "unknown profile": (
        'services.local-llm = { enable = true; gpu.profile = "voodoo3"; };',
        "unknown profile 'voodoo3'",
    ),
    "dedicated model without file or source": (
        'services.local-llm = { enable = true; models.x = { serve = "dedicated"; }; };',
        "models.x: a dedicated model needs a file or a source",
    ),
    "two dedicated chat models": (
        'services.local-llm = { enable = true; models.a = { serve = "dedicated"; file = "a.gguf"; };'
        ' models.b = { serve = "dedicated"; file = "b.gguf"; }; };',
        'more than one model is declared with serve = "dedicated" and role = "chat"',
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_assertions_fire_with_their_message(tmp_path, case):
    body, message = BROKEN[case]
    host = tmp_path / "host.nix"
    host.write_text(textwrap.dedent(f"{{ {body} }}"))
    summary = evaluate_host(host)
    assert any(message in failure for failure in summary["assertions"]), summary["assertions"]


def test_declared_model_fetcher_copies_once_and_refetches_a_changed_source(tmp_path, tiny_models):
    """The local-llm-models script, run for real with bash: a file: source is copied
    under a dot name and renamed, a second run does nothing, a new source is fetched."""
    import subprocess

    models = tmp_path / "models"
    first, second = tiny_models.chat, tiny_models.gemma3

    def fetcher_script(source) -> str:
        host = tmp_path / "host.nix"
        host.write_text(
            f'{{ services.local-llm = {{ enable = true; modelsDir = "{models}";'
            f' models.tiny = {{ source = "file:{source}"; serve = "dedicated"; }}; }}; }}'
        )
        return evaluate_host(host)["units"]["local-llm-models"]["script"]

    def run(script: str) -> None:
        subprocess.run(["bash", "-euo", "pipefail", "-c", script], check=True)

    script = fetcher_script(first)
    run(script)
    copied = models / "tiny" / first.name
    assert copied.read_bytes() == first.read_bytes()
    assert not list((models / "tiny").glob(".incoming*")), "no partial file left behind"
    before = copied.stat().st_mtime_ns
    run(script)
    assert copied.stat().st_mtime_ns == before, "an unchanged source is not fetched again"

    run(fetcher_script(second))
    assert (models / "tiny" / second.name).read_bytes() == second.read_bytes()


def test_dedicated_unit_launcher_starts_the_real_llama_server(tmp_path, tiny_models):
    """The chat unit's ExecStart script, as the module renders it, run with bash: it finds
    the GGUF a source-only model was fetched to and starts the real llama-server."""
    import json
    import urllib.request

    from testkit.processes import free_port, http_status, start_process
    from testkit.tools import llama_server_bin

    package = llama_server_bin().parent.parent  # a "package" whose bin/ holds llama-server
    models = tmp_path / "models"
    fetched = models / "tiny-chat" / "org" / "repo"
    fetched.mkdir(parents=True)
    (fetched / tiny_models.chat.name).write_bytes(tiny_models.chat.read_bytes())
    port = free_port()
    host = tmp_path / "host.nix"
    host.write_text(
        f'{{ services.local-llm = {{ enable = true; modelsDir = "{models}";'
        f' llamaServer.package = {{ type = "derivation"; name = "llama-cpp"; outPath = "{package}"; }};'
        " llamaServer.capabilities.loadMode = true; llamaServer.contextSize = 512;"
        f" dedicated.chat.port = {port};"
        ' models.tiny-chat = { source = "hf:org/repo:F16"; serve = "dedicated"; }; }; }'
    )
    script = evaluate_host(host)["units"]["local-llm-chat"]["serviceConfig"]["ExecStart"]
    server = start_process(
        "local-llm-chat",
        ["bash", "-c", script],
        tmp_path / "chat.log",
        lambda: http_status(f"http://127.0.0.1:{port}/health") == 200,
    )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            data=json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert answer["model"] == "tiny-chat", "the model is served under its declared name"
        assert str(fetched / tiny_models.chat.name) in server.log()
    finally:
        server.stop()


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


def test_dataset_script_creates_once_then_sets_only_what_differs(tmp_path):
    """The local-llm-dataset script run with bash against a stand-in `zfs` (the real one
    needs the kernel module; the VM test runs it for real): a missing dataset is created
    with every property, an existing one only gets the properties that differ."""
    import subprocess

    models, state, calls = tmp_path / "models", tmp_path / "zfs-state", tmp_path / "zfs-calls"
    models.mkdir()
    fake = tmp_path / "bin" / "zfs"
    fake.parent.mkdir()
    fake.write_text(
        f"""#!/bin/bash
echo "$*" >> {calls}
case "$1" in
  list) [ -f {state} ] ;;
  create) shift; for a in "$@"; do [[ $a == *=* ]] && echo "$a"; done > {state}; true ;;
  get) sed -n "s|^$5=||p" {state} ;;
  set) grep -v "^${{2%%=*}}=" {state} > {state}.new; echo "$2" >> {state}.new; mv {state}.new {state} ;;
esac
"""
    )
    fake.chmod(0o755)
    host = tmp_path / "host.nix"
    host.write_text(
        '{ networking.hostId = "deadbeef"; services.local-llm = { enable = true;'
        f' modelsDir = "{models}"; user = "root"; group = "root";'
        ' zfs = { dataset = "tank/llm"; quota = "500G"; }; }; }'
    )
    script = evaluate_host(host)["units"]["local-llm-dataset"]["script"]

    def run() -> list[str]:
        calls.write_text("")
        subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], check=True, env={"PATH": f"{fake.parent}:/usr/bin:/bin"}
        )
        return [line for line in calls.read_text().splitlines() if line.split()[0] in ("create", "set")]

    created = run()
    assert len(created) == 1 and created[0].startswith("create -p")
    assert set(state.read_text().split()) == {"compression=lz4", f"mountpoint={models}", "quota=500G", "recordsize=1M"}
    assert run() == [], "an unchanged dataset is left alone (no remount)"
    state.write_text(state.read_text().replace("quota=500G", "quota=100G"))
    assert run() == ["set quota=500G tank/llm"], "only the property that differs is set"
