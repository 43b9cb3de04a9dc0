"""Model IDs derived from GGUF file names.

The base rule (`model_id_for`): the file name, lower-cased, without `.gguf` and
without a split suffix `-00001-of-00003`; the quantization stays in the name, so
`Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf` is `meta-llama-3.1-8b-instruct-q4_k_m`.
The same file always gets the same ID, whatever else is in the folder.

`unique_ids` resolves collisions (the same file name in two sub-folders)
deterministically: every colliding file is prefixed with its sub-folder path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import PurePath

GGUF_SUFFIX = ".gguf"
# llama.cpp's gguf-split names shards "%s-%05d-of-%05d.gguf".
SPLIT_PATTERN = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)
# The same suffix on a name without `.gguf` (Hub paths are matched before download).
SPLIT_SUFFIX = re.compile(r"-(\d{5})-of-(\d{5})$", re.IGNORECASE)
# Characters an ID keeps verbatim; anything else (spaces, quotes, `$`, `{`, `/`,
# control characters) becomes "-", so an ID is safe in a URL path, a YAML key and
# never looks like a llama-swap macro `${...}`.
_UNSAFE_ID_CHARS = re.compile(r"[^\w.+@=~-]+")


def split_parts(name: str) -> tuple[str, int, int] | None:
    """(stem, index, count) when `name` is a split shard's file name."""
    match = SPLIT_PATTERN.match(name)
    if not match:
        return None
    return match["stem"], int(match["index"]), int(match["count"])


def model_id_for(path: str | os.PathLike[str]) -> str:
    """The base model ID of a GGUF file: lower-cased name without `.gguf` and split suffix."""
    name = PurePath(path).name
    parts = split_parts(name)
    if parts:
        stem = parts[0]
    elif name.lower().endswith(GGUF_SUFFIX):
        stem = name[: -len(GGUF_SUFFIX)]
    else:
        stem = name
    return stem.lower()


def safe_id(model_id: str) -> str:
    """`model_id` with every run of unsafe characters replaced by "-"."""
    cleaned = _UNSAFE_ID_CHARS.sub("-", model_id).strip("-")
    return cleaned or "model"


def unique_ids(relative_paths: Iterable[PurePath]) -> dict[PurePath, str]:
    """A safe, unique ID for each model (its first file's path relative to the
    models folder). Colliding IDs are prefixed with their sub-folder path
    (`sub/dir/name`); a model at the top level keeps the bare ID. Still-equal IDs
    (names that differ only in case or unsafe characters) get `-2`, `-3`, ... in
    path order, so the result does not depend on the order of the input."""
    paths = sorted(set(relative_paths), key=lambda p: p.as_posix())
    base = {path: safe_id(model_id_for(path)) for path in paths}
    counts: dict[str, int] = {}
    for model_id in base.values():
        counts[model_id] = counts.get(model_id, 0) + 1
    result: dict[PurePath, str] = {}
    for path in paths:
        model_id = base[path]
        if counts[model_id] > 1 and len(path.parts) > 1:
            folder = "/".join(safe_id(part.lower()) for part in path.parts[:-1])
            model_id = f"{folder}/{model_id}"
        result[path] = model_id
    taken: set[str] = set()
    for path in paths:
        model_id, suffix = result[path], 2
        while model_id in taken:
            model_id = f"{result[path]}-{suffix}"
            suffix += 1
        taken.add(model_id)
        result[path] = model_id
    return result
