"""An offline Hugging Face Hub for tests and benchmarks: two loopback origins, CDN limits, faults.

The "hub" origin answers the endpoints llmctl and huggingface_hub use (model info,
revision, paginated tree, resolve) with the Hub's headers and `X-Error-Code` errors;
LFS files redirect to a second origin, the "cdn" (another port), which serves bytes
with Range support (sendfile for files on disk: over 1 GiB/s on loopback).

Limits, like a CDN edge (they apply wherever file bytes are served):

    hub.rate_per_connection = B   a token bucket per TCP connection: at most B bytes/s each
    hub.max_connections = K       at most K responses sending file bytes at once; past it the
                                  request gets hub.over_limit_status (503, or 429) with Retry-After

Faults, keyed by the file's path in the repository and counted in file offsets, so a
range request is hit when its range covers the offset:

    hub.fail_after[path] = N      close the connection before byte N (fail_times[path] responses, default 1)
    hub.stall_after[path] = N     send up to byte N, then hang until hub.release is set, stall_seconds
                                  pass (None: no limit) or the emulator stops (one response)
    hub.hold_at[path] = N         every response reaching byte N hangs there (one starting past N at
                                  once) until the entry is removed, hub.release is set or the emulator stops
    hub.ignore_range = True       answer 200 with the whole body to Range requests
    hub.corrupt.add(path)         flip one byte in the middle of the file (hub.corrupt_at[path] = N: byte N)
    hub.error_burst[path] = K     the next K requests for the file get 503
    hub.change_after[path] = (N, content)
                                  once N bytes of the file were sent, the object changes in place: new
                                  content, ETag and commit, served at every URL of the file from then on
                                  (as a mirror whose object changed under a fixed URL)
    hub.tree_page_size = 2        paginate the tree with Link: rel="next"
    hub.add_repo(..., token="t")  a gated repository: 401 GatedRepo without that bearer token

`hub.stalled` is set whenever a response reaches a stall or hold point. `hub.log`
records every request (server, method, path, file, range, authorization, status,
bytes_sent, connection, started, finished); `hub.settled()` waits until the byte counts are final.
Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from testkit.http_server import QuietHTTPServer
from testkit.token_bucket import TokenBucket

CHUNK = 1 << 20
SEND_BLOCK = 4 << 20  # most bytes per sendfile call


@dataclass
class Blob:
    """A file's content: bytes in memory or a file on disk (for large benchmark files)."""

    size: int
    sha256: str
    git_oid: str
    data: bytes | None = None
    source: Path | None = None

    @classmethod
    def of(cls, content: bytes | Path) -> Blob:
        if isinstance(content, Path):
            sha, git, size = hashlib.sha256(), None, content.stat().st_size
            git = hashlib.sha1(f"blob {size}\0".encode())
            with open(content, "rb") as handle:
                while block := handle.read(CHUNK):
                    sha.update(block)
                    git.update(block)
            return cls(size=size, sha256=sha.hexdigest(), git_oid=git.hexdigest(), source=content)
        git = hashlib.sha1(f"blob {len(content)}\0".encode() + content).hexdigest()
        return cls(size=len(content), sha256=hashlib.sha256(content).hexdigest(), git_oid=git, data=content)

    def open(self):
        return open(self.source, "rb") if self.source else io.BytesIO(self.data)


@dataclass
class Repo:
    repo_id: str
    files: dict[str, Blob]
    commit: str
    token: str | None = None
    lfs: set[str] = field(default_factory=set)
    history: set[str] = field(default_factory=set)  # earlier commits (still accepted as revisions)
    retired: dict[str, str] = field(default_factory=dict)  # old sha256 -> path (old CDN URLs)


