"""`llmctl stack`: show and check the stack spec."""

from __future__ import annotations

import click

from llmctl.app import run_context
from llmctl.options import json_option, stack_option
from llmctl.output import emit_json, table


@click.group()
def stack() -> None:
    """Show and check the stack spec (/etc/local-llm/stack.json)."""


@stack.command(name="show")
@stack_option
@json_option
def stack_show(json_: bool) -> None:
    """Show the stack spec with defaults filled in.

    With --json the output is a stack spec itself (the keys of stack.json, every
    default written out), which --stack reads back.

    \b
    Examples:
      llmctl stack show
      llmctl stack show --stack ./stack.json --json
    """
    spec = run_context().stack()
    if json_:
        emit_json(spec.to_document())
        return
    click.echo(f"stack spec: {spec.path}")
    click.echo(f"host:       {spec.host or '-'}")
    click.echo(f"models dir: {spec.models_dir}")
    gpu = spec.gpu
    memory = f"{gpu.memory_gib:g} GiB" if gpu.memory_gib is not None else "unknown"
    unified = ", unified memory" if gpu.unified_memory else ""
    click.echo(f"gpu:        {gpu.backend} {gpu.profile or ''} {memory}{unified}".replace("  ", " "))
    click.echo()
    table(
        ["endpoint", "url", "state", "model"],
        [(e.name, e.url, "enabled" if e.enable else "disabled", e.model or "") for e in spec.endpoints.values()],
    )
    if spec.models:
        click.echo()
        table(
            ["model", "role", "serve", "source", "aliases"],
            [
                (m.name, m.role or "", m.serve, m.source or m.file or "", ", ".join(m.aliases))
                for m in spec.models.values()
            ],
        )


@stack.command(name="check")
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@stack_option
def stack_check(file: str | None) -> None:
    """Validate a stack spec; exit 1 with the offending key when it is wrong.

    \b
    Examples:
      llmctl stack check /etc/local-llm/stack.json
    """
    from llmctl.stack import load_stack

    spec = load_stack(file) if file else run_context().stack()
    click.echo(f"{spec.path}: valid (version 1, {len(spec.endpoints)} endpoints, {len(spec.models)} models)", err=True)
