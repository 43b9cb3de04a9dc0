"""What a missing program or data folder does to a test: a skip with the reason when
pytest is run by hand, a failure under LOCAL_LLM_REQUIRE_TOOLS=1 (./dev test, CI), so a
suite that passes in CI never passed by skipping."""

from __future__ import annotations

import pytest

from testkit import tools


def test_a_missing_tool_fails_under_require_tools(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCAL_LLM_REQUIRE_TOOLS", "1")
    monkeypatch.setenv("ENVOY_BIN", str(tmp_path / "no-envoy"))
    with pytest.raises(pytest.fail.Exception, match="envoy not found: set ENVOY_BIN"):
        tools.envoy_bin()
    with pytest.raises(pytest.fail.Exception, match="no-such-folder not found"):
        tools.shared_data("no-such-folder")


def test_a_missing_tool_skips_with_its_reason_by_hand(monkeypatch, tmp_path):
    monkeypatch.delenv("LOCAL_LLM_REQUIRE_TOOLS", raising=False)
    monkeypatch.setenv("ENVOY_BIN", str(tmp_path / "no-envoy"))
    with pytest.raises(pytest.skip.Exception, match="envoy not found: set ENVOY_BIN"):
        tools.envoy_bin()


def test_a_named_program_is_found_by_its_variable(monkeypatch, tmp_path):
    program = tmp_path / "envoy"
    program.write_text("#!/bin/sh\n")
    monkeypatch.setenv("ENVOY_BIN", str(program))
    assert tools.envoy_bin() == program
