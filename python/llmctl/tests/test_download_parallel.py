"""`llmctl download` over several connections, as real processes against the Hub emulator:
SIGKILL and resume, a corrupted chunk, servers that refuse ranges or cap connections, an
object that changes, a disk that fills up."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmctl.fsutil import CHANGE_MARKER
from testkit.hub_emulator import overlap
from testkit.tmpfs import tmpfs
from testkit.waiting import wait_until

REPO = "big-org/Big-GGUF"
BIG = "Big-Model-Q4_K_M.gguf"
SHARDS = ("Big-Model-Q8_0/Big-Model-Q8_0-00001-of-00002.gguf", "Big-Model-Q8_0/Big-Model-Q8_0-00002-of-00002.gguf")
MiB = 1 << 20
BLOCK = MiB  # llmctl.hub.parallel.BLOCK: a worker writes whole blocks


def _content(path: Path, size: int, seed: str) -> Path:
    """`size` bytes, different in every MiB (a chunk mixed up with another shows)."""
    with open(path, "wb") as handle:
        for index in range(0, size, MiB):
            block = hashlib.sha256(f"{seed}:{index}".encode()).digest() * (MiB // 32)
            handle.write(block[: min(MiB, size - index)])
    return path


@pytest.fixture
def hub(hub_emulator, tmp_path_factory):
    """A 32 MiB model and a split set of a 20 MiB and a 12 MiB shard, served from disk."""
    folder = tmp_path_factory.mktemp("served")
    files = {BIG: _content(folder / "big.gguf", 32 * MiB, "big")}
    for index, (shard, size) in enumerate(zip(SHARDS, (20 * MiB, 12 * MiB + 12345), strict=True)):
        files[shard] = _content(folder / f"shard{index}.gguf", size, f"shard{index}")
    hub_emulator.add_repo(REPO, files)
    return hub_emulator


def _argv(models: Path, quant: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "llmctl", "download", REPO, quant, "--models-dir", str(models), *extra]


def _spawn(hub, models: Path, log: Path, quant: str = "Q4_K_M", *extra: str) -> subprocess.Popen:
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint}
    with open(log, "w") as handle:
        return subprocess.Popen(_argv(models, quant, *extra), env=env, stdout=handle, stderr=subprocess.STDOUT)


def _run(hub, models: Path, log: Path, quant: str = "Q4_K_M", *extra: str) -> int:
    process = _spawn(hub, models, log, quant, *extra)
    return process.wait(120)


def _part(models: Path, path: str = BIG) -> Path:
    return models / ".partial/big-org--Big-GGUF" / (path + ".part")


def _held(part: Path) -> int:
    try:
        record = json.loads(part.with_name(part.name + ".json").read_text())
    except (OSError, ValueError):
        return 0
    return sum(b - a for a, b in record.get("done", []))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _visible(models: Path) -> list[str]:
    return sorted(
        str(p.relative_to(models))
        for p in models.rglob("*")
        if p.is_file() and ".partial" not in p.parts and p.name != CHANGE_MARKER
    )


def _length(entry: dict, size: int) -> int:
    """Bytes the request asked for."""
    first, _, last = entry["range"][6:].partition("-")
    return (int(last) + 1 if last else size) - int(first)


def _in_flight_bytes(hub, since: int, size: int) -> int:
    """Bytes that unfinished responses (the chunks in flight) had sent."""
    total = 0
    for entry in hub.log[since:]:
        if entry["file"] != BIG or entry["method"] != "GET" or entry["status"] != 206:
            continue
        if entry["bytes_sent"] < _length(entry, size):
            total += entry["bytes_sent"]
    return total


def _wait_recorded(part: Path, hold: int, log: Path) -> None:
    """Until the record counts every byte before `hold` but the last block a worker still
    fills (blocks are written whole) and has stopped growing (saved every second)."""
    wait_until(lambda: _held(part) >= hold - BLOCK, what=f"the record holding {hold} bytes", detail=log.read_text)
    before = -1
    while _held(part) != before:
        before = _held(part)
        time.sleep(1.5)


def _kill_held_at(hub, models: Path, log: Path, hold: int, *extra: str) -> tuple[int, int]:
    """Start a download held at byte `hold`, SIGKILL it once every byte before the hold
    is recorded; returns (log mark of the run, bytes its chunks in flight had sent)."""
    mark = len(hub.log)
    hub.hold_at[BIG] = hold
    process = _spawn(hub, models, log, "Q4_K_M", *extra)
    _wait_recorded(_part(models), hold, log)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert _visible(models) == []
    del hub.hold_at[BIG]
    size = hub.repos[REPO].files[BIG].size
    return mark, _in_flight_bytes(hub.settled(), mark, size)


@pytest.mark.parametrize("fraction", [0.3, 0.6])
def test_sigkill_mid_transfer_resumes_every_finished_chunk(hub, models, tmp_path, fraction):
    blob = hub.repos[REPO].files[BIG]
    hold = int(blob.size * fraction)
    mark, in_flight = _kill_held_at(hub, models, tmp_path / "killed.log", hold, "--connections", "4")
    first = hub.sent_spans(BIG, mark)
    resumed = len(hub.log)
    assert _run(hub, models, tmp_path / "resumed.log") == 0, (tmp_path / "resumed.log").read_text()
    second = hub.settled().sent_spans(BIG, resumed)
    assert _sha(models / REPO / BIG) == blob.sha256
    again = overlap(first, second)
    assert again <= in_flight, f"{again} bytes fetched twice, more than the {in_flight} in flight"
    assert sum(b - a for a, b in second) <= blob.size - hold + in_flight
    assert "resuming at" in (tmp_path / "resumed.log").read_text()
    assert not _part(models).exists() and not (models / ".partial").exists()


def test_sigkill_during_the_final_hash_resumes_without_a_transfer(hub_emulator, models, tmp_path):
    size = 160 * MiB  # the final hash of the resumed run takes a while (it re-reads every byte)
    blob = hub_emulator.add_repo(REPO, {BIG: _content(tmp_path / "large.gguf", size, "large")}).files[BIG]
    hub = hub_emulator
    _kill_held_at(hub, models, tmp_path / "first.log", size - 1)
    # The second run fetches the last byte, then hashes the whole part: killed right then.
    mark = len(hub.log)
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint}
    process = subprocess.Popen(_argv(models, "Q4_K_M"), env=env, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stderr:
        lines.append(line)
        if "verifying" in line:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(10)
    assert process.returncode == -signal.SIGKILL, "".join(lines)
    assert _visible(models) == [], "the hash finished before the kill"
    assert sum(b - a for a, b in hub.settled().sent_spans(BIG, mark)) <= BLOCK + 1, "at most the last block"
    mark = len(hub.log)
    assert _run(hub, models, tmp_path / "third.log") == 0, (tmp_path / "third.log").read_text()
    assert hub.settled().sent_spans(BIG, mark) == [], "every byte was recorded: nothing to fetch"
    assert _sha(models / REPO / BIG) == blob.sha256


def test_a_corrupted_byte_in_one_chunk_fails_only_that_file(hub, models, tmp_path):
    hub.corrupt_at[SHARDS[1]] = 5 * MiB + 777
    assert _run(hub, models, tmp_path / "log", "Q8_0", "--connections", "4") == 1
    log = (tmp_path / "log").read_text()
    assert f"{SHARDS[1]}: checksum mismatch" in log and "Traceback" not in log
    assert f"{SHARDS[0]}: checksum mismatch" not in log
    assert _visible(models) == [f"{REPO}/{SHARDS[0]}"], "the good shard is kept, the bad one is nowhere"
    assert _sha(models / REPO / SHARDS[0]) == hub.repos[REPO].files[SHARDS[0]].sha256
    assert not _part(models, SHARDS[1]).exists() and not _part(models, SHARDS[1]).with_suffix(".part.json").exists()


def test_a_split_set_shares_one_budget_of_connections(hub, models, tmp_path):
    hub.rate_per_connection = 16 * MiB  # slow enough that connections overlap
    assert _run(hub, models, tmp_path / "log", "Q8_0", "--connections", "3") == 0, (tmp_path / "log").read_text()
    files = hub.repos[REPO].files
    for shard in SHARDS:
        assert _sha(models / REPO / shard) == files[shard].sha256
    assert hub.peak_connections == 3, "three connections for both shards together, not three each"
    gets = [e for e in hub.settled().log if e["method"] == "GET" and e["file"] in SHARDS]
    second_starts = min(e["started"] for e in gets if e["file"] == SHARDS[1])
    first_ends = max(e["finished"] for e in gets if e["file"] == SHARDS[0])
    assert second_starts < first_ends, "the second shard starts while the first still has a chunk in flight"


def test_one_connection_fetches_the_chunks_in_order(hub, models, tmp_path):
    assert _run(hub, models, tmp_path / "log", "Q4_K_M", "--connections", "1") == 0, (tmp_path / "log").read_text()
    starts = [int(e["range"][6:].partition("-")[0]) for e in hub.log if e["file"] == BIG and e["method"] == "GET"]
    assert starts == sorted(starts) and len(starts) > 1
    assert hub.peak_connections == 1
    assert _sha(models / REPO / BIG) == hub.repos[REPO].files[BIG].sha256


def test_a_server_that_refuses_ranges_gets_one_stream(hub, models, tmp_path):
    hub.ignore_range = True
    assert _run(hub, models, tmp_path / "log", "Q4_K_M", "--connections", "8") == 0, (tmp_path / "log").read_text()
    blob = hub.repos[REPO].files[BIG]
    assert _sha(models / REPO / BIG) == blob.sha256
    assert "ignores Range: downloading Big-Model-Q4_K_M.gguf over one connection" in (tmp_path / "log").read_text()
    gets = [e for e in hub.settled().log if e["file"] == BIG and e["method"] == "GET" and e["server"] == "cdn"]
    assert {e["status"] for e in gets} == {200}
    assert len([e for e in gets if e["bytes_sent"] == blob.size]) == 1, "one stream carried the file"
    assert len(gets) <= 8, "no request after the fallback"


@pytest.mark.parametrize("status", [503, 429])
def test_a_connection_cap_of_two_against_eight_connections(hub, models, tmp_path, status):
    hub.max_connections = 2
    hub.over_limit_status = status
    hub.rate_per_connection = 16 * MiB  # two connections take a second: the refused ones retry meanwhile
    assert _run(hub, models, tmp_path / "log", "Q4_K_M", "--connections", "8") == 0, (tmp_path / "log").read_text()
    assert _sha(models / REPO / BIG) == hub.repos[REPO].files[BIG].sha256
    log = (tmp_path / "log").read_text()
    assert f"refused a connection (HTTP {status}); continuing with" in log
    assert hub.peak_connections == 2
    refused = [e for e in hub.log if e["status"] == status]
    assert len(refused) <= 12, f"{len(refused)} refused requests: the workers past the cap must stop, not hammer"


def _big(hub_emulator, tmp_path, size: int = 96 * MiB):
    """A repository whose one file lasts past the connection probe's window."""
    return hub_emulator.add_repo(REPO, {BIG: _content(tmp_path / "probe.gguf", size, "probe")}).files[BIG]


