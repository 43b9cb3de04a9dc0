"""Models folder space from statvfs."""

from __future__ import annotations

import os

from llmctl.fsutil import folder_space


def test_space_of_an_existing_folder_matches_statvfs(tmp_path):
    space = folder_space(tmp_path)
    stats = os.statvfs(tmp_path)
    assert space.exists and space.error is None
    assert space.total_bytes == stats.f_blocks * stats.f_frsize
    assert 0 <= space.free_bytes <= space.total_bytes
    assert 0 <= space.used_bytes <= space.total_bytes


def test_missing_folder_is_reported_not_raised(tmp_path):
    space = folder_space(tmp_path / "nope")
    assert space.to_json() == {
        "path": str(tmp_path / "nope"),
        "exists": False,
        "total_bytes": None,
        "used_bytes": None,
        "free_bytes": None,
        "error": "missing",
    }
