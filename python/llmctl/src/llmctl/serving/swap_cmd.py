"""The llama-server command line of a llama-swap model entry.

Two concerns, kept apart:
- `discovered_argv`: discovery's settings turned into options of the shared flag
  table; `llmctl.flags` (the same table as nix/lib) chooses the flags and their
  spelling for the probed llama-server build.
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

import re
from collections.abc import Mapping, Sequence
from typing import Any

from llmctl.errors import ServingError
from llmctl.flags import llama_server_argv

PORT_MACRO = "${PORT}"
_BARE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")
# Control characters and the Unicode line/paragraph separators (see inventory.name_problem).
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def quote_arg(arg: str) -> str:
    """`arg` written so that llama-swap's splitter gives back exactly `arg`."""
    if CONTROL_CHARS.search(arg):
        raise ServingError(
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


def table_options(model_path: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Discovery's settings as options of the shared flag table (llmctl.flags).

    `settings` keys (all optional): context_size, gpu_layers, cpu_moe_layers, flash_attention
    (on/off/auto), parallel, no_mmap (None: on for unified-memory APUs),
    unified_memory, mmproj (a path; the table passes it for chat only), metrics
    (Prometheus' /metrics, the stack's monitoring).
    """
    no_mmap = settings.get("no_mmap")
    if no_mmap is None:
        # On an APU the GPU reads system memory: mmap'd weights would be held
        # twice (page cache and GTT), so load them into device memory directly.
        no_mmap = bool(settings.get("unified_memory"))
    return {
        "model": model_path,
        "port": PORT_MACRO,
        "mmproj": settings.get("mmproj"),
        "loadLog": True,  # device and offload lines in the log (new builds: -lv 4), for verify
        "contextSize": settings.get("context_size"),
        "gpuLayers": settings.get("gpu_layers"),
        "cpuMoeLayers": settings.get("cpu_moe_layers"),
        "parallel": settings.get("parallel"),
        "flashAttention": settings.get("flash_attention"),
        "noMmap": no_mmap,
        "metrics": bool(settings.get("metrics")),
    }


def discovered_argv(
    binary: str, model_path: str, role: str, settings: Mapping[str, Any], capabilities: Mapping[str, bool]
) -> list[str]:
    """The whole llama-server command of a discovered model, built by the shared flag
    table, then extra arguments."""
    return llama_server_argv(
        role=role,
        options=table_options(model_path, settings),
        binary=binary,
        extra_args=[str(arg) for arg in settings.get("extra_args", ())],
        capabilities=capabilities,
    )
