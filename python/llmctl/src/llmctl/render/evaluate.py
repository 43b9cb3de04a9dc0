"""nix/lib's `render` evaluated with plain nix-instantiate (builtins only, no nixpkgs):
the table of files, path -> {format, content, install}."""

from __future__ import annotations

import json
import subprocess
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from llmctl.errors import RenderError
from llmctl.render.source import nix_binary


def nix_lib() -> Path:
    """nix/lib as this llmctl has it: package data (`llmctl/nixlib`), a link to the
    repository's nix/lib in a checkout."""
    path = Path(str(resources.files("llmctl").joinpath("nixlib")))
    if not (path / "render.nix").is_file():
        raise RenderError(
            f"this llmctl has no nix/lib at {path}", hint="reinstall llmctl (pip install ./python/llmctl)"
        )
    return path


def evaluate(
    stack_input: dict[str, Any],
    *,
    binaries: dict[str, str] | None = None,
    etc_dir: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The files nix/lib renders for `stack_input`."""
    arguments = {"input": stack_input, "binaries": binaries or {}}
    if etc_dir is not None:
        arguments["etcDir"] = etc_dir
    with tempfile.TemporaryDirectory(prefix="llmctl-render-") as tmp:
        given = Path(tmp) / "arguments.json"
        given.write_text(json.dumps(arguments), encoding="utf-8")
        expression = f"(import {nix_lib()}).render (builtins.fromJSON (builtins.readFile {given}))"
        done = subprocess.run(
            [nix_binary("nix-instantiate", "NIX_INSTANTIATE_BIN"), "--eval", "--strict", "--json", "-E", expression],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if done.returncode != 0:
        raise RenderError(f"nix/lib refused the stack input: {_nix_message(done.stderr)}", hint="fix the stack input")
    return json.loads(done.stdout)["files"]


def _nix_message(stderr: str) -> str:
    """The `throw` message (or the first error line) of nix-instantiate's output."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("trace:")]
    for line in lines:
        if "local-llm:" in line:
            return line[line.index("local-llm:") :]
    return lines[0].removeprefix("error: ") if lines else "nix-instantiate failed"
