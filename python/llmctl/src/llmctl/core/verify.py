"""Run the host checks (llmctl.hostchecks) in-process with pytest and collect one
result per check."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from llmctl.errors import LlmctlError


def run_host_checks(target: str, spec_path: Path | None) -> list[dict[str, str]]:
    """Results as dicts: check, result (pass, fail, error, skip), reason."""
    import pytest

    from llmctl import hostchecks
    from llmctl.hostchecks.plugin import ResultCollector

    folder = Path(hostchecks.__file__).parent
    args = [
        str(folder / "test_host.py"),
        "-c",
        str(folder / "pytest.ini"),
        "--rootdir",
        str(folder),
        "--import-mode=importlib",
        "-p",
        "llmctl.hostchecks.plugin",
        "-p",
        "no:terminal",
        f"--hosts={target}",
    ]
    if spec_path is not None:
        args.append(f"--stack-spec={spec_path}")
    collector = ResultCollector()
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main(args, plugins=[collector])
    if not collector.results:
        tail = " ".join(output.getvalue().split())[-300:]
        raise LlmctlError(f"the host checks did not run (pytest exit code {int(code)})", hint=tail or None)
    return collector.results
