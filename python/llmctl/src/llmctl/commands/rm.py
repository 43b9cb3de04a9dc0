"""`llmctl rm`: remove a downloaded model from the models folder."""

from __future__ import annotations

import difflib
from pathlib import Path

import click

from llmctl.app import run_context, stack_option
from llmctl.core.download_progress import format_size
from llmctl.errors import LlmctlError
from llmctl.output import emit_json, info, json_option


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
    from llmctl.core import local_models

    folder = Path(models_dir) if models_dir else run_context().stack(required=False).models_dir
    files = local_models.model_files(folder, model)
    if not files:
        close = difflib.get_close_matches(model.lower(), local_models.model_ids(folder), n=3, cutoff=0.5)
        raise LlmctlError(
            f"no model {model!r} in {folder}",
            hint=f"did you mean {', '.join(close)}?" if close else "list the models folder to see the model IDs",
        )
    projectors = local_models.orphaned_projectors(folder, files)
    doomed = files + projectors
    size = sum(p.stat().st_size for p in doomed)
    if not yes:
        for path in doomed:
            info(f"  {path}")
        click.confirm(f"Remove {len(doomed)} file(s), {format_size(size)}?", abort=True, err=True)
    for path in doomed:
        path.unlink()
    for parent in sorted({p.parent for p in doomed}, key=lambda p: len(p.parts), reverse=True):
        _prune_empty(parent, folder)
    if json_:
        emit_json({"model": model, "removed": [str(p) for p in doomed], "bytes": size})
    else:
        info(f"removed {len(doomed)} file(s), {format_size(size)}")


def _prune_empty(folder: Path, models_dir: Path) -> None:
    """Remove folders the model leaves empty, up to (not including) the models folder."""
    while folder != models_dir and folder.is_relative_to(models_dir):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
