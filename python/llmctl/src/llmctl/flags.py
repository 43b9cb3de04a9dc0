"""llama-server argv from options, role and the binary's capabilities.

The flag spellings, their order and the capability-dependent variants live in one
table, `llmctl/data/llama-server-flags.json`, a copy of `nix/lib/llama-server-flags.json`
(a test keeps them identical), so discovery and the Nix generators emit the same argv
for the same inputs. Capabilities are detected from `llama-server --help` (`probe`, once
per binary); a binary that cannot run here gets the table's defaults.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from llmctl.errors import LlmctlError


@cache
def flag_table() -> dict[str, Any]:
    text = resources.files("llmctl").joinpath("data/llama-server-flags.json").read_text()
    return json.loads(text)


def default_capabilities() -> dict[str, bool]:
    """What the llama.cpp of the pinned nixpkgs understands (the Nix default too)."""
    return {name: spec["default"] for name, spec in flag_table()["capabilities"].items()}


def capabilities_from_help(help_text: str) -> dict[str, bool]:
    """Capabilities of a llama-server judged by its `--help` output."""
    return {name: spec["help"] in help_text for name, spec in flag_table()["capabilities"].items()}


@dataclass(frozen=True)
class Probe:
    """What `binary --help` told; `problem` says why it could not be asked (the
    capabilities are then the table's defaults: the pinned nixpkgs' llama.cpp)."""

    capabilities: dict[str, bool]
    problem: str | None = None


def probe(binary: str) -> Probe:
    """Ask `binary --help` once per binary version (cached on path, size and mtime)."""
    resolved = shutil.which(binary) or binary
    try:
        info = os.stat(resolved)
    except OSError as error:
        return Probe(default_capabilities(), error.strerror or str(error))
    return _probe(resolved, info.st_size, info.st_mtime_ns)


@cache
def _probe(path: str, _size: int, _mtime_ns: int) -> Probe:
    try:
        result = subprocess.run(
            [path, "--help"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        return Probe(default_capabilities(), str(error))
    text = result.stdout + result.stderr
    if "--port" not in text:
        return Probe(default_capabilities(), f"--help exited {result.returncode} without llama-server's options")
    return Probe(capabilities_from_help(text))


def probe_capabilities(binary: str) -> dict[str, bool]:
    """The capabilities of a binary that must run here (tests, local stacks)."""
    found = probe(binary)
    if found.problem is not None:
        raise LlmctlError(
            f"cannot run {binary} --help: {found.problem}", hint="check llamaServer.binary in the stack spec"
        )
    return dict(found.capabilities)


def _show(value: Any) -> str:
    """The string form the Nix side uses (nix/lib/helpers.nix showValue)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_show(item) for item in value)
    return str(value)


def _present(value: Any) -> bool:
    return value is not None and value is not False and value != "" and value != [] and value != ()


def server_argv(
    *,
    role: str,
    options: Mapping[str, Any],
    binary: str = "llama-server",
    extra_args: Sequence[str] = (),
    capabilities: Mapping[str, bool] | None = None,
) -> list[str]:
    """argv = [binary, ...]; the same rules as nix/lib/llama-server.nix `llamaServerArgv`."""
    table = flag_table()
    if role not in table["roles"]:
        raise LlmctlError(f"unknown llama-server role '{role}'", hint="use one of: " + ", ".join(table["roles"]))
    caps = {**default_capabilities(), **(capabilities or {})}
    argv = [binary]
    for option in table["options"]:
        value = options.get(option["name"])
        if not _present(value) or role not in option.get("roles", (role,)):
            continue
        if "capability" not in option or caps[option["capability"]]:
            argv += [_show(value) if arg == "{}" else arg for arg in option["args"]]
        else:
            argv += option["legacy"].get(_show(value), [])
    return argv + list(table["roles"][role]) + list(extra_args)
