"""MoE expert-offload plans against llama-server on a real second device.

This machine has no GPU, so the "GPU" is ggml's RPC backend: `ggml-rpc-server`
(built with llama.cpp, `-DGGML_RPC=ON` in ./dev) serves a CPU backend on a loopback
port, and llama-server with `--rpc HOST:PORT` offloads to it like to a GPU
(device RPC0, `offloaded N/M layers to GPU`, `RPC0[...] model/KV/compute buffer`
lines). The plan (`llmctl plan ... --json`, a small --gpu-mem so the MoE model
does not fit whole) is started with exactly its `server_args`; the device's
buffers, the host's compute buffer and the tensors llama.cpp moved to the CPU
are set beside the plan's figures.

With `--n-cpu-moe N` llama.cpp logs, at `-lv 5`, one line per moved tensor
(src/llama-model-loader.cpp:1253 at b11434):
    tensor blk.0.ffn_up_exps.weight (108 MiB iq1_s) buffer type overridden to CPU
and, once, `tensor overrides to CPU are used with mmap enabled`. Its CPU_Mapped
line is then the file span those tensors cover (the device's tensors between
them included), not what the experts take; the moved tensors are summed instead.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from llmctl.status.server_log import ServerRun, parse_runs
from testkit.processes import free_port, start_process
from testkit.real_scale import LOG_ARGS, RESERVED, Case, plan_json
from testkit.tools import llama_server_bin, llama_tool_bin

MIB = 1 << 20
OVERRIDDEN = re.compile(r"tensor (\S+) \((\d+) MiB \S+\) buffer type overridden to CPU")
DEBUG_LOG_ARGS = tuple(
    "5" if arg == "4" and LOG_ARGS[i - 1] == "--log-verbosity" else arg for i, arg in enumerate(LOG_ARGS)
)


@dataclass(frozen=True)
class OffloadCase(Case):
    """A plan for a GPU of `gpu_gib` GiB (the plan picks --n-cpu-moe)."""

    gpu_gib: float = 4.0

    @property
    def label(self) -> str:
        return f"{self.model} {' '.join(self.args)} --gpu-mem {self.gpu_gib:g}"

    def budget_args(self) -> list[str]:
        return ["--gpu", "nvidia", "--gpu-mem", f"{self.gpu_gib:g}"]


CASES = (
    OffloadCase("qwen3moe-30b-a3b", ("-c", "8192"), gpu_gib=3.5),
    OffloadCase("qwen3moe-30b-a3b", ("-c", "4096", "-np", "1", "-fa", "off"), gpu_gib=3.5),
    OffloadCase("mixtral-8x7b", ("-c", "8192"), gpu_gib=4.0),
)


@contextmanager
def rpc_device(log_dir: Path) -> Iterator[str]:
    """A ggml-rpc-server on a free loopback port: yields its endpoint for --rpc."""
    port = free_port()
    binary = llama_tool_bin("ggml-rpc-server")
    managed = start_process(
        "ggml-rpc-server",
        [binary, "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
        log_dir / f"rpc-server-{port}.log",
        lambda: _listening(port),
        timeout=30,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        managed.stop()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class OffloadRow:
    """Plan and log side by side, MiB."""

    case: OffloadCase
    server_args: list[str]
    gpu_weights: tuple[float, float]
    gpu_kv: tuple[float, float]
    gpu_compute: tuple[float, float]
    gpu_total: tuple[float, float]  # without the runtime overhead, which llama.cpp does not log
    host_compute: tuple[float, float]
    host_experts: tuple[float, float]  # the log side: moved tensors, each rounded down to MiB
    moved_tensors: int
    expected_moved: int
    offloaded: tuple[int, int] | None
    seconds: float


def run_offload(model: Path, case: OffloadCase, log_dir: Path) -> OffloadRow:
    """Plan `case`, start llama-server with the plan's flags on a fresh RPC device (one per
    run: a server that lost its client may not take the next one), compare."""
    plan = plan_json(model, case, in_process=True)
    with rpc_device(log_dir) as endpoint:
        return _run_planned(model, case, plan, endpoint, log_dir)


def _run_planned(model: Path, case: OffloadCase, plan: dict, endpoint: str, log_dir: Path) -> OffloadRow:
    port = free_port()
    argv = [
        llama_server_bin(),
        "-m",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--rpc",
        endpoint,
        *DEBUG_LOG_ARGS,
        *plan["server_args"],
    ]
    log_path = log_dir / f"llama-server-offload-{port}.log"
    started = time.monotonic()
    managed = start_process(
        "llama-server",
        argv,
        log_path,
        lambda: log_path.exists() and RESERVED in log_path.read_text(errors="replace"),
        timeout=300,
    )
    try:
        log = managed.log()
    finally:
        managed.stop()
    return compare_offload(case, plan, log, time.monotonic() - started)


def compare_offload(case: OffloadCase, plan: dict, log: str, seconds: float = 0.0) -> OffloadRow:
    run: ServerRun = parse_runs(log)[0]
    moved = [(name, int(mib)) for name, mib in OVERRIDDEN.findall(log)]
    gpu, host = plan["gpu"], plan["host"]
    gpu_actual = run.mib("model", device="gpu") + run.mib("KV", device="gpu") + run.mib("compute", device="gpu")
    n_moe = plan["cpu_moe_layers"]
    return OffloadRow(
        case=case,
        server_args=plan["server_args"],
        gpu_weights=(gpu["weights"] / MIB, run.mib("model", device="gpu")),
        gpu_kv=(gpu["kv_cache"] / MIB, run.mib("KV", device="gpu")),
        gpu_compute=(gpu["compute"] / MIB, run.mib("compute", device="gpu")),
        gpu_total=((gpu["total"] - gpu["overhead"]) / MIB, round(gpu_actual, 2)),
        host_compute=(host["compute"] / MIB, run.mib("compute", device="host")),
        host_experts=(plan["host_expert_bytes"] / MIB, float(sum(mib for _, mib in moved))),
        moved_tensors=len(moved),
        expected_moved=3 * n_moe,  # gate, up and down experts of each block below N
        offloaded=run.offloaded,
        seconds=seconds,
    )
