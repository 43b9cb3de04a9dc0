"""The planner at real model scale: sparse real-shape models x llama-server settings.

Shared by python/llmctl/tests/test_plan_real_scale.py (asserts the bounds) and
bench/plan_real_scale.py (prints every case). Each case starts the real
llama-server on a sparse file (testkit.sparse_models), reads the allocation
lines it logs and stops it as soon as the compute buffers are reserved; the
estimate comes from `llmctl plan MODEL ... --gpu cpu --json`, the command a
user runs. The server is started with:

- `--no-warmup`: the weights are mapped but never read (no decode runs);
- `-fit off`: it must do exactly what was asked;
- `--no-repack`: on CPUs with repacking the weights would be logged twice;
- verbose logs without prefixes, so the allocation lines are clean.

The cases of one model run back to back: the first load faults the whole
file into the page cache (zeros, llama.cpp maps with MAP_POPULATE); the
others find it there. `run_matrix` drops the pages before the next model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from llmctl.status.server_log import parse_runs
from testkit.processes import free_port, start_process
from testkit.sparse_models import drop_page_cache, write_shape
from testkit.tools import llama_server_bin

MIB = 1 << 20
LOG_ARGS = (
    "--log-verbosity",
    "4",
    "--no-log-prefix",
    "--no-log-timestamps",
    "-fit",
    "off",
    "--no-repack",
    "--no-warmup",
    "--no-webui",
    "-t",
    "2",
)
# Logged after the last compute buffer line (src/llama-context.cpp sched_reserve).
RESERVED = "sched_reserve: graph:"
# llama-server flag -> `llmctl plan` option.
PLAN_OPTIONS = {"-c": "--ctx", "-np": "--parallel", "-ctk": "--kv-type", "-ub": "--ubatch"}


@dataclass(frozen=True)
class Case:
    model: str  # a key of testkit.sparse_models.SHAPES
    args: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.model} {' '.join(self.args)}"

    def budget_args(self) -> list[str]:
        return ["--gpu", "cpu"]

    def plan_args(self) -> list[str]:
        """The same settings as `llmctl plan` options (-ctk and -ctv are always equal here)."""
        args = [*self.budget_args(), "--json"]
        values = dict(zip(self.args[::2], self.args[1::2], strict=False))
        for flag, value in values.items():
            if flag in PLAN_OPTIONS:
                args += [PLAN_OPTIONS[flag], value]
            elif flag == "-fa" and value == "off":
                args.append("--no-flash-attn")
            elif flag not in ("-ctv",):
                raise ValueError(f"no llmctl plan option for {flag}")
        return args


CASES = (
    # Dense, GQA 32/8.
    Case("llama3-8b", ("-c", "8192")),
    Case("llama3-8b", ("-c", "16384", "-np", "2", "-ctk", "q8_0", "-ctv", "q8_0")),
    Case("llama3-8b", ("-c", "32768", "-np", "1", "-ctk", "q4_0", "-ctv", "q4_0")),
    Case("llama3-8b", ("-c", "4096", "-fa", "off")),
    Case("llama3-8b", ("-c", "8192", "-np", "1", "-ub", "1024")),
    # Sliding window: 8 full-attention layers, 40 with a 1024-token window.
    Case("gemma3-12b", ("-c", "8192")),
    Case("gemma3-12b", ("-c", "16384", "-np", "1", "-ctk", "q8_0", "-ctv", "q8_0")),
    Case("gemma3-12b", ("-c", "4096", "-np", "2", "-fa", "off")),
    Case("gemma3-12b", ("-c", "8192", "-np", "2", "-ub", "256")),
    # MoE with expert_feed_forward_length.
    Case("qwen3moe-30b-a3b", ("-c", "8192")),
    Case("qwen3moe-30b-a3b", ("-c", "16384", "-np", "2", "-ctk", "q8_0", "-ctv", "q8_0")),
    Case("qwen3moe-30b-a3b", ("-c", "4096", "-fa", "off")),
    Case("qwen3moe-30b-a3b", ("-c", "8192", "-np", "1", "-ub", "1024")),
    Case("qwen3moe-30b-a3b", ("-c", "4096", "-np", "1", "-ub", "128")),
    # MoE in the llama architecture (experts as wide as feed_forward_length).
    Case("mixtral-8x7b", ("-c", "8192")),
    Case("mixtral-8x7b", ("-c", "16384", "-np", "2", "-ctk", "q8_0", "-ctv", "q8_0")),
    Case("mixtral-8x7b", ("-c", "4096", "-fa", "off")),
    Case("mixtral-8x7b", ("-c", "8192", "-np", "1", "-ub", "1024")),
    # Hybrid: Mamba-2 state in 36 layers, KV in 4, MoE FFN.
    Case("granite4-h-tiny", ("-c", "32768")),
    Case("granite4-h-tiny", ("-c", "65536", "-np", "2", "-ctk", "q8_0", "-ctv", "q8_0")),
    Case("granite4-h-tiny", ("-c", "8192", "-fa", "off")),
    Case("granite4-h-tiny", ("-c", "16384", "-np", "1", "-ub", "1024")),
)


@dataclass
class Run:
    """What one llama-server start logged and cost."""

    log: str
    seconds: float
    peak_anon_bytes: int  # resident anonymous memory (the KV cache is cleared, so resident)


def run_server(model: Path, args: tuple[str, ...], log_dir: Path, timeout: float = 300.0) -> Run:
    """Start llama-server on `model`, wait for its compute buffers, stop it."""
    port = free_port()
    argv = [llama_server_bin(), "-m", str(model), "--host", "127.0.0.1", "--port", str(port), *LOG_ARGS, *args]
    log_path = log_dir / f"llama-server-{model.stem}-{port}.log"
    started = time.monotonic()

    def reserved() -> bool:
        return log_path.exists() and RESERVED in log_path.read_text(errors="replace")

    managed = start_process("llama-server", argv, log_path, reserved, timeout=timeout)
    try:
        # Nothing is freed after the reservation: the anonymous memory now is the peak.
        return Run(managed.log(), time.monotonic() - started, _anon_bytes(managed.process.pid))
    finally:
        managed.stop()


def _anon_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def plan_json(model: Path, case: Case, *, in_process: bool = False, source: Path | None = None) -> dict:
    """`llmctl plan MODEL ... --json`, as a user runs it (or through click's runner in this
    process, which saves the interpreter start in tests). `source`: another checkout's
    python/llmctl/src to plan with (bench/plan_real_scale.py --llmctl-src, before/after)."""
    args = ["plan", str(model), *case.plan_args()]
    if in_process:
        from click.testing import CliRunner

        from llmctl.cli import cli

        result = CliRunner().invoke(cli, args)
        if result.exit_code != 0:
            raise RuntimeError(f"llmctl {' '.join(args)} failed ({result.exit_code}): {result.output.strip()}")
        return json.loads(result.stdout)
    argv = [sys.executable, "-m", "llmctl", *args]
    env = {**os.environ, "PYTHONPATH": str(source)} if source else None
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def last_case_of_its_model(case: Case, cases: tuple[Case, ...] = CASES) -> bool:
    """After this case the model's pages can go (cases of one model run back to back)."""
    return [c for c in cases if c.model == case.model][-1] == case


