"""Parallel range transfer: the files of one model unit over one budget of connections.

Each file's missing bytes (its resume record's gaps) are cut into chunks; N workers,
each with its own HTTP session, take chunks in file order across all the unit's files
(the shards of a split set share the budget) and `pwrite` every block at its offset
into the staged part. Chunks shrink towards the end (the bytes not yet handed out,
divided by twice the workers, within 4-64 MiB) so the connections finish together.
The record counts finished chunks and the written start of chunks in flight; a run
killed with SIGKILL loses at most what was in flight since the record's last save.
A thread per file hashes the contiguous written prefix (`prefix_hash`); a file is
verified (sha256 over every byte), fsynced and handed to `install` on the main thread.

Servers that do not play along get one clean answer each, said on the progress:
  - Range ignored (200 to a range request): that file goes on over one connection;
  - 429/503 while the server serves (or served) other connections of ours: a
    connection cap, so that worker stops and the budget shrinks for the rest of the run;
  - the object changed (another ETag or size mid-file, or 416): the Hub's metadata is
    read again and the file restarts from byte 0 (at most twice a run);
  - anything else transient: the chunk is retried where it stopped, with backoff.
Measured choices (bench/download_throughput.py, docs/llmctl.md): up to 8 connections
(2 until `connection_probe` has seen whether the CPU is the limit), adaptive chunks,
1 MiB blocks written by each worker itself (a single writer thread cost more CPU and
twice the memory for no speed), hashing as chunks complete.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llmctl.errors import NO_SPACE, HubError, LlmctlError, from_os_error
from llmctl.hub import DEFAULT_CONNECTIONS
from llmctl.hub.client import HubClient, RepoRef, TransientError, backoff, clean_etag, url_host
from llmctl.hub.connection_probe import ConnectionProbe
from llmctl.hub.files import RemoteFile
from llmctl.hub.prefix_hash import PrefixHasher
from llmctl.hub.progress import Progress
from llmctl.hub.resume_record import ResumeRecord

MIN_CHUNK = 4 << 20
MAX_CHUNK = 64 << 20
BLOCK = 1 << 20  # one read and one pwrite; 4 MiB was slower here, 256 KiB no faster
MAX_FAILURES = 8  # consecutive failed attempts of a chunk without progress
MAX_RESTARTS = 2  # restarts of one file in a run (the object changed)
SAVE_EVERY = 1.0  # seconds between record saves while chunks are in flight
TICK = 0.2  # seconds between progress updates
PROBE_TICK = 0.02  # ... and between looks while the connection probe's window is open


def identity_of(ref: RepoRef, remote: RemoteFile) -> dict:
    return {
        "repo": ref.repo,
        "commit": ref.commit,
        "path": remote.path,
        "size": remote.size,
        "sha256": remote.sha256,
        "git_oid": remote.git_oid,
    }


def record_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


@dataclass(eq=False)
class _Chunk:
    job: _FileJob
    start: int
    end: int  # exclusive
    pos: int  # written up to here
    generation: int
    failures: int = 0
    progress_at_failure: int = -1


class _FileJob:
    """One file: its part (sparse, full size), record, hasher and the bytes not handed out."""

    def __init__(self, client: HubClient, ref: RepoRef, remote: RemoteFile, part: Path):
        self.ref, self.part = ref, part
        self.url = client.file_url(ref, remote.path)
        self.direct_url: str | None = None  # where the resolve URL redirected (a CDN), reused per chunk
        self.restarts = 0
        self.single_stream = False
        self.generation = 0
        self.in_flight: set[_Chunk] = set()
        self.error: LlmctlError | None = None
        self.written = False  # every byte is in the part
        self.installed = False
        self.counted = 0  # bytes of this file shown on the progress
        part.parent.mkdir(parents=True, exist_ok=True)
        record = ResumeRecord.open(record_path(part), identity_of(ref, remote), part)
        if not record.resumed:  # bytes of another version are never mixed in
            part.unlink(missing_ok=True)
        self.fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o644)
        self._begin(remote, record)

    def _begin(self, remote: RemoteFile, record: ResumeRecord) -> None:
        self.remote, self.record = remote, record
        if os.fstat(self.fd).st_size != remote.size:
            os.ftruncate(self.fd, remote.size)  # sparse: blocks are allocated as chunks land
        if not record.resumed:
            record.save()
        self.unassigned = record.gaps()
        self.written = not self.unassigned
        self.hasher = PrefixHasher(self.fd, remote)
        self.hasher.advance(record.prefix())

    def restart(self, remote: RemoteFile) -> None:
        """Throw away what the part holds and start over for `remote` (chunks in flight stop)."""
        self.hasher.stop()
        self.generation += 1
        self.in_flight.clear()
        self.direct_url = None
        self.record.path.unlink(missing_ok=True)
        os.ftruncate(self.fd, 0)
        self._begin(remote, ResumeRecord(record_path(self.part), identity_of(self.ref, remote)))

    def frontier(self) -> int:
        """End of the contiguous written run from byte 0, chunks in flight included."""
        end = 0
        for a, b in sorted([*self.record.done, *([c.start, c.pos] for c in self.in_flight if c.pos > c.start)]):
            if a > end:
                break
            end = max(end, b)
        return end

    def save(self) -> None:
        self.record.save([(c.start, c.pos) for c in self.in_flight if c.pos > c.start])

    def close(self) -> None:
        self.hasher.stop()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _Retire(Exception):
    """This worker's connection was refused while others receive: a connection cap."""


