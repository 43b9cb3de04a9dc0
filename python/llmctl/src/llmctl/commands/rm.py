"""`llmctl rm`: remove a downloaded model from the models folder."""

from __future__ import annotations

import click

from llmctl.options import json_option, models_dir_option, resolve_models_dir, stack_option
from llmctl.output import decimal_size, emit_json, info


@click.command()
@click.argument("model")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@models_dir_option
@json_option
@stack_option
def rm(model: str, yes: bool, models_dir, json_: bool) -> None:
    """Remove MODEL (its model ID) from the models folder: every split part, and its
    vision projector when no other model uses it.

    \b
    Examples:
      llmctl rm meta-llama-3.1-8b-instruct-q4_k_m
      llmctl rm gemma-3-4b-it-q4_k_m --yes --json
    """
    from llmctl.library.removal import plan_removal, remove

    removal = plan_removal(resolve_models_dir(models_dir), model)
    if not yes:
        for path in removal.files:
            info(f"  {path}")
        click.confirm(
            f"Remove {len(removal.files)} file(s), {decimal_size(removal.size_bytes)}?", abort=True, err=True
        )
    remove(removal)
    if json_:
        emit_json({"model": model, "removed": [str(p) for p in removal.files], "bytes": removal.size_bytes})
    else:
        info(f"removed {len(removal.files)} file(s), {decimal_size(removal.size_bytes)}")
