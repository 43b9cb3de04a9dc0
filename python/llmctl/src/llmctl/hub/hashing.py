"""The hashes a download is verified with.

`ContentHashes` is what the Hub announces a file by: the sha256 of an LFS file, the
git blob sha1 of a file kept in git itself. `prefix_hash` computes them while a
file's chunks arrive.
"""

from __future__ import annotations

import hashlib

from llmctl.hub.files import RemoteFile

CHUNK = 1 << 20  # bytes per read when hashing a file back


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
