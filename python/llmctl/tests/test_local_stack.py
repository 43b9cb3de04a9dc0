"""`llmctl status` and `llmctl verify` against a local stack of real programs: three
llama-servers behind a real Envoy, replay servers for Ollama, llama-swap and Open WebUI.
One stack for the module; tests that break something break a copy of the spec or of
a config, never the shared processes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from llmctl.cli import cli
from testkit.envoy import start_envoy
from testkit.llama_server import start_llama_server
from testkit.processes import ProcessStartError, free_port
from testkit.status_stack import SECRET, build_local_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_stack(tiny_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("local-stack")
    stack = None
    try:
        stack = build_local_stack(
            root,
            tiny_models,
            lambda model, args: start_llama_server(model, args, log_dir=root / "logs"),
            lambda config, admin_port: start_envoy(config, admin_port=admin_port, work_dir=root),
        )
    except ProcessStartError as error:
        pytest.fail(str(error), pytrace=False)
    yield stack
    stack.stop()


def verify(spec_path, *args: str) -> subprocess.CompletedProcess:
    """In a subprocess: verify runs pytest itself, which must not share this pytest."""
    argv = [sys.executable, "-m", "llmctl", "--stack", str(spec_path), "verify", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def test_status_of_the_whole_stack(local_stack):
    result = CliRunner().invoke(cli, ["--stack", str(local_stack.spec_path), "status", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    services = {s["name"]: s for s in report["services"]}
    assert {name: s["state"] for name, s in services.items()} == dict.fromkeys(
        ["gateway", "llamaSwap", "chat", "embedding", "rerank", "ollama", "webui"], "up"
    )
    gateway = services["gateway"]
    assert gateway["version"] and gateway["version"][0].isdigit()
    assert sorted((c["name"], c["hosts"], c["healthy"]) for c in gateway["details"]["clusters"]) == [
        ("chat", 1, 1),
        ("embedding", 1, 1),
        ("rerank", 1, 1),
    ]
    for role in ("chat", "embedding", "rerank"):
        (model,) = services[role]["models"]
        assert model["name"] == f"tiny-{role}"
        assert model["size_bytes"] > 0 and model["slots"] >= 1
    assert services["chat"]["models"][0]["context"] == 512
    (swapped,) = services["llamaSwap"]["models"]
    chat_url = local_stack.document["endpoints"]["chat"]["url"]
    assert (swapped["name"], swapped["upstream"], swapped["context"]) == ("tiny-chat", chat_url, 512)
    human = CliRunner().invoke(cli, ["--stack", str(local_stack.spec_path), "status"])
    assert "3/3 upstream clusters healthy" in human.stdout
    assert f"tiny-chat :{chat_url.rsplit(':', 1)[1]} ctx 512 0/1 busy 4.8 MiB" in human.stdout


def test_verify_passes_on_the_local_stack(local_stack):
    result = verify(local_stack.spec_path, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    checks = {c["check"]: c for c in report["checks"]}
    assert report["ok"] is True
    assert {c["result"] for c in checks.values()} <= {"pass", "skip"}
    for name in (
        "gateway answers [chat]",
        "gateway answers [embedding]",
        "gateway answers [rerank]",
        "port bound as declared [chat]",
        "endpoint answers [ollama]",
        "models folder",
        "no secret in generated config [envoy.json]",
    ):
        assert checks[name]["result"] == "pass", name
    systemd = checks["service active [llamaSwap]"]
    if systemd["result"] == "skip":
        assert "systemd is not running" in systemd["reason"]
    human = verify(local_stack.spec_path)
    assert human.returncode == 0
    assert "gateway answers [rerank]" in human.stdout and "pass" in human.stdout


def test_verify_fails_when_a_port_moved(local_stack):
    document = local_stack.spec_copy()
    moved = free_port()
    document["endpoints"]["embedding"]["url"] = f"http://127.0.0.1:{moved}"
    result = verify(local_stack.write_spec(document, "moved.json"))
    assert result.returncode == 1
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("port bound as declared [embedding]")]
    assert row.split()[5:8] == ["FAIL", "embedding:", "nothing"]
    assert row.endswith(f"embedding: nothing listens on TCP port {moved} (http://127.0.0.1:{moved})")
    assert "host checks failed" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_verify_fails_when_a_secret_is_planted_in_a_config(local_stack):
    planted = local_stack.root / "generated" / "llama-swap.yaml"
    planted.write_text(f"models:\n  qwen:\n    cmd: llama-server --api-key {SECRET}\n")
    document = local_stack.spec_copy()
    document["generatedConfigs"].append(str(planted))
    result = verify(local_stack.write_spec(document, "planted.json"), "--json")
    assert result.returncode == 1
    checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["no secret in generated config [envoy.json]"]["result"] == "pass"
    failed = checks["no secret in generated config [llama-swap.yaml]"]
    assert failed["result"] == "fail"
    secret_file = local_stack.document["secrets"]["files"][0]
    assert failed["reason"] == f"{planted} contains the contents of secret file {secret_file}"
    assert SECRET not in result.stdout + result.stderr, "the secret itself is never printed"


def test_verify_checks_the_models_folder_owner_and_mode(local_stack):
    import getpass

    document = local_stack.spec_copy()
    document["modelsDirOwner"] = getpass.getuser()
    document["modelsDirMode"] = "0700"
    result = verify(local_stack.write_spec(document, "mode.json"), "--json")
    assert result.returncode == 1
    checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["models folder"] == {
        "check": "models folder",
        "result": "fail",
        "reason": f"models folder {document['modelsDir']} has mode 0755; the spec says 0700",
    }
    assert [c["check"] for c in checks.values() if c["result"] == "fail"] == ["models folder"]


def test_requests_over_ssh_go_through_curl_on_the_host(local_stack):
    """Over SSH the checks run curl on the checked host; testinfra's local backend runs
    the same command line here, against the real gateway."""
    import testinfra

    from llmctl.hostchecks.plugin import _curl_http

    host = testinfra.get_host("local://")
    gateway = local_stack.document["endpoints"]["gateway"]["url"]
    answer = _curl_http(host, "POST", f"{gateway}/v1/embeddings", {"model": "tiny-embedding", "input": ["a b"]}, 30)
    assert answer.status == 200 and answer.error is None
    assert len(answer.json()["data"][0]["embedding"]) > 0
    assert _curl_http(host, "GET", f"{gateway}/nowhere", None, 30).status == 404
    refused = _curl_http(host, "GET", f"http://127.0.0.1:{free_port()}/health", None, 5)
    assert refused.status is None and "Failed to connect" in refused.error
