"""Scripts the modules render, run for real with bash: the declared-model fetcher, a
dedicated unit's launcher starting the real llama-server, the dataset reconcile."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request

from testkit.nixeval_modules import evaluate_host
from testkit.processes import free_port, http_status, start_process
from testkit.tools import llama_server_bin


def run(script: str, **kwargs) -> subprocess.CompletedProcess:
    """As systemd runs a unit's `script` (makeJobScript starts it with `set -e`)."""
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, **kwargs)


def test_declared_model_fetcher_copies_once_and_refetches_a_changed_source(tmp_path, tiny_models):
    """A file: source is copied under a dot name and renamed, a second run does nothing,
    a new source is fetched."""
    models = tmp_path / "models"
    first, second = tiny_models.chat, tiny_models.gemma3

    def fetcher_script(source) -> str:
        host = tmp_path / "host.nix"
        host.write_text(
            f'{{ services.local-llm = {{ enable = true; modelsDir = "{models}";'
            f' models.tiny = {{ source = "file:{source}"; serve = "dedicated"; }}; }}; }}'
        )
        return evaluate_host(host)["units"]["local-llm-models"]["script"]

    script = fetcher_script(first)
    assert run(script).returncode == 0
    copied = models / "tiny" / first.name
    assert copied.read_bytes() == first.read_bytes()
    assert not list((models / "tiny").glob(".incoming*")), "no partial file left behind"
    before = copied.stat().st_mtime_ns
    assert run(script).returncode == 0
    assert copied.stat().st_mtime_ns == before, "an unchanged source is not fetched again"

    assert run(fetcher_script(second)).returncode == 0
    assert (models / "tiny" / second.name).read_bytes() == second.read_bytes()


def test_a_model_in_a_dot_folder_is_fetched_after_a_retry_announced_and_served(tmp_path, tiny_models):
    """modelsDir under a hidden folder (/srv/.models): the fetcher fails while its source
    is missing, leaves only a dot-named partial, succeeds on the retry systemd makes,
    announces the change in the folder the path unit watches, does not fetch again; the
    chat unit's launcher then starts the real llama-server on that file, not the partial."""
    models = tmp_path / ".hidden" / "models"
    source = tmp_path / "incoming" / tiny_models.chat.name
    package = llama_server_bin().parent.parent  # a "package" whose bin/ holds llama-server
    port = free_port()
    host = tmp_path / "host.nix"
    host.write_text(
        f'{{ services.local-llm = {{ enable = true; modelsDir = "{models}"; llamaSwap.enable = true;'
        f' llamaServer.package = {{ type = "derivation"; name = "llama-cpp"; outPath = "{package}"; }};'
        " llamaServer.capabilities.loadMode = true; llamaServer.contextSize = 512;"
        f" dedicated.chat.port = {port};"
        f' models.tiny-chat = {{ source = "file:{source}"; serve = "dedicated"; }}; }}; }}'
    )
    summary = evaluate_host(host)
    fetcher = summary["units"]["local-llm-models"]["script"]
    watched = summary["paths"]["local-llm-discover"]["pathConfig"]["PathChanged"]
    assert watched == str(models)

    models.mkdir(parents=True)
    failed = run(fetcher)
    assert failed.returncode != 0 and "cannot stat" in failed.stderr
    (models / "tiny-chat" / ".incoming.part").write_bytes(b"half a model")
    assert not (models / ".llmctl-changed").exists(), "nothing changed, nothing announced"

    source.parent.mkdir()
    source.write_bytes(tiny_models.chat.read_bytes())
    os.utime(models, ns=(0, 0))
    assert run(fetcher).returncode == 0
    fetched = models / "tiny-chat" / source.name
    assert fetched.read_bytes() == source.read_bytes()
    assert (models / ".llmctl-changed").is_file() and models.stat().st_mtime_ns > 0, "the watched folder saw it"
    before = fetched.stat().st_mtime_ns
    os.utime(models, ns=(0, 0))
    assert run(fetcher).returncode == 0
    assert fetched.stat().st_mtime_ns == before and models.stat().st_mtime_ns == 0, "fetched once"

    launcher = summary["files"][summary["units"]["local-llm-chat"]["serviceConfig"]["ExecStart"]]
    server = start_process(
        "local-llm-chat",
        ["bash", "-c", launcher],
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
        assert str(fetched) in server.log()
    finally:
        server.stop()


def test_dataset_script_creates_once_then_sets_only_what_differs(tmp_path):
    """The local-llm-dataset script against a stand-in `zfs` (the real one needs the
    kernel module; the VM test runs it for real): a missing dataset is created with every
    property, an existing one only gets the properties that differ, and the folders
    services need inside it are made after the mount."""
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
  mount) [ -e {models}/ollama ] && echo "folder made before the mount" >> {calls}; true ;;
esac
"""
    )
    fake.chmod(0o755)
    # The local-llm user exists only on the host: its chown is recorded, not made.
    chown = fake.with_name("chown")
    chown.write_text(f'#!/bin/bash\necho "chown $*" >> {calls}\n')
    chown.chmod(0o755)
    host = tmp_path / "host.nix"
    host.write_text(
        '{ networking.hostId = "deadbeef"; services.local-llm = { enable = true;'
        f' modelsDir = "{models}";'
        f' folders."{models}/ollama" = {{ user = "root"; group = "root"; mode = "0750"; }};'
        ' zfs = { dataset = "tank/llm"; quota = "500G"; }; }; }'
    )
    script = evaluate_host(host)["units"]["local-llm-dataset"]["script"]

    def reconcile() -> list[str]:
        calls.write_text("")
        if (models / "ollama").exists():
            (models / "ollama").rmdir()
        subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], check=True, env={"PATH": f"{fake.parent}:/usr/bin:/bin"}
        )
        return [line for line in calls.read_text().splitlines() if line.split()[0] in ("create", "set", "folder")]

    created = reconcile()
    assert len(created) == 1 and created[0].startswith("create -p")
    assert f"chown local-llm:local-llm {models}" in calls.read_text().splitlines()
    assert set(state.read_text().split()) == {"compression=lz4", f"mountpoint={models}", "quota=500G", "recordsize=1M"}
    assert (models / "ollama").is_dir() and (models / "ollama").stat().st_mode & 0o777 == 0o750
    assert reconcile() == [], "an unchanged dataset is left alone (no remount)"
    state.write_text(state.read_text().replace("quota=500G", "quota=100G"))
    assert reconcile() == ["set quota=500G tank/llm"], "only the property that differs is set"
