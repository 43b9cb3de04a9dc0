"""Resumable, verified, atomic installation of Hub files into a models folder.

Bytes land in `<models>/.partial/<org>--<name>/<path>.part` (same filesystem, a
dot-folder that discovery ignores) next to its resume record `<path>.part.json`
(`resume_record`): the content it is for and the byte ranges already written. The
transfer itself is `parallel.RangePool`: range requests over several connections,
each chunk written at its offset, the sha256 over the whole file checked before the
file is fsynced and renamed into place, so a `.gguf` in the models folder is always
complete. One lock per model unit keeps two runs from writing the same part.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from llmctl.fsutil import fsync_dir
from llmctl.hub.client import RepoRef
from llmctl.hub.files import ModelUnit
from llmctl.hub.hashing import CHUNK
from llmctl.hub.parallel import RangePool, identity_of, record_path, write_error
from llmctl.hub.progress import Progress
from llmctl.hub.resume_record import held_bytes

PARTIAL_DIR = ".partial"


def repo_folder(models_dir: Path, repo: str) -> Path:
    """Where a repository's files are installed: MODELS_DIR/ORG/NAME/<path in the repo>."""
    return models_dir.joinpath(*repo.split("/"))


def partial_root(models_dir: Path, repo: str) -> Path:
    return models_dir / PARTIAL_DIR / repo.replace("/", "--")


class FileLock:
    """An exclusive lock per target file (flock on a lock file in the partial folder).

    The holder unlinks the lock file before releasing it; a waiter that then gets the
    lock on an unlinked file notices (inode changed) and locks the new file.
    """

    def __init__(self, path: Path, on_wait: Callable[[], None] | None = None):
        self.path = path
        self.on_wait = on_wait
        self.fd: int | None = None

    def __enter__(self) -> FileLock:
        while True:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            except FileNotFoundError:  # another run just tidied the empty partial folder
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if self.on_wait:
                    self.on_wait()
                    self.on_wait = None
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    self.fd = fd
                    return self
            except FileNotFoundError:
                pass
            os.close(fd)

    def __exit__(self, *_exc) -> None:
        try:
            self.path.unlink()
        finally:
            os.close(self.fd)


def install(part: Path, final: Path) -> None:
    """Rename a complete, fsynced part into place and make the rename durable."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, final)
    fsync_dir(final.parent)
    record_path(part).unlink(missing_ok=True)


def download_unit(
    pool: RangePool, ref: RepoRef, unit: ModelUnit, repo_dir: Path, staging: Path, progress: Progress
) -> str:
    """Download one model unit into `repo_dir` (the files of a split set side by side,
    over the pool's connections); returns "present" or "downloaded"."""
    if _present(unit, repo_dir):
        return "present"
    with FileLock(
        staging / (unit.path + ".lock"), on_wait=lambda: progress.note(f"{unit.path}: waiting for another download")
    ):
        if _present(unit, repo_dir):  # the other download finished it
            return "present"
        if not unit.joined:
            todo = [
                (remote, staging / (remote.path + ".part"))
                for remote in unit.parts
                if not _installed(repo_dir / remote.path, remote.size)
            ]
            pool.transfer(ref, todo, lambda remote, part: install(part, repo_dir / remote.path))
            return "downloaded"
        # Byte splits: every piece verified on its own, then concatenated into one file.
        pieces = [staging / (remote.path + ".done") for remote in unit.parts]
        todo = [
            (remote, staging / (remote.path + ".part"))
            for remote, done in zip(unit.parts, pieces, strict=True)
            if not (done.is_file() and done.stat().st_size == remote.size)
        ]
        pool.transfer(ref, todo, lambda remote, part: _keep_piece(part, staging / (remote.path + ".done")))
        joined = staging / (unit.path + ".part")
        _concatenate(pieces, joined)
        install(joined, repo_dir / unit.path)
        for piece in pieces:
            piece.unlink()
        return "downloaded"


def _keep_piece(part: Path, done: Path) -> None:
    os.replace(part, done)
    record_path(part).unlink(missing_ok=True)


def _present(unit: ModelUnit, repo_dir: Path) -> bool:
    if unit.joined:
        return _installed(repo_dir / unit.path, unit.size)
    return all(_installed(repo_dir / p.path, p.size) for p in unit.parts)


def _installed(path: Path, size: int) -> bool:
    """Installed files are complete by construction (renamed in only after verification)."""
    return path.is_file() and path.stat().st_size == size


def _concatenate(pieces: list[Path], target: Path) -> None:
    try:
        with open(target, "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as source:
                    while block := source.read(CHUNK):
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
    except OSError as error:
        target.unlink(missing_ok=True)
        raise write_error(error, target) from None


def bytes_needed(ref: RepoRef, unit: ModelUnit, repo_dir: Path, staging: Path) -> int:
    """Bytes this unit still has to write to the disk (byte splits count twice: pieces, then the join)."""
    if _present(unit, repo_dir):
        return 0
    needed = 0
    for remote in unit.parts:
        if not unit.joined and _installed(repo_dir / remote.path, remote.size):
            continue
        part = staging / (remote.path + ".part")
        done = staging / (remote.path + ".done")
        # The part is sparse: its record says what it holds.
        held = done.stat().st_size if done.is_file() else held_bytes(record_path(part), part, identity_of(ref, remote))
        needed += max(remote.size - held, 0)
    return needed + (unit.size if unit.joined else 0)


def cleanup_staging(staging: Path) -> None:
    """Remove empty folders left in the partial area (best effort)."""
    for folder in sorted((p for p in staging.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        _rmdir_quiet(folder)
    _rmdir_quiet(staging)
    _rmdir_quiet(staging.parent)


def _rmdir_quiet(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()
