"""The click options several commands share, each declared once: `--stack`, `--json`,
`--models-dir` (one type, one help), `--no-cache` and a status sweep's `--timeout`."""

from __future__ import annotations

from pathlib import Path

import click

from llmctl.app import run_context

STACK_HELP = "Stack spec to read (default: $LOCAL_LLM_STACK or /etc/local-llm/stack.json)."


def _store_stack(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        run_context(ctx).stack_path = value
    return value


def stack_option(function):
    """`--stack FILE` on a command: the stack spec to read (overrides the global one)."""
    return click.option(
        "--stack",
        "stack_path",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        callback=_store_stack,
        expose_value=False,
        is_eager=True,
        help=STACK_HELP,
    )(function)


def json_option(function):
    """The `--json` flag shared by every read command, bound to `json_`."""
    return click.option(
        "--json", "json_", is_flag=True, help="Write only JSON to stdout (messages still go to stderr)."
    )(function)


def models_dir_option(function):
    """`--models-dir DIR`, bound to `models_dir` (a Path or None)."""
    return click.option(
        "--models-dir",
        metavar="DIR",
        type=click.Path(file_okay=False, path_type=Path),
        help="Models folder (default: modelsDir of the stack spec).",
    )(function)


def no_cache_option(function):
    return click.option(
        "--no-cache",
        is_flag=True,
        help="Read every GGUF header instead of reusing the summaries of unchanged files.",
    )(function)


def sweep_timeout_option(default: float, help_text: str):
    """`--timeout S` of a status sweep (status, exporter), bound to `timeout`."""
    return click.option(
        "--timeout",
        "timeout",
        metavar="S",
        type=click.FloatRange(min=0.05),
        default=default,
        show_default=True,
        help=help_text,
    )


def resolve_models_dir(value: Path | None) -> Path:
    """The folder `--models-dir` names, else the stack spec's (the default one without a spec)."""
    return value if value is not None else run_context().stack(required=False).models_dir
