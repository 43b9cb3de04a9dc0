"""The click machinery every command group shares: lazy loading, the run context
and the error convention (the options several commands take are in options.py)."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

import click

from llmctl import output
from llmctl.errors import EXIT_FAILURE, LlmctlError, foreign_error


@dataclass
class RunContext:
    """What the top-level options decided, available to every command as ctx.obj."""

    debug: bool = False
    stack_path: str | None = None

    def stack(self, *, required: bool = True):
        from llmctl.stack import load_stack

        return load_stack(self.stack_path, required=required)


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when they are used.

    Keeps `llmctl --help` and every single command fast: a command module pulls in
    its heavy dependencies (requests, rich, gguf) inside its functions.
    """

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy_commands:
            module_name, attribute = self.lazy_commands[name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LlmctlError as error:
            if _debug_requested(ctx):
                raise
            _report(error.message, error.hint)
            ctx.exit(error.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except Exception as error:
            if _debug_requested(ctx):
                raise
            known = foreign_error(error)
            if known is not None:
                _report(known.message, known.hint)
                ctx.exit(known.exit_code)
            _report(
                f"unexpected {type(error).__name__}: {error}",
                "run again with --debug for the traceback, and report it if it is a bug",
            )
            ctx.exit(EXIT_FAILURE)


def _debug_requested(ctx: click.Context) -> bool:
    root = ctx.find_root()
    if isinstance(root.obj, RunContext) and root.obj.debug:
        return True
    return os.environ.get("LLMCTL_DEBUG", "") not in ("", "0")


def _report(message: str, hint: str | None) -> None:
    click.echo(click.style("Error: ", fg="red", bold=True) + message, err=True)
    if hint:
        output.hint(hint)


def run_context(ctx: click.Context | None = None) -> RunContext:
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        root.obj = RunContext()
    return root.obj
