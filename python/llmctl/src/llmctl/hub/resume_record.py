"""The resume record of a staged file: which bytes of the part are already written.

`<path>.part.json` beside the part names the content (repo, commit, path, size,
sha256 or git blob id), the ETag the server gave its bytes, and the byte ranges the
part holds: finished chunks and the written start of chunks in flight. A later run
fetches only the gaps; a record naming other content (or another ETag) is discarded
with its part, so bytes of two versions are never mixed.

The record is replaced atomically but not fsynced: after a SIGKILL the page cache
still holds every byte it counts; after a power cut a missing write shows up in the
sha256 over the whole file, checked before the file is installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from llmctl.fsutil import write_atomic

IDENTITY = ("repo", "path", "size", "sha256", "git_oid")
FORMAT = 2  # 1: a contiguous part without "done" (llmctl before parallel ranges)


@dataclass
class ResumeRecord:
    path: Path
    identity: dict
    etag: str | None = None
    done: list[list[int]] = field(default_factory=list)  # sorted, merged [start, stop) ranges
    resumed: bool = False  # the part was started by an earlier run

    @classmethod
    def open(cls, path: Path, identity: dict, part: Path) -> ResumeRecord:
        """The record for `identity`: the one on disk when it names the same content
        (its part kept), else a new one (the part, if any, to be discarded)."""
        known = _read(path)
        if known is None or any(known.get(k) != identity[k] for k in IDENTITY) or not part.exists():
            return cls(path, identity)
        if "done" in known:
            done = [[int(a), int(b)] for a, b in known["done"] if 0 <= int(a) < int(b) <= identity["size"]]
        else:  # format 1: the part held a prefix, appended to
            done = [[0, min(part.stat().st_size, identity["size"])]]
        record = cls(path, identity, etag=known.get("etag"), resumed=True)
        for start, stop in done:
            record.add(start, stop)
        return record

    def add(self, start: int, stop: int) -> None:
        """Count [start, stop) as written (merged with its neighbours)."""
        if start >= stop:
            return
        merged: list[list[int]] = []
        for a, b in sorted([*self.done, [start, stop]]):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.done = merged

    def held(self) -> int:
        return sum(b - a for a, b in self.done)

    def prefix(self) -> int:
        """End of the written run that starts at byte 0 (what can be hashed in order)."""
        return self.done[0][1] if self.done and self.done[0][0] == 0 else 0

    def gaps(self) -> list[list[int]]:
        """The ranges still to fetch, in file order."""
        gaps, position = [], 0
        for a, b in self.done:
            if a > position:
                gaps.append([position, a])
            position = b
        if position < self.identity["size"]:
            gaps.append([position, self.identity["size"]])
        return gaps

    def save(self, extra: list[tuple[int, int]] = ()) -> None:
        """Write the record, counting `extra` ranges (the written start of chunks in flight) too."""
        done = ResumeRecord(self.path, self.identity, done=[list(r) for r in self.done])
        for start, stop in extra:
            done.add(start, stop)
        text = json.dumps({"format": FORMAT, **self.identity, "etag": self.etag, "done": done.done})
        write_atomic(self.path, text, durable=False)


def held_bytes(record_path: Path, part: Path, identity: dict) -> int:
    """Bytes of the part a record for `identity` counts as written (0 without one)."""
    return ResumeRecord.open(record_path, identity, part).held()


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
