"""Tokens per second between two sweeps, from llama-server's counters.

`llmctl status --watch` sweeps every few seconds; llama-server's
`llamacpp:tokens_predicted_total` and `llamacpp:prompt_tokens_total` only grow while
the process lives, so the rate is the difference over the time between the sweeps. A
counter that went down belongs to a new process (a restart, a llama-swap reload): its
whole value counts, as Prometheus' rate() does it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmctl.status.report import StatusReport

# Model key in a report -> the rate it gets.
RATES = {
    "tokens_per_second": "tokens_predicted_total",
    "prompt_tokens_per_second": "prompt_tokens_total",
}


@dataclass
class RateTracker:
    """Remembers each model's counters from the previous sweep."""

    previous: dict[tuple[str, str, str], tuple[float, dict[str, float]]] = field(default_factory=dict)
    last_at: float | None = None

    def update(self, report: StatusReport, at: float) -> None:
        """Give every model with counters its rates since the previous sweep (None on a
        model's first), and the report the window (`at`: time.monotonic() of this sweep)."""
        if self.last_at is not None:
            report.rate_window_s = at - self.last_at
        self.last_at = at
        seen = {}
        for service in report.services:
            for model in service.models:
                counters = model.get("llamacpp")
                if not counters:
                    continue
                key = (service.name, str(model.get("name")), str(model.get("upstream") or ""))
                seen[key] = (at, counters)
                before = self.previous.get(key)
                for rate, counter in RATES.items():
                    model[rate] = _rate(before, at, counters, counter)
        self.previous = seen


def _rate(before, at: float, counters: dict[str, float], counter: str) -> float | None:
    if before is None or counter not in counters or counter not in before[1]:
        return None
    elapsed = at - before[0]
    if elapsed <= 0:
        return None
    now, then = counters[counter], before[1][counter]
    grown = now - then if now >= then else now
    return grown / elapsed
