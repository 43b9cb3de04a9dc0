"""`llmctl status --watch`: a sweep every interval, each with its models' tokens per
second since the previous one (`status.rates`)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from llmctl.stack import StackSpec
from llmctl.status.collect import collect_status
from llmctl.status.rates import RateTracker
from llmctl.status.report import StatusReport


def sweeps(spec: StackSpec, timeout: float, interval: float) -> Iterator[StatusReport]:
    """Sweep at once, then every `interval` seconds (measured from one sweep's start to
    the next: a slow sweep does not push the others back), until the caller stops."""
    rates = RateTracker()
    next_start = time.monotonic()
    while True:
        started = time.monotonic()
        report = collect_status(spec, timeout)
        rates.update(report, started)
        yield report
        next_start = max(next_start + interval, time.monotonic())
        time.sleep(max(next_start - time.monotonic(), 0.0))
