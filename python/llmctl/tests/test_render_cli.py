"""`llmctl render`'s command line: the facts file's errors name the file, --json keeps
stdout for JSON (the rendered files themselves are tested in tests/nix/test_render.py)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from llmctl.cli import cli
from testkit.tools import nix_instantiate_bin


def render_configuration(tmp_path, text: str):
    facts = tmp_path / "facts.json"
    facts.write_text(text)
    result = CliRunner().invoke(cli, ["render", "--configuration-from", str(facts), "-o", str(tmp_path / "out")])
    return facts, result


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "the configuration facts must be an attribute set"),
        ("{}", "not nix/lib's configuration facts"),
    ],
)
def test_bad_configuration_facts_are_one_error_naming_the_file(tmp_path, text, says):
    facts, result = render_configuration(tmp_path, text)
    assert result.exit_code == 1
    (error, hint) = result.stderr.strip().splitlines()
    assert error.startswith(f"Error: {facts}") and says in error, error
    assert hint.startswith("Hint: ") and "unexpected" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_install_question_goes_to_stderr_and_stdout_stays_json(tmp_path, monkeypatch):
    monkeypatch.setenv("NIX_INSTANTIATE_BIN", str(nix_instantiate_bin()))
    stack_input = tmp_path / "input.json"
    stack_input.write_text("{}")  # nix/lib's defaults: a stack with a unit or two to install
    argv = ["render", str(stack_input), "-o", str(tmp_path / "out"), "--install", "--root", str(tmp_path / "root")]
    asked = CliRunner().invoke(cli, [*argv, "--json"], input="n\n")
    assert asked.exit_code == 2 and "Install " in asked.stderr
    assert asked.stdout == ""
    installed = CliRunner().invoke(cli, [*argv, "--json"], input="y\n")
    assert installed.exit_code == 0, installed.stderr
    assert json.loads(installed.stdout)["installed"]
