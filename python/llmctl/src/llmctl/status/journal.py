"""A systemd unit's log, read with journalctl when it runs on this host."""

from __future__ import annotations

import shutil
import subprocess

TAIL_LINES = 5000  # a llama-server start is some hundred lines; llama-swap's journal holds many


def unit_journal(unit: str, timeout: float, lines: int = TAIL_LINES) -> str | None:
    """The unit's log of this boot (its last `lines`); None when there is no journalctl,
    it fails (no such unit, no permission) or takes longer than `timeout`."""
    binary = shutil.which("journalctl")
    if binary is None or timeout <= 0:
        return None
    argv = [binary, "-u", unit, "-b", "-o", "cat", "--no-pager", "-n", str(lines)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 and done.stdout.strip() else None
