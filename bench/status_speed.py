"""How fast `llmctl status` answers, and how fast `llmctl --help` starts.

Starts the local stack of tests/testkit.status_stack.py (three real llama-servers behind
a real Envoy, replay servers for Ollama, llama-swap and Open WebUI), then times in one run:

- `llmctl status` with every service up (goal: under 300 ms),
- `llmctl status --timeout T` with Ollama hung (goal: at most T + 200 ms),
- `llmctl --help` against a bare `python -c pass` (goal: under 150 ms),

and the heaviest imports of `llmctl --help` from `python -X importtime`.

Run: eval "$(./dev env)"; python bench/status_speed.py
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from testkit import tiny_models
from testkit.envoy import start_envoy
from testkit.llama_server import start_llama_server
from testkit.replay_servers import ollama_routes, start_replay
from testkit.status_stack import build_local_stack

RUNS = 7
HUNG_TIMEOUT_S = 1.0
LLMCTL = [shutil.which("llmctl") or sys.executable, *([] if shutil.which("llmctl") else ["-m", "llmctl"])]


def wall_ms(argv: list[str], runs: int = RUNS) -> tuple[float, float, list[int]]:
    """Median wall time and median CPU time (user + system, which a loaded machine
    disturbs less) in ms over `runs` runs, and the exit codes seen."""
    times, cpu, codes = [], [], set()
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True)
        times.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
        codes.add(done.returncode)
    return statistics.median(times), statistics.median(cpu), sorted(codes)


def heaviest_imports(argv: list[str], top: int = 5) -> list[tuple[int, str]]:
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="status-bench-"))
    models = tiny_models.build_all(root / "models")
    stack = build_local_stack(
        root / "stack",
        models,
        lambda model, args: start_llama_server(model, args, log_dir=root / "logs"),
        lambda config, admin_port: start_envoy(config, admin_port=admin_port, work_dir=root),
    )
    hung = start_replay("ollama-hung", ollama_routes(), "hang")
    try:
        document = stack.spec_copy()
        document["endpoints"]["ollama"]["url"] = hung.url
        hung_spec = stack.write_spec(document, "hung.json")
        load = os.getloadavg()[0]
        up_ms, up_cpu, up_codes = wall_ms([*LLMCTL, "--stack", str(stack.spec_path), "status"])
        hung_ms, hung_cpu, hung_codes = wall_ms(
            [*LLMCTL, "--stack", str(hung_spec), "status", "--timeout", str(HUNG_TIMEOUT_S)], runs=3
        )
        help_ms, help_cpu, _ = wall_ms([*LLMCTL, "--help"])
        python_ms, python_cpu, _ = wall_ms([sys.executable, "-c", "pass"])
        imports = heaviest_imports(["-m", "llmctl", "--help"])
    finally:
        hung.stop()
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)

    bound = HUNG_TIMEOUT_S * 1000 + 200
    print(f"load average at start: {load:.1f} on {os.cpu_count()} cores (wall times grow with it)")
    print(
        f"llmctl status, 7 services up:  wall {up_ms:7.1f} ms  cpu {up_cpu:6.1f} ms"
        f"  (goal < 300 ms: wall {up_ms / 300:.2f} of it; exit {up_codes})"
    )
    print(
        f"llmctl status, ollama hung:    wall {hung_ms:7.1f} ms  cpu {hung_cpu:6.1f} ms"
        f"  (timeout {HUNG_TIMEOUT_S:g} s, goal <= {bound:.0f} ms: wall {hung_ms / bound:.2f} of it;"
        f" exit {hung_codes})"
    )
    print(
        f"llmctl --help:                 wall {help_ms:7.1f} ms  cpu {help_cpu:6.1f} ms"
        f"  (goal < 150 ms: wall {help_ms / 150:.2f} of it)"
    )
    print(
        f"python -c pass (reference):    wall {python_ms:7.1f} ms  cpu {python_cpu:6.1f} ms"
        f"  (llmctl --help costs {help_ms / python_ms:.1f}x its wall time)"
    )
    print("heaviest imports of llmctl --help (cumulative us):")
    for micros, name in imports:
        print(f"  {micros:8d}  {name.strip()}")


if __name__ == "__main__":
    main()
