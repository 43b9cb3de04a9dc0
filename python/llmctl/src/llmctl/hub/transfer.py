"""Resumable, verified, atomic file transfer from the Hub into a models folder.

Bytes land in `<models>/.partial/<org>--<name>/<path>.part` (same filesystem, a
dot-folder that discovery ignores) next to a sidecar `<path>.part.json` recording the
commit, the expected sha256 (ETag) and size. A later run (or a retry in this run)
re-hashes what the part holds and asks for the rest with `Range: bytes=N-`. The
sha256 is computed while bytes arrive and checked before the file is fsynced and
renamed into place, so a `.gguf` in the models folder is always complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from llmctl.errors import NO_SPACE, HubError, LlmctlError, from_os_error
from llmctl.fsutil import fsync_dir, write_atomic
from llmctl.hub.client import HubClient, RepoRef, TransientError, backoff
from llmctl.hub.files import ModelUnit, RemoteFile
from llmctl.hub.hashing import CHUNK, ContentHashes, HashingAppender, hash_file
from llmctl.hub.progress import Progress

PARTIAL_DIR = ".partial"
MAX_FAILURES = 8  # consecutive failed attempts without progress


@dataclass(frozen=True)
class Sidecar:
    repo: str
    commit: str
    path: str
    size: int
    sha256: str | None
    git_oid: str | None


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


class _PartState:
    """What the part file holds: its size and the running hashes (kept across retries)."""

    def __init__(self, part: Path, remote: RemoteFile):
        self.part = part
        self.remote = remote
        self.hashes = ContentHashes(remote)
        self.have = hash_file(part, self.hashes) if part.exists() else 0
        if self.have > remote.size:
            self.restart()

    def restart(self) -> None:
        self.part.write_bytes(b"")
        self.have, self.hashes = 0, ContentHashes(self.remote)


def fetch_to_part(client: HubClient, ref: RepoRef, remote: RemoteFile, part: Path, progress: Progress) -> None:
    """Bring `part` to the full, verified content of `remote` (resuming what it holds)."""
    sidecar_path = part.with_name(part.name + ".json")
    sidecar = asdict(Sidecar(ref.repo, ref.commit, remote.path, remote.size, remote.sha256, remote.git_oid))
    known = _read_sidecar(sidecar_path)
    # Bytes of another version are never mixed in: compare what identifies the content.
    if known is None or any(known.get(k) != sidecar[k] for k in ("repo", "path", "size", "sha256", "git_oid")):
        part.unlink(missing_ok=True)
        try:
            part.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(sidecar_path, json.dumps(sidecar))
        except OSError as error:
            raise _write_error(error, sidecar_path) from None
    state = _PartState(part, remote)
    progress.start_file(remote.path, remote.size, state.have)
    url = client.file_url(ref, remote.path)
    failures = 0
    while state.have < remote.size:
        before = state.have
        try:
            _receive(client, url, state, progress)
        except TransientError as error:
            failures = 0 if state.have > before else failures + 1
            if failures >= MAX_FAILURES:
                raise HubError(
                    f"{remote.path}: {error}; gave up after {failures} attempts without progress",
                    hint=f"run the command again: it resumes from the {state.have} bytes kept in {part.parent}",
                ) from None
            progress.note(f"{remote.path}: {error}; resuming at byte {state.have}")
            time.sleep(backoff(failures))
    mismatch = state.hashes.mismatch()
    if mismatch:
        part.unlink(missing_ok=True)
        sidecar_path.unlink(missing_ok=True)
        raise HubError(
            f"{remote.path}: checksum mismatch: the Hub announced {mismatch[0]}, the downloaded bytes have "
            f"{mismatch[1]}; the file was discarded and nothing was installed",
            hint="run the command again to download it afresh; if it repeats, a mirror or proxy corrupts data",
        )
    with open(part, "rb+") as handle:
        os.fsync(handle.fileno())


def _receive(client: HubClient, url: str, state: _PartState, progress: Progress) -> None:
    """One request: append what the server sends to the part."""
    import requests
    import urllib3

    remote = state.remote
    headers = {"Range": f"bytes={state.have}-"} if state.have else {}
    response = client.get(url, headers=headers, stream=True, what=remote.path)
    with response:
        if response.status_code == 416:
            return _restart(state, progress, "the server refused the range")
        if state.have and response.status_code == 206:
            if not response.headers.get("Content-Range", "").startswith(f"bytes {state.have}-"):
                return _restart(state, progress, "the server answered another range")
        elif state.have:  # 200: the server ignored Range, its body starts at byte 0
            _restart(state, progress, "the server ignored Range")
        with HashingAppender(state.part, state.hashes) as appender:
            read = response.raw.read1
            while state.have <= remote.size:
                try:
                    block = read(CHUNK)
                except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as error:
                    raise TransientError(f"connection lost ({type(error).__name__})") from None
                if not block:
                    break
                try:
                    appender.write(block)
                except OSError as error:
                    raise _write_error(error, state.part) from None
                state.have += len(block)
                progress.advance(len(block))
    if state.have > remote.size:
        return _restart(state, progress, f"the server sent more than {remote.size} bytes")
    if state.have < remote.size:
        raise TransientError(f"the connection closed after byte {state.have} of {remote.size}")
    return None


def _restart(state: _PartState, progress: Progress, why: str) -> None:
    progress.note(f"{state.remote.path}: {why}; restarting from byte 0")
    state.restart()
    progress.restart_file()


def _write_error(error: OSError, part: Path) -> LlmctlError:
    if error.errno in NO_SPACE:
        hint = f"free some space (the partial file in {part.parent} is kept and the next run resumes it)"
        return from_os_error(error, f"writing {part.name}", hint)
    return LlmctlError(f"cannot write {part}: {error.strerror}")


def _read_sidecar(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def install(part: Path, final: Path) -> None:
    """Rename a complete, fsynced part into place and make the rename durable."""
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, final)
    fsync_dir(final.parent)
    part.with_name(part.name + ".json").unlink(missing_ok=True)


def download_unit(
    client: HubClient, ref: RepoRef, unit: ModelUnit, repo_dir: Path, staging: Path, progress: Progress
) -> str:
    """Download one model unit into `repo_dir`; returns "present" or "downloaded"."""
    if _present(unit, repo_dir):
        return "present"
    with FileLock(
        staging / (unit.path + ".lock"), on_wait=lambda: progress.note(f"{unit.path}: waiting for another download")
    ):
        if _present(unit, repo_dir):  # the other download finished it
            return "present"
        if not unit.joined:
            for remote in unit.parts:
                if _installed(repo_dir / remote.path, remote.size):
                    continue
                part = staging / (remote.path + ".part")
                fetch_to_part(client, ref, remote, part, progress)
                install(part, repo_dir / remote.path)
                progress.finish_file(remote.path)
            return "downloaded"
        # Byte splits: every piece verified on its own, then concatenated into one file.
        pieces = []
        for remote in unit.parts:
            piece = staging / (remote.path + ".part")
            done = staging / (remote.path + ".done")
            if not (done.is_file() and done.stat().st_size == remote.size):
                fetch_to_part(client, ref, remote, piece, progress)
                os.replace(piece, done)
                piece.with_name(piece.name + ".json").unlink(missing_ok=True)
            progress.finish_file(remote.path)
            pieces.append(done)
        joined = staging / (unit.path + ".part")
        _concatenate(pieces, joined)
        install(joined, repo_dir / unit.path)
        for piece in pieces:
            piece.unlink()
        return "downloaded"


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
        raise _write_error(error, target) from None


def bytes_needed(unit: ModelUnit, repo_dir: Path, staging: Path) -> int:
    """Bytes this unit still has to write to the disk (byte splits count twice: pieces, then the join)."""
    if _present(unit, repo_dir):
        return 0
    needed = 0
    for remote in unit.parts:
        if not unit.joined and _installed(repo_dir / remote.path, remote.size):
            continue
        part = staging / (remote.path + ".part")
        done = staging / (remote.path + ".done")
        held = done.stat().st_size if done.is_file() else part.stat().st_size if part.is_file() else 0
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
