"""Space of the models folder: used, free and size (a ZFS quota shows as the size)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class FolderSpace:
    path: str
    exists: bool
    total_bytes: int | None = None
    used_bytes: int | None = None
    free_bytes: int | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def folder_space(path: Path | str) -> FolderSpace:
    """statvfs of the file system holding `path`; on a ZFS dataset with a quota,
    f_blocks is the quota, so `total_bytes` is the quota there."""
    path = Path(path)
    if not path.is_dir():
        return FolderSpace(path=str(path), exists=False, error="missing")
    try:
        stats = os.statvfs(path)
    except OSError as error:
        return FolderSpace(path=str(path), exists=True, error=error.strerror or str(error))
    block = stats.f_frsize
    return FolderSpace(
        path=str(path),
        exists=True,
        total_bytes=stats.f_blocks * block,
        used_bytes=(stats.f_blocks - stats.f_bfree) * block,
        free_bytes=stats.f_bavail * block,
    )
