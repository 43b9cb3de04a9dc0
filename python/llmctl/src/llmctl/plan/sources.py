"""Find the GGUF header(s) `llmctl plan MODEL` talks about.

MODEL is a local path (a split set is followed from any shard), a model ID of the
inventory (as `llmctl models` lists it), or `ORG/REPO[:QUANT]` on the Hub (headers
read by HTTP Range, see llmctl.hub.headers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from llmctl.errors import LlmctlError, ModelsFolderError
from llmctl.gguf.reader import GGUFHeader, read_gguf
from llmctl.library.ids import split_parts

HUB_REPO = re.compile(r"[\w.-]+/[\w.-]+(:[\w.-]+)?")
MISSING_SHARDS_HINT = "download the missing shards (llmctl download) or wait for the download to finish"


@dataclass
class ModelSource:
    """One model (a file or a split set) with its headers."""

    label: str  # the file (local) or the quant (Hub)
    headers: list[GGUFHeader]
    bytes_fetched: int = 0  # remote only: bytes downloaded to read the headers
    remote: bool = False


def shard_paths(path: Path) -> list[Path]:
    """All shards of a split set from any of its shards, or `[path]`."""
    parts = split_parts(path.name)
    if parts is None:
        return [path]
    stem, _, count = parts
    shards = [path.with_name(f"{stem}-{n:05d}-of-{count:05d}.gguf") for n in range(1, count + 1)]
    absent = [shard.name for shard in shards if not shard.is_file()]
    if absent:
        raise LlmctlError(
            f"split model {path.name} is incomplete: {', '.join(absent)} missing",
            hint=MISSING_SHARDS_HINT,
        )
    return shards


def local_model(path: Path) -> ModelSource:
    """A GGUF file (any shard of a split set); GGUFError when one is not readable."""
    return ModelSource(path.name, [read_gguf(shard, tensors=True) for shard in shard_paths(path)])


def inventory_model(models_dir: Path, model_id: str) -> ModelSource | None:
    """The model with this ID in the models folder, or None."""
    from llmctl.library.inventory import load

    if not models_dir.is_dir():
        return None
    model = load(models_dir).find(model_id)
    if model is None:
        return None
    if not model.usable:
        missing = ", ".join(map(str, model.split["missing"]))
        raise ModelsFolderError(
            f"{model.id}: incomplete split set, shard(s) {missing} of {model.split['count']} missing",
            hint=MISSING_SHARDS_HINT,
        )
    return ModelSource(model.path.name, [read_gguf(path, tensors=True) for path in model.paths])


def resolve_models(model: str, models_dir: Path | None) -> list[ModelSource]:
    path = Path(model).expanduser()
    if path.is_dir():
        raise LlmctlError(
            f"{model}: is a folder, not a GGUF file", hint="give a .gguf file, or a model ID with --models-dir FOLDER"
        )
    if path.exists():
        return [local_model(path)]
    if model.lower().endswith(".gguf"):
        raise LlmctlError(
            f"{model}: no such file", hint="check the path, or give a model ID as `llmctl models` lists it"
        )
    if models_dir is not None:
        found = inventory_model(models_dir, model)
        if found is not None:
            return [found]
    if HUB_REPO.fullmatch(model):
        from llmctl.hub.headers import remote_models

        repo, _, quant = model.partition(":")
        return [
            ModelSource(found.label, found.headers, bytes_fetched=found.bytes_fetched, remote=True)
            for found in remote_models(repo, quant or None)
        ]
    where = f" in {models_dir}" if models_dir else ""
    raise LlmctlError(
        f"{model}: not a file, no model with this ID{where}, and not ORG/REPO[:QUANT]",
        hint="give a .gguf path, a model ID (as `llmctl models` lists it) or a Hugging Face repository",
    )
