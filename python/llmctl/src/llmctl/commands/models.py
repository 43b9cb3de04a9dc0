"""`llmctl models`: the models in the models folder, with what each one is."""

from __future__ import annotations

import click

from llmctl.options import json_option, models_dir_option, no_cache_option, resolve_models_dir, stack_option
from llmctl.output import binary_size, emit_json, table


@click.command()
@models_dir_option
@no_cache_option
@stack_option
@json_option
def models(models_dir, no_cache: bool, json_: bool) -> None:
    """List the models in the models folder.

    Shows each model's ID (as llama-swap will serve it), role (chat, embedding,
    rerank, from the GGUF metadata), architecture, parameters, quantization,
    size, training context, vision projector and split status, then the files
    that cannot be used and why.

    \b
    Examples:
      llmctl models
      llmctl models --models-dir ~/models --json
    """
    from llmctl.library.inventory import load
    from llmctl.output import info

    inventory = load(resolve_models_dir(models_dir), use_cache=not no_cache)
    if json_:
        emit_json(inventory.to_json())
        return
    table(
        ["id", "role", "arch", "params", "quant", "size", "ctx", "extras"],
        [
            (
                model.id,
                model.role,
                model.summary.architecture or "?",
                _count(model.summary.parameter_count),
                model.summary.quantization or "?",
                binary_size(model.size_bytes),
                model.summary.context_length or "?",
                "; ".join(_extras(model)),
            )
            for model in inventory.models
        ],
        title=f"models in {inventory.root}",
    )
    for model in inventory.models:
        for note in model.notes:
            info(f"note: {model.id}: {note}")
    for item in inventory.invalid:
        where = f" (offset {item.offset})" if item.offset is not None else ""
        info(f"invalid: {item.path}: {item.reason}{where}")
    for item in inventory.skipped:
        info(f"skipped: {item.path}: {item.reason}")
    if not inventory.models:
        info(f"no models in {inventory.root}")


def _extras(model) -> list[str]:
    extras = []
    if model.mmproj:
        extras.append(f"mmproj {model.mmproj.name}")
    if model.split:
        extras.append(f"split {len(model.split['present'])}/{model.split['count']}")
    return extras


def _count(value: int | None) -> str:
    if value is None:
        return "?"
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f}{unit}"
    return str(value)
