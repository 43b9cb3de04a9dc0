"""`llmctl render --configuration-from`: the facts file's errors name the file (the
folder rendering itself, with Nix, is tested in tests/nix/test_render.py)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from llmctl.cli import cli


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
