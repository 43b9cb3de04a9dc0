"""The Hub emulator's own knobs: CDN limits and faults addressed by file offset, range requests included."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
from urllib.parse import urlsplit

import pytest

from testkit.hub_emulator import HubEmulator
from testkit.token_bucket import TokenBucket
from testkit.waiting import wait_until

REPO = "emu-org/Emu-GGUF"
FILE = "Emu-Q4_K_M.gguf"
CONTENT = bytes(range(256)) * 4096  # 1 MiB, every byte predictable


@pytest.fixture(params=["memory", "disk"])
def hub(request, tmp_path):
    """The emulator serving FILE from memory and from a file on disk (the sendfile path)."""
    content = CONTENT
    if request.param == "disk":
        content = tmp_path / FILE
        content.write_bytes(CONTENT)
    emulator = HubEmulator().start()
    emulator.add_repo(REPO, {FILE: content})
    yield emulator
    emulator.stop()


def _cdn_url(hub) -> str:
    return f"{hub.cdn_endpoint}/cdn/{hub.repos[REPO].files[FILE].sha256}/{FILE}"


def _get(url: str, first: int | None = None, last: int | None = None, conn=None):
    """(status, headers, body) of one GET; a body cut short by the server comes back short."""
    parts = urlsplit(url)
    conn = conn or http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {} if first is None else {"Range": f"bytes={first}-{'' if last is None else last}"}
    conn.request("GET", parts.path, headers=headers)
    response = conn.getresponse()
    body = bytearray()
    try:
        while block := response.read1(1 << 16):
            body += block
    except (http.client.IncompleteRead, ConnectionError):
        pass
    return response.status, dict(response.getheaders()), bytes(body)


def test_a_range_is_served_whole_and_bytes_are_logged(hub):
    status, headers, body = _get(_cdn_url(hub), 1000, 1999)
    assert (status, headers["Content-Range"], body) == (206, f"bytes 1000-1999/{len(CONTENT)}", CONTENT[1000:2000])
    assert hub.settled().log[-1]["bytes_sent"] == 1000


def test_fail_after_hits_only_the_range_that_covers_the_offset(hub):
    hub.fail_after[FILE] = 600_000
    status, _, body = _get(_cdn_url(hub), 0, 99_999)  # before the offset: whole, and the fault stays armed
    assert (status, body) == (206, CONTENT[:100_000])
    status, _, body = _get(_cdn_url(hub), 500_000, 699_999)
    assert status == 206 and body == CONTENT[500_000:600_000], "cut right before byte 600000"
    assert FILE not in hub.fail_after, "one response by default"
    assert _get(_cdn_url(hub), 500_000, 699_999)[2] == CONTENT[500_000:700_000]


def test_a_corrupted_byte_is_flipped_in_every_range_that_covers_it(hub):
    hub.corrupt_at[FILE] = 300_000
    _, _, body = _get(_cdn_url(hub), 299_990, 300_009)
    expected = bytearray(CONTENT[299_990:300_010])
    expected[10] ^= 0xFF
    assert body == bytes(expected)
    assert _get(_cdn_url(hub), 0, 299_999)[2] == CONTENT[:300_000]
    whole = _get(_cdn_url(hub))[2]
    assert len(whole) == len(CONTENT) and hashlib.sha256(whole).hexdigest() != hub.repos[REPO].files[FILE].sha256


def test_hold_at_keeps_every_response_past_the_offset_until_lifted(hub):
    hub.hold_at[FILE] = 400_000
    results = {}

    def fetch(name, first, last):
        results[name] = _get(_cdn_url(hub), first, last)

    threads = [
        threading.Thread(target=fetch, args=("across", 300_000, 499_999)),
        threading.Thread(target=fetch, args=("after", 700_000, 799_999)),
    ]
    for thread in threads:
        thread.start()
    assert hub.stalled.wait(10)
    assert _get(_cdn_url(hub), 0, 99_999)[2] == CONTENT[:100_000], "ranges before the hold pass"
    _wait_for(
        lambda: (
            sorted(e["bytes_sent"] for e in hub.log if e["range"] and e["range"] != "bytes=0-99999") == [0, 100_000]
        )
    )
    assert not results, "both held"
    del hub.hold_at[FILE]
    for thread in threads:
        thread.join(10)
    assert results["across"][2] == CONTENT[300_000:500_000]
    assert results["after"][2] == CONTENT[700_000:800_000]


def test_stall_after_hangs_one_response_until_released(hub):
    hub.stall_after[FILE] = 200_000
    done = []
    thread = threading.Thread(target=lambda: done.append(_get(_cdn_url(hub), 100_000, 299_999)))
    thread.start()
    assert hub.stalled.wait(10)
    assert _get(_cdn_url(hub), 100_000, 299_999)[2] == CONTENT[100_000:300_000], "only one response stalls"
    assert not done
    hub.release.set()
    thread.join(10)
    assert done[0][2] == CONTENT[100_000:300_000]


@pytest.mark.parametrize("status", [503, 429])
def test_connections_past_the_cap_are_refused_with_retry_after(hub, status):
    hub.max_connections = 2
    hub.over_limit_status = status
    hub.hold_at[FILE] = 10
    threads = [threading.Thread(target=_get, args=(_cdn_url(hub), i * 1000, i * 1000 + 99)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    _wait_for(lambda: len([e for e in hub.log if e["status"] == 206]) == 2)
    refused_status, headers, _ = _get(_cdn_url(hub), 5000, 5099)
    assert (refused_status, headers["Retry-After"]) == (status, "1")
    assert hub.refused == 1 and hub.peak_connections == 2
    del hub.hold_at[FILE]
    for thread in threads:
        thread.join(10)
    assert _get(_cdn_url(hub), 5000, 5099)[0] == 206, "a slot is free again"


def test_the_object_changes_in_place_after_n_bytes(hub):
    repo = hub.repos[REPO]
    old_commit, old_sha = repo.commit, repo.files[FILE].sha256
    hub.change_after[FILE] = (300_000, CONTENT[::-1])
    status, headers, _ = _get(_cdn_url(hub), 0, 299_999)
    assert headers["ETag"] == f'"{old_sha}"'
    status, headers, body = _get(_cdn_url(hub), 0, 299_999)  # the same URL, a new object
    new_sha = hashlib.sha256(CONTENT[::-1]).hexdigest()
    assert (status, headers["ETag"], body) == (206, f'"{new_sha}"', CONTENT[::-1][:300_000])
    assert repo.commit != old_commit and headers["X-Repo-Commit"] == repo.commit
    info = _api(hub, f"/api/models/{REPO}/revision/{old_commit}")
    assert info["sha"] == repo.commit, "the old commit still resolves"


def test_ignore_range_answers_200_with_the_whole_body(hub):
    hub.ignore_range = True
    status, _, body = _get(_cdn_url(hub), 1000, 1999)
    assert (status, body) == (200, CONTENT)


def test_model_info_lists_siblings_with_lfs_metadata_for_huggingface_hub(hub):
    info = _api(hub, f"/api/models/{REPO}?blobs=true")
    [sibling] = info["siblings"]
    assert info["id"] == REPO and info["sha"] == hub.repos[REPO].commit
    assert sibling["lfs"] == {"sha256": hub.repos[REPO].files[FILE].sha256, "size": len(CONTENT), "pointerSize": 134}


class _FakeClockBucket(TokenBucket):
    """The emulator's bucket on a clock of its own that only its waits move: how long the
    cap made a response take, without reading the wall clock."""

    def __init__(self, rate: float, burst: int | None = None):
        self.now = 0.0
        super().__init__(rate, burst, clock=lambda: self.now)

    def take(self, wanted: int, wait=None) -> int:
        def sleep(seconds: float) -> bool:
            self.now += seconds
            return False

        return super().take(wanted, sleep)


def test_the_per_connection_cap_paces_each_connection(hub, monkeypatch):
    made: list[_FakeClockBucket] = []

    def bucket(rate: float) -> _FakeClockBucket:
        made.append(_FakeClockBucket(rate))
        return made[-1]

    monkeypatch.setattr("testkit.hub_emulator.TokenBucket", bucket)
    rate = 2 << 20
    hub.rate_per_connection = rate
    status, _, body = _get(_cdn_url(hub))
    assert status == 200 and body == CONTENT
    (bucket,) = made
    # Every byte past the first burst waited for its tokens.
    assert bucket.now >= (len(CONTENT) - bucket.burst) / rate - 1e-6


def test_token_bucket_grants_at_most_burst_and_refills_at_the_rate():
    clock = [100.0]

    def sleep(seconds: float) -> bool:
        clock[0] += seconds
        return False

    bucket = TokenBucket(rate=1_000_000, burst=100_000, clock=lambda: clock[0])
    sent, start = 0, clock[0]
    while sent < 1_000_000:
        grant = bucket.take(1_000_000, sleep)
        assert 0 < grant <= 100_000
        sent += grant
    # 1 MB at 1 MB/s with a 100 kB head start: 0.9 s of (fake) time.
    assert clock[0] - start == pytest.approx(0.9)
    assert bucket.take(50_000, lambda _s: True) == 0, "a wait that reports a stop gives nothing"


def _api(hub, path: str):
    parts = urlsplit(hub.endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path)
    return json.loads(conn.getresponse().read())


def _wait_for(condition) -> None:
    wait_until(condition, what="the emulator's log", timeout=10, interval=0.02)
