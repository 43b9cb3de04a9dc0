"""Append received blocks to a file while a second thread hashes them.

Receiving, writing and hashing one after the other caps a download at about a third
of what the network and disk can do; here the hash runs beside the write (hashlib and
os.write release the GIL on large buffers), and writeback of finished ranges starts
early so the final fsync has little left to wait for.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from pathlib import Path

WRITEBACK_EVERY = 64 << 20


class HashingAppender:
    def __init__(self, path: Path, hashes):
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
