"""The hashes a download is verified with, and the appender that computes them.

`ContentHashes` is what the Hub announces a file by: the sha256 of an LFS file, the
git blob sha1 of a file kept in git itself. `HashingAppender` appends received blocks
to a file while a second thread hashes them: receiving, writing and hashing one after
the other caps a download at about a third of what the network and disk can do; here
the hash runs beside the write (hashlib and os.write release the GIL on large
buffers), and writeback of finished ranges starts early so the final fsync has little
left to wait for.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
from pathlib import Path

from llmctl.hub.files import RemoteFile

WRITEBACK_EVERY = 64 << 20
CHUNK = 1 << 20


def hash_file(path: Path, hasher) -> int:
    """Feed the file's bytes to `hasher`; returns how many there were."""
    total = 0
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            hasher.update(block)
            total += len(block)
    return total


class ContentHashes:
    """sha256 of the content, and the git blob sha1 for files kept in git itself."""

    def __init__(self, remote: RemoteFile):
        self.sha256 = hashlib.sha256()
        self.git = None if remote.sha256 else hashlib.sha1(f"blob {remote.size}\0".encode(), usedforsecurity=False)
        self.remote = remote

    def update(self, data) -> None:
        self.sha256.update(data)
        if self.git is not None:
            self.git.update(data)

    def mismatch(self) -> tuple[str, str] | None:
        """(expected, got) when the content is not what the Hub announced."""
        if self.remote.sha256:
            got = self.sha256.hexdigest()
            return None if got == self.remote.sha256 else (f"sha256 {self.remote.sha256}", f"sha256 {got}")
        if self.remote.git_oid:
            got = self.git.hexdigest()
            return None if got == self.remote.git_oid else (f"git blob {self.remote.git_oid}", f"git blob {got}")
        return None


class HashingAppender:
    def __init__(self, path: Path, hashes: ContentHashes):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.hashes = hashes
        self.blocks: queue.Queue = queue.Queue(maxsize=64)
        self.offset = os.fstat(self.fd).st_size
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._hash_blocks, name="llmctl-hash", daemon=True)
        self.thread.start()

    def write(self, block: bytes) -> None:
        view = memoryview(block)
        while view:
            view = view[os.write(self.fd, view) :]
        self.blocks.put(block)

    def close(self) -> None:
        """Wait until every written block is hashed; the hashes then cover the whole file."""
        self.blocks.put(None)
        self.thread.join()
        os.close(self.fd)
        if self.error is not None:
            raise self.error

    def _hash_blocks(self) -> None:
        written_back = self.offset
        while (block := self.blocks.get()) is not None:
            if self.error is not None:
                continue  # keep draining so the writer never blocks on a full queue
            try:
                self.hashes.update(block)
            except Exception as error:  # surfaced by close()
                self.error = error
                continue
            self.offset += len(block)
            if self.offset - written_back >= WRITEBACK_EVERY:
                # Starts writeback of the finished range without waiting for it (Linux);
                # only a hint, so a filesystem that refuses it changes nothing.
                with contextlib.suppress(OSError):
                    os.posix_fadvise(self.fd, written_back, self.offset - written_back, os.POSIX_FADV_DONTNEED)
                written_back = self.offset

    def __enter__(self) -> HashingAppender:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