class HubEmulator:
    def __init__(self, redirect: str = "cdn"):
        assert redirect in ("cdn", "same-origin", "none")
        self.redirect = redirect
        self.repos: dict[str, Repo] = {}
        self.log: list[dict] = []
        self.fail_after: dict[str, int] = {}
        self.fail_times: dict[str, int] = {}
        self.stall_after: dict[str, int] = {}
        self.stall_seconds: float | None = None
        self.hold_at: dict[str, int] = {}
        self.ignore_range = False
        self.corrupt: set[str] = set()
        self.corrupt_at: dict[str, int] = {}
        self.error_burst: dict[str, int] = {}
        self.change_after: dict[str, tuple[int, bytes | Path]] = {}
        self.rate_per_connection: float | None = None
        self.max_connections: int | None = None
        self.over_limit_status = 503
        self.refused = 0  # requests turned away by max_connections
        self.peak_connections = 0  # most responses sending file bytes at once
        self.tree_page_size = 1000
        self.stopping = threading.Event()
        self.stalled = threading.Event()  # set when a response reached its stall point
        self.release = threading.Event()  # set to let stalled responses go on
        self._lock = threading.Lock()
        self._sending = 0  # response bodies being sent (their bytes_sent may still grow)
        self._serving = 0  # responses counted against max_connections
        self._sent: dict[str, int] = {}  # body bytes sent per file (for change_after)
        self._idle = threading.Condition()
        self._servers: list[QuietHTTPServer] = []

    # -- set-up -----------------------------------------------------------------------

    def add_repo(self, repo_id: str, files: dict[str, bytes | Path], *, token: str | None = None) -> Repo:
        blobs = {path: Blob.of(content) for path, content in files.items()}
        # As on the Hub: GGUF and large files live in LFS, small text files in git.
        lfs = {p for p, b in blobs.items() if ".gguf" in p or b.size > 10_000}
        repo = Repo(repo_id=repo_id, files=blobs, commit=_commit_of(repo_id, blobs), token=token, lfs=lfs)
        self.repos[repo_id] = repo
        return repo

    def replace_file(self, repo_id: str, path: str, content: bytes | Path) -> Blob:
        """A new version of a file: new blob and commit; the old commit and CDN URL stay
        valid but serve the new bytes (an object changed in place)."""
        repo = self.repos[repo_id]
        old = repo.files[path]
        blob = Blob.of(content)
        with self._lock:
            repo.retired[old.sha256] = path
            repo.history.add(repo.commit)
            repo.files[path] = blob
            repo.commit = _commit_of(repo_id, repo.files)
        return blob

    def start(self) -> HubEmulator:
        for role in ("hub", "cdn"):
            server = QuietHTTPServer(("127.0.0.1", 0), _Handler)
            server.emulator = self
            server.role = role
            self._servers.append(server.start(f"hub-emulator-{role}"))
        return self

    def stop(self) -> None:
        self.stopping.set()
        for server in self._servers:
            server.stop()

    @property
    def endpoint(self) -> str:
        return self._servers[0].url

    @property
    def cdn_endpoint(self) -> str:
        return self._servers[1].url

    def file_url(self, repo_id: str, path: str) -> str:
        return f"{self.endpoint}/{repo_id}/resolve/main/{quote(path)}"

    def requests_for(self, path: str) -> list[dict]:
        """Logged requests that carried bytes (or an error) of the file at `path`."""
        return [entry for entry in self.log if entry["file"] == path]

    def sent_spans(self, path: str, since: int = 0, until: int | None = None) -> list[tuple[int, int]]:
        """File byte ranges [start, stop) that GET responses for `path` sent (log entries
        since..until). Bytes in flight to a client that was killed count as sent."""
        spans = []
        for entry in self.log[since:until]:
            if entry["file"] != path or entry["method"] != "GET" or not entry["bytes_sent"]:
                continue
            start = int(entry["range"][6:].partition("-")[0]) if entry["status"] == 206 else 0
            spans.append((start, start + entry["bytes_sent"]))
        return spans

    def settled(self, timeout: float = 10.0) -> HubEmulator:
        """Wait until no response body is being sent: a client may hold the last bytes
        before the handler has counted them in `log`."""
        with self._idle:
            assert self._idle.wait_for(lambda: self._sending == 0, timeout), "the emulator is still sending"
        return self

    def _count_sent(self, path: str, n: int) -> None:
        with self._lock:
            self._sent[path] = self._sent.get(path, 0) + n

    def _apply_changes(self, path: str) -> None:
        change = self.change_after.get(path)
        if change is None or self._sent.get(path, 0) < change[0]:
            return
        self.change_after.pop(path, None)
        for repo in self.repos.values():
            if path in repo.files:
                self.replace_file(repo.repo_id, path, change[1])

    def _admit(self) -> bool:
        """Count a response against max_connections; False when it is over the cap."""
        with self._lock:
            if self.max_connections is not None and self._serving >= self.max_connections:
                self.refused += 1
                return False
            self._serving += 1
            self.peak_connections = max(self.peak_connections, self._serving)
            return True

    def _leave(self) -> None:
        with self._lock:
            self._serving -= 1

    def _take(self, counter: dict[str, int], path: str) -> bool:
        with self._lock:
            if counter.get(path, 0) > 0:
                counter[path] -= 1
                return True
            return False


