"""A small Hugging Face Hub client over plain HTTP (requests).

Three endpoints are enough (shared reference hf-hub-download.md §7): the revision
(-> commit), the recursive tree at that commit (paginated with `Link: rel="next"`),
and `/{repo}/resolve/{commit}/{path}`, which redirects LFS files to a CDN.
Redirects are followed here, not by requests: `Authorization` is dropped as soon as
a hop leaves the Hub's origin (scheme, host and port), so the token never reaches a CDN.
The token is never printed or logged.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import llmctl
from llmctl.errors import NETWORK_HINT, HubError, LlmctlError
from llmctl.hub.files import RemoteFile, is_safe_path

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT = (10.0, 60.0)  # connect, read (a stalled transfer fails after a minute and is resumed)
MAX_REDIRECTS = 10
TOKEN_HINT = "set HF_TOKEN, pass --token-file FILE, or log in with `hf auth login` (writes $HF_HOME/token)"


def hub_endpoint() -> str:
    """`HF_ENDPOINT`, read when called (tests point it at an emulator)."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def find_token(token_file: str | os.PathLike[str] | None = None) -> str | None:
    """The token from `--token-file`, `HF_TOKEN`, or the usual token file (`$HF_TOKEN_PATH`,
    `$HF_HOME/token`, `~/.cache/huggingface/token`)."""
    if token_file is not None:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise LlmctlError(f"cannot read the token file {token_file}: {error.strerror}") from error
        if not token:
            raise LlmctlError(f"the token file {token_file} is empty")
        return token
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        if os.environ.get(name, "").strip():
            return os.environ[name].strip()
    hf_home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    path = Path(os.environ.get("HF_TOKEN_PATH") or hf_home / "token")
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


@dataclass(frozen=True)
class RepoRef:
    repo: str
    commit: str


class TransientError(Exception):
    """A failure worth retrying: connection trouble or a 5xx answer. Private to
    llmctl.hub: the retry loops here turn it into a HubError before it leaves."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status, when the server answered
        self.retry_after = retry_after


@dataclass(frozen=True)
class FileMetadata:
    """What the Hub's resolve answer says of a file (as `hf_hub_download` reads it)."""

    etag: str | None  # sha256 for LFS files, git blob id otherwise
    size: int | None
    commit: str | None


