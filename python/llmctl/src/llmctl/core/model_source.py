"""Find the GGUF header(s) `llmctl plan MODEL` talks about.

MODEL is a local path (a split set is followed from shard 1), a model ID from
the models folder, or `ORG/REPO[:QUANT]` on the Hub (headers read by HTTP Range).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from llmctl.core.gguf_reader import GGUFError, GGUFHeader, read_gguf, read_gguf_source
from llmctl.errors import LlmctlError

SPLIT_NAME = re.compile(r"^(?P<base>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
# Quantization labels as they appear in file names (llama.cpp's quantize presets, ollama/unsloth names).
QUANT_NAME = re.compile(
    r"(?<![A-Za-z0-9])(UD-)?(IQ[1-4]_(?:XXS|XS|S|M|NL)|TQ[12]_0|MXFP4(?:_MOE)?|Q[2-8]_K(?:_[SMLX]L?)?|Q[4-8]_[01]"
    r"|Q[2-8]_K_XL|BF16|F16|F32)(?![A-Za-z0-9])",
    re.IGNORECASE,
)


@dataclass
class ModelSource:
    """One model (a file or a split set) with its headers."""

    label: str  # the file (local) or the quant (Hub)
    headers: list[GGUFHeader]
    bytes_fetched: int = 0  # remote only: bytes downloaded to read the headers
    remote: bool = False


def model_id_for(file_name: str) -> str:
    """The inventory's model ID: lower-cased file name without `.gguf` and split suffix."""
    split = SPLIT_NAME.match(file_name)
    stem = split["base"] if split else re.sub(r"\.gguf$", "", file_name, flags=re.IGNORECASE)
    return stem.lower()


def find_model_by_id(models_dir: Path, model_id: str) -> Path | None:
    """The file (first shard) whose model ID is `model_id`. A plain folder scan for now;
    the inventory can take this over (same ID rule)."""
    if not models_dir.is_dir():
        return None
    wanted = model_id.lower()
    for path in sorted(models_dir.rglob("*.gguf")):
        split = SPLIT_NAME.match(path.name)
        if model_id_for(path.name) == wanted and (not split or int(split["no"]) == 1):
            return path
    return None


def shard_paths(path: Path) -> list[Path]:
    """All shards of a split set from any of its shards, or `[path]`."""
    split = SPLIT_NAME.match(path.name)
    if not split:
        return [path]
    count = int(split["count"])
    width = len(split["no"])
    shards = [path.with_name(f"{split['base']}-{n:0{width}d}-of-{split['count']}.gguf") for n in range(1, count + 1)]
    absent = [shard.name for shard in shards if not shard.is_file()]
    if absent:
        raise LlmctlError(f"split model {path.name} is incomplete: {', '.join(absent)} missing")
    return shards


def _read(path: Path) -> GGUFHeader:
    try:
        return read_gguf(path, tensors=True)
    except GGUFError as error:
        raise LlmctlError(str(error), hint="is the file complete? (a download in progress is not)") from error


def local_model(path: Path) -> ModelSource:
    return ModelSource(path.name, [_read(shard) for shard in shard_paths(path)])


def quant_of(file_name: str) -> str:
    found = QUANT_NAME.search(Path(file_name).name)
    return found.group(0).upper() if found else Path(file_name).name


def _set_key(path: str) -> str:
    split = SPLIT_NAME.match(Path(path).name)
    return str(Path(path).parent / split["base"]) if split else path


def hub_models(repo: str, quant: str | None) -> list[ModelSource]:
    """One ModelSource per quant of the repository (only `quant` when given)."""
    from llmctl.core.hub_range import HubFile, list_gguf_files

    groups: dict[str, list] = defaultdict(list)
    for file in list_gguf_files(repo):
        if "mmproj" in file.path.lower():
            continue
        groups[quant_of(file.path)].append(file)
    if quant:
        groups = {label: files for label, files in groups.items() if label.upper() == quant.upper()}
        if not groups:
            hint = f"run `llmctl plan {repo}` to list its quants"
            raise LlmctlError(f"{repo} has no GGUF file for quant {quant}", hint=hint)
    if not groups:
        raise LlmctlError(f"{repo} has no GGUF files")
    sources = []
    for label, files in sorted(groups.items()):
        # One model per quant: the first split set (or file) when a repo holds several.
        first = min(_set_key(f.path) for f in files)
        files = sorted((f for f in files if _set_key(f.path) == first), key=lambda f: f.path)
        headers, fetched = [], 0
        for file in files:
            source = HubFile(repo, file.path, file.size)
            try:
                headers.append(read_gguf_source(source, tensors=True))
            except GGUFError as error:
                raise LlmctlError(str(error)) from error
            finally:
                source.close()
            fetched += source.bytes_fetched
        sources.append(ModelSource(label, headers, bytes_fetched=fetched, remote=True))
    return sources


def resolve_models(model: str, models_dir: Path | None) -> list[ModelSource]:
    path = Path(model).expanduser()
    if path.exists():
        return [local_model(path)]
    if model.lower().endswith(".gguf"):
        raise LlmctlError(f"{model}: no such file")
    if models_dir is not None:
        found = find_model_by_id(models_dir, model)
        if found is not None:
            return [local_model(found)]
    if re.fullmatch(r"[\w.-]+/[\w.-]+(:[\w.-]+)?", model):
        repo, _, quant = model.partition(":")
        return hub_models(repo, quant or None)
    where = f" in {models_dir}" if models_dir else ""
    raise LlmctlError(
        f"{model}: not a file, no model with this ID{where}, and not ORG/REPO[:QUANT]",
        hint="give a .gguf path, a model ID (file name without .gguf) or a Hugging Face repository",
    )
