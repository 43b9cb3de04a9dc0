"""A small tmpfs mounted over a folder for one test: a disk that really fills up or refuses writes.

Mounting needs root (CI runs as root): elsewhere the test is skipped with the reason, and
under LOCAL_LLM_REQUIRE_TOOLS=1 it fails instead of passing unseen."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

from testkit.tools import missing


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "16m"):
    """Mount a tmpfs of `size` on `path` (created if missing) until the block ends."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        missing(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def read_only(path: Path) -> None:
    """Remount the tmpfs on `path` read-only (what it holds stays readable)."""
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)
