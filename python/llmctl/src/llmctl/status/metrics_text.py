"""Prometheus' text exposition format, both ways: llama-server's `/metrics` read into
numbers, and samples written for `llmctl exporter`.

llama-server (with `--metrics`) exports `llamacpp:*` samples without labels, e.g.
`llamacpp:tokens_predicted_total 7`; reading keeps every sample whose value parses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

LLAMACPP_PREFIX = "llamacpp:"


def parse_samples(text: str) -> dict[str, float]:
    """Unlabelled samples by metric name; comments, labelled and malformed lines are skipped."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "{" in line:
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        try:
            samples[parts[0]] = float(parts[1])
        except ValueError:
            continue
    return samples


def llamacpp_counters(text: str) -> dict[str, float]:
    """llama-server's samples without their `llamacpp:` prefix (`tokens_predicted_total`, ...)."""
    return {
        name.removeprefix(LLAMACPP_PREFIX): value
        for name, value in parse_samples(text).items()
        if name.startswith(LLAMACPP_PREFIX)
    }


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sample(name: str, labels: Mapping[str, str | None], value: float) -> str:
    shown = ",".join(f'{key}="{escape_label(str(text))}"' for key, text in labels.items() if text is not None)
    number = "NaN" if math.isnan(value) else repr(float(value)) if not float(value).is_integer() else str(int(value))
    return f"{name}{{{shown}}} {number}" if shown else f"{name} {number}"


def family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> list[str]:
    """A metric family: HELP and TYPE, then its samples (nothing when there are none)."""
    lines = list(samples)
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *lines] if lines else []
