"""`llmctl render`: each seed host's files from its module-evaluated stack input, checked
by the real programs (systemd-analyze verify, llama-server started from each env file
and argv, docker-compose config), written atomically and only on change, never holding
a secret, installed only over files llmctl wrote."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llmctl.render.evaluate import evaluate
from llmctl.render.outputs import texts
from testkit.local_stack import local_spec, write_models
from testkit.openai_client import chat, embed, rerank
from testkit.processes import free_port, http_status, start_process
from testkit.tools import docker_compose_bin, llama_server_bin, systemd_analyze_bin

REPO = Path(__file__).resolve().parents[2]
SEED_FILES = {
    "strix-halo": {
        "envoy.json",
        "litellm.yaml",
        "llama-server/chat.env",
        "llama-server/chat.argv",
        "llama-server/embedding.env",
        "llama-server/rerank.argv",
        "systemd/local-llm-chat.service",
        "systemd/local-llm-embedding.service",
        "systemd/local-llm-rerank.service",
        "systemd/envoy.service",
    },
    "nas-01": {
        "llama-swap/config.yaml",
        "ollama.env",
        "open-webui.env",
        "systemd/llama-swap.service",
        "systemd/local-llm-discover.service",
        "systemd/local-llm-discover.path",
        "systemd/ollama.service",
        "systemd/open-webui.service",
    },
    "atlas": {
        "envoy.json",
        "litellm.yaml",
        "llama-swap/config.yaml",
        "systemd/local-llm-chat.service",
        # monitoring is on: Prometheus' config and rules, the dashboard, llmctl's exporter
        "prometheus/prometheus.yml",
        "prometheus/local-llm.rules.yml",
        "grafana/local-llm.json",
        "systemd/local-llm-exporter.service",
    },
}
EVERYWHERE = {
    "stack.json",
    "CONFIGURATION.md",
    "compose.yaml",
    "sysusers.d/local-llm.conf",
    "tmpfiles.d/local-llm.conf",
}


def run_render(
    *args: str, env: dict[str, str] | None = None, python: str = sys.executable
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python, "-m", "llmctl", "render", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def rendered_names(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def seed_inputs(seed_specs, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inputs")
    paths = {}
    for host, spec in seed_specs.items():
        paths[host] = folder / f"{host}.json"
        paths[host].write_text(json.dumps(spec))
    return paths


@pytest.mark.parametrize("host", sorted(SEED_FILES))
def test_each_seed_host_renders_its_folder_and_again_changes_nothing(host, seed_inputs, tmp_path):
    out = tmp_path / "out"
    first = run_render(str(seed_inputs[host]), "-o", str(out), "--json")
    assert first.returncode == 0, first.stderr
    names = rendered_names(out)
    assert EVERYWHERE | SEED_FILES[host] <= names
    assert set(json.loads(first.stdout)["written"]) == names
    before = {name: (out / name).read_bytes() for name in names}
    mtimes = {name: (out / name).stat().st_mtime_ns for name in names}
    again = run_render(str(seed_inputs[host]), "-o", str(out), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["written"] == []
    assert {name: (out / name).read_bytes() for name in names} == before
    assert {name: (out / name).stat().st_mtime_ns for name in names} == mtimes
    assert not [p for p in out.rglob(".*") if p.is_file()], "no temporary file left behind"


def test_rendered_stack_json_is_the_modules(module_eval, seed_specs):
    for host, spec in seed_specs.items():
        files = evaluate(spec, binaries={"llama-server": spec["llamaServer"]["binary"]})
        assert files["stack.json"]["content"] == module_eval(host)["stackJson"], host


def test_dry_run_lists_files_and_diffs_and_writes_nothing(seed_inputs, tmp_path):
    out = tmp_path / "out"
    assert run_render(str(seed_inputs["strix-halo"]), "-o", str(out)).returncode == 0
    (out / "envoy.json").write_text("{}\n")
    (out / "stack.json").unlink()
    dry = run_render(str(seed_inputs["strix-halo"]), "-o", str(out), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    status = {item["path"]: item for item in json.loads(dry.stdout)["files"]}
    assert status["envoy.json"]["status"] == "changed"
    assert status["envoy.json"]["diff"].startswith("--- a/envoy.json")
    assert status["stack.json"]["status"] == "new"
    assert status["CONFIGURATION.md"]["status"] == "same"
    assert (out / "envoy.json").read_text() == "{}\n" and not (out / "stack.json").exists()


def test_a_planted_secret_never_reaches_a_rendered_file(seed_specs, tmp_path):
    key, webui_key, token = (secrets.token_hex(20) for _ in range(3))
    (tmp_path / "keys").write_text(f"# keys\n{key}\n")
    (tmp_path / "webui.env").write_text(f"WEBUI_SECRET_KEY={webui_key}\n")
    (tmp_path / "hf-token").write_text(token + "\n")
    spec = json.loads(json.dumps(seed_specs["atlas"]))
    spec["secrets"] = {"gatewayApiKeyFile": str(tmp_path / "keys"), "huggingFaceTokenFile": str(tmp_path / "hf-token")}
    spec["webui"] = {"enable": True, "secretKeyFile": str(tmp_path / "webui.env")}
    for kind in ("envoy", "litellm"):
        spec["gateway"]["kind"] = kind
        (tmp_path / "input.json").write_text(json.dumps(spec))
        out = tmp_path / kind
        done = run_render(str(tmp_path / "input.json"), "-o", str(out))
        assert done.returncode == 0, done.stderr
        contents = {name: (out / name).read_text() for name in rendered_names(out)}
        for value in (key, webui_key, token):
            assert [name for name, text in contents.items() if value in text] == []
        unit = contents[f"systemd/{kind}.service"]
        assert f"LoadCredential=api-keys:{tmp_path / 'keys'}" in unit
        assert f"EnvironmentFile={tmp_path / 'webui.env'}" in contents["systemd/open-webui.service"]
        assert str(tmp_path / "keys") in contents["CONFIGURATION.md"]


def test_open_webui_gets_the_keyed_gateways_first_key_at_start(seed_specs, tmp_path):
    """Off NixOS as on it: the key file is Open WebUI's credential, and the rendered
    ExecStartPre, run as systemd runs it, writes the env file the unit then reads."""
    key = secrets.token_hex(20)
    (tmp_path / "keys").write_text(f"# keys\n  {key}  \nsecond-key\n")
    spec = json.loads(json.dumps(seed_specs["atlas"]))
    spec["webui"] = {"enable": True}
    (tmp_path / "input.json").write_text(json.dumps(spec))
    out = tmp_path / "out"
    done = run_render(str(tmp_path / "input.json"), "-o", str(out), "--etc-dir", str(out))
    assert done.returncode == 0, done.stderr
    unit = (out / "systemd" / "open-webui.service").read_text()
    settings = [line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")]
    assert ["LoadCredential", "gateway-api-keys:/run/secrets/gateway-api-keys"] in settings
    assert ["RuntimeDirectory", "open-webui"] in settings
    [pre] = [value for name, value in settings if name == "ExecStartPre"]
    env_files = [value for name, value in settings if name == "EnvironmentFile"]
    assert "-/run/open-webui/gateway-key.env" in env_files, "optional: it does not exist before the first start"
    credentials, runtime = tmp_path / "credentials", tmp_path / "run"
    credentials.mkdir()
    runtime.mkdir()
    shutil.copy(tmp_path / "keys", credentials / "gateway-api-keys")
    argv = [arg.replace("%d", str(credentials)).replace("/run/open-webui", str(runtime)) for arg in pre.split()]
    ran = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert ran.returncode == 0, ran.stderr
    assert (runtime / "gateway-key.env").read_text() == f"OPENAI_API_KEYS={key}\n"
    assert key not in "".join(p.read_text() for p in out.rglob("*") if p.is_file())


def test_rendered_units_pass_systemd_analyze_verify(seed_specs, tmp_path):
    analyze = systemd_analyze_bin()
    # Stand-ins at the paths the units name: verify checks that each ExecStart exists.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    names = ["llama-server", "llama-swap", "ollama", "open-webui", "envoy", "litellm", "llmctl"]
    for name in names:
        (bindir / name).write_text("#!/bin/sh\nexit 0\n")
        (bindir / name).chmod(0o755)
    binaries = [f"--binary={name}={bindir / name}" for name in names]
    checked = 0
    for host, spec in seed_specs.items():
        for kind in ("envoy", "litellm"):
            spec = {**spec, "gateway": {**spec["gateway"], "kind": kind}}
            (tmp_path / "input.json").write_text(json.dumps(spec))
            out = tmp_path / host / kind
            assert run_render(str(tmp_path / "input.json"), "-o", str(out), *binaries).returncode == 0
            units = sorted((out / "systemd").iterdir())
            done = subprocess.run(
                [analyze, "verify", "--man=no", *map(str, units)], capture_output=True, text=True, timeout=120
            )
            problems = [line for line in done.stderr.splitlines() if "Failed to " not in line or "local-llm" in line]
            assert done.returncode == 0, (host, kind, done.stderr)
            assert problems == [], (host, kind, problems)
            checked += len(units)
    assert checked >= 20


@pytest.fixture(scope="module")
def local_render(tmp_path_factory):
    """The local stack's spec (tiny models) rendered for the real llama-server."""
    work = tmp_path_factory.mktemp("render-local")
    models = write_models(work / "models")
    ports = {name: free_port() for name in ("chat", "embedding", "rerank", "gateway", "admin", "metrics")}
    spec = local_spec(models, ports)
    files = evaluate(spec, binaries={"llama-server": str(llama_server_bin())}, etc_dir=str(work / "out"))
    return work, texts(files)