class HubClient:
    def __init__(self, *, endpoint: str | None = None, token: str | None = None):
        import requests

        self.endpoint = (endpoint or hub_endpoint()).rstrip("/")
        self._token = token
        self.session = requests.Session()
        # Redirects are ours (see get); identity keeps byte offsets meaningful for Range.
        # llmctl.__version__ is read here, not at import: it scans the installed metadata.
        user_agent = f"llmctl/{llmctl.__version__}"
        self.session.headers.update({"User-Agent": user_agent, "Accept-Encoding": "identity"})
        self.session.trust_env = True

    def fork(self) -> HubClient:
        """A client of its own (a requests session is not shared between threads)."""
        return HubClient(endpoint=self.endpoint, token=self._token)

    def __repr__(self) -> str:  # never show the token
        return f"HubClient({self.endpoint!r}, token={'yes' if self._token else 'no'})"

    # -- HTTP -------------------------------------------------------------------------

    def get(self, url: str, *, headers: dict[str, str] | None = None, stream: bool = False, what: str = ""):
        """GET `url` following redirects; Authorization only while on the Hub's origin.

        Raises TransientError for connection errors and 5xx, HubError for other errors.
        """
        import requests

        hub_origin = origin(self.endpoint)
        for _ in range(MAX_REDIRECTS + 1):
            request_headers = dict(headers or {})
            if self._token and origin(url) == hub_origin:
                request_headers["Authorization"] = f"Bearer {self._token}"
            try:
                response = self.session.get(
                    url, headers=request_headers, stream=stream, allow_redirects=False, timeout=TIMEOUT
                )
            except requests.RequestException as error:
                raise TransientError(f"{type(error).__name__} talking to {url_host(url)}") from None
            if response.is_redirect:
                url = urljoin(url, response.headers["Location"])
                response.close()
                continue
            if response.status_code >= 500 or response.status_code == 429:
                response.close()
                raise TransientError(
                    f"HTTP {response.status_code} from {url_host(url)}",
                    status=response.status_code,
                    retry_after=_seconds(response.headers.get("Retry-After")),
                )
            if response.status_code >= 400 and response.status_code != 416:
                error = self._error(response, what or url)
                response.close()
                raise error
            return response
        raise HubError(f"too many redirects fetching {what or url}")

    def get_with_retries(self, url: str, *, what: str, attempts: int = 5, **kwargs):
        for attempt in range(attempts):
            try:
                return self.get(url, what=what, **kwargs)
            except TransientError as error:
                if attempt == attempts - 1:
                    raise HubError(f"{what}: {error} (gave up after {attempts} attempts)", hint=NETWORK_HINT) from None
                time.sleep(backoff(attempt))
        raise AssertionError("unreachable")

    def _error(self, response, what: str) -> HubError:
        code = response.headers.get("X-Error-Code", "")
        status = response.status_code
        if code == "GatedRepo" or (status in (401, 403) and self._token is None and code != "RepoNotFound"):
            return HubError(f"{what}: access denied (HTTP {status}, gated repository)", hint=TOKEN_HINT)
        if code == "RepoNotFound" or status == 401:
            hint = "check the repository name" + ("" if self._token else f"; if it is private, {TOKEN_HINT}")
            return HubError(f"{what}: repository not found (HTTP {status})", hint=hint)
        if code == "RevisionNotFound":
            return HubError(f"{what}: revision not found", hint="check --revision (a branch, tag or commit)")
        if code == "EntryNotFound":
            return HubError(f"{what}: file not found in the repository")
        if status == 403:
            return HubError(f"{what}: access denied (HTTP 403)", hint=TOKEN_HINT)
        return HubError(f"{what}: HTTP {status} from {url_host(response.url)}")

    # -- API --------------------------------------------------------------------------

    def resolve_revision(self, repo: str, revision: str = "main") -> RepoRef:
        url = f"{self.endpoint}/api/models/{repo}/revision/{quote(revision, safe='')}"
        data = _json(self.get_with_retries(url, what=f"{repo}@{revision}"), dict, f"{repo}@{revision}")
        commit = data.get("sha")
        if not commit:
            raise HubError(f"{repo}@{revision}: the Hub's answer has no commit (sha)")
        return RepoRef(repo=data.get("id", repo), commit=commit)

    def list_files(self, ref: RepoRef) -> list[RemoteFile]:
        """Every file of the repository at the commit, following the tree's pagination."""
        url = f"{self.endpoint}/api/models/{ref.repo}/tree/{ref.commit}?recursive=true&expand=false"
        files = []
        while url:
            response = self.get_with_retries(url, what=f"{ref.repo} file listing")
            for entry in _json(response, list, f"{ref.repo} file listing"):
                if entry.get("type") != "file":
                    continue
                if not is_safe_path(entry["path"]):
                    raise HubError(f"{ref.repo}: the file listing has an unsafe path {entry['path']!r}; refusing it")
                lfs = entry.get("lfs") or {}
                files.append(
                    RemoteFile(
                        path=entry["path"], size=int(entry["size"]), sha256=lfs.get("oid"), git_oid=entry.get("oid")
                    )
                )
            url = response.links.get("next", {}).get("url")
        return files

    def file_url(self, ref: RepoRef, path: str) -> str:
        """The download URL of a file at a commit (immutable)."""
        return f"{self.endpoint}/{ref.repo}/resolve/{ref.commit}/{quote(path)}"

    def file_metadata(self, url: str) -> FileMetadata:
        """HEAD the resolve URL without following its redirect: the Hub's own answer
        carries the file's ETag, size and commit."""
        import requests

        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            response = self.session.head(url, headers=headers, allow_redirects=False, timeout=TIMEOUT)
        except requests.RequestException as error:
            raise TransientError(f"{type(error).__name__} talking to {url_host(url)}") from None
        if response.status_code >= 400:
            raise self._error(response, url)
        etag = response.headers.get("X-Linked-Etag") or response.headers.get("ETag")
        size = response.headers.get("X-Linked-Size")
        return FileMetadata(
            etag=clean_etag(etag), size=int(size) if size else None, commit=response.headers.get("X-Repo-Commit")
        )

    def open_range(self, url: str, start: int, length: int) -> bytes:
        """`length` bytes of `url` from offset `start` (fewer at the end of the file),
        e.g. a remote GGUF header. Retries transient failures."""
        headers = {"Range": f"bytes={start}-{start + length - 1}"}
        with self.get_with_retries(url, what=url, headers=headers, stream=True) as response:
            if response.status_code == 416:
                return b""
            if response.status_code == 206:
                return response.raw.read(length)
            return response.raw.read(start + length)[start:]  # the server ignored Range


def _json(response, expected: type, what: str):
    """The JSON body of an API answer; a proxy's login page or a cut-off body is a HubError, not a traceback."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, expected):
        raise HubError(
            f"{what}: the answer of {url_host(response.url)} is not the Hub's JSON (HTTP {response.status_code})",
            hint="check HF_ENDPOINT and any proxy between this host and the Hub",
        )
    return data


def clean_etag(value: str | None) -> str | None:
    """An ETag without its weak marker and quotes."""
    if not value:
        return None
    return value.removeprefix("W/").strip('"') or None


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None  # an HTTP date: the caller's backoff applies


def backoff(attempt: int) -> float:
    return min(0.25 * 2**attempt, 8.0)


def url_host(url: str) -> str:
    """HOST[:PORT] of `url`, without any user:password@ (messages never show credentials)."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1]