@dataclass
class Row:
    """Estimate and logged allocation of one case, in MiB."""

    case: Case
    kv: tuple[float, float]  # KV cache + recurrent state
    weights: tuple[float, float]
    compute: tuple[float, float]
    total: tuple[float, float]
    seconds: float
    peak_anon_mib: float

    @staticmethod
    def error(pair: tuple[float, float]) -> float:
        estimate, actual = pair
        return estimate / actual - 1 if actual else float("inf")


def compare(case: Case, plan: dict, log: str, run: Run | None = None) -> Row:
    actual = parse_runs(log)[0]
    return Row(
        case=case,
        kv=(
            round((plan["kv_cache_bytes"] + plan["recurrent_bytes"]) / MIB, 2),
            round(actual.mib("KV") + actual.mib("RS"), 2),
        ),
        weights=(plan["weights_bytes"] / MIB, actual.mib("model")),
        compute=(plan["compute_bytes"] / MIB, actual.mib("compute")),
        total=(plan["total_bytes"] / MIB, actual.total_mib),
        seconds=run.seconds if run else 0.0,
        peak_anon_mib=run.peak_anon_bytes / MIB if run else 0.0,
    )


def run_matrix(
    root: Path, log_dir: Path, cases: tuple[Case, ...] = CASES, source: Path | None = None
) -> Iterator[Row]:
    """Every case, in order; each model's pages are dropped after its last case."""
    for case in cases:
        model = write_shape(case.model, root)
        run = run_server(model, case.args, log_dir)
        yield compare(case, plan_json(model, case, source=source), run.log, run)
        if last_case_of_its_model(case, cases):
            drop_page_cache(model)
