"""An offline Hugging Face Hub for tests: two loopback origins and fault injection.

The "hub" origin answers the three endpoints llmctl uses (revision, paginated tree,
resolve) with the Hub's headers and `X-Error-Code` errors; LFS files redirect to a
second origin, the "cdn" (another port), which serves bytes with Range support.
Faults, keyed by the file's path in the repository and counted in file offsets:

    hub.fail_after[path] = N      close the connection once byte N was sent (fail_times[path], default 1)
    hub.stall_after[path] = N     send up to byte N, then hang until hub.release is set, stall_seconds
                                  pass (None: no limit) or the emulator stops
    hub.ignore_range = True       answer 200 with the whole body to Range requests
    hub.corrupt.add(path)         flip one byte in the middle of the file
    hub.error_burst[path] = K     the next K requests for the file get 503
    hub.tree_page_size = 2        paginate the tree with Link: rel="next"
    hub.add_repo(..., token="t")  a gated repository: 401 GatedRepo without that bearer token

`hub.log` records every request (server, method, path, file, range, authorization,
status, bytes_sent); `hub.settled()` waits until the byte counts are final. Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from testkit.http_server import QuietHTTPServer

CHUNK = 1 << 20


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
        self.ignore_range = False
        self.corrupt: set[str] = set()
        self.error_burst: dict[str, int] = {}
        self.tree_page_size = 1000
        self.stopping = threading.Event()
        self.stalled = threading.Event()  # set when a response reached its stall point
        self.release = threading.Event()  # set to let stalled responses go on
        self._lock = threading.Lock()
        self._sending = 0  # response bodies being sent (their bytes_sent may still grow)
        self._idle = threading.Condition()
        self._servers: list[QuietHTTPServer] = []

    # -- set-up -----------------------------------------------------------------------

    def add_repo(self, repo_id: str, files: dict[str, bytes | Path], *, token: str | None = None) -> Repo:
        blobs = {path: Blob.of(content) for path, content in files.items()}
        seed = repo_id + "".join(f"{p}:{b.sha256}" for p, b in sorted(blobs.items()))
        commit = hashlib.sha1(seed.encode()).hexdigest()
        # As on the Hub: GGUF and large files live in LFS, small text files in git.
        lfs = {p for p, b in blobs.items() if ".gguf" in p or b.size > 10_000}
        repo = Repo(repo_id=repo_id, files=blobs, commit=commit, token=token, lfs=lfs)
        self.repos[repo_id] = repo
        return repo

    def start(self) -> HubEmulator:
        for role in ("hub", "cdn"):
            server = QuietHTTPServer(("127.0.0.1", 0), _Handler)
            server.daemon_threads = True
            server.emulator = self
            server.role = role
            threading.Thread(
                target=server.serve_forever, args=(0.05,), name=f"hub-emulator-{role}", daemon=True
            ).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        self.stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn_endpoint(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    def file_url(self, repo_id: str, path: str) -> str:
        return f"{self.endpoint}/{repo_id}/resolve/main/{quote(path)}"

    def requests_for(self, path: str) -> list[dict]:
        """Logged requests that carried bytes (or an error) of the file at `path`."""
        return [entry for entry in self.log if entry["file"] == path]

    def settled(self, timeout: float = 10.0) -> HubEmulator:
        """Wait until no response body is being sent: a client may hold the last bytes
        before the handler has counted them in `log`."""
        with self._idle:
            assert self._idle.wait_for(lambda: self._sending == 0, timeout), "the emulator is still sending"
        return self

    def _take(self, counter: dict[str, int], path: str) -> bool:
        with self._lock:
            if counter.get(path, 0) > 0:
                counter[path] -= 1
                return True
            return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HubEmulator/1"

    def log_message(self, *_args) -> None:  # quiet: the log list is the record
        pass

    @property
    def hub(self) -> HubEmulator:
        return self.server.emulator

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
        }
        self.hub.log.append(self.entry)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        query = parse_qs(url.query)
        if parts[0] == "cdn" and len(parts) >= 3:
            return self._cdn(parts[1], "/".join(parts[2:]), head)
        if self.server.role != "hub":
            return self._error(404, None)
        if parts[:2] == ["api", "models"] and len(parts) >= 6:
            repo = self._repo("/".join(parts[2:4]))
            if repo is None:
                return None
            if parts[4] == "revision":
                return self._revision(repo, parts[5])
            if parts[4] == "tree":
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
        if revision in ("main", repo.commit):
            return True
        self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return False

    def _revision(self, repo: Repo, revision: str) -> None:
        if not self._check_revision(repo, revision):
            return
        siblings = [{"rfilename": p} for p in sorted(repo.files)]
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
        blob = repo.files.get(path)
        self.entry["file"] = path
        if blob is None:
            return self._error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": repo.commit})
        if path in repo.lfs and self.hub.redirect != "none":
            base = self.hub.cdn_endpoint if self.hub.redirect == "cdn" else ""
            location = f"{base}/cdn/{blob.sha256}/{quote(path)}"
            return self._send_headers(302, 0, {"Location": location, **_hub_headers(repo, blob, path)})
        return self._serve(repo, path, blob, head)

    def _cdn(self, sha: str, path: str, head: bool) -> None:
        self.entry["file"] = path
        for repo in self.hub.repos.values():
            blob = repo.files.get(path)
            if blob is not None and blob.sha256 == sha:
                return self._serve(repo, path, blob, head)
        return self._error(404, None, "Not found")

    # -- bytes --------------------------------------------------------------------------

    def _serve(self, repo: Repo, path: str, blob: Blob, head: bool) -> None:
        hub = self.hub
        if hub._take(hub.error_burst, path):
            return self._error(503, None, "Service unavailable")
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
        limit, stall = end + 1, None
        if path in hub.fail_after and start < hub.fail_after[path] and hub._take(_times(hub.fail_times, path), path):
            limit = hub.fail_after[path]
            if hub.fail_times.get(path, 0) == 0:
                hub.fail_after.pop(path, None)
                hub.fail_times.pop(path, None)
        elif path in hub.stall_after and start < hub.stall_after[path]:
            stall = hub.stall_after.pop(path)
        self._send_body(blob, path, start, min(limit, stall or limit), end)
        if stall is not None:
            if self._stall():
                return self._drop()
            self._send_body(blob, path, stall, end + 1, end)
        if limit <= end:
            self._drop()
        return None

    def _stall(self) -> bool:
        """Hang until `release` is set, `stall_seconds` pass, or the emulator stops (-> True)."""
        hub = self.hub
        hub.stalled.set()
        deadline = None if hub.stall_seconds is None else time.monotonic() + hub.stall_seconds
        while not hub.stopping.is_set() and not hub.release.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            hub.stopping.wait(0.05)
        return hub.stopping.is_set()

    def _send_body(self, blob: Blob, path: str, start: int, stop: int, end: int) -> None:
        """Send bytes [start, stop) of the file; the fault knobs decide `stop`."""
        corrupt_at = blob.size // 2 if path in self.hub.corrupt else -1
        with self.hub._idle:
            self.hub._sending += 1
        try:
            with blob.open() as source:
                if blob.source is not None and corrupt_at < 0:
                    self.entry["bytes_sent"] += self.connection.sendfile(source, start, stop - start)
                    return
                source.seek(start)
                offset = start
                while offset < stop:
                    block = bytearray(source.read(min(CHUNK, stop - offset)))
                    if offset <= corrupt_at < offset + len(block):
                        block[corrupt_at - offset] ^= 0xFF
                    self.wfile.write(block)
                    self.entry["bytes_sent"] += len(block)
                    offset += len(block)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            with self.hub._idle:
                self.hub._sending -= 1
                self.hub._idle.notify_all()

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


def _times(counter: dict[str, int], path: str) -> dict[str, int]:
    counter.setdefault(path, 1)
    return counter


def _hub_headers(repo: Repo, blob: Blob, path: str) -> dict[str, str]:
    etag = blob.sha256 if path in repo.lfs else blob.git_oid
    return {
        "ETag": f'"{etag}"',
        "X-Repo-Commit": repo.commit,
        "X-Linked-Etag": f'"{etag}"',
        "X-Linked-Size": str(blob.size),
        "Content-Type": "application/octet-stream",
    }
