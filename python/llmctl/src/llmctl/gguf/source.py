"""Where the bytes of a GGUF header come from, and the bounded window the reader
parses them through.

A `ByteSource` is a local file (`FileSource`, positioned reads) or anything that can
read a byte range (the planner reads Hub files over HTTP Range requests). `Cursor`
grows a window over the start of the source on demand and checks every length against
the bytes left before it reads, so a corrupt count is a `GGUFError`, not a read of
gigabytes.
"""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path
from typing import Protocol

from llmctl.errors import GGUFError

FIRST_READ = 1 << 16


class ByteSource(Protocol):
    """Random-access bytes: a local file or a remote file read by ranges."""

    name: str

    def size(self) -> int: ...

    def read_at(self, offset: int, length: int) -> bytes: ...


class FileSource:
    """A local file, read with positioned reads (no mmap: the file may be huge
    and the header is all we want)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.name = str(path)
        self._fd: int | None = None

    def __enter__(self) -> FileSource:
        try:
            mode = os.stat(self.path).st_mode
        except OSError as error:
            raise GGUFError(self.name, f"cannot be read: {error.strerror or error}") from error
        if stat.S_ISDIR(mode):
            raise GGUFError(self.name, "is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise GGUFError(self.name, "is not a regular file")
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as error:
            raise GGUFError(self.name, f"cannot be read: {error.strerror or error}") from error
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def read_at(self, offset: int, length: int) -> bytes:
        try:
            return os.pread(self._fd, length, offset)
        except OSError as error:
            raise GGUFError(self.name, f"read failed: {error.strerror or error}", offset) from error


class Cursor:
    """A growing window over the start of a `ByteSource`, parsed with struct."""

    def __init__(self, source: ByteSource, byte_order: str = "<"):
        self.source = source
        self.name = source.name
        self.file_size = source.size()
        self.buffer = b""
        self.pos = 0
        self.order = byte_order
        self.bytes_read = 0
        # Arrays up to this many items are materialised; the reader sets them.
        self.max_inline_numeric = 0
        self.max_inline_strings = 0

    def remaining(self) -> int:
        return self.file_size - self.pos

    def ensure(self, end: int, what: str) -> None:
        """Make bytes up to `end` available or fail: the file ends before `what`."""
        if end <= len(self.buffer):
            return
        if end > self.file_size:
            raise GGUFError(
                self.name,
                f"truncated: expected {what} ({end - self.pos} bytes) but the file ends after {self.file_size} bytes",
                self.pos,
            )
        want = max(end - len(self.buffer), len(self.buffer), FIRST_READ)
        want = min(want, self.file_size - len(self.buffer))
        chunk = self.source.read_at(len(self.buffer), want)
        self.bytes_read += len(chunk)
        if len(chunk) < end - len(self.buffer):
            raise GGUFError(self.name, f"truncated: short read while reading {what}", len(self.buffer) + len(chunk))
        self.buffer += chunk

    def unpack(self, code: str, size: int, what: str):
        self.ensure(self.pos + size, what)
        (value,) = struct.unpack_from(self.order + code, self.buffer, self.pos)
        self.pos += size
        return value

    def u32(self, what: str) -> int:
        return self.unpack("I", 4, what)

    def u64(self, what: str) -> int:
        return self.unpack("Q", 8, what)

    def string(self, what: str, limit: int | None = None) -> str:
        start = self.pos
        length = self.u64(f"length of {what}")
        if limit is not None and length > limit:
            raise GGUFError(self.name, f"{what} is {length} bytes long, more than the {limit} allowed", start)
        if length > self.remaining():
            raise GGUFError(
                self.name, f"{what} claims {length} bytes but only {self.remaining()} remain in the file", start
            )
        self.ensure(self.pos + length, what)
        raw = self.buffer[self.pos : self.pos + length]
        self.pos += length
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise GGUFError(self.name, f"{what} is not valid UTF-8", start) from error

    def skip_strings(self, count: int, what: str) -> None:
        """Walk `count` length-prefixed strings without decoding them."""
        unpack = struct.Struct(self.order + "Q").unpack_from
        pos, left = self.pos, count
        while left:
            buffer = self.buffer
            # Fast path: every string takes at least 8 bytes, so this many may start
            # inside the buffer; a long one pushes the next past its end, where
            # unpack raises and `index` says how many were walked.
            chunk = min(left, max((len(buffer) - pos) // 8, 0))
            index = 0
            try:
                for index in range(chunk):  # noqa: B007 - read in the except clause
                    (length,) = unpack(buffer, pos)
                    pos += 8 + length
                left -= chunk
            except (struct.error, OverflowError):
                left -= index
            if left and pos + 8 > len(buffer):
                if pos + 8 > self.file_size:
                    raise GGUFError(
                        self.name, f"truncated: {what} still has {left} of {count} strings to go", self.file_size
                    )
                self.pos = pos
                self.ensure(min(max(pos + 8, 2 * len(buffer)), self.file_size), what)
        if pos > self.file_size:
            raise GGUFError(self.name, f"truncated: the last string of {what} runs past the end", self.file_size)
        self.pos = pos
