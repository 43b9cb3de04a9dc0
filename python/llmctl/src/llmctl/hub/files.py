"""Which files of a Hub repository make up a model: quants, split sets, byte splits, projectors.

Names follow the uploaders' conventions (bartowski, unsloth, TheBloke, mradermacher,
lmstudio-community, ggml-org): the quant ends the file stem, split sets end in
`-0000N-of-0000M.gguf`, byte splits (`.gguf-split-a`, `.gguf.part1of2`) must be joined.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from llmctl.library.ids import SPLIT_SUFFIX, model_id_for

# The quant at the end of a stem, after a separator; `UD-` (unsloth) and `i1-`
# (mradermacher imatrix) prefixes belong to it.
QUANT_AT_END = re.compile(
    r"(?:^|[-._])((?:(?:ud|i1)-)?(?:i?q\d+(?:_[a-z0-9]+)*|bf16|f16|f32|mxfp4(?:_moe)?|tq\d_\d))$",
    re.IGNORECASE,
)
QUANT_PREFIXES = ("ud-", "i1-")
BYTE_SPLIT = re.compile(r"^(?P<joined>.+\.gguf)(?:-split-(?P<letter>[a-z])|\.part(?P<index>\d+)of(?P<count>\d+))$")


@dataclass(frozen=True)
class RemoteFile:
    """One file of the repository tree at a commit."""

    path: str
    size: int
    sha256: str | None  # the LFS object id; None for files kept in git itself
    git_oid: str | None = None


@dataclass
class ModelUnit:
    """What becomes one model on disk: a single GGUF, every shard of a split set,
    or the byte-split pieces joined into one file."""

    path: str  # the file (first shard, or joined name) relative to the repository
    parts: list[RemoteFile] = field(default_factory=list)
    joined: bool = False  # byte-split pieces to concatenate into `path`
    projector: bool = False

    @property
    def size(self) -> int:
        return sum(part.size for part in self.parts)

    @property
    def quant(self) -> str | None:
        return quant_of(self.path)

    @property
    def model_id(self) -> str:
        return model_id_for(self.path)


def gguf_stem(path: str) -> str:
    """The file name without `.gguf` and without a split suffix."""
    name = PurePosixPath(path).name
    if name.lower().endswith(".gguf"):
        name = name[:-5]
    return SPLIT_SUFFIX.sub("", name)


def quant_of(path: str) -> str | None:
    found = QUANT_AT_END.search(gguf_stem(path))
    return found.group(1) if found else None


def is_safe_path(path: str) -> bool:
    """A repository path that stays inside the folder it is installed to."""
    parts = PurePosixPath(path).parts
    return bool(parts) and not path.startswith("/") and ".." not in parts and "\\" not in path and "\0" not in path


def is_projector(path: str) -> bool:
    return "mmproj" in PurePosixPath(path).name.lower()


def _is_sidecar(path: str) -> bool:
    return "imatrix" in PurePosixPath(path).name.lower()


def group_units(files: list[RemoteFile]) -> list[ModelUnit]:
    """Group the repository's GGUF files into model units (projectors included, flagged)."""
    units: dict[str, ModelUnit] = {}
    for remote in sorted(files, key=lambda f: f.path):
        byte_split = BYTE_SPLIT.match(remote.path)
        if byte_split:
            unit = units.setdefault(byte_split["joined"], ModelUnit(byte_split["joined"], joined=True))
            unit.parts.append(remote)
            continue
        if not remote.path.lower().endswith(".gguf") or _is_sidecar(remote.path):
            continue
        key = SPLIT_SUFFIX.sub("", remote.path[:-5]) if SPLIT_SUFFIX.search(remote.path[:-5]) else remote.path
        unit = units.setdefault(key, ModelUnit(remote.path, projector=is_projector(remote.path)))
        unit.parts.append(remote)
    for unit in units.values():
        unit.parts.sort(key=_part_order)
        if not unit.joined:
            unit.path = unit.parts[0].path
    return sorted(units.values(), key=lambda u: u.path)


