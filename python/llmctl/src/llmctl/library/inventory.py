"""The models folder as a list of models: scan, group shards, pair projectors, classify.

Rules (documented in docs/llmctl.md, "models"):
- Recursive; dot-folders (`.partial/` where downloads are staged) and dot-files
  are skipped, and only names ending in `.gguf` are looked at, so `*.part` and
  `*.incomplete` files never appear.
- Split shards (`NAME-00001-of-00003.gguf`) form one model; a set with a shard
  missing is listed as incomplete and not served.
- `mmproj*.gguf` (or any `clip` file) is a vision projector, not a model; it is
  paired with the chat models in its folder.
- Role from the metadata: rerank for rank pooling or a classifier head
  (`cls.output.*`), embedding for mean/cls/last pooling or a non-causal encoder,
  chat otherwise.
- Symlinks: a linked file is followed, also when its target lies outside the
  folder (the model then carries `target` and a note); a linked folder is not
  descended into (no loops, nothing pulled in unseen) and is listed as skipped.
- A file that cannot be read or parsed is listed as invalid with the reason; so
  is a file whose name holds a control character (a newline cannot be passed
  through llama-swap's command line safely).
"""

from __future__ import annotations

import os
import stat as stat_module
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from llmctl.errors import GGUFError, ModelsFolderError
from llmctl.gguf.architectures import FULL_ATTENTION_ENCODERS
from llmctl.gguf.summary import FileSummary, NoCache, SummaryCache
from llmctl.library.ids import GGUF_SUFFIX, split_parts, unique_ids

# llama.cpp `enum llama_pooling_type`
POOLING_NAMES = {-1: "unspecified", 0: "none", 1: "mean", 2: "cls", 3: "last", 4: "rank"}
EMBEDDING_POOLING = {1, 2, 3}
RANK_POOLING = 4
# Encoder architectures that have no causal mask and no chat use.
ENCODER_ARCHITECTURES = FULL_ATTENTION_ENCODERS | {"neo-bert", "t5encoder"}
PROJECTOR_ARCHITECTURES = {"clip"}
ROLES = ("chat", "embedding", "rerank")


@dataclass
class InvalidFile:
    path: Path
    reason: str
    offset: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "reason": self.reason, "offset": self.offset}


@dataclass
class Model:
    id: str
    role: str
    paths: list[Path]  # inside the models folder; shards in order
    relative: PurePath  # the first file, relative to the models folder
    summary: FileSummary
    size_bytes: int
    split: dict[str, Any] | None = None  # {"count", "present", "missing"}
    mmproj: Path | None = None
    target: Path | None = None  # resolved symlink target outside the folder
    notes: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not (self.split and self.split["missing"])

    @property
    def path(self) -> Path:
        return self.paths[0]

    def to_json(self) -> dict[str, Any]:
        summary = self.summary
        return {
            "id": self.id,
            "role": self.role,
            "usable": self.usable,
            "paths": [str(path) for path in self.paths],
            "architecture": summary.architecture,
            "name": summary.name,
            "parameters": summary.parameter_count,
            "quantization": summary.quantization,
            "size_bytes": self.size_bytes,
            "context_length": summary.context_length,
            "pooling": POOLING_NAMES.get(summary.pooling_type) if summary.pooling_type is not None else None,
            "mmproj": str(self.mmproj) if self.mmproj else None,
            "split": self.split,
            "symlink_target": str(self.target) if self.target else None,
            "notes": self.notes,
        }


@dataclass
class Projector:
    path: Path
    relative: PurePath
    summary: FileSummary
    size_bytes: int


@dataclass
class Inventory:
    root: Path
    models: list[Model]
    projectors: list[Projector]
    invalid: list[InvalidFile]
    skipped: list[InvalidFile]

    def usable(self) -> list[Model]:
        return [model for model in self.models if model.usable]

    def find(self, model_id: str) -> Model | None:
        """The model with this ID (as `llmctl models` shows it; case does not matter)."""
        wanted = model_id.lower()
        return next((model for model in self.models if model.id.lower() == wanted), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "models_dir": str(self.root),
            "models": [model.to_json() for model in self.models],
            "projectors": [str(projector.path) for projector in self.projectors],
            "invalid": [item.to_json() for item in self.invalid],
            "skipped": [item.to_json() for item in self.skipped],
        }


