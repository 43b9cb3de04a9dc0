"""One error convention for every command.

Library code raises `LlmctlError` (or a subclass) with a message saying what went
wrong and a hint saying what to do next. The CLI turns it into one line on stderr
and exit code 1; click's own usage errors exit with 2. A traceback is shown only
with `--debug` or `LLMCTL_DEBUG=1`.
"""

from __future__ import annotations

EXIT_FAILURE = 1
EXIT_USAGE = 2


class LlmctlError(Exception):
    """An expected failure, reported to the user without a traceback."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(LlmctlError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class StackSpecError(LlmctlError):
    """The stack spec is missing, unreadable or invalid."""
