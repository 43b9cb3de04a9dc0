"""`./dev demo --once` end to end: the same harness the integration tests use."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from testkit.local_stack import MODEL_NAMES
from testkit.nixeval import REPO, nix_eval


def run_demo(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """`./dev demo --once` with its temporary files in `tmp_path`."""
    return subprocess.run(
        [sys.executable, "-m", "testkit.demo", "--once"],
        cwd=REPO / "tests",
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TMPDIR": str(tmp_path), **env},
    )


def test_demo_once_shows_the_three_answers(tmp_path):
    result = run_demo(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"OpenAI base URL: http://127\.0\.0\.1:\d+/v1", out)
    assert "model=gpt-4o" in out and re.search(r"answer: '.*' \(12 tokens", out)
    # Every model and alias, each once, under the backend that answers it.
    aliases = nix_eval("lib.defaultAliases")
    listed = dict(re.findall(r"^  (chat|embedding|rerank): (.+)$", out, re.MULTILINE))
    for role, model in MODEL_NAMES.items():
        expected = [model, *sorted(alias for alias, target in aliases.items() if target == role)]
        assert listed[role].split(", ") == expected
    assert "vector: 128 dimensions" in out
    assert re.search(r"ranking: #\d -?\d+\.\d{4}, #\d -?\d+\.\d{4}, #\d -?\d+\.\d{4}", out)
    assert list(tmp_path.iterdir()) == [], "the demo left files behind"


def test_demo_without_llama_server_is_one_clear_line(tmp_path):
    result = run_demo(tmp_path, LLAMA_SERVER_BIN=str(tmp_path / "no-llama-server"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "demo: llama-server not found: set LLAMA_SERVER_BIN or put llama-server on PATH (./dev test installs it)"
    ], result.stderr
    assert list(tmp_path.iterdir()) == [], "the demo left files behind"


def test_a_missing_tool_outside_pytest_raises_instead_of_skipping(monkeypatch, tmp_path):
    from testkit import tools

    monkeypatch.setattr(tools, "UNDER_PYTEST", False)
    monkeypatch.setenv("ENVOY_BIN", str(tmp_path / "no-envoy"))
    with pytest.raises(tools.ToolMissing, match="envoy not found"):
        tools.envoy_bin()
