"""`llmctl plan` estimates against llama-server's logged allocations, with
llama.cpp's own projection (`llama-fit-params --fit-print on`) beside them.

Run: eval "$(./dev env)"; python bench/plan_accuracy.py
Every case starts the real llama-server on a tiny model (CPU build: all buffers
are host buffers) and sums its model / KV / compute / output buffer lines.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from testkit.llama_server import start_llama_server  # noqa: E402
from testkit.plan_accuracy import CASES, LOG_ARGS, compare, write_models  # noqa: E402
from testkit.tools import ToolMissing, llama_tool_bin  # noqa: E402


def fit_params(model: Path, args: tuple[str, ...]) -> str:
    """llama.cpp's projection: 'Host <model> <context> <compute>' in whole MiB."""
    try:
        binary = llama_tool_bin("llama-fit-params")
    except ToolMissing:  # no llama-fit-params: the column stays empty
        return "n/a"
    if "-np" not in args:
        # llama-server's -np auto is 4 slots sharing a unified cache; fit-params defaults to 1
        # and takes no -kvu, so the nearest it can project is 4 streams.
        args = (*args, "-np", "4")
    run = subprocess.run(
        [str(binary), "--fit-print", "on", "-m", str(model), "--no-repack", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    rows = [line.split() for line in run.stdout.splitlines() if line.strip()]
    return " ".join("/".join(row[1:4]) for row in rows if len(row) >= 4) or "n/a"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        models = write_models(Path(tmp) / "models")
        header = (
            f"{'case':44} {'KV est/act MiB':>16} {'weights est/act':>18} {'total est/act':>17} "
            f"{'total err':>9}  fit-params model/ctx/compute"
        )
        print(header)
        print("-" * len(header))
        worst = 0.0
        for case in CASES:
            server = start_llama_server(models[case.model], [*LOG_ARGS, *case.args], log_dir=Path(tmp))
            try:
                log = server.log()
            finally:
                server.stop()
            c = compare(case, models[case.model], log)
            error = c.ratio(c.total_estimate, c.total_actual)
            worst = max(worst, abs(error))
            print(
                f"{case.label:44} {c.kv_estimate:7.2f}/{c.kv_actual:<8.2f} "
                f"{c.weights_estimate:8.2f}/{c.weights_actual:<9.2f} {c.total_estimate:8.2f}/{c.total_actual:<8.2f} "
                f"{error:+8.1%}  {fit_params(models[case.model], case.args)}"
            )
        print(f"\n{len(CASES)} cases; largest total error {worst:.1%} (KV must match exactly, weights 1 %, total 5 %)")


if __name__ == "__main__":
    main()
