"""nix/lib's `render` evaluated with plain nix-instantiate (builtins only, no nixpkgs):
the table of files, path -> {format, content, install}."""

from __future__ import annotations

import json
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from llmctl.errors import RenderError
from llmctl.render.source import nix_binary, run_nix


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
        nix_instantiate = nix_binary("nix-instantiate", "NIX_INSTANTIATE_BIN")
        command = [nix_instantiate, "--eval", "--strict", "--json", "-E", expression]
        output = run_nix(command, "nix/lib refused the stack input", hint="fix the stack input")
    return json.loads(output)["files"]
