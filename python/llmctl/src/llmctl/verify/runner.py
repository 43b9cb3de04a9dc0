"""Run the host checks (llmctl.verify.checks) in-process with pytest and collect one
result per check."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from llmctl.errors import VerifyError


def run_host_checks(target: str, spec_path: Path | None) -> list[dict[str, str]]:
    """Results as dicts: check, result (pass, fail, error, skip), reason. Without
    `spec_path` the host is compared with its own /etc/local-llm/stack.json."""
    import pytest

    from llmctl.verify import checks
    from llmctl.verify.checks.plugin import PresetStack, ResultCollector, read_host_stack

    folder = Path(checks.__file__).parent
    args = [
        str(folder / "test_host.py"),
        "-c",
        str(folder / "pytest.ini"),
        "--rootdir",
        str(folder),
        "--import-mode=importlib",
        "-p",
        "llmctl.verify.checks.plugin",
        "-p",
        "no:terminal",
        f"--hosts={target}",
    ]
    collector = ResultCollector()
    plugins: list[object] = [collector]
    if spec_path is not None:
        args.append(f"--stack-spec={spec_path}")
    else:
        plugins.append(PresetStack(read_host_stack(target)))
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main(args, plugins=plugins)
    if not collector.results:
        tail = " ".join(output.getvalue().split())[-300:]
        raise VerifyError(f"the host checks did not run (pytest exit code {int(code)})", hint=tail or None)
    return collector.results
