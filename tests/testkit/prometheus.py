"""Prometheus, promtool, the node exporter and `llmctl exporter`, started for real on
free loopback ports (Debian's prometheus and prometheus-node-exporter; `./dev setup`
installs them).

    server = start_prometheus(config, rules, work_dir)   # waits for /-/ready
    server.query("up")                                    # the HTTP API's result list
    server.wait_for("every target up", lambda: ..., timeout=60)

A program that exits or never gets ready raises `ProcessStartError` with its log tail;
`wait_for` fails the same way, with Prometheus' log, when the condition never holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testkit.processes import ManagedProcess, free_port, http_status, start_process
from testkit.tools import node_exporter_bin, prometheus_bin, promtool_bin
from testkit.waiting import wait_until

RULES_FILE = "local-llm.rules.yml"


def promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run promtool; the result has returncode, stdout and stderr (text)."""
    return subprocess.run(
        [str(promtool_bin()), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def write_config(work_dir: Path, config: dict[str, Any], rules: dict[str, Any] | None) -> Path:
    """prometheus.yml (and the rules file it names) in `work_dir`; JSON is YAML."""
    work_dir.mkdir(parents=True, exist_ok=True)
    if rules is not None:
        (work_dir / RULES_FILE).write_text(json.dumps(rules, indent=2))
    path = work_dir / "prometheus.yml"
    path.write_text(json.dumps(config, indent=2))
    return path


@dataclass
class Prometheus:
    process: ManagedProcess
    url: str

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
            answer = json.load(response)
        if answer.get("status") != "success":
            raise AssertionError(f"Prometheus /api/v1/{path}: {answer}")
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result (vector samples: {"metric": {...}, "value": [t, "v"]})."""
        data = self.api("query", query=expr)
        return data["result"] if data["resultType"] == "vector" else [{"metric": {}, "value": data["result"]}]

    def values_since(self, expr: str, start: float, step: float = 1.0) -> list[float]:
        """Every finite value `expr` took from `start` (a Unix time) until now, by a range
        query (an instant query can miss what a short rate window saw a while ago)."""
        data = self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{time.time():.3f}", step=f"{step:g}")
        values = [float(v) for series in data["result"] for _, v in series["values"]]
        return [v for v in values if v == v and abs(v) != float("inf")]

    def alerts(self) -> list[dict[str, Any]]:
        return self.api("alerts")["alerts"]

    def targets(self) -> list[dict[str, Any]]:
        return self.api("targets")["activeTargets"]

    def wait_for(self, what: str, condition: Callable[[], Any], timeout: float = 90.0) -> Any:
        """Poll `condition` until it returns something true; its value is returned. Fails
        with Prometheus' log when it never does (the deadline is a guard, not a measure)."""
        return wait_until(
            condition,
            what=what,
            timeout=timeout,
            interval=0.5,
            detail=lambda: f"--- Prometheus log ---\n{self.process.log_tail()}",
        )

    def stop(self) -> None:
        self.process.stop()


def start_prometheus(
    config: dict[str, Any], rules: dict[str, Any] | None, work_dir: Path, *, port: int | None = None
) -> Prometheus:
    """Prometheus with `config` (and `rules` as local-llm.rules.yml), its storage in
    `work_dir`; returned once /-/ready answers."""
    config_file = write_config(work_dir, config, rules)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        prometheus_bin(),
        f"--config.file={config_file}",
        f"--storage.tsdb.path={work_dir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    process = start_process(
        "prometheus", argv, work_dir / "prometheus.log", lambda: http_status(f"{url}/-/ready") == 200, timeout=60
    )
    return Prometheus(process, url)


def start_node_exporter(sysfs_root: Path, work_dir: Path, *, port: int | None = None) -> ManagedProcess:
    """The node exporter with only its drm collector, reading `sysfs_root` as /sys (a
    recorded amdgpu tree: real node_drm_* series without a GPU)."""
    port = port or free_port()
    argv = [
        node_exporter_bin(),
        "--collector.disable-defaults",
        "--collector.drm",
        f"--path.sysfs={sysfs_root}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    managed = start_process(
        "node-exporter",
        argv,
        work_dir / "node-exporter.log",
        lambda: http_status(f"http://127.0.0.1:{port}/metrics") == 200,
        timeout=30,
    )
    managed.info["port"] = port
    return managed


def start_llmctl_exporter(stack_file: Path, work_dir: Path, *, port: int | None = None) -> ManagedProcess:
    """`llmctl exporter` for `stack_file`, serving /metrics on a loopback port."""
    port = port or free_port()
    argv = [sys.executable, "-m", "llmctl", "--stack", stack_file, "exporter", "--listen", f"127.0.0.1:{port}"]
    managed = start_process(
        "llmctl-exporter",
        argv,
        work_dir / "llmctl-exporter.log",
        lambda: http_status(f"http://127.0.0.1:{port}/metrics", timeout=10) == 200,
        timeout=60,
    )
    managed.info["port"] = port
    return managed