@dataclass
class _Found:
    path: Path
    relative: PurePath
    summary: FileSummary
    size_bytes: int
    target: Path | None


def classify(summary: FileSummary) -> str:
    """chat, embedding or rerank, from the metadata alone."""
    if summary.pooling_type == RANK_POOLING or summary.has_classifier_head:
        return "rerank"
    if summary.pooling_type in EMBEDDING_POOLING:
        return "embedding"
    if summary.architecture in ENCODER_ARCHITECTURES or summary.causal is False:
        return "embedding"
    return "chat"


def is_projector(relative: PurePath, summary: FileSummary) -> bool:
    return relative.name.lower().startswith("mmproj") or summary.architecture in PROJECTOR_ARCHITECTURES


def name_problem(name: str) -> str | None:
    """Why a file name cannot be served, or None."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8 (llama-swap reads its config as UTF-8)"
    # Cc: control characters; Zl, Zp: U+2028/U+2029, line breaks to YAML 1.1 (PyYAML)
    # but not to YAML 1.2 (llama-swap's yaml.v3), so no quoting is read back the same.
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in name):
        return (
            "file name contains a newline or another control character, which cannot be passed "
            "through llama-swap's command line safely; rename the file"
        )
    return None


def load(folder: Path, *, use_cache: bool = True) -> Inventory:
    """The inventory of `folder`, reusing the summaries of unchanged files unless told not to."""
    return scan(folder, SummaryCache() if use_cache else NoCache())


def scan(root: str | os.PathLike[str], cache: SummaryCache | NoCache | None = None) -> Inventory:
    """Every model, projector and invalid file under `root`."""
    root = Path(root)
    cache = cache if cache is not None else NoCache()
    try:
        real_root = root.resolve(strict=True)
    except OSError as error:
        raise ModelsFolderError(f"models folder {root} cannot be read: {error.strerror or error}") from error
    if not real_root.is_dir():
        raise ModelsFolderError(f"models folder {root} is not a folder", hint="pass --models-dir DIR")

    found: list[_Found] = []
    invalid: list[InvalidFile] = []
    skipped: list[InvalidFile] = []
    for relative in _candidates(root, invalid, skipped):
        path = root / relative
        problem = name_problem(str(relative))
        if problem:
            invalid.append(InvalidFile(path, problem))
            continue
        try:
            info = os.stat(path)
            if not stat_module.S_ISREG(info.st_mode):
                raise GGUFError(
                    str(path),
                    "is a directory, not a file" if stat_module.S_ISDIR(info.st_mode) else "is not a regular file",
                )
            summary = cache.summary(path, info)
        except FileNotFoundError:
            invalid.append(InvalidFile(path, "cannot be read: dangling symlink or the file vanished"))
            continue
        except OSError as error:
            invalid.append(InvalidFile(path, f"cannot be read: {error.strerror or error}"))
            continue
        except GGUFError as error:
            invalid.append(InvalidFile(path, error.reason, error.offset))
            continue
        found.append(_Found(path, relative, summary, info.st_size, _outside_target(path, real_root)))
    cache.save(root)

    projectors = [
        Projector(item.path, item.relative, item.summary, item.size_bytes)
        for item in found
        if is_projector(item.relative, item.summary)
    ]
    models = _group_models([item for item in found if not is_projector(item.relative, item.summary)], root)
    _pair_projectors(models, projectors)
    return Inventory(
        root=root,
        models=models,
        projectors=projectors,
        invalid=sorted(invalid, key=lambda item: str(item.path)),
        skipped=sorted(skipped, key=lambda item: str(item.path)),
    )


def _candidates(root: Path, invalid: list[InvalidFile], skipped: list[InvalidFile]) -> list[PurePath]:
    """Relative paths of the `.gguf` entries to look at, in a stable order."""
    result: list[PurePath] = []

    def on_error(error: OSError) -> None:
        invalid.append(InvalidFile(Path(error.filename or root), f"folder cannot be listed: {error.strerror}"))

    for folder, dirnames, filenames in os.walk(root, onerror=on_error):
        base = Path(folder)
        keep = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            full = base / name
            if name.lower().endswith(GGUF_SUFFIX):
                invalid.append(InvalidFile(full, "is a directory, not a file"))
                continue
            if full.is_symlink():
                skipped.append(InvalidFile(full, "symlinked folder: not followed (link the model files instead)"))
                continue
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(GGUF_SUFFIX):
                continue
            result.append((base / name).relative_to(root))
    return result


def _outside_target(path: Path, real_root: Path) -> Path | None:
    if not path.is_symlink():
        return None
    target = path.resolve()
    return None if target.is_relative_to(real_root) else target


def _group_models(files: list[_Found], root: Path) -> list[Model]:
    """One model per single file or per split set (same folder and stem)."""
    groups: dict[tuple[PurePath, str, int], dict[int, _Found]] = {}
    singles: list[_Found] = []
    for item in files:
        parts = split_parts(item.relative.name)
        if parts is None:
            singles.append(item)
            continue
        stem, index, count = parts
        groups.setdefault((item.relative.parent, stem, count), {})[index] = item

    firsts: dict[PurePath, tuple[list[_Found], dict[str, Any] | None]] = {}
    for item in singles:
        firsts[item.relative] = ([item], None)
    for (_parent, _stem, count), shards in groups.items():
        ordered = [shards[index] for index in sorted(shards)]
        missing = [index for index in range(1, count + 1) if index not in shards]
        split = {"count": count, "present": sorted(shards), "missing": missing}
        firsts[ordered[0].relative] = (ordered, split)

    ids = unique_ids(firsts)
    models = []
    for relative, (items, split) in sorted(firsts.items(), key=lambda pair: ids[pair[0]]):
        first = items[0]
        summary = first.summary
        if split is not None and len(items) > 1:
            counts = [item.summary.parameter_count for item in items]
            total = sum(counts) if all(c is not None for c in counts) else None
            summary = FileSummary(**{**summary.__dict__, "parameter_count": total})
        model = Model(
            id=ids[relative],
            role=classify(summary),
            paths=[item.path for item in items],
            relative=relative,
            summary=summary,
            size_bytes=sum(item.size_bytes for item in items),
            split=split,
            target=first.target,
        )
        if split and split["missing"]:
            missing = ", ".join(map(str, split["missing"]))
            model.notes.append(f"incomplete split: shard(s) {missing} of {split['count']} missing; not served")
        for item in items:
            if item.target is not None:
                model.notes.append(f"{item.relative} is a symlink to {item.target}, outside the models folder")
        models.append(model)
    return models


def _pair_projectors(models: list[Model], projectors: list[Projector]) -> None:
    """Give each chat model the projector in its folder; with several, the one
    whose name (without the `mmproj` prefix) shares the longest prefix with it."""
    by_folder: dict[PurePath, list[Projector]] = {}
    for projector in projectors:
        by_folder.setdefault(projector.relative.parent, []).append(projector)
    for model in models:
        candidates = by_folder.get(model.relative.parent)
        if not candidates or model.role != "chat":
            continue
        name = model.id.rsplit("/", 1)[-1]
        best = max(
            sorted(candidates, key=lambda p: str(p.relative)),
            key=lambda p: _common_prefix(name, _projector_stem(p.relative.name)),
        )
        model.mmproj = best.path


def _projector_stem(name: str) -> str:
    stem = name.lower().removesuffix(GGUF_SUFFIX).removeprefix("mmproj")
    return stem.lstrip("-_.")


def _common_prefix(a: str, b: str) -> int:
    length = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        length += 1
    return length
