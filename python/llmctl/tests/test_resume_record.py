"""The resume record: merged byte ranges, gaps, the hashable prefix, and what makes it stale."""

from __future__ import annotations

import json

from llmctl.hub.resume_record import ResumeRecord, held_bytes

IDENTITY = {"repo": "o/r", "commit": "c1", "path": "m.gguf", "size": 100, "sha256": "ab", "git_oid": "g"}


def _record(tmp_path, done=(), identity=IDENTITY) -> ResumeRecord:
    part = tmp_path / "m.gguf.part"
    part.write_bytes(b"\0" * identity["size"])
    record = ResumeRecord(tmp_path / "m.gguf.part.json", dict(identity))
    for start, stop in done:
        record.add(start, stop)
    return record


def test_ranges_merge_and_the_gaps_are_what_is_left(tmp_path):
    record = _record(tmp_path, [(40, 50), (0, 10), (10, 20), (45, 60), (90, 100)])
    assert record.done == [[0, 20], [40, 60], [90, 100]]
    assert record.gaps() == [[20, 40], [60, 90]]
    assert (record.held(), record.prefix()) == (50, 20)
    record.add(20, 40)
    assert record.prefix() == 60


def test_a_saved_record_reopens_with_its_ranges_and_chunks_in_flight(tmp_path):
    record = _record(tmp_path, [(0, 30)])
    record.etag = "e1"
    record.save(extra=[(50, 55)])
    again = ResumeRecord.open(record.path, dict(IDENTITY, commit="c2"), tmp_path / "m.gguf.part")
    assert again.resumed and again.etag == "e1", "another commit of the same content keeps the bytes"
    assert again.done == [[0, 30], [50, 55]]
    assert held_bytes(record.path, tmp_path / "m.gguf.part", IDENTITY) == 35
    assert not list(tmp_path.glob("*.tmp"))


def test_a_record_for_other_content_or_without_its_part_starts_over(tmp_path):
    record = _record(tmp_path, [(0, 30)])
    record.save()
    other = ResumeRecord.open(record.path, dict(IDENTITY, sha256="cd"), tmp_path / "m.gguf.part")
    assert not other.resumed and other.done == []
    (tmp_path / "m.gguf.part").unlink()
    assert not ResumeRecord.open(record.path, IDENTITY, tmp_path / "m.gguf.part").resumed


def test_a_record_of_the_single_stream_format_counts_the_part_as_a_prefix(tmp_path):
    part = tmp_path / "m.gguf.part"
    part.write_bytes(b"x" * 42)
    (tmp_path / "m.gguf.part.json").write_text(json.dumps(IDENTITY))
    record = ResumeRecord.open(tmp_path / "m.gguf.part.json", IDENTITY, part)
    assert record.resumed and record.done == [[0, 42]] and record.gaps() == [[42, 100]]
