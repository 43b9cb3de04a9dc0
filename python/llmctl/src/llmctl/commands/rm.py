"""`llmctl rm`: remove a downloaded model from the models folder."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import NoReturn

import click

from llmctl.app import stack_option
from llmctl.errors import LlmctlError
from llmctl.output import decimal_size, emit_json, info, json_option


@click.command()
@click.argument("model")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--models-dir", type=click.Path(file_okay=False), help="Models folder (default: modelsDir of the stack spec)."
)
@json_option
@stack_option
def rm(model: str, yes: bool, models_dir: str | None, json_: bool) -> None:
    """Remove MODEL (its model ID) from the models folder: every split part, and its
    vision projector when no other model uses it.

    \b
    Examples:
      llmctl rm meta-llama-3.1-8b-instruct-q4_k_m
      llmctl rm gemma-3-4b-it-q4_k_m --yes --json
    """
    from llmctl.commands.models import scan_models
    from llmctl.core.atomic import announce_change
    from llmctl.core.local_models import orphaned_projectors

    inventory = scan_models(models_dir, no_cache=False)
    found = inventory.find(model)
    if found is None:
        _not_found(inventory, model)
    folder = inventory.root
    files = list(found.paths)
    projectors = orphaned_projectors(inventory, files)
    doomed = files + projectors
    size = sum(p.stat().st_size for p in doomed)
    if not yes:
        for path in doomed:
            info(f"  {path}")
        click.confirm(f"Remove {len(doomed)} file(s), {decimal_size(size)}?", abort=True, err=True)
    for done, path in enumerate(doomed):
        try:
            path.unlink(missing_ok=True)  # gone already: another rm got there first
        except OSError as error:
            if done:
                announce_change(folder)
            raise LlmctlError(
                f"cannot remove {path}: {error.strerror}; {done} of {len(doomed)} file(s) removed",
                hint="check that the models folder is writable for this user, then run the command again",
            ) from None
    for parent in sorted({p.parent for p in doomed}, key=lambda p: len(p.parts), reverse=True):
        _prune_empty(parent, folder)
    announce_change(folder)
    if json_:
        emit_json({"model": model, "removed": [str(p) for p in doomed], "bytes": size})
    else:
        info(f"removed {len(doomed)} file(s), {decimal_size(size)}")


def _not_found(inventory, model: str) -> NoReturn:
    from llmctl.core.model_ids import model_id_for

    unreadable = [item.path for item in inventory.invalid if model_id_for(item.path) == model.lower()]
    if unreadable:
        raise LlmctlError(
            f"{model!r} is not a readable model: {unreadable[0]} is listed as invalid by `llmctl models`",
            hint="delete the file by hand if you do not want it",
        )
    close = difflib.get_close_matches(model.lower(), [m.id for m in inventory.models], n=3, cutoff=0.5)
    raise LlmctlError(
        f"no model {model!r} in {inventory.root}",
        hint=f"did you mean {', '.join(close)}?" if close else "`llmctl models` lists the model IDs",
    )


def _prune_empty(folder: Path, models_dir: Path) -> None:
    """Remove folders the model leaves empty, up to (not including) the models folder."""
    while folder != models_dir and folder.is_relative_to(models_dir):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
