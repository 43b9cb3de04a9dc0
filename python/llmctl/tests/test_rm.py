"""`llmctl rm`: a model's files go, with every split part and a projector nobody else uses."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from llmctl.cli import cli
from llmctl.fsutil import CHANGE_MARKER
from testkit.tmpfs import read_only, tmpfs

FILES = (
    "org/Repo-GGUF/Repo-Q8_0/Repo-Q8_0-00001-of-00002.gguf",
    "org/Repo-GGUF/Repo-Q8_0/Repo-Q8_0-00002-of-00002.gguf",
    "org/Repo-GGUF/Repo-Q4_K_M.gguf",
    "org/Repo-GGUF/mmproj-Repo-f16.gguf",
    "other/Text-GGUF/Text-Q4_K_M.gguf",
    ".partial/org--Repo-GGUF/Repo-Q4_K_M.gguf.part",
)


@pytest.fixture
def models(tmp_path, tiny_models):
    """Real GGUF headers: rm finds models through the inventory, as `llmctl models` lists them."""
    for name in FILES:
        path = tmp_path / "models" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tiny_models.chat, path)
    return tmp_path / "models"


def _rm(models, *args, input=None):
    return CliRunner().invoke(cli, ["rm", *args, "--models-dir", str(models)], input=input)


def _left(models) -> list[str]:
    return sorted(str(p.relative_to(models)) for p in models.rglob("*") if p.is_file() and p.name != CHANGE_MARKER)


def test_rm_removes_every_split_part_and_keeps_a_shared_projector(models):
    result = _rm(models, "Repo-Q8_0", "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["removed"]) == sorted(str(models / f) for f in FILES[:2])
    assert _left(models) == sorted(FILES[2:])
    assert not (models / "org/Repo-GGUF/Repo-Q8_0").exists()


def test_rm_of_the_last_model_takes_its_projector_and_empty_folders(models):
    assert _rm(models, "repo-q8_0", "--yes").exit_code == 0
    result = _rm(models, "repo-q4_k_m", "--yes")
    assert result.exit_code == 0, result.output
    assert _left(models) == sorted(FILES[4:])
    assert not (models / "org").exists()


def test_rm_asks_first_and_a_no_keeps_everything(models):
    result = _rm(models, "text-q4_k_m", input="n\n")
    assert result.exit_code == 1
    assert "Text-Q4_K_M.gguf" in result.stderr
    assert _left(models) == sorted(FILES)
    assert not (models / ".llmctl-changed").exists(), "nothing removed, nothing announced"
    assert _rm(models, "text-q4_k_m", input="y\n").exit_code == 0
    assert (models / ".llmctl-changed").is_file(), "the removal is announced to discovery"
    assert "other/Text-GGUF/Text-Q4_K_M.gguf" not in _left(models)


def test_rm_of_an_unknown_model_suggests_close_ids(models):
    result = _rm(models, "repo-q4_k", "--yes")
    assert result.exit_code == 1
    assert "no model 'repo-q4_k'" in result.stderr and "repo-q4_k_m" in result.stderr
    assert _left(models) == sorted(FILES)


def test_rm_finds_colliding_ids_as_the_inventory_names_them(models, tiny_models):
    twin = models / "mirror" / "Text-GGUF" / "Text-Q4_K_M.gguf"
    twin.parent.mkdir(parents=True)
    shutil.copyfile(tiny_models.chat, twin)
    assert _rm(models, "text-q4_k_m", "--yes").exit_code == 1  # ambiguous now: no bare ID
    result = _rm(models, "mirror/text-gguf/text-q4_k_m", "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["removed"] == [str(twin)]
    assert "other/Text-GGUF/Text-Q4_K_M.gguf" in _left(models)


def test_rm_names_an_unreadable_file_instead_of_guessing(models):
    (models / "other/Text-GGUF/Text-Q4_K_M.gguf").write_bytes(b"GGUF broken")
    result = _rm(models, "text-q4_k_m", "--yes")
    assert result.exit_code == 1 and "listed as invalid" in result.stderr
    assert _left(models) == sorted(FILES)


def test_rm_on_a_read_only_folder_says_so_without_a_traceback(tmp_path, tiny_models):
    with tmpfs(tmp_path / "ro-models") as models:
        shutil.copyfile(tiny_models.chat, models / "Text-Q4_K_M.gguf")
        read_only(models)
        result = _rm(models, "text-q4_k_m", "--yes")
        assert result.exit_code == 1
        assert "cannot remove" in result.stderr and "0 of 1 file(s) removed" in result.stderr
        assert "Traceback" not in result.output
        assert (models / "Text-Q4_K_M.gguf").is_file()
