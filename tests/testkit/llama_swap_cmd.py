"""llama-swap's treatment of a model's `cmd`, ported to Python for tests.

llama-swap cannot run here, so tests turn a generated `cmd` into an argv the way
llama-swap does and start the real llama-server with it:
1. `${env.NAME}` and `${NAME}` macros are substituted, and any macro left is an
   error (mostlygeek/llama-swap internal/config/macros.go: `envMacroRegex`,
   `macroPatternRegex`, `validateMacroUses`);
2. comment lines are dropped and trailing backslashes join lines
   (internal/config/commands.go `SanitizeCommand`, identical in v230 and v250);
3. the text is split by github.com/billziss-gh/golib v0.2.0 shlex/shlex.go
   `Posix.Split` (ported below state for state; no shell is involved, the result
   goes to exec.Command).
"""

from __future__ import annotations

import re

_ENV_MACRO = re.compile(r"\$\{env\.([a-zA-Z_][a-zA-Z0-9_]*)\}")
_MACRO = re.compile(r"\$\{([a-zA-Z0-9_-]+)\}")

_SPACE, _WORD = " ", "A"
_EMPTY = object()  # golib EmptyRune: the end of the line
_NO_ESCAPE = object()  # golib NoEscape


class LlamaSwapCmdError(ValueError):
    """llama-swap would refuse this config or command."""


def _posix_escape(state: str, r: str, r0):
    """golib `Posix.Escape`: what a backslash `r` before `r0` yields in `state`."""
    if r != "\\":
        return _NO_ESCAPE
    if state in (_SPACE, _WORD):
        return _EMPTY if r0 == "\n" or r0 is _EMPTY else r0
    if state == '"':
        if r0 == "\n" or r0 is _EMPTY:
            return _EMPTY
        return r0 if r0 in ("$", "`", '"', "\\") else _NO_ESCAPE
    return _NO_ESCAPE


def posix_split(line: str) -> list[str]:
    """golib shlex `Posix.Split`: spaces are " ", tab and newline; quotes are ' and "."""
    tokens: list[str] = []
    token: list[str] | None = None
    state = [_SPACE]
    cur, n = 0, len(line)
    while cur < n:
        r = line[cur]
        rest = cur + 1
        r0 = line[rest] if rest < n else _EMPTY
        s = state[-1]
        e = _posix_escape(s, r, r0)
        if e is not _NO_ESCAPE:
            if r0 is not _EMPTY:
                rest += 1
            if e is _EMPTY:
                cur = rest
                continue
        if s == _SPACE:
            if e is not _NO_ESCAPE:
                state.append(_WORD)
                token = [*(token or []), e]
            elif r in ("'", '"'):
                state += [_WORD, r]
                token = []
            elif r not in (" ", "\t", "\n"):
                state.append(_WORD)
                token = [*(token or []), r]
        elif s == _WORD:
            if e is not _NO_ESCAPE:
                token.append(e)
            elif r in ("'", '"'):
                state.append(r)
            elif r in (" ", "\t", "\n"):
                state.pop()
                tokens.append("".join(token))
                token = None
            else:
                token.append(r)
        else:  # inside quotes
            if e is not _NO_ESCAPE:
                token.append(e)
            elif r == s:
                state.pop()
            else:
                token.append(r)
        cur = rest
    if token is not None:
        tokens.append("".join(token))
    return tokens


def sanitize_command(cmd: str) -> list[str]:
    """llama-swap `SanitizeCommand`: drop comment lines, join backslash lines, split."""
    cleaned = []
    for line in cmd.split("\n"):
        trimmed = line.strip()
        if trimmed.startswith("#"):
            continue
        cleaned.append(trimmed[:-1] + " " if trimmed.endswith("\\") else line)
    args = posix_split("\n".join(cleaned))
    if not args:
        raise LlamaSwapCmdError("empty command")
    return args


def cmd_to_argv(cmd: str, port: int, model_id: str = "model", env: dict[str, str] | None = None) -> list[str]:
    """The argv llama-swap would start for `cmd`, with `${PORT}` = `port`."""
    env = env or {}

    def env_value(match: re.Match) -> str:
        if match[1] not in env:
            raise LlamaSwapCmdError(f"environment variable '{match[1]}' is not set")
        return env[match[1]]

    text = _ENV_MACRO.sub(env_value, cmd)
    text = text.replace("${PORT}", str(port)).replace("${MODEL_ID}", model_id)
    leftover = _MACRO.search(text)
    if leftover:
        raise LlamaSwapCmdError(f"unknown macro '${{{leftover[1]}}}'")
    return sanitize_command(text)
