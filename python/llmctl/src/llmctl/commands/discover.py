"""`llmctl discover`: write the llama-swap config from the models folder and the stack spec."""

from __future__ import annotations

import click

from llmctl.app import run_context
from llmctl.options import models_dir_option, no_cache_option, resolve_models_dir, stack_option


@click.command()
@models_dir_option
@click.option(
    "--output",
    "-o",
    metavar="FILE|-",
    help="Where to write the llama-swap config; '-' for stdout (default: llamaSwap.configFile of the stack spec).",
)
@click.option(
    "--llama-swap-version",
    type=click.IntRange(min=1),
    metavar="N",
    help="llama-swap release to generate for (default: llamaSwap.version of the stack spec, else 230).",
)
@no_cache_option
@stack_option
def discover(models_dir, output: str | None, llama_swap_version: int | None, no_cache: bool) -> None:
    """Write the llama-swap config for every usable model in the models folder.

    Each model gets an entry that starts llama-server with the flags for its
    role and this host; models declared in the stack spec are merged in (their
    settings win). The file is replaced atomically and only when its content
    changes, because llama-swap unloads every model when its config changes.

    \b
    Examples:
      llmctl discover
      llmctl discover --models-dir ~/models --output - --llama-swap-version 250
      llmctl --stack ./stack.json discover -o ./llama-swap.yaml
    """
    from pathlib import Path

    from llmctl.output import info, warn
    from llmctl.serving.discovery import discover as run_discovery
    from llmctl.serving.discovery import write_config

    spec = run_context().stack(required=False)
    found = run_discovery(resolve_models_dir(models_dir), spec, llama_swap_version, use_cache=not no_cache)
    for item in found.inventory.invalid:
        warn(f"not served: {item.path}: {item.reason}")
    for model in found.inventory.models:
        if not model.usable:
            warn(f"not served: {model.id}: {'; '.join(model.notes)}")
    for problem in found.config.problems:
        warn(problem)
    if found.probed.problem is not None:
        info(
            f"{spec.llama_server.binary} cannot be run here ({found.probed.problem}): using the flag table's defaults "
            "(the llama.cpp of the pinned nixpkgs)"
        )

    target = output or spec.llama_swap.config_file
    if target == "-":
        click.echo(found.text, nl=False)
        return
    path = Path(target)
    written = write_config(path, found.text)
    count = found.model_count
    info(f"{path}: {'written' if written else 'unchanged'} ({count} model{'s' if count != 1 else ''})")
