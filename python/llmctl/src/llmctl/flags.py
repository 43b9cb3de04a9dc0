"""llama-server argv from options, role and the binary's capabilities.

The flag spellings, their order and the capability-dependent variants live in one
table, `llmctl/data/llama-server-flags.json`, which nix/lib/llama-server.nix reads too
(through nix/lib/data.nix), so discovery, the planner and the Nix generators emit the
same argv for the same inputs. Capabilities are detected from `llama-server --help`
(`probe`, once per binary); a binary that cannot run here gets the table's defaults.

This module sits below the domain packages: the planner (its recommended flags) and
discovery (the llama-swap `cmd`, which also uses the planner) both read it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from llmctl.datafiles import read_json
from llmctl.errors import ServingError

FLAG_TABLE = "llama-server-flags.json"


def flag_table() -> dict[str, Any]:
    return read_json(FLAG_TABLE)


def default_capabilities() -> dict[str, bool]:
    """What the llama.cpp of the pinned nixpkgs understands (the Nix default too)."""
    return {name: spec["default"] for name, spec in flag_table()["capabilities"].items()}


def capabilities_from_help(help_text: str) -> dict[str, bool]:
    """Capabilities of a llama-server judged by its `--help` output."""
    return {name: spec["help"] in help_text for name, spec in flag_table()["capabilities"].items()}


@dataclass(frozen=True)
class ProbedCapabilities:
    """What `binary --help` told; `problem` says why it could not be asked (the
    capabilities are then the table's defaults: the pinned nixpkgs' llama.cpp)."""

    capabilities: dict[str, bool]
    problem: str | None = None


def probe(binary: str) -> ProbedCapabilities:
    """Ask `binary --help` once per binary version (cached on path, size and mtime)."""
    resolved = shutil.which(binary) or binary
    try:
        info = os.stat(resolved)
    except OSError as error:
        return ProbedCapabilities(default_capabilities(), error.strerror or str(error))
    return _probe(resolved, info.st_size, info.st_mtime_ns)


@cache
def _probe(path: str, _size: int, _mtime_ns: int) -> ProbedCapabilities:
    try:
        result = subprocess.run(
            [path, "--help"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        return ProbedCapabilities(default_capabilities(), str(error))
    text = result.stdout + result.stderr
    if "--port" not in text:
        return ProbedCapabilities(
            default_capabilities(), f"--help exited {result.returncode} without llama-server's options"
        )
    return ProbedCapabilities(capabilities_from_help(text))


def probe_capabilities(binary: str) -> dict[str, bool]:
    """The capabilities of a binary that must run here (tests, local stacks)."""
    found = probe(binary)
    if found.problem is not None:
        raise ServingError(
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


def option_args(
    options: Mapping[str, Any], capabilities: Mapping[str, bool] | None = None, role: str = "chat"
) -> list[str]:
    """The table's options in its order, spelled for `capabilities` (no binary, no role flags)."""
    caps = {**default_capabilities(), **(capabilities or {})}
    argv: list[str] = []
    for option in flag_table()["options"]:
        value = options.get(option["name"])
        if not _present(value) or role not in option.get("roles", (role,)):
            continue
        if "capability" not in option or caps[option["capability"]]:
            argv += [_show(value) if arg == "{}" else arg for arg in option["args"]]
        else:
            argv += option["legacy"].get(_show(value), [])
    return argv


def llama_server_argv(
    *,
    role: str,
    options: Mapping[str, Any],
    binary: str = "llama-server",
    extra_args: Sequence[str] = (),
    capabilities: Mapping[str, bool] | None = None,
) -> list[str]:
    """argv = [binary, ...]; the same rules as nix/lib/llama-server.nix `llamaServerArgv`."""
    roles = flag_table()["roles"]
    if role not in roles:
        raise ServingError(f"unknown llama-server role '{role}'", hint="use one of: " + ", ".join(roles))
    return [binary, *option_args(options, capabilities, role), *roles[role], *extra_args]
