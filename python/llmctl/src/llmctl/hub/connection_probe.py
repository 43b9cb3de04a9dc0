"""How many connections pay: start with two, open the rest unless the CPU is the limit.

More connections help where each one is throttled (Hub and CDN edges: 8 connections
capped at 50 MiB/s bring 4x what 2 do) and cost where the CPU is what is short: their
receiving threads take it from the sha256, which then falls behind the bytes (loopback
on a 2-core machine: 8 connections reached 0.69-0.81x curl, 2 connections 0.88-1.03x).
Throttled connections leave the CPU idle; a machine whose CPU two connections already
keep busy cannot receive faster with more. So a download starts with `FEW`, looks at
the machine's CPU (/proc/stat) for one short window once bytes flow, and opens up to
the limit unless the CPU was at least `BUSY` busy. Where /proc/stat is missing (not
Linux) it opens them at once. The window costs a throttled download 0.15 s at 2/8 of
its speed.

Driven by the pool's main loop with the bytes received so far; the pool takes the
smaller of `allowed` and what a server's connection cap left.
"""

from __future__ import annotations

from collections.abc import Callable

FEW = 2
WINDOW = 0.15  # seconds of receiving before the decision (/proc/stat counts in 10 ms ticks)
BUSY = 0.9  # the share of the CPU in use (every core, every process) that means "the limit"

CpuTimes = tuple[int, int]  # (busy, total) ticks of every core since boot


def cpu_times() -> CpuTimes | None:
    """The machine's CPU ticks from /proc/stat; None where there is none."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait; steal counts as busy
    total = sum(fields[:8])  # user..steal (guest time is inside user already)
    return total - idle, total


class ConnectionProbe:
    def __init__(self, limit: int, probing: bool = True, cpu: Callable[[], CpuTimes | None] = cpu_times):
        """`probing` False: `limit` connections from the start (the user chose them)."""
        self.limit = limit
        self.allowed = min(limit, FEW) if probing else limit
        self.decided = self.allowed == limit  # nothing to try
        self.verdict: str | None = None  # said when the probe keeps the few
        self._cpu = cpu
        self._window: tuple[float, CpuTimes] | None = None

    @property
    def looking(self) -> bool:
        """Whether the window is open (the pool then looks more often)."""
        return not self.decided and self._window is not None

    def observe(self, now: float, received: int) -> None:
        """One look from the main loop, with the bytes the pool has received."""
        if self.decided or received <= 0:
            return
        if self._window is None:
            sample = self._cpu()
            if sample is None:
                self._open()
            else:
                self._window = (now, sample)
            return
        start, before = self._window
        if now - start < WINDOW:
            return
        after = self._cpu()
        if after is None or after[1] <= before[1]:
            self._open()  # no ticks to judge by
            return
        busy = (after[0] - before[0]) / (after[1] - before[1])
        if busy < BUSY:
            self._open()
            return
        self.decided = True
        self.verdict = f"the CPU is {busy:.0%} busy with {FEW} connections: more would not be faster; staying at {FEW}"

    def _open(self) -> None:
        self.allowed, self.decided = self.limit, True
