"""Parse llama.cpp's allocation lines from a llama-server (or llama-cli) log.

llama-server prints them at `--log-verbosity 4` (use `--no-log-prefix
--no-log-timestamps` to keep lines clean). Format strings, llama.cpp @0c1e57098:

    load_tensors:   CPU_Mapped model buffer size =     4.76 MiB
    llama_context:        CPU  output buffer size =     0.01 MiB
    llama_kv_cache:        CPU KV buffer size =     4.00 MiB
    llama_memory_recurrent:      CUDA0 RS buffer size =    90.40 MiB
    sched_reserve:        CPU compute buffer size =     9.52 MiB

Values are `%.2f` MiB, so each line is exact to +-0.005 MiB. Repeated lines are
summed per kind and buffer (one model line per split file, base and SWA KV caches).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

MIB = 1024 * 1024
KINDS = ("model", "KV", "RS", "compute", "output")

_BUFFER_LINE = re.compile(
    r"^(?:[^\n:]*?[A-Za-z_][A-Za-z0-9_]*:)?\s*(?P<buffer>\S+)\s+(?P<kind>model|KV|compute|output|RS)"
    r"\s+buffer size\s*=\s*(?P<mib>[\d.]+)\s*MiB",
    re.MULTILINE,
)
_OFFLOADED = re.compile(r"offloaded\s+(\d+)/(\d+)\s+layers to GPU")
_CELLS = re.compile(
    r"llama_kv_cache:\s+size\s*=\s*[\d.]+\s*MiB\s*\(\s*(\d+) cells,\s*(\d+) layers,\s*(\d+)/(\d+) seqs\)"
)
_HOST_SUFFIXES = ("_Host",)
_HOST_NAMES = ("CPU", "BLAS", "AMX")


@dataclass
class LlamaAllocations:
    """MiB per kind and buffer name, as llama.cpp logged them."""

    buffers: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    offloaded_layers: tuple[int, int] | None = None
    kv_caches: list[dict[str, int]] = field(default_factory=list)

    def mib(self, kind: str, *, device: str | None = None) -> float:
        """Sum of `kind` buffers; `device="gpu"`/`"host"` narrows to one side."""
        total = 0.0
        for buffer, value in self.buffers.get(kind, {}).items():
            if device is None or (device == "host") == is_host_buffer(buffer):
                total += value
        return round(total, 2)

    @property
    def total_mib(self) -> float:
        return round(sum(self.mib(kind) for kind in KINDS), 2)

    def to_json(self) -> dict:
        return {
            "buffers_mib": {kind: dict(values) for kind, values in self.buffers.items()},
            "offloaded_layers": list(self.offloaded_layers) if self.offloaded_layers else None,
            "kv_caches": self.kv_caches,
        }


def is_host_buffer(buffer: str) -> bool:
    """CPU, CPU_Mapped, CPU_REPACK, AMX, BLAS and pinned `*_Host` buffers live in host RAM."""
    base = buffer.split("_")[0]
    return base in _HOST_NAMES or buffer.endswith(_HOST_SUFFIXES)


def parse_allocations(log: str) -> LlamaAllocations:
    """Every allocation line in `log`. Only the first model load is read: a
    second `load_tensors:` block (a reload) starts a new set and is ignored."""
    result = LlamaAllocations()
    seen_context = False
    for line in log.splitlines():
        match = _BUFFER_LINE.search(line)
        if match:
            kind = match["kind"]
            if kind == "model" and seen_context:
                break
            seen_context = seen_context or kind in ("KV", "compute", "RS")
            per_kind = result.buffers[kind]
            per_kind[match["buffer"]] = round(per_kind.get(match["buffer"], 0.0) + float(match["mib"]), 2)
            continue
        offloaded = _OFFLOADED.search(line)
        if offloaded:
            result.offloaded_layers = (int(offloaded[1]), int(offloaded[2]))
            continue
        cells = _CELLS.search(line)
        if cells:
            result.kv_caches.append(
                {"cells": int(cells[1]), "layers": int(cells[2]), "seqs": int(cells[3]), "streams": int(cells[4])}
            )
    result.buffers = dict(result.buffers)
    return result