class RangePool:
    """Up to N connections shared by every file of a download (by default more than
    two only when the CPU has room; the budget shrinks when a server caps connections)."""

    def __init__(self, client: HubClient, connections: int | None, progress: Progress):
        """`connections`: exactly that many (fewer when capped); None: up to
        DEFAULT_CONNECTIONS, once `connection_probe` sees the CPU has room."""
        self.client = client
        self.budget = max(1, connections or DEFAULT_CONNECTIONS)
        self._probe = ConnectionProbe(self.budget, probing=connections is None)
        self.progress = progress
        self._lock = threading.Condition()
        self._jobs: list[_FileJob] = []
        self._notes: list[str] = []
        self._received = 0
        self._alive = 0
        self._receiving = 0
        self._served = False  # some connection of this pool got its bytes (2xx)
        self._fatal: LlmctlError | None = None
        self._stopping = False
        self._responses: dict[int, object] = {}
        self._threads: list[threading.Thread] = []

    # -- the main thread --------------------------------------------------------------

    def transfer(
        self, ref: RepoRef, files: list[tuple[RemoteFile, Path]], install: Callable[[RemoteFile, Path], None]
    ) -> None:
        """Bring every (remote, part) to its verified content; `install` is called for
        each file as soon as it is verified. Files that fail do not stop the others;
        the first failure is raised at the end."""
        try:
            jobs = [_FileJob(self.client, ref, remote, part) for remote, part in files]
        except OSError as error:
            raise write_error(error, files[0][1]) from None
        self._jobs, self._stopping, self._fatal, self._received = jobs, False, None, 0
        for job in jobs:
            job.counted = job.record.held()
            self.progress.start_file(job.remote.path, job.remote.size, job.counted)
        try:
            self._run(jobs, install)
        finally:
            self._shut_down(jobs)
        failed = [job.error for job in jobs if job.error is not None]
        if failed:
            raise failed[0]

    def _run(self, jobs: list[_FileJob], install) -> None:
        shown, saved, first = 0, time.monotonic(), True
        while True:
            with self._lock:
                self._consult_probe()
                self._staff()
                if not first:  # the first round looks at once (a resumed file may be complete)
                    self._lock.wait(PROBE_TICK if self._probe.looking else TICK)
                first = False
                notes, self._notes = self._notes, []
                received, fatal = self._received, self._fatal
                ready = [j for j in jobs if j.written and not j.installed and j.error is None]
                open_jobs = [j for j in jobs if not j.installed and j.error is None]
                if time.monotonic() - saved >= SAVE_EVERY:
                    self._save_records(jobs)
                    saved = time.monotonic()
            for note in notes:
                self.progress.note(note)
            if received != shown:
                self.progress.advance(received - shown)
                shown = received
            if fatal is not None:
                raise fatal
            for job in ready:
                self._verify(job, install)
            if all(job.installed or job.error is not None for job in open_jobs):
                return

    def _limit(self) -> int:
        return min(self.budget, self._probe.allowed)

    def _consult_probe(self) -> None:
        """Let the probe see the bytes so far (called with the lock held)."""
        if self._probe.decided:
            return
        self._probe.observe(time.monotonic(), self._received)
        if self._probe.verdict is not None:
            self._notes.append(self._probe.verdict)

    def _staff(self) -> None:
        """Keep up to `_limit()` workers while chunks wait (called with the lock held)."""
        waiting = sum(
            1 if job.single_stream else max(1, sum(b - a for a, b in job.unassigned) // MIN_CHUNK)
            for job in self._jobs
            if self._can_take(job)
        )
        while self._alive < self._limit() and waiting:
            self._alive += 1
            waiting -= 1
            thread = threading.Thread(target=self._work, name="llmctl-range", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _verify(self, job: _FileJob, install) -> None:
        """The final hash (the rest of the prefix), then the sha256 check, fsync and install."""
        left = job.hasher.left()
        if left:
            self.progress.verifying(job.remote.path, left)
        try:
            hashes = job.hasher.finish()
        except OSError as error:
            job.error = LlmctlError(f"cannot read back {job.part}: {error}")
            return
        mismatch = hashes.mismatch()
        if mismatch:
            job.close()
            job.part.unlink(missing_ok=True)
            record_path(job.part).unlink(missing_ok=True)
            job.error = HubError(
                f"{job.remote.path}: checksum mismatch: the Hub announced {mismatch[0]}, the downloaded bytes "
                f"have {mismatch[1]}; the file was discarded and nothing was installed",
                hint="run the command again to download it afresh; if it repeats, a mirror or proxy corrupts data",
            )
            return
        try:
            os.fsync(job.fd)
        except OSError as error:
            job.error = write_error(error, job.part)
            return
        job.close()
        install(job.remote, job.part)
        job.installed = True
        self.progress.finish_file(job.remote.path)

    def _save_records(self, jobs: list[_FileJob]) -> None:
        for job in jobs:
            if job.in_flight and job.error is None:
                with contextlib.suppress(OSError):  # a full disk: the last saved record stands
                    job.save()

    def _shut_down(self, jobs: list[_FileJob]) -> None:
        with self._lock:
            self._stopping = True
            self._save_records(jobs)
            responses = list(self._responses.values())
        for response in responses:  # unblocks workers waiting on a stalled connection
            with contextlib.suppress(Exception):
                response.close()
        for thread in self._threads:
            thread.join(5)
        self._threads = [t for t in self._threads if t.is_alive()]
        for job in jobs:
            job.close()

    # -- workers ----------------------------------------------------------------------

    def _can_take(self, job: _FileJob) -> bool:
        if job.error is not None or not job.unassigned:
            return False
        return not (job.single_stream and job.in_flight)

    def _take(self) -> _Chunk | None:
        """The next chunk, in file order (called with the lock held)."""
        if self._stopping or self._fatal is not None:
            return None
        job = next((j for j in self._jobs if self._can_take(j)), None)
        if job is None:
            return None
        start, stop = job.unassigned[0]
        if not job.single_stream:
            pending = sum(b - a for j in self._jobs for a, b in j.unassigned)
            size = min(MAX_CHUNK, max(MIN_CHUNK, pending // (2 * max(self._alive, 1))))
            if stop - start > size + MIN_CHUNK // 2:  # no sliver left behind
                stop = start + size
        if stop == job.unassigned[0][1]:
            job.unassigned.pop(0)
        else:
            job.unassigned[0][0] = stop
        chunk = _Chunk(job, start, stop, start, job.generation)
        job.in_flight.add(chunk)
        return chunk

    def _work(self) -> None:
        client = self.client.fork()
        me = threading.get_ident()
        buffer = memoryview(bytearray(BLOCK))
        try:
            while True:
                with self._lock:
                    chunk = self._take()
                if chunk is None:
                    return
                try:
                    self._fetch(client, chunk, me, buffer)
                except _Retire as refused:
                    with self._lock:
                        self._give_back(chunk)
                        self.budget = max(1, self._alive - 1)
                        self._notes.append(
                            f"{url_host(chunk.job.direct_url or chunk.job.url)} refused a connection ({refused}); "
                            f"continuing with {self.budget} connection{'s' * (self.budget > 1)}"
                        )
                    return
                except LlmctlError as error:
                    with self._lock:
                        if chunk.generation == chunk.job.generation and chunk.job.error is None:
                            chunk.job.error = error
                            chunk.job.in_flight.discard(chunk)
                        self._lock.notify_all()
        finally:
            with self._lock:
                self._alive -= 1
                self._responses.pop(me, None)
                self._lock.notify_all()

    def _give_back(self, chunk: _Chunk) -> None:
        job = chunk.job
        job.in_flight.discard(chunk)
        if chunk.generation != job.generation or chunk.pos >= chunk.end:
            return
        job.record.add(chunk.start, chunk.pos)
        job.unassigned = sorted([*job.unassigned, [chunk.pos, chunk.end]])

    def _fetch(self, client: HubClient, chunk: _Chunk, me: int, buffer: memoryview) -> None:
        job = chunk.job
        while chunk.pos < chunk.end:
            if self._stale(chunk):
                return
            last = "" if job.single_stream else str(chunk.end - 1)
            try:
                response = client.get(
                    job.direct_url or job.url,
                    headers={"Range": f"bytes={chunk.pos}-{last}"},
                    stream=True,
                    what=job.remote.path,
                )
            except TransientError as error:
                if error.status in (429, 503) and self._capped():
                    raise _Retire(f"HTTP {error.status}") from None
                self._failed(chunk, error)
                continue
            except HubError:
                if job.direct_url is None:
                    raise
                job.direct_url = None  # a CDN link may expire: ask the Hub again
                continue
            with self._lock:
                self._responses[me] = response
                self._receiving += 1
                self._served = True
            try:
                with response:
                    if response.url != job.url:
                        job.direct_url = response.url
                    if self._accept(client, chunk, response):
                        self._receive(chunk, response, buffer)
            except TransientError as error:
                self._failed(chunk, error)
            finally:
                with self._lock:
                    self._responses.pop(me, None)
                    self._receiving -= 1
        self._finished(chunk)

    def _accept(self, client: HubClient, chunk: _Chunk, response) -> bool:
        """Whether the answer carries the chunk's bytes; else restart or fall back (-> False)."""
        job, size = chunk.job, chunk.job.remote.size
        status = response.status_code
        etag = clean_etag(response.headers.get("ETag"))
        with self._lock:
            known = job.record.etag
            if known is None:
                job.record.etag = etag
        if etag and known and etag != known:
            self._changed(client, chunk, f"ETag {known[:12]}, now {etag[:12]}")
            return False
        if status == 206:
            first, _, rest = response.headers.get("Content-Range", "").removeprefix("bytes ").partition("-")
            total = rest.rpartition("/")[2]
            if total.isdigit() and int(total) != size:
                self._changed(client, chunk, f"size {size}, now {total}")
                return False
            if first != str(chunk.pos):
                raise TransientError(f"the server answered another range ({response.headers.get('Content-Range')})")
            return True
        if status == 416:
            self._changed(client, chunk, "the range is past its end")
            return False
        return self._ranges_ignored(chunk)

    def _ranges_ignored(self, chunk: _Chunk) -> bool:
        """A 200 to a range request: the body is the whole file. This connection goes on
        with it from byte 0; the file's other chunks stop."""
        job = chunk.job
        with self._lock:
            if chunk.generation != job.generation:
                return False
            if job.single_stream:
                note = f"{job.remote.path}: the server ignored Range; restarting from byte 0"
            else:
                host = url_host(job.direct_url or job.url)
                note = f"{host} ignores Range: downloading {job.remote.path} over one connection"
            self._notes.append(note)
            self._received -= job.counted
            job.counted = 0
            job.restart(job.remote)
            job.single_stream = True
            job.unassigned.clear()
            chunk.start, chunk.pos, chunk.end, chunk.generation = 0, 0, job.remote.size, job.generation
            job.in_flight.add(chunk)
        return True

    def _changed(self, client: HubClient, chunk: _Chunk, why: str) -> None:
        """The object behind the URL changed: read the Hub's metadata and start the file over."""
        job = chunk.job
        if job.restarts >= MAX_RESTARTS:
            raise HubError(
                f"{job.remote.path}: the file keeps changing on the server ({why})",
                hint="run the command again later",
            )
        try:
            meta = client.file_metadata(job.url)
        except TransientError as error:
            raise TransientError(f"reading the file's metadata again: {error}") from None
        old = job.remote
        remote = RemoteFile(
            path=old.path,
            size=meta.size if meta.size is not None else old.size,
            sha256=meta.etag if old.sha256 and meta.etag else old.sha256,
            git_oid=old.git_oid if old.sha256 else (meta.etag or old.git_oid),
        )
        with self._lock:
            if chunk.generation != job.generation:
                return  # another connection restarted it already
            job.restarts += 1
            self._notes.append(f"{old.path}: the file changed on the server during the download ({why}); restarting")
            self._received -= job.counted
            job.counted = 0
            job.restart(remote)

    def _receive(self, chunk: _Chunk, response, buffer: memoryview) -> None:
        """Read the body into this worker's buffer, a full block at a time, and pwrite it."""
        import requests
        import urllib3

        job = chunk.job
        # http.client's readinto fills the whole block (urllib3's read1 returns what one
        # recv gave: many small writes; its readinto copies twice more).
        body = getattr(response.raw, "_fp", None)
        readinto = body.readinto if hasattr(body, "readinto") else response.raw.readinto
        while chunk.pos < chunk.end:
            if self._stale(chunk):
                return
            try:
                got = readinto(buffer[: min(BLOCK, chunk.end - chunk.pos)])
            except (urllib3.exceptions.HTTPError, requests.RequestException, OSError, ValueError) as error:
                raise TransientError(f"connection lost ({type(error).__name__})") from None
            if not got:
                raise TransientError(f"the connection closed at byte {chunk.pos} of {job.remote.size}")
            view, offset = buffer[:got], chunk.pos
            try:
                while view:
                    written = os.pwrite(job.fd, view, offset)
                    view, offset = view[written:], offset + written
            except OSError as error:
                with self._lock:
                    if chunk.generation == job.generation:
                        self._fatal = self._fatal or write_error(error, job.part)
                        self._lock.notify_all()
                return
            with self._lock:
                if chunk.generation != job.generation:
                    return
                at_frontier = chunk.start <= job.hasher.available
                chunk.pos += got
                job.counted += got
                self._received += got
                if at_frontier:
                    job.hasher.advance(job.frontier())
        if body is not None and body.isclosed():  # read to its end: the connection can serve the next chunk
            response.raw.release_conn()

    def _finished(self, chunk: _Chunk) -> None:
        job = chunk.job
        with self._lock:
            if chunk.generation != job.generation or chunk not in job.in_flight:
                return
            job.in_flight.discard(chunk)
            job.record.add(chunk.start, chunk.end)
            job.hasher.advance(job.frontier())
            with contextlib.suppress(OSError):  # a full disk: the last saved record stands
                job.save()
            if not job.unassigned and not job.in_flight:
                job.written = True
            self._lock.notify_all()

    def _failed(self, chunk: _Chunk, error: TransientError) -> None:
        """A chunk's request or body failed: count it, wait, and let the loop retry from `pos`."""
        job = chunk.job
        chunk.failures = 0 if chunk.pos > chunk.progress_at_failure else chunk.failures + 1
        chunk.progress_at_failure = chunk.pos
        if chunk.failures >= MAX_FAILURES:
            raise HubError(
                f"{job.remote.path}: {error}; gave up after {chunk.failures} attempts without progress",
                hint=f"run the command again: it resumes from the {job.record.held()} bytes kept in {job.part.parent}",
            )
        with self._lock:
            self._notes.append(f"{job.remote.path}: {error}; resuming at byte {chunk.pos}")
        time.sleep(error.retry_after if error.retry_after is not None else backoff(chunk.failures))

    def _stale(self, chunk: _Chunk) -> bool:
        job = chunk.job
        return self._stopping or self._fatal is not None or chunk.generation != job.generation or job.error is not None

    def _capped(self) -> bool:
        """A 429/503 is a connection cap when the server serves other connections of ours
        (or did) and this is not the last worker; to the only one it is transient."""
        with self._lock:
            return (self._receiving > 0 or self._served) and self._alive > 1


def write_error(error: OSError, part: Path) -> LlmctlError:
    if error.errno in NO_SPACE:
        hint = f"free some space (the partial file in {part.parent} is kept and the next run resumes it)"
        return from_os_error(error, f"writing {part.name}", hint)
    return LlmctlError(f"cannot write {part}: {error.strerror}")
