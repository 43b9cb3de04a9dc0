"""Read GGUF headers from the Hugging Face Hub with HTTP Range requests.

A minimal client for `llmctl plan ORG/REPO[:QUANT]`: it lists a repository's
files (`GET {endpoint}/api/models/{repo}/tree/main?recursive=true`) and reads
byte ranges of `{endpoint}/{repo}/resolve/main/{file}`, so planning a 40 GiB
model downloads a few hundred KiB. `HF_ENDPOINT` and `HF_TOKEN` are read when
a request is made. (The download client of `llmctl pull` can replace this
module once it lands; only `HubFile` and `list_gguf_files` are used outside.)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from llmctl.errors import LlmctlError

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT = 30


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def _session():
    import requests

    session = requests.Session()
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def _get(session, url: str, **kwargs):
    import requests

    try:
        response = session.get(url, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as error:
        raise LlmctlError(f"cannot reach {url}: {error}", hint="check the network or HF_ENDPOINT") from error
    if response.status_code in (401, 403):
        raise LlmctlError(f"{url}: access denied ({response.status_code})", hint="set HF_TOKEN for gated models")
    if response.status_code == 404:
        raise LlmctlError(f"{url}: not found", hint="check the repository and file names")
    if response.status_code >= 400:
        raise LlmctlError(f"{url}: HTTP {response.status_code}")
    return response


@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int | None


def list_gguf_files(repo: str) -> list[RepoFile]:
    """Every .gguf file of the repository (sub-folders included)."""
    with _session() as session:
        response = _get(session, f"{endpoint()}/api/models/{repo}/tree/main", params={"recursive": "true"})
        try:
            entries = response.json()
        except ValueError as error:
            raise LlmctlError(f"{repo}: the Hub's file listing is not JSON") from error
    files = []
    for entry in entries if isinstance(entries, list) else []:
        path = entry.get("path", "")
        if entry.get("type") == "file" and path.lower().endswith(".gguf"):
            size = (entry.get("lfs") or {}).get("size", entry.get("size"))
            files.append(RepoFile(path, size if isinstance(size, int) else None))
    return files


class HubFile:
    """A ByteSource over one Hub file; counts the bytes it fetched."""

    def __init__(self, repo: str, path: str, size: int | None = None):
        self.repo = repo
        self.path = path
        self.name = f"{repo}/{path}"
        self.url = f"{endpoint()}/{repo}/resolve/main/{path}"
        self.bytes_fetched = 0
        self.requests = 0
        self._size = size
        self._session = _session()

    def close(self) -> None:
        self._session.close()

    def size(self) -> int:
        if self._size is None:
            self.read_at(0, 1)  # the size comes back in Content-Range
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        headers = {"Range": f"bytes={offset}-{offset + length - 1}"}
        response = _get(self._session, self.url, headers=headers, stream=True)
        with response:
            if response.status_code != 206:
                raise LlmctlError(
                    f"{self.url}: the server ignored the Range request (HTTP {response.status_code})",
                    hint="plan needs a server that supports HTTP Range; download the file and plan it locally",
                )
            total = re.search(r"/(\d+)\s*$", response.headers.get("Content-Range", ""))
            if total:
                self._size = int(total[1])
            data = response.raw.read(length, decode_content=True)
        self.requests += 1
        self.bytes_fetched += len(data)
        return data
