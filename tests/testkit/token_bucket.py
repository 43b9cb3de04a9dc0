"""A token bucket: the per-connection bandwidth cap of a CDN edge.

Tokens (bytes) accrue at `rate` per second up to `burst`; a sender asks for up to
`burst` bytes at a time and sleeps until the bucket holds them. Oversleeping (a busy
machine) is made up from the tokens that accrued meanwhile, up to `burst`.
"""

from __future__ import annotations

import time


class TokenBucket:
    def __init__(self, rate: float, burst: int | None = None, clock=time.monotonic):
        assert rate > 0
        self.clock = clock
        self.rate = float(rate)
        # 1/8 s of bytes: large enough that a sleep that runs a little long costs no
        # throughput, small enough that the cap holds over any second.
        self.burst = max(int(burst or rate / 8), 64 << 10)
        self.tokens = float(self.burst)
        self.stamp = clock()

    def take(self, wanted: int, wait=None) -> int:
        """Block until up to `wanted` bytes (at most `burst`) may be sent; returns how many.
        `wait(seconds)` sleeps (default time.sleep); when it returns True (e.g. an Event's
        wait: the emulator stops), 0 is returned."""
        grant = min(wanted, self.burst)
        while True:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens + 1 >= grant:  # + 1: float rounding must not leave a sliver to wait for
                self.tokens = max(self.tokens - grant, 0.0)
                return grant
            if (wait or time.sleep)((grant - self.tokens) / self.rate):
                return 0