class _Handler(BaseHTTPRequestHandler):
    """One per TCP connection (keep-alive requests reuse it): the token bucket lives here."""

    protocol_version = "HTTP/1.1"
    server_version = "HubEmulator/1"

    def log_message(self, *_args) -> None:  # quiet: the log list is the record
        pass

    @property
    def hub(self) -> HubEmulator:
        return self.server.emulator

    def setup(self) -> None:
        super().setup()
        self.bucket: TokenBucket | None = None

    def do_HEAD(self) -> None:
        self._route(head=True)

    def do_GET(self) -> None:
        self._route(head=False)

    def _route(self, head: bool) -> None:
        url = urlsplit(self.path)
        self.entry = {
            "server": self.server.role,
            "method": self.command,
            "path": url.path,
            "file": None,
            "range": self.headers.get("Range"),
            "authorization": self.headers.get("Authorization"),
            "accept_encoding": self.headers.get("Accept-Encoding"),
            "user_agent": self.headers.get("User-Agent"),
            "status": None,
            "bytes_sent": 0,
            "connection": self.client_address[1],
            "started": time.monotonic(),
            "finished": None,  # set when the response is complete (or the connection dropped)
        }
        self.hub.log.append(self.entry)
        try:
            return self._dispatch(url, head)
        finally:
            self.entry["finished"] = time.monotonic()

    def _dispatch(self, url, head: bool) -> None:
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        query = parse_qs(url.query)
        if parts[0] == "cdn" and len(parts) >= 3:
            return self._cdn(parts[1], "/".join(parts[2:]), head)
        if self.server.role != "hub":
            return self._error(404, None)
        if parts[:2] == ["api", "models"] and len(parts) in (4, 6):
            repo = self._repo("/".join(parts[2:4]))
            if repo is None:
                return None
            if len(parts) == 4:  # huggingface_hub's model_info / snapshot_download
                return self._revision(repo, "main", query)
            if parts[4] == "revision":
                return self._revision(repo, parts[5], query)
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "tree":
            repo = self._repo("/".join(parts[2:4]))
            if repo is None:
                return None
            return self._tree(repo, parts[5], "/".join(parts[6:]), query)
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = self._repo("/".join(parts[:2]))
            if repo is None:
                return None
            return self._resolve(repo, parts[3], "/".join(parts[4:]), head)
        return self._error(404, None)

    # -- endpoints --------------------------------------------------------------------

    def _repo(self, repo_id: str) -> Repo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(401, "RepoNotFound", "Repository not found")
            return None
        if repo.token and self.headers.get("Authorization") != f"Bearer {repo.token}":
            self._error(401, "GatedRepo", "Access to this repository is restricted")
            return None
        return repo

    def _check_revision(self, repo: Repo, revision: str) -> bool:
        if revision in ("main", repo.commit) or revision in repo.history:
            return True
        self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return False

    def _revision(self, repo: Repo, revision: str, query: dict) -> None:
        if not self._check_revision(repo, revision):
            return
        blobs = query.get("blobs", ["false"])[0].lower() == "true"
        siblings = []
        for path in sorted(repo.files):
            sibling = {"rfilename": path}
            if blobs:
                blob = repo.files[path]
                sibling.update(size=blob.size, blobId=blob.git_oid)
                if path in repo.lfs:
                    sibling["lfs"] = {"sha256": blob.sha256, "size": blob.size, "pointerSize": 134}
            siblings.append(sibling)
        self._json({"id": repo.repo_id, "modelId": repo.repo_id, "sha": repo.commit, "siblings": siblings})

    def _tree(self, repo: Repo, revision: str, under: str, query: dict) -> None:
        if not self._check_revision(repo, revision):
            return
        entries = []
        folders = set()
        for path in sorted(repo.files):
            if under and not path.startswith(under.rstrip("/") + "/"):
                continue
            for depth in range(1, path.count("/") + 1):
                folders.add("/".join(path.split("/")[:depth]))
            blob = repo.files[path]
            entry = {"type": "file", "oid": blob.git_oid, "size": blob.size, "path": path}
            if path in repo.lfs:
                entry["lfs"] = {"oid": blob.sha256, "size": blob.size, "pointerSize": 134}
            entries.append(entry)
        entries += [{"type": "directory", "oid": hashlib.sha1(f.encode()).hexdigest(), "path": f} for f in folders]
        entries.sort(key=lambda e: e["path"])
        start = int(query.get("cursor", ["0"])[0])
        page = entries[start : start + self.hub.tree_page_size]
        headers = {}
        if start + self.hub.tree_page_size < len(entries):
            next_url = (
                f"{self.hub.endpoint}/api/models/{repo.repo_id}/tree/{revision}"
                f"?recursive=true&expand=false&cursor={start + self.hub.tree_page_size}"
            )
            headers["Link"] = f'<{next_url}>; rel="next"'
        self._json(page, headers)

    def _resolve(self, repo: Repo, revision: str, path: str, head: bool) -> None:
        if not self._check_revision(repo, revision):
            return
        self.entry["file"] = path
        self.hub._apply_changes(path)
        blob = repo.files.get(path)
        if blob is None:
            return self._error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": repo.commit})
        if path in repo.lfs and self.hub.redirect != "none":
            base = self.hub.cdn_endpoint if self.hub.redirect == "cdn" else ""
            location = f"{base}/cdn/{blob.sha256}/{quote(path)}"
            return self._send_headers(302, 0, {"Location": location, **_hub_headers(repo, blob, path)})
        return self._serve(repo, path, blob, head)

    def _cdn(self, sha: str, path: str, head: bool) -> None:
        self.entry["file"] = path
        self.hub._apply_changes(path)
        for repo in self.hub.repos.values():
            blob = repo.files.get(path)
            if blob is not None and (blob.sha256 == sha or repo.retired.get(sha) == path):
                return self._serve(repo, path, blob, head)
        return self._error(404, None, "Not found")

    # -- bytes --------------------------------------------------------------------------

    def _serve(self, repo: Repo, path: str, blob: Blob, head: bool) -> None:
        hub = self.hub
        if hub._take(hub.error_burst, path):
            return self._error(503, None, "Service unavailable")
        if head:
            return self._serve_admitted(repo, path, blob, head)
        if not hub._admit():
            status = hub.over_limit_status
            return self._error(status, None, "Too many connections", {"Retry-After": "1"})
        try:
            return self._serve_admitted(repo, path, blob, head)
        finally:
            hub._leave()

    def _serve_admitted(self, repo: Repo, path: str, blob: Blob, head: bool) -> None:
        hub = self.hub
        start, end, status = 0, blob.size - 1, 200
        requested = self.headers.get("Range")
        headers = {"Accept-Ranges": "bytes", **_hub_headers(repo, blob, path)}
        if requested and not hub.ignore_range and requested.startswith("bytes="):
            first, _, last = requested[6:].partition("-")
            start = int(first)
            end = min(int(last), blob.size - 1) if last else blob.size - 1
            if start >= blob.size:
                return self._send_headers(416, 0, {"Content-Range": f"bytes */{blob.size}"}, close=False)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
        self._send_headers(status, end - start + 1, headers)
        if head:
            return None
        limit, pause, held = end + 1, None, None
        fail_at = hub.fail_after.get(path)
        if fail_at is not None and start <= fail_at <= end and hub._take(_times(hub.fail_times, path), path):
            limit = fail_at
            if hub.fail_times.get(path, 0) == 0:
                hub.fail_after.pop(path, None)
                hub.fail_times.pop(path, None)
        elif start <= hub.stall_after.get(path, -1) <= end:
            pause = hub.stall_after.pop(path)
        elif hub.hold_at.get(path, end + 1) <= end:
            pause, held = max(start, hub.hold_at[path]), path
        if not self._send_body(blob, path, start, min(limit, pause if pause is not None else limit)):
            return self._drop()
        if pause is not None:
            if self._stall(held):
                return self._drop()
            if not self._send_body(blob, path, pause, end + 1):
                return self._drop()
        if limit <= end:
            self._drop()
        return None

    def _stall(self, held: str | None = None) -> bool:
        """Hang until `release` is set, `stall_seconds` pass, the hold on the file `held`
        is lifted or the emulator stops (-> True)."""
        hub = self.hub
        hub.stalled.set()
        deadline = None if hub.stall_seconds is None else time.monotonic() + hub.stall_seconds
        while not hub.stopping.is_set() and not hub.release.is_set() and (held is None or held in hub.hold_at):
            if deadline is not None and time.monotonic() >= deadline:
                break
            hub.stopping.wait(0.05)
        return hub.stopping.is_set()

    def _send_body(self, blob: Blob, path: str, start: int, stop: int) -> bool:
        """Send bytes [start, stop) of the file (a corrupted byte flipped); False when the client left."""
        hub = self.hub
        corrupt_at = hub.corrupt_at.get(path, blob.size // 2 if path in hub.corrupt else -1)
        with hub._idle:
            hub._sending += 1
        try:
            with blob.open() as source:
                if start <= corrupt_at < stop:
                    self._send_range(source, blob, path, start, corrupt_at)
                    source.seek(corrupt_at)
                    self._send_bytes(path, bytes([source.read(1)[0] ^ 0xFF]))
                    start = corrupt_at + 1
                self._send_range(source, blob, path, start, stop)
            return True
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
            return False
        finally:
            with hub._idle:
                hub._sending -= 1
                hub._idle.notify_all()

    def _send_range(self, source, blob: Blob, path: str, start: int, stop: int) -> None:
        """sendfile for files on disk, large writes from memory; paced by the token bucket."""
        hub = self.hub
        if hub.rate_per_connection and self.bucket is None:
            self.bucket = TokenBucket(hub.rate_per_connection)
        offset = start
        while offset < stop:
            wanted = stop - offset
            if self.bucket is not None:
                wanted = self.bucket.take(min(wanted, SEND_BLOCK), hub.stopping.wait)
                if not wanted:
                    raise ConnectionResetError("the emulator stops")
            wanted = min(wanted, SEND_BLOCK)  # bytes_sent stays exact to a block when a client hangs up
            if blob.source is not None:
                sent = os.sendfile(self.connection.fileno(), source.fileno(), offset, wanted)
            else:
                sent = len(blob.data[offset : offset + wanted])
                self.wfile.write(memoryview(blob.data)[offset : offset + wanted])
            if sent == 0:
                raise ConnectionResetError("short send")
            self.entry["bytes_sent"] += sent
            hub._count_sent(path, sent)
            offset += sent

    def _send_bytes(self, path: str, data: bytes) -> None:
        self.wfile.write(data)
        self.entry["bytes_sent"] += len(data)
        self.hub._count_sent(path, len(data))

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- helpers --------------------------------------------------------------------------

    def _send_headers(self, status: int, length: int, headers: dict, close: bool = False) -> None:
        self.entry["status"] = status
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        for name, value in headers.items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
        self.end_headers()

    def _json(self, data, headers: dict | None = None) -> None:
        body = json.dumps(data).encode()
        self._send_headers(200, len(body), {"Content-Type": "application/json", **(headers or {})})
        self.wfile.write(body)

    def _error(self, status: int, code: str | None, message: str = "", headers: dict | None = None) -> None:
        body = json.dumps({"error": message or code or "error"}).encode()
        extra = {"Content-Type": "application/json", **(headers or {})}
        if code:
            extra["X-Error-Code"] = code
            extra["X-Error-Message"] = message
        self._send_headers(status, len(body), extra)
        self.wfile.write(body)


def overlap(first: list[tuple[int, int]], second: list[tuple[int, int]]) -> int:
    """Bytes of `second`'s spans that `first`'s spans already covered (sent twice)."""
    merged: list[list[int]] = []
    for start, stop in sorted(first):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return sum(max(0, min(stop, b) - max(start, a)) for start, stop in second for a, b in merged)


def _times(counter: dict[str, int], path: str) -> dict[str, int]:
    counter.setdefault(path, 1)
    return counter


def _commit_of(repo_id: str, blobs: dict[str, Blob]) -> str:
    seed = repo_id + "".join(f"{p}:{b.sha256}" for p, b in sorted(blobs.items()))
    return hashlib.sha1(seed.encode()).hexdigest()


def _hub_headers(repo: Repo, blob: Blob, path: str) -> dict[str, str]:
    etag = blob.sha256 if path in repo.lfs else blob.git_oid
    return {
        "ETag": f'"{etag}"',
        "X-Repo-Commit": repo.commit,
        "X-Linked-Etag": f'"{etag}"',
        "X-Linked-Size": str(blob.size),
        "Content-Type": "application/octet-stream",
    }
