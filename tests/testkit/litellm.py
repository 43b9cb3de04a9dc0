"""The real LiteLLM proxy (PyPI litellm[proxy], requirements/litellm.txt), started from a
config nix/lib renders (lib.litellmConfig) with the environment the rendered unit gives
it (lib.litellmEnvironment: no telemetry, the bundled model cost map, so it starts offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from testkit.nixeval import nix_eval
from testkit.processes import ManagedProcess, free_port, http_status, start_process
from testkit.tools import litellm_bin


def start_litellm(
    config: dict[str, Any], *, work_dir: Path, master_key: str | None = None, timeout: float = 180.0
) -> ManagedProcess:
    """Start the proxy on a free loopback port; ready when /health/liveliness answers."""
    port = free_port()
    config_path = work_dir / f"litellm-{port}.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    env = dict(nix_eval("lib.litellmEnvironment"))
    if master_key is not None:
        env["LITELLM_MASTER_KEY"] = master_key  # what the unit reads from its credential
    managed = start_process(
        "litellm",
        [litellm_bin(), "--config", config_path, "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
        work_dir / f"litellm-{port}.log",
        lambda: http_status(f"http://127.0.0.1:{port}/health/liveliness") == 200,
        timeout=timeout,
        env={**env, "HOME": str(work_dir)},
        cwd=work_dir,
    )
    managed.info.update(port=port, url=f"http://127.0.0.1:{port}", config_path=str(config_path))
    return managed