def read_env_file(text: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")]
    return dict(pairs)


@pytest.mark.parametrize("form", ["env", "argv"])
@pytest.mark.parametrize("role", ["chat", "embedding", "rerank"])
def test_each_env_file_and_argv_starts_the_real_llama_server(local_render, role, form):
    work, rendered = local_render
    env = read_env_file(rendered[Path(f"llama-server/{role}.env")])
    port = int(env["LLAMA_ARG_PORT"])
    if form == "env":
        unit = rendered[Path(f"systemd/local-llm-{role}.service")]
        exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
        argv = exec_start.removeprefix("ExecStart=").split()
        assert "-m" not in argv and "--port" not in argv, "the flag table is in the env file"
        assert not [name for name in os.environ if name.startswith("LLAMA_ARG_")]
    else:
        argv, env = rendered[Path(f"llama-server/{role}.argv")].splitlines(), {}
    server = start_process(
        f"llama-server-{role}-{form}",
        argv,
        work / "logs" / f"{role}-{form}.log",
        lambda: http_status(f"http://127.0.0.1:{port}/health") == 200,
        timeout=120,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}/v1"
        if role == "chat":
            reply = chat(base, "tiny-chat", "Hi", max_tokens=2)
        elif role == "embedding":
            reply = embed(base, "tiny-embedding", "text")
        else:
            reply = rerank(base, "tiny-reranker", "q", ["a", "b"])
        assert reply.status == 200, reply.body[:300]
    finally:
        server.stop()


def test_every_flag_of_the_table_has_its_env_form_in_the_real_binary():
    from llmctl.flags import flag_table

    help_text = subprocess.run([str(llama_server_bin()), "--help"], capture_output=True, text=True, timeout=60).stdout
    entries = help_text.split("\n-")
    table = flag_table()
    for option in table["options"]:
        flag = option["args"][0]
        names = list(option["env"])
        assert len(names) == 1, option
        entry = [e for e in entries if f"env: {names[0]})" in e]
        assert entry, f"{names[0]} is not in llama-server --help"
        assert flag.lstrip("-") in entry[0].split("\n")[0], (flag, names[0])
    for role, flags in table["roles"].items():
        for flag, name in zip(flags, table["roleEnv"][role], strict=True):
            entry = [e for e in entries if f"env: {name})" in e]
            assert entry and flag.lstrip("-") in entry[0].split("\n")[0], (role, flag, name)


def test_compose_yaml_passes_docker_compose_config(seed_specs, tmp_path):
    compose = docker_compose_bin()
    # env_file entries must exist: the host's secret file too (a stand-in here).
    secret = tmp_path / "open-webui.env"
    secret.write_text("WEBUI_SECRET_KEY=stand-in\n")
    for host, spec in seed_specs.items():
        if spec["webui"]["enable"]:
            spec = {**spec, "webui": {**spec["webui"], "secretKeyFile": str(secret)}}
        path = tmp_path / f"{host}.json"
        path.write_text(json.dumps(spec))
        out = tmp_path / host
        # The env files it names must exist: render them where compose.yaml looks.
        assert run_render(str(path), "-o", str(out), "--etc-dir", str(out)).returncode == 0
        done = subprocess.run(
            [compose, "-f", str(out / "compose.yaml"), "config", "--quiet"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (host, done.stderr)


def test_install_copies_units_only_over_files_it_wrote(seed_inputs, tmp_path):
    out, root = tmp_path / "out", tmp_path / "root"
    source = str(seed_inputs["strix-halo"])
    units = root / "etc" / "systemd" / "system"
    refused = run_render(source, "-o", str(out), "--install", "--root", str(root))
    assert refused.returncode != 0 and not units.exists(), "no install without --yes or a confirmation"
    done = run_render(source, "-o", str(out), "--install", "--yes", "--root", str(root), "--json")
    assert done.returncode == 0, done.stderr
    installed = set(json.loads(done.stdout)["installed"])
    assert str(units / "local-llm-chat.service") in installed
    assert str(root / "etc" / "sysusers.d" / "local-llm.conf") in installed
    assert (units / "envoy.service").read_text() == (out / "systemd" / "envoy.service").read_text()
    again = run_render(source, "-o", str(out), "--install", "--yes", "--root", str(root), "--json")
    assert json.loads(again.stdout)["installed"] == []
    # A unit someone else wrote is never replaced, and nothing is installed then.
    (units / "envoy.service").write_text("[Service]\nExecStart=/bin/true\n")
    (units / "local-llm-chat.service").unlink()
    foreign = run_render(source, "-o", str(out), "--install", "--yes", "--root", str(root))
    assert foreign.returncode != 0
    assert "envoy.service" in foreign.stderr and len(foreign.stderr.strip().splitlines()) <= 2
    assert (units / "envoy.service").read_text() == "[Service]\nExecStart=/bin/true\n"
    assert not (units / "local-llm-chat.service").exists()


def test_without_nix_render_says_how_to_get_it(seed_inputs, tmp_path):
    done = run_render(
        str(seed_inputs["atlas"]), "-o", str(tmp_path), env={"PATH": "/nonexistent", "NIX_INSTANTIATE_BIN": ""}
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert "needs nix-instantiate" in lines[0] and "apt install nix-bin" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_installed_wheel_renders(seed_specs, seed_inputs, tmp_path):
    """pip's wheel of the checkout carries nix/lib (llmctl/nixlib) and finds its data."""
    wheels = tmp_path / "wheels"
    # Built from a copy (links followed, as in an sdist): setuptools writes build/ into the
    # source folder, which must stay the checkout's own.
    source = tmp_path / "source"
    shutil.copytree(
        REPO / "python" / "llmctl", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    target = tmp_path / "site"
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            *map(str, wheels.iterdir()),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    nixlib = target / "llmctl" / "nixlib"
    assert (nixlib / "render.nix").is_file() and not nixlib.is_symlink()
    out = tmp_path / "out"
    done = run_render(str(seed_inputs["strix-halo"]), "-o", str(out), env={"PYTHONPATH": str(target)})
    assert done.returncode == 0, done.stderr
    located = subprocess.run(
        [sys.executable, "-c", "import llmctl; print(llmctl.__file__)"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(target)},
    )
    assert located.stdout.startswith(str(target))
    assert (out / "envoy.json").is_file()
    # Every file nix/lib reads is in the wheel: a keyed gateway with Open WebUI needs the key script.
    keyed = {**seed_specs["atlas"], "webui": {"enable": True}}
    (tmp_path / "keyed.json").write_text(json.dumps(keyed))
    done = run_render(str(tmp_path / "keyed.json"), "-o", str(tmp_path / "keyed"), env={"PYTHONPATH": str(target)})
    assert done.returncode == 0, done.stderr
    script = (tmp_path / "keyed" / "open-webui-gateway-key.sh").read_text()
    assert script.startswith("# Usage: SCRIPT KEY_FILE ENV_FILE")
