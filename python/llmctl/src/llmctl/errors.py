"""One error hierarchy for every command.

Library code raises `LlmctlError` (or a subclass) with a message saying what went
wrong and a hint saying what to do next; a subclass may carry a default hint. The CLI
turns it into one line on stderr and exit code 1 (`UsageError`: 2). A traceback is
shown only with `--debug` or `LLMCTL_DEBUG=1`.

Exceptions of other libraries (OSError, requests, json, ...) become an `LlmctlError`
at the boundary through one table, `FOREIGN`: the CLI applies it to whatever escapes
a command (`foreign_error`), and code that knows which file it was writing applies it
with that context (`from_os_error`).
"""

from __future__ import annotations

import errno
import os

EXIT_FAILURE = 1
EXIT_USAGE = 2


class LlmctlError(Exception):
    """An expected failure, reported to the user without a traceback."""

    exit_code = EXIT_FAILURE
    default_hint: str | None = None

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


class UsageError(LlmctlError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class StackSpecError(LlmctlError):
    """The stack spec is missing, unreadable or invalid."""


class GGUFError(LlmctlError, ValueError):
    """The file is not a readable GGUF file; `reason` says why and `offset` where."""

    default_hint = "is the file complete? (a download in progress is not)"

    def __init__(self, path: str, reason: str, offset: int | None = None):
        self.path = path
        self.reason = reason
        self.offset = offset
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"{path}: {reason}{where}")


class ModelsFolderError(LlmctlError):
    """The models folder cannot be read, or holds no model of that name."""

    default_hint = "pass --models-dir or set modelsDir in the stack spec"


class HubError(LlmctlError):
    """An error answer of the Hugging Face Hub, or a download that cannot finish."""


class QuantRequired(UsageError):
    """A download named no quant; `available` lists (quant, size, path) to choose from."""

    def __init__(self, message: str, hint: str, available: list[tuple[str, int, str]]):
        super().__init__(message, hint)
        self.available = available


class PlanInputError(UsageError, ValueError):
    """A combination llama.cpp itself would refuse (e.g. quantized V without flash attention)."""


class RenderError(LlmctlError):
    """`llmctl render` cannot evaluate the stack input or write its files."""


class ServingError(LlmctlError):
    """A llama-server or llama-swap command line that cannot be built as asked."""


class VerifyError(LlmctlError):
    """The host checks could not run."""


class ExporterError(LlmctlError):
    """`llmctl exporter` cannot listen where it was asked to."""

    default_hint = "pass --listen HOST:PORT with a free port (services.local-llm.monitoring.exporter.port on NixOS)"


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
NO_SPACE_HINT = "free some space, or pass --models-dir on a larger filesystem"
NOT_ALLOWED_HINT = "run as a user who may write there, or choose another path"
NETWORK_HINT = "check the network, HF_ENDPOINT and any proxy between this host and the service"

# Foreign exceptions the CLI explains instead of printing "unexpected": (class names in
# the exception's MRO as `module.qualname`, errno values or None for any, message, hint).
# Class names, not classes: mapping a requests error must not import requests.
FOREIGN: list[tuple[tuple[str, ...], tuple[int, ...] | None, str, str | None]] = [
    (("builtins.OSError",), NO_SPACE, "no space left on the device{where} ({strerror})", NO_SPACE_HINT),
    (("builtins.OSError",), (errno.EACCES, errno.EPERM, errno.EROFS), "{strerror}{where}", NOT_ALLOWED_HINT),
    (("builtins.OSError",), (errno.ENOENT,), "{strerror}{where}", "check the path"),
    (
        ("requests.exceptions.ConnectionError", "requests.exceptions.Timeout"),
        None,
        "network error{where}: {name}",
        NETWORK_HINT,
    ),
    (("json.decoder.JSONDecodeError",), None, "not valid JSON{where}: {error}", None),
    (("builtins.UnicodeDecodeError",), None, "not valid UTF-8{where}", None),
]


def foreign_error(error: BaseException, doing: str | None = None, hint: str | None = None) -> LlmctlError | None:
    """The `LlmctlError` that `error` stands for according to `FOREIGN`, or None.
    `doing` ("writing model.gguf.part") names what failed; `hint` replaces the table's."""
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in type(error).__mro__}
    code = getattr(error, "errno", None)
    for classes, codes, message, table_hint in FOREIGN:
        if names.isdisjoint(classes) or (codes is not None and code not in codes):
            continue
        strerror = getattr(error, "strerror", None) or (os.strerror(code) if isinstance(code, int) else str(error))
        filename = getattr(error, "filename", None)
        where = f" while {doing}" if doing else f": {filename}" if filename else ""
        text = message.format(where=where, strerror=strerror, name=type(error).__name__, error=error)
        return LlmctlError(text, hint or table_hint)
    return None


def from_os_error(error: OSError, doing: str, hint: str | None = None) -> LlmctlError:
    """An OSError met while `doing` something, as the table says (or its strerror)."""
    found = foreign_error(error, doing, hint)
    if found is not None:
        return found
    return LlmctlError(f"{error.strerror or error} while {doing}", hint)
