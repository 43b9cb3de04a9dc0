"""What discovery needs from one GGUF file, and a cache of it.

`summarize` reduces a parsed header to a few plain values (architecture,
quantization, pooling, classifier head, parameter count, split keys). The
`SummaryCache` keeps these per file, keyed on (device, inode, size, mtime), so a
repeated scan of an unchanged folder reads no GGUF header at all. Every entry also
records its file's path: a scan replaces the entries of the files it saw and drops
those of files gone from the folder it scanned, and keeps every other folder's.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmctl.gguf.reader import GGUFHeader, read_gguf

CACHE_ENV = "LLMCTL_CACHE_DIR"
CACHE_FILE = "gguf-summaries.json"
CACHE_VERSION = 2


@dataclass(frozen=True)
class FileSummary:
    architecture: str | None
    name: str | None
    file_type: int | None
    quantization: str | None  # the file type's name, so a cached scan needs no gguf import
    context_length: int | None
    pooling_type: int | None
    causal: bool | None
    has_classifier_head: bool
    parameter_count: int | None
    split_count: int | None
    split_no: int | None


def file_type_name(file_type: int | None) -> str | None:
    """`general.file_type` as a quantization name: 15 -> "Q4_K_M"."""
    if file_type is None:
        return None
    from gguf import LlamaFileType

    try:
        name = LlamaFileType(file_type).name
    except ValueError:
        return f"type{file_type}"
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


def summarize(header: GGUFHeader) -> FileSummary:
    def integer(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    causal = header.arch_get("attention.causal")
    tensors = header.tensors or []
    file_type = integer(header.get("general.file_type"))
    return FileSummary(
        architecture=header.architecture,
        name=header.get("general.name") if isinstance(header.get("general.name"), str) else None,
        file_type=file_type,
        quantization=file_type_name(file_type),
        context_length=integer(header.arch_get("context_length")),
        pooling_type=integer(header.arch_get("pooling_type")),
        causal=causal if isinstance(causal, bool) else None,
        has_classifier_head=any(tensor.name.startswith("cls.output") for tensor in tensors),
        parameter_count=header.parameter_count,
        split_count=integer(header.get("split.count")),
        split_no=integer(header.get("split.no")),
    )


def read_summary(path: Path) -> FileSummary:
    """Read the file's header (no short arrays inlined: discovery needs none) and summarize it."""
    return summarize(read_gguf(path, tensors=True, inline_arrays=False))


def default_cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "llmctl"


class SummaryCache:
    """A JSON file of summaries keyed on the file's identity. Best effort: a
    cache that cannot be read or written only makes the scan slower."""

    def __init__(self, directory: Path | None = None):
        self.path = (directory or default_cache_dir()) / CACHE_FILE
        self._entries: dict[str, dict[str, Any]] | None = None
        self._used: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(stat: os.stat_result) -> str:
        return f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._entries is None:
            try:
                document = json.loads(self.path.read_text(encoding="utf-8"))
                ok = isinstance(document, dict) and document.get("version") == CACHE_VERSION
                entries = document.get("entries") if ok else None
                self._entries = entries if isinstance(entries, dict) else {}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries

    def summary(self, path: Path, stat: os.stat_result) -> FileSummary:
        """The file's summary, from the cache or read now (GGUFError if unreadable)."""
        key = self.key(stat)
        where = os.path.abspath(path)
        cached = self._load().get(key)
        if isinstance(cached, dict):
            try:
                found = FileSummary(**{name: value for name, value in cached.items() if name != "path"})
            except TypeError:
                found = None
            if found is not None:
                self.hits += 1
                self._used[key] = {**cached, "path": where}
                self._dirty = self._dirty or cached.get("path") != where
                return found
        self.misses += 1
        found = read_summary(path)
        self._used[key] = {**vars(found), "path": where}  # asdict() deep-copies: slow for 1,000 files
        self._dirty = True
        return found

    def save(self, scanned: Path | None = None) -> None:
        """Write this scan's entries; keep other files' entries unless they lie in the
        folder `scanned` (they were not seen there, so the file is gone or changed)."""
        kept = self._kept(scanned)
        if not self._dirty and len(kept) + len(self._used) == len(self._load()):
            return
        from llmctl.fsutil import write_atomic

        document = {"version": CACHE_VERSION, "entries": {**kept, **self._used}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps(document, separators=(",", ":")))
        except OSError:
            pass

    def _kept(self, scanned: Path | None) -> dict[str, dict[str, Any]]:
        seen = {entry["path"] for entry in self._used.values()}
        inside = os.path.join(os.path.abspath(scanned), "") if scanned is not None else None
        kept = {}
        for key, entry in self._load().items():
            where = entry.get("path") if isinstance(entry, dict) else None
            if key in self._used or not isinstance(where, str) or where in seen:
                continue  # replaced, from an older cache without paths, or a changed file
            if inside is not None and where.startswith(inside):
                continue  # in the scanned folder but not found there
            kept[key] = entry
        return kept


class NoCache:
    """Reads every header, every time (`--no-cache`)."""

    hits = 0
    misses = 0

    def summary(self, path: Path, stat: os.stat_result) -> FileSummary:
        self.misses += 1
        return read_summary(path)

    def save(self, scanned: Path | None = None) -> None:
        pass