def _part_order(remote: RemoteFile) -> tuple:
    found = BYTE_SPLIT.match(remote.path)
    if found:
        return (found["letter"] or "", int(found["index"] or 0))
    return (remote.path,)


def missing_parts(unit: ModelUnit) -> list[str]:
    """Names of the parts a split set or byte split lacks in the listing."""
    if unit.joined:
        first = BYTE_SPLIT.match(unit.parts[0].path)
        if first["count"]:
            have = {int(BYTE_SPLIT.match(p.path)["index"]) for p in unit.parts}
            return [
                f"{unit.path}.part{i}of{first['count']}" for i in range(1, int(first["count"]) + 1) if i not in have
            ]
        letters = sorted(BYTE_SPLIT.match(p.path)["letter"] for p in unit.parts)
        expected = [chr(ord("a") + i) for i in range(len(letters))]
        return [f"{unit.path}-split-{x}" for x in expected if x not in letters]
    found = SPLIT_SUFFIX.search(unit.path[:-5])
    if not found:
        return []
    count = int(found.group(2))
    prefix = unit.path[: -len(found.group(0)) - 5]
    have = {p.path for p in unit.parts}
    names = [f"{prefix}-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1)]
    return [name for name in names if name not in have]


def quant_matches(unit: ModelUnit, wanted: str) -> bool:
    """Case-insensitive and bounded: `Q4_K` selects `Q4_K` only, never `Q4_K_M`;
    `Q4_K_XL` also selects `UD-Q4_K_XL`, `Q4_K_M` also `i1-Q4_K_M`."""
    have = (unit.quant or "").lower()
    wanted = wanted.lower()
    if not have:
        stem = gguf_stem(unit.path).lower()
        return stem == wanted or any(stem.endswith(sep + wanted) for sep in "-./")
    bare = next((have[len(p) :] for p in QUANT_PREFIXES if have.startswith(p)), have)
    return wanted in (have, bare)


def model_units(units: list[ModelUnit]) -> list[ModelUnit]:
    return [u for u in units if not u.projector]


def projector_for(unit: ModelUnit, units: list[ModelUnit]) -> ModelUnit | None:
    """The vision projector closest to `unit`: in its folder, else the nearest parent
    folder; among several, the one with the model's quant, then f16, bf16, the first."""
    projectors = [u for u in units if u.projector]
    folder = PurePosixPath(unit.path).parent
    for candidate_folder in (folder, *folder.parents):
        here = [p for p in projectors if PurePosixPath(p.path).parent == candidate_folder]
        if here:
            for preferred in ((unit.quant or "").lower(), "f16", "bf16"):
                for projector in here:
                    if preferred and (projector.quant or "").lower() == preferred:
                        return projector
            return here[0]
    return None


@dataclass
class Selection:
    units: list[ModelUnit]
    unmatched: list[str]


def select(
    units: list[ModelUnit],
    quants: list[str],
    *,
    everything: bool = False,
    include: list[str] = (),
    projectors: bool = True,
) -> Selection:
    """The units a download asks for; `unmatched` names the quants nothing matched."""
    models = model_units(units)
    chosen: list[ModelUnit] = []
    unmatched = []
    if everything:
        chosen = list(models)
    for quant in quants:
        matched = [u for u in models if quant_matches(u, quant)]
        if not matched:
            unmatched.append(quant)
        chosen += matched
    for pattern in include:
        chosen += [u for u in units if any(fnmatch.fnmatchcase(p.path, pattern) for p in u.parts)]
    if projectors:
        chosen += [p for p in (projector_for(u, units) for u in chosen if not u.projector) if p is not None]
    unique = {id(u): u for u in chosen}
    return Selection(units=sorted(unique.values(), key=lambda u: u.path), unmatched=unmatched)


def unit_label(unit: ModelUnit) -> str:
    """The quant as the file name spells it (`UD-Q4_K_XL`), or the stem when it names none."""
    return unit.quant or gguf_stem(unit.path)


def available_quants(units: list[ModelUnit]) -> list[tuple[str, int, str]]:
    """(quant, total size, path) for every model unit, as the 'pick one' listing shows."""
    return [(unit_label(u), u.size, u.path) for u in model_units(units)]
