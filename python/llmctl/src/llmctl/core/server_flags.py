"""llama-server argv from options, role and the binary's capabilities.

The flag spellings, their order and the capability-dependent variants live in one
table, `llmctl/data/llama-server-flags.json`, a copy of `nix/lib/llama-server-flags.json`
(a test keeps them identical), so discovery and the Nix generators emit the same argv
for the same inputs. Capabilities are detected from `llama-server --help`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
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


def probe_capabilities(binary: str) -> dict[str, bool]:
    """Run `binary --help` once and read its capabilities from the text."""
    try:
        result = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise LlmctlError(
            f"cannot run {binary} --help: {error}",
            hint="check llamaServer.binary in the stack spec",
        ) from error
    return capabilities_from_help(result.stdout + result.stderr)


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
        if not _present(value):
            continue
        if "capability" not in option or caps[option["capability"]]:
            argv += [_show(value) if arg == "{}" else arg for arg in option["args"]]
        else:
            argv += option["legacy"].get(_show(value), [])
    return argv + list(table["roles"][role]) + list(extra_args)
