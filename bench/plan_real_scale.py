"""`llmctl plan` at real model scale against llama-server's logged allocations.

Run: eval "$(./dev env)"; python bench/plan_real_scale.py [--models DIR] [-k SUBSTRING]
Every case starts the real llama-server (CPU build) on a sparse file with a real
model's shape (tests/testkit/sparse_models.py; no disk, zeros for weights) and
compares `llmctl plan --gpu cpu --json` with the buffer lines it logs. The
sparse files are kept in --models (default: a temporary folder) between runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from testkit.real_scale import CASES, Row, run_matrix  # noqa: E402

BOUNDS = "bounds: KV and weights exact; total never below the log and at most +3 %; compute within +-10 %"


def pair(values: tuple[float, float]) -> str:
    return f"{values[0]:9.2f}/{values[1]:<9.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="folder for the sparse model files (kept)")
    parser.add_argument("-k", dest="match", default="", help="only cases whose label contains this")
    options = parser.parse_args()
    cases = tuple(case for case in CASES if options.match in case.label)
    with tempfile.TemporaryDirectory() as tmp:
        models = options.models or Path(tmp) / "models"
        header = (
            f"{'case':58} {'KV est/act MiB':>19} {'weights est/act':>19} {'compute est/act':>19} "
            f"{'compute':>7} {'total est/act':>19} {'total':>7} {'RSS':>6} {'time':>5}"
        )
        print(header)
        print("-" * len(header))
        worst_total = worst_compute = 0.0
        below = 0
        started = time.monotonic()
        for row in run_matrix(models, Path(tmp), cases):
            total, compute = Row.error(row.total), Row.error(row.compute)
            worst_total = max(worst_total, total, key=abs)
            worst_compute = max(worst_compute, compute, key=abs)
            below += row.total[0] < row.total[1] - 0.01
            print(
                f"{row.case.label:58} {pair(row.kv)} {pair(row.weights)} {pair(row.compute)} {compute:+7.1%} "
                f"{pair(row.total)} {total:+7.1%} {row.peak_anon_mib / 1024:5.1f}G {row.seconds:4.1f}s",
                flush=True,
            )
        print(
            f"\n{len(cases)} cases in {time.monotonic() - started:.0f} s; worst total {worst_total:+.1%}, "
            f"worst compute {worst_compute:+.1%}, {below} totals below the log\n{BOUNDS}"
        )


if __name__ == "__main__":
    main()
