"""`llmctl plan` at real model scale against llama-server's logged allocations.

Run: eval "$(./dev env)"; python bench/plan_real_scale.py [--models DIR] [-k SUBSTRING]
     [--llmctl-src OTHER_CHECKOUT/python/llmctl/src] [--no-offload]
Every case starts the real llama-server (CPU build) on a sparse file with a real
model's shape (tests/testkit/sparse_models.py; no disk, zeros for weights) and
compares `llmctl plan --gpu cpu --json` with the buffer lines it logs. Then the
expert-offload cases: a MoE model planned for a GPU it does not fit, started with
the plan's flags on a second ggml device (ggml-rpc-server, tests/testkit/expert_offload.py).
The sparse files are kept in --models (default: a temporary folder) between runs;
--llmctl-src plans with another checkout's llmctl (e.g. main) for a before/after table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from testkit.expert_offload import CASES as OFFLOAD_CASES  # noqa: E402
from testkit.expert_offload import run_offload  # noqa: E402
from testkit.real_scale import CASES, Row, run_matrix  # noqa: E402
from testkit.sparse_models import drop_page_cache, write_shape  # noqa: E402
from testkit.tools import ToolMissing  # noqa: E402

BOUNDS = "bounds: KV and weights exact; total never below the log and at most +3 %; compute within +-10 %"


def pair(values: tuple[float, float]) -> str:
    return f"{values[0]:9.2f}/{values[1]:<9.2f}"


def error(values: tuple[float, float]) -> str:
    return f"{Row.error(values):+7.1%}"


def matrix(models: Path, logs: Path, match: str, source: Path | None) -> None:
    cases = tuple(case for case in CASES if match in case.label)
    header = (
        f"{'case':58} {'KV est/act MiB':>19} {'weights est/act':>19} {'compute est/act':>19} "
        f"{'compute':>7} {'total est/act':>19} {'total':>7} {'RSS':>6} {'time':>5}"
    )
    print(header)
    print("-" * len(header))
    worst_total = worst_compute = 0.0
    below = 0
    started = time.monotonic()
    for row in run_matrix(models, logs, cases, source):
        worst_total = max(worst_total, Row.error(row.total), key=abs)
        worst_compute = max(worst_compute, Row.error(row.compute), key=abs)
        below += row.total[0] < row.total[1] - 0.01
        print(
            f"{row.case.label:58} {pair(row.kv)} {pair(row.weights)} {pair(row.compute)} {error(row.compute)} "
            f"{pair(row.total)} {error(row.total)} {row.peak_anon_mib / 1024:5.1f}G {row.seconds:4.1f}s",
            flush=True,
        )
    print(
        f"\n{len(cases)} cases in {time.monotonic() - started:.0f} s; worst total {worst_total:+.1%}, "
        f"worst compute {worst_compute:+.1%}, {below} totals below the log\n{BOUNDS}"
    )


def offload(models: Path, logs: Path, match: str) -> None:
    cases = tuple(case for case in OFFLOAD_CASES if match in case.label)
    if not cases:
        return
    print(
        "\nExpert offload on an RPC device (GPU side: llama-server's RPC0 buffers; host: CPU compute, moved experts)"
    )
    header = (
        f"{'case':48} {'flags':30} {'GPU weights':>19} {'GPU KV':>19} {'GPU compute':>19} {'err':>7} "
        f"{'GPU total':>19} {'err':>7} {'host compute':>19} {'err':>7} {'experts':>19}"
    )
    print(header)
    print("-" * len(header))
    for case in cases:
        model = write_shape(case.model, models)
        try:
            row = run_offload(model, case, logs)
        finally:
            drop_page_cache(model)
        flags = " ".join(row.server_args[row.server_args.index("-ngl") :])
        print(
            f"{case.label:48} {flags:30} {pair(row.gpu_weights)} {pair(row.gpu_kv)} {pair(row.gpu_compute)} "
            f"{error(row.gpu_compute)} {pair(row.gpu_total)} {error(row.gpu_total)} {pair(row.host_compute)} "
            f"{error(row.host_compute)} {pair(row.host_experts)}",
            flush=True,
        )
    print("experts: planned / the moved tensors llama.cpp logs, each rounded down to whole MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="folder for the sparse model files (kept)")
    parser.add_argument("-k", dest="match", default="", help="only cases whose label contains this")
    parser.add_argument("--llmctl-src", type=Path, help="plan with the llmctl in this folder (its python/llmctl/src)")
    parser.add_argument("--no-offload", action="store_true", help="skip the expert-offload cases")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        models = options.models or Path(tmp) / "models"
        matrix(models, Path(tmp), options.match, options.llmctl_src)
        if not options.no_offload and options.llmctl_src is None:
            try:
                offload(models, Path(tmp), options.match)
            except ToolMissing as missing:
                print(f"\nexpert offload skipped: {missing}")


if __name__ == "__main__":
    main()
