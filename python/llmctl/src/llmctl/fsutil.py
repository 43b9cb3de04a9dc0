"""File-system helpers every concern shares: atomic writes (a reader sees the old
content or the new, never a part), the change announcement discovery watches for,
and the space of a folder."""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], text: str, mode: int = 0o644, *, durable: bool = True) -> None:
    """Write `text` to a temporary file in the same folder, fsync it, rename it
    over `path` and fsync the folder, so the rename itself survives a crash.

    `durable=False` leaves out both fsyncs, for a file rewritten every second (a
    download's resume record): readers still see the old text or the new, but a power
    cut may bring back the old one."""
    import tempfile  # here: `llmctl status` reads folder_space and writes nothing

    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    if durable:
        fsync_dir(path.parent)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make renames and unlinks in the folder `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_if_changed(path: str | os.PathLike[str], text: str, mode: int = 0o644) -> bool:
    """Write atomically unless `path` already holds exactly `text`; True when written."""
    try:
        if Path(path).read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    write_atomic(path, text, mode)
    return True


CHANGE_MARKER = ".llmctl-changed"


def announce_change(models_dir: str | os.PathLike[str]) -> None:
    """Tell watchers of the models folder that its models changed.

    Downloads land in sub-folders (ORG/NAME/...), which a systemd path unit on the
    folder does not see; renaming a marker into the folder itself does, and starts
    discovery. Dot files are never models, so the marker is otherwise ignored."""
    import time

    write_atomic(Path(models_dir) / CHANGE_MARKER, f"{time.time():.0f}\n")


def free_bytes(path: Path) -> int:
    """Space available to this user at `path` or its nearest existing parent (statvfs
    f_bavail honours reservations and, on ZFS, the dataset quota)."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    stats = os.statvfs(probe)
    return stats.f_bavail * stats.f_frsize


@dataclass(frozen=True)
class FolderSpace:
    """Space of the models folder: used, free and size (a ZFS quota shows as the size)."""

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
