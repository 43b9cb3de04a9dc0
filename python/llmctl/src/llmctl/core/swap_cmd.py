"""The llama-server command line of a llama-swap model entry.

Three concerns, kept apart:
- `probe_capabilities`: which flags this llama-server build knows, from its
  `--help` (newer builds replaced `--no-mmap` with `--load-mode none`).
- `llama_server_flags`: the ONE place that chooses llama-server flags for a role
  and the host settings.
- `quote_arg` / `join_cmd`: quoting for the splitter llama-swap uses on `cmd`.

How llama-swap runs `cmd` (internal/config/commands.go, `SanitizeCommand`, the
same in v230 and v250): lines whose trimmed text starts with `#` are dropped, a
trailing backslash joins lines, and the rest is split by
github.com/billziss-gh/golib/shlex `Posix.Split` (space, tab and newline
separate words; '...' is literal; "..." knows \\ escapes of $ ` " \\; a
backslash outside quotes escapes the next character) and started with
exec.Command: there is no shell, so `$(...)`, backticks and `;` are plain
characters. Before splitting, llama-swap substitutes `${NAME}` and `${env.NAME}`
macros anywhere in the text, so a literal "${" in an argument must be broken
up: it is written as `$''{` inside single quotes.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from llmctl.errors import LlmctlError

PORT_MACRO = "${PORT}"
_BARE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")
# Control characters and the Unicode line/paragraph separators (see inventory.name_problem).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class ServerCapabilities:
    """Flags a llama-server build accepts. The defaults are the older flag set,
    used when the binary cannot be run here (a Nix store path of another host)."""

    load_mode: bool = False  # `--load-mode none` instead of `--no-mmap`
    no_mmap: bool = True
    probed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"load_mode": self.load_mode, "no_mmap": self.no_mmap, "probed": self.probed}


def capabilities_from_help(text: str) -> ServerCapabilities:
    return ServerCapabilities(
        load_mode=re.search(r"--load-mode\b", text) is not None,
        no_mmap=re.search(r"--no-mmap\b", text) is not None,
        probed=True,
    )


def probe_capabilities(binary: str) -> ServerCapabilities:
    """Run `binary --help` once per binary version (cached on path, size and mtime)."""
    from shutil import which

    resolved = which(binary) or binary
    try:
        info = os.stat(resolved)
    except OSError:
        return ServerCapabilities()
    return _probe(resolved, info.st_size, info.st_mtime_ns)


@cache
def _probe(path: str, _size: int, _mtime_ns: int) -> ServerCapabilities:
    try:
        result = subprocess.run(
            [path, "--help"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ServerCapabilities()
    text = result.stdout + result.stderr
    if "--port" not in text:  # not a llama-server, or it failed to start
        return ServerCapabilities()
    return capabilities_from_help(text)


def llama_server_flags(role: str, settings: Mapping[str, Any], capabilities: ServerCapabilities) -> list[str]:
    """llama-server flags for `role` (chat, embedding, rerank) and the host.

    `settings` keys (all optional): context_size, gpu_layers, flash_attention
    (on/off/auto), parallel, no_mmap (None: on for unified-memory APUs),
    unified_memory, mmproj (a path, chat only).
    """
    flags: list[str] = []
    if role == "embedding":
        flags.append("--embedding")
    elif role == "rerank":
        flags.append("--rerank")
    elif settings.get("mmproj"):
        flags += ["--mmproj", str(settings["mmproj"])]
    if settings.get("context_size") is not None:
        flags += ["-c", str(settings["context_size"])]
    if settings.get("gpu_layers") is not None:
        flags += ["-ngl", str(settings["gpu_layers"])]
    if settings.get("flash_attention"):
        flags += ["-fa", str(settings["flash_attention"])]
    if settings.get("parallel") is not None:
        flags += ["-np", str(settings["parallel"])]
    no_mmap = settings.get("no_mmap")
    if no_mmap is None:
        # On an APU the GPU reads system memory: mmap'd weights would be held
        # twice (page cache and GTT), so load them into device memory directly.
        no_mmap = bool(settings.get("unified_memory"))
    if no_mmap:
        flags += ["--load-mode", "none"] if capabilities.load_mode else ["--no-mmap"]
    return flags


def quote_arg(arg: str) -> str:
    """`arg` written so that llama-swap's splitter gives back exactly `arg`."""
    if _CONTROL.search(arg):
        raise LlmctlError(
            f"cannot pass {arg!r} to llama-swap: it contains a newline or another control character",
            hint="rename the file or change the argument; llama-swap splits cmd on newlines and drops '#' lines",
        )
    if arg == PORT_MACRO:
        return arg
    if _BARE.match(arg):
        return arg
    return "'" + arg.replace("'", "'\\''").replace("${", "$''{") + "'"


def join_cmd(argv: Sequence[str]) -> str:
    """One line for llama-swap's `cmd`; `${PORT}` stays a macro."""
    return " ".join(quote_arg(str(arg)) for arg in argv)


def server_argv(
    binary: str, model_path: str, role: str, settings: Mapping[str, Any], capabilities: ServerCapabilities
) -> list[str]:
    """The whole llama-server command: binary, port macro, model, role and host flags, extra arguments."""
    extra = [str(arg) for arg in settings.get("extra_args", ())]
    return [binary, "--port", PORT_MACRO, "-m", model_path, *llama_server_flags(role, settings, capabilities), *extra]
