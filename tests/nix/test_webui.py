"""Open WebUI as nix/lib configures it: offline, pointed at the gateway, and given the
keyed gateway's key through the script the NixOS unit runs before it starts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from llmctl.cli import cli
from testkit import openai_client as api
from testkit.local_stack import local_stack
from testkit.nixeval import nix_eval
from testkit.nixeval_modules import evaluate_host
from testkit.open_webui import api as webui_api
from testkit.open_webui import sign_up_admin

GATEWAY_KEY = "sk-webui-test"
WEBUI_LOCK = Path(__file__).resolve().parents[2] / "requirements" / "webui.txt"


def webui_settings(spec: dict) -> dict:
    return nix_eval("lib.webuiSettings spec", spec={**spec, "webui": {"enable": True}})


def run_key_script(settings: dict, key_file, env_file) -> subprocess.CompletedProcess:
    """The gateway-key script as the unit's ExecStartPre runs it."""
    return subprocess.run(
        ["bash", "-c", settings["gatewayKey"]["script"], "open-webui-gateway-key", str(key_file), str(env_file)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def installed_version() -> str:
    """The Open WebUI release ./dev installs (requirements/webui.txt)."""
    (line,) = [line for line in WEBUI_LOCK.read_text().splitlines() if line.startswith("open-webui==")]
    return line.split("==", 1)[1].strip()


def read_env_file(path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def test_settings_point_at_the_gateway_offline_without_a_key_in_the_store():
    spec = {"dedicated": {"chat": {}}, "ollama": {"enable": True}, "llamaSwap": {"enable": True}}
    keyed = webui_settings({**spec, "gateway": {"enable": True, "port": 4001, "apiKeyFile": "/run/keys/gateway"}})
    env = keyed["environment"]
    assert env["OPENAI_API_BASE_URLS"] == "http://127.0.0.1:4001/v1"
    # The gateway lists Ollama's models too; Open WebUI does not ask Ollama a second time.
    assert env["ENABLE_OLLAMA_API"] == "False" and "OLLAMA_BASE_URL" not in env
    assert env["OFFLINE_MODE"] == "True" and env["ENABLE_VERSION_UPDATE_CHECK"] == "False"
    assert env["STATIC_DIR"] == "/var/lib/open-webui/static"
    # With keys, an empty OPENAI_API_KEYS would override the one from the key file.
    assert "OPENAI_API_KEYS" not in env
    assert "/run/keys/gateway" not in str(keyed["environment"])
    assert keyed["gatewayKey"]["envFile"].startswith("/run/open-webui/")

    open_gateway = webui_settings({**spec, "gateway": {"enable": True}})
    assert open_gateway["environment"]["OPENAI_API_KEYS"] == "" and open_gateway["gatewayKey"] is None
    no_gateway = webui_settings(spec)["environment"]
    assert no_gateway["OPENAI_API_BASE_URLS"] == "http://127.0.0.1:8090/v1"
    assert no_gateway["ENABLE_OLLAMA_API"] == "True" and no_gateway["OLLAMA_BASE_URL"] == "http://127.0.0.1:11434"


def test_the_key_script_takes_the_first_key_and_writes_a_private_env_file(tmp_path):
    settings = webui_settings({"dedicated": {"chat": {}}, "gateway": {"enable": True, "apiKeyFile": "/k"}})
    key_file = tmp_path / "api-keys"
    key_file.write_text("# gateway API keys\n\n   sk-first  \nsk-second\n")
    env_file = tmp_path / "run" / "gateway-key.env"
    env_file.parent.mkdir()
    done = run_key_script(settings, key_file, env_file)
    assert done.returncode == 0, done.stderr
    assert env_file.read_text() == "OPENAI_API_KEYS=sk-first\n"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    assert [path.name for path in env_file.parent.iterdir()] == ["gateway-key.env"]

    key_file.write_text("# no key yet\n\n")
    env_file.unlink()
    done = run_key_script(settings, key_file, env_file)
    assert done.returncode == 1 and "no API key in" in done.stderr
    assert not env_file.exists()


KEYED_HOST = """
{
  services.local-llm = {
    enable = true;
    llamaSwap.enable = true;
    gateway = { enable = true; apiKeyFile = "/run/secrets/gateway-keys"; };
    webui = { enable = true; environmentFile = "/run/secrets/open-webui.env"; };
  };
}
"""


@pytest.mark.timeout(600)
def test_open_webui_as_the_module_deploys_it_lists_the_keyed_gateways_models(open_webui, tmp_path):
    """A host with a keyed gateway, evaluated by the module tier: Open WebUI's unit gets the
    key file as a credential; its rendered ExecStartPre script, run for real, turns it into
    the environment file the unit reads; Open WebUI then lists every model of the gateway."""
    host = tmp_path / "host.nix"
    host.write_text(KEYED_HOST)
    summary = evaluate_host(host)
    unit = summary["units"]["open-webui"]
    service = unit["serviceConfig"]
    assert service["LoadCredential"] == ["gateway-api-keys:/run/secrets/gateway-keys"]
    env_file = "/run/open-webui/gateway-key.env"
    assert service["EnvironmentFile"] == ["/run/secrets/open-webui.env", f"-{env_file}"]
    assert "OPENAI_API_KEYS" not in unit["environment"]
    (script,) = [summary["files"][path] for path in service["ExecStartPre"] if path in summary["files"]]

    with local_stack(work_dir=tmp_path / "stack", api_key=GATEWAY_KEY) as stack:
        credentials = tmp_path / "credentials"
        credentials.mkdir()
        (credentials / "gateway-api-keys").write_text(Path(stack.spec["gateway"]["apiKeyFile"]).read_text())
        written = tmp_path / "gateway-key.env"
        done = subprocess.run(
            ["bash", "-c", script.replace(env_file, str(written))],
            env={"CREDENTIALS_DIRECTORY": str(credentials), "PATH": os.environ["PATH"]},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        environment = {
            **unit["environment"],
            **read_env_file(written),
            # The host's gateway port is the local stack's here; its secret key file is not on this machine.
            "OPENAI_API_BASE_URLS": stack.base_url,
            "WEBUI_SECRET_KEY": os.urandom(16).hex(),
        }
        webui = open_webui(environment)
        token = sign_up_admin(webui.info["url"])
        models = webui_api(webui.info["url"], "/api/models", token=token)["data"]
        gateway = api.get(f"{stack.base_url}/models", api_key=GATEWAY_KEY).json()["data"]
        assert sorted(model["id"] for model in models) == sorted(model["id"] for model in gateway)
        assert len(gateway) == 15
        # Signing up is closed after the first admin (ENABLE_SIGNUP=False).
        with pytest.raises(AssertionError, match="HTTP 403"):
            sign_up_admin(webui.info["url"], email="second@example.org")
        # `llmctl status` reads the real Open WebUI's answers (the status tests use a replay).
        document = stack.stack_json_copy()
        document["endpoints"]["webui"] = {"url": webui.info["url"]}
        spec = stack.write_stack_json(document, "webui.json")
        result = CliRunner().invoke(cli, ["--stack", str(spec), "status", "--json"])
        (service,) = [s for s in json.loads(result.stdout)["services"] if s["name"] == "webui"]
        assert (service["state"], service["problems"]) == ("up", []), service
        assert service["version"] == installed_version()
