"""The CLI skeleton: help, version, and the error and output conventions."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from llmctl import __version__
from llmctl.app import LazyGroup
from llmctl.cli import COMMANDS, cli
from llmctl.errors import LlmctlError, UsageError


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_help_lists_every_command_group_with_examples(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    for name in COMMANDS:
        assert name in result.output
    assert "Examples:" in result.output
    assert runner.invoke(cli, ["-h"]).output == result.output


# What `llmctl --help` must not load: it imports every command module for the list of
# commands, so a command that pulls these in at import time slows every start.
HEAVY_AT_HELP = (
    "importlib.metadata",  # llmctl.__version__ scans every installed distribution
    "hashlib",
    "requests",
    "rich",
    "gguf",
    "jsonschema",
    "yaml",
    "jinja2",
    "llmctl.gguf.reader",
    "llmctl.hub.client",
)


def test_help_loads_no_heavy_module():
    probe = (
        "import sys\n"
        "from llmctl.cli import cli\n"
        "try:\n"
        "    cli(['--help'], prog_name='llmctl')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    loaded = set(done.stderr.split())
    assert "llmctl.commands.download" in loaded  # the probe saw the command modules
    assert [name for name in HEAVY_AT_HELP if name in loaded] == []


def test_version_reports_the_package_version(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"llmctl, version {__version__}"
    assert __version__ != "0.0.0+unknown", "llmctl must be installed (./dev setup installs it editable)"


def test_every_command_has_help_and_examples(runner):
    for name in COMMANDS:
        group = cli.get_command(click.Context(cli), name)
        commands = group.commands.values() if isinstance(group, click.Group) else [group]
        for command in commands:
            result = runner.invoke(cli, [name, command.name, "--help"])
            assert result.exit_code == 0, result.output
            assert "Examples:" in result.output, f"{name} {command.name} --help has no examples"


def test_unknown_command_is_a_usage_error_with_exit_code_2(runner):
    result = runner.invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def _group_raising(error: BaseException) -> click.Group:
    @click.group(cls=LazyGroup)
    def root():
        pass

    @root.command()
    def boom():
        raise error

    return root


def test_llmctl_error_is_one_line_with_hint_and_exit_1(runner):
    result = runner.invoke(_group_raising(LlmctlError("the model is gone", hint="run llmctl models")), ["boom"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["Error: the model is gone", "Hint: run llmctl models"]
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_usage_error_exits_2(runner):
    result = runner.invoke(_group_raising(UsageError("pick a quant")), ["boom"])
    assert result.exit_code == 2
    assert "Error: pick a quant" in result.stderr


def test_unexpected_exception_has_no_traceback_unless_debug(runner, monkeypatch):
    group = _group_raising(ZeroDivisionError("division by zero"))
    result = runner.invoke(group, ["boom"])
    assert result.exit_code == 1
    assert "unexpected ZeroDivisionError: division by zero" in result.stderr
    assert "--debug" in result.stderr
    assert "Traceback" not in result.stderr

    monkeypatch.setenv("LLMCTL_DEBUG", "1")
    result = runner.invoke(group, ["boom"])
    assert isinstance(result.exception, ZeroDivisionError), "with debug the exception propagates"


def test_debug_flag_lets_the_traceback_through(runner, tmp_path):
    missing = tmp_path / "missing.json"
    quiet = runner.invoke(cli, ["stack", "show", "--stack", str(missing)])
    assert quiet.exit_code == 1 and quiet.exception is not None and isinstance(quiet.exception, SystemExit)
    loud = runner.invoke(cli, ["--debug", "stack", "show", "--stack", str(missing)])
    assert isinstance(loud.exception, LlmctlError)


def test_json_output_is_only_json_on_stdout(runner, stack_file):
    result = runner.invoke(cli, ["stack", "show", "--stack", str(stack_file), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["endpoints"]["chat"]["url"] == "http://127.0.0.1:8000"


def test_global_stack_option_and_environment_variable(runner, stack_file, monkeypatch):
    by_flag = runner.invoke(cli, ["--stack", str(stack_file), "stack", "show", "--json"])
    assert by_flag.exit_code == 0, by_flag.stderr
    monkeypatch.setenv("LOCAL_LLM_STACK", str(stack_file))
    by_env = runner.invoke(cli, ["stack", "show", "--json"])
    assert by_env.exit_code == 0, by_env.stderr
    assert json.loads(by_env.stdout) == json.loads(by_flag.stdout)


def test_human_view_shows_endpoints(runner, stack_file):
    result = runner.invoke(cli, ["stack", "show", "--stack", str(stack_file)])
    assert result.exit_code == 0, result.stderr
    assert "http://127.0.0.1:8001" in result.stdout
    assert "strix-halo" in result.stdout


@pytest.mark.parametrize(
    ("error", "stderr"),
    [
        (
            OSError(28, "No space left on device", "/srv/models/x.gguf"),
            [
                "Error: no space left on the device: /srv/models/x.gguf (No space left on device)",
                "Hint: free some space, or pass --models-dir on a larger filesystem",
            ],
        ),
        (
            PermissionError(13, "Permission denied", "/etc/local-llm/stack.json"),
            [
                "Error: Permission denied: /etc/local-llm/stack.json",
                "Hint: run as a user who may write there, or choose another path",
            ],
        ),
    ],
)
def test_foreign_errors_are_mapped_at_the_boundary(runner, error, stderr):
    result = runner.invoke(_group_raising(error), ["boom"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr


def test_a_requests_network_error_is_mapped_too(runner):
    import requests

    result = runner.invoke(_group_raising(requests.ConnectionError("refused")), ["boom"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "Error: network error: ConnectionError"
    assert "HF_ENDPOINT" in result.stderr
