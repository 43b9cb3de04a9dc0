"""`llmctl discover`: write the llama-swap config from the models folder and the stack spec."""

from __future__ import annotations

import click

from llmctl.app import run_context, stack_option
from llmctl.commands.models import models_dir_option, no_cache_option, scan_models


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
def discover(models_dir: str | None, output: str | None, llama_swap_version: int | None, no_cache: bool) -> None:
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
    from llmctl.core.server_flags import probe
    from llmctl.core.swap_config import build_swap_config
    from llmctl.output import info, warn

    spec = run_context().stack(required=False)
    inventory = scan_models(models_dir, no_cache)
    probed = probe(spec.llama_server.binary)
    config = build_swap_config(inventory, spec, probed.capabilities, llama_swap_version)
    text = config.to_yaml(str(inventory.root))

    for item in inventory.invalid:
        warn(f"not served: {item.path}: {item.reason}")
    for model in inventory.models:
        if not model.usable:
            warn(f"not served: {model.id}: {'; '.join(model.notes)}")
    for problem in config.problems:
        warn(problem)
    if probed.problem is not None:
        info(
            f"{spec.llama_server.binary} cannot be run here ({probed.problem}): using the flag table's defaults "
            "(the llama.cpp of the pinned nixpkgs)"
        )

    target = output or spec.llama_swap.config_file
    if target == "-":
        click.echo(text, nl=False)
        return
    _write(target, text, len(config.document["models"]))


def _write(target: str, text: str, count: int) -> None:
    from pathlib import Path

    from llmctl.core.atomic import write_if_changed
    from llmctl.errors import LlmctlError
    from llmctl.output import info

    path = Path(target)
    if not path.parent.is_dir():
        raise LlmctlError(
            f"cannot write {path}: folder {path.parent} does not exist", hint="create it or pass --output"
        )
    try:
        written = write_if_changed(path, text)
    except OSError as error:
        raise LlmctlError(
            f"cannot write {path}: {error.strerror or error}", hint="check permissions or pass --output"
        ) from error
    state = "written" if written else "unchanged"
    info(f"{path}: {state} ({count} model{'s' if count != 1 else ''})")
