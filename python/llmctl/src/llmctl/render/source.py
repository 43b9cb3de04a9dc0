"""Where the stack input comes from: a JSON file, a Nix file (an attrset), or a host of
a flake by name (`nix eval` of its config.services.local-llm.stackInput, which needs
the flake's nixpkgs). The input is the attrset a host's services.local-llm produces."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from llmctl.errors import RenderError

NIX_HINT = (
    "install Nix (Debian/Ubuntu: apt install nix-bin; elsewhere see nixos.org/download), "
    "or set NIX_INSTANTIATE_BIN to its nix-instantiate"
)


def nix_binary(name: str, variable: str | None = None) -> str:
    """The path of a Nix program, or a RenderError saying how to get it."""
    import os

    found = (os.environ.get(variable) if variable else None) or shutil.which(name)
    if not found:
        raise RenderError(f"llmctl render needs {name} (Nix), which is not on PATH", hint=NIX_HINT)
    return found


def load_input(source: str, *, flake: Path | None = None) -> dict[str, Any]:
    """The stack input named by `source`: FILE.json, FILE.nix, or HOST of `flake`."""
    path = Path(source)
    if path.suffix == ".json" or (path.is_file() and path.suffix != ".nix"):
        return read_object(path)
    if path.suffix == ".nix":
        return _nix_file(path)
    return _flake_host(source, flake or Path.cwd())


def read_object(
    path: Path, what: str = "the stack input", hint: str = "give the stack input as JSON or a .nix file"
) -> dict[str, Any]:
    """The JSON object in `path` (`what` it should hold names it in errors)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RenderError(f"cannot read {path}: {error.strerror or error}") from error
    except ValueError as error:
        raise RenderError(f"{path} is not JSON: {error}", hint=hint) from error
    return _attrset(value, path, what, hint)


def _nix_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise RenderError(f"no such file: {path}")
    command = [
        nix_binary("nix-instantiate", "NIX_INSTANTIATE_BIN"),
        "--eval",
        "--strict",
        "--json",
        str(path.resolve()),
    ]
    return _attrset(json.loads(run_nix(command, f"evaluating {path} failed")), path)


def _flake_host(host: str, flake: Path) -> dict[str, Any]:
    if not (flake / "flake.nix").is_file():
        raise RenderError(
            f"'{host}' is neither a file nor a host of a flake here (no flake.nix in {flake})",
            hint="give the stack input as FILE.json or FILE.nix, or pass --flake DIR",
        )
    attribute = f'{flake.resolve()}#nixosConfigurations."{host}".config.services.local-llm.stackInput'
    command = [nix_binary("nix"), "--extra-experimental-features", "nix-command flakes", "eval", "--json", attribute]
    hint = (
        "evaluating a host needs the flake's nixpkgs; elsewhere write the input to a file with "
        f"`nix eval .#nixosConfigurations.{host}.config.services.local-llm.stackInput --json > {host}.json`"
    )
    return _attrset(json.loads(run_nix(command, f"evaluating host {host} failed", hint)), Path(host))


def run_nix(command: list[str], failure: str, hint: str | None = None) -> str:
    """stdout of a Nix command; when it fails, a RenderError `failure: <nix's reason>`."""
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise RenderError(f"{failure}: {_nix_reason(done.stderr, done.returncode)}", hint=hint)
    return done.stdout


def _nix_reason(stderr: str, code: int) -> str:
    """nix/lib's `throw` message (`local-llm: ...`), else Nix's first error line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("trace:")]
    for line in lines:
        if "local-llm:" in line:
            return line[line.index("local-llm:") :]
    return lines[0].removeprefix("error: ") if lines else f"exit {code}"


def _attrset(value: Any, origin: Path, what: str = "the stack input", hint: str | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RenderError(f"{origin}: {what} must be an attribute set (a JSON object)", hint=hint)
    return value