@contextlib.contextmanager
def _busy_cpu():
    """Every core kept busy by a spinning process (a machine whose CPU is the limit)."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def test_by_default_throttled_connections_open_up_to_eight(hub_emulator, models, tmp_path):
    blob = _big(hub_emulator, tmp_path)
    hub_emulator.rate_per_connection = 8 * MiB  # a CDN edge: each connection capped, the CPU idle
    assert _run(hub_emulator, models, tmp_path / "log") == 0, (tmp_path / "log").read_text()
    assert _sha(models / REPO / BIG) == blob.sha256
    assert hub_emulator.peak_connections == 8
    assert "staying at 2" not in (tmp_path / "log").read_text()


def test_by_default_a_busy_cpu_keeps_two_connections(hub_emulator, models, tmp_path):
    blob = _big(hub_emulator, tmp_path)
    hub_emulator.rate_per_connection = 8 * MiB  # more connections would pay, if the CPU could take them
    with _busy_cpu():
        assert _run(hub_emulator, models, tmp_path / "log") == 0, (tmp_path / "log").read_text()
    assert _sha(models / REPO / BIG) == blob.sha256
    log = (tmp_path / "log").read_text()
    assert "busy with 2 connections: more would not be faster; staying at 2" in log, log
    assert hub_emulator.peak_connections == 2


def test_a_chosen_number_of_connections_is_not_probed(hub_emulator, models, tmp_path):
    blob = _big(hub_emulator, tmp_path)
    hub_emulator.rate_per_connection = 8 * MiB
    with _busy_cpu():
        assert _run(hub_emulator, models, tmp_path / "log", "Q4_K_M", "--connections", "6") == 0
    assert _sha(models / REPO / BIG) == blob.sha256
    assert "staying at" not in (tmp_path / "log").read_text()
    assert hub_emulator.peak_connections == 6


def test_an_object_that_changes_mid_download_restarts_cleanly(hub, models, tmp_path):
    new = _content(tmp_path / "new.gguf", 20 * MiB, "new")
    hub.change_after[BIG] = (8 * MiB, new)
    assert _run(hub, models, tmp_path / "log", "Q4_K_M", "--connections", "4") == 0, (tmp_path / "log").read_text()
    assert "the file changed on the server during the download" in (tmp_path / "log").read_text()
    installed = models / REPO / BIG
    assert installed.stat().st_size == 20 * MiB and _sha(installed) == _sha(new), "the new version, not a mix"


def test_a_full_disk_during_a_parallel_transfer_keeps_the_part_for_later(hub, tmp_path):
    size = hub.repos[REPO].files[BIG].size
    with tmpfs(tmp_path / "small", size="40m") as small:
        hold = int(size * 0.4)
        hub.hold_at[BIG] = hold
        process = _spawn(hub, small, tmp_path / "full.log", "Q4_K_M", "--connections", "4")
        part = _part(small)
        _wait_recorded(part, hold, tmp_path / "full.log")
        stats = os.statvfs(small)
        (small / "filler").write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - 2 * MiB))
        del hub.hold_at[BIG]
        assert process.wait(60) == 1
        log = (tmp_path / "full.log").read_text()
        assert "no space left on the device" in log and "Traceback" not in log
        assert _visible(small) == ["filler"]
        held = _held(part)
        assert held >= hold - BLOCK, "what was written stays recorded"
        (small / "filler").unlink()
        mark = len(hub.log)
        assert _run(hub, small, tmp_path / "again.log") == 0, (tmp_path / "again.log").read_text()
        fetched = sum(b - a for a, b in hub.settled().sent_spans(BIG, mark))
        assert fetched == size - held, "the resumed run fetches only what the record lacks"
        assert _sha(small / REPO / BIG) == hub.repos[REPO].files[BIG].sha256
