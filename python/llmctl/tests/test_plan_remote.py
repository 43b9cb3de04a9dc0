"""`llmctl plan ORG/REPO[:QUANT]`: headers only, over HTTP Range, from the Hub emulator (hub + CDN origins)."""

from __future__ import annotations

import json

import gguf
import pytest
from click.testing import CliRunner

from llmctl.cli import cli
from testkit.tiny_models import write_llama

REPO = "test-org/tiny-llama-GGUF"


@pytest.fixture
def hub(hub_emulator, tiny_models, tmp_path):
    q8 = write_llama(tmp_path / "q8.gguf", weight_type=gguf.GGMLQuantizationType.Q8_0)[0]
    files = {
        "tiny-llama-F16.gguf": tiny_models.chat,
        "tiny-llama-Q8_0.gguf": q8,
        "split/tiny-llama-Q4_K_M-00001-of-00002.gguf": tiny_models.split[0],
        "split/tiny-llama-Q4_K_M-00002-of-00002.gguf": tiny_models.split[1],
        "mmproj-F16.gguf": tiny_models.gemma3,
        "README.md": b"tiny\n",
    }
    hub_emulator.add_repo(REPO, files)
    hub_emulator.files = files
    return hub_emulator


def bytes_sent(hub) -> int:
    """Bytes of repository files the emulator sent (both origins)."""
    return sum(entry["bytes_sent"] for entry in hub.settled().log if entry["file"])


def full_downloads(hub) -> int:
    return sum(1 for entry in hub.log if entry["file"] and entry["range"] is None)


def test_one_quant_reads_only_the_header(hub, tiny_models):
    result = CliRunner().invoke(cli, ["plan", REPO + ":Q8_0", "--ctx", "2048", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    size = hub.files["tiny-llama-Q8_0.gguf"].stat().st_size
    assert data["bytes_fetched"] == bytes_sent(hub)
    assert bytes_sent(hub) <= 128 * 1024 < size / 10  # the header, not the 2.5 MiB of weights
    assert full_downloads(hub) == 0
    local = json.loads(
        CliRunner().invoke(cli, ["plan", str(hub.files["tiny-llama-Q8_0.gguf"]), "--ctx", "2048", "--json"]).stdout
    )
    for key in ("weights_bytes", "kv_cache_bytes", "compute_bytes", "total_bytes", "gpu_layers"):
        assert data[key] == local[key]


def test_repo_without_quant_gives_one_row_per_quant(hub):
    result = CliRunner().invoke(cli, ["plan", REPO, "--gpu", "rx-7600", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["quant"]: row for row in json.loads(result.stdout)["quants"]}
    assert set(rows) == {"F16", "Q8_0", "Q4_K_M"}  # mmproj is not a model; shards are one model
    assert rows["Q4_K_M"]["plan"]["model"]["files"] == [
        f"{REPO}/split/tiny-llama-Q4_K_M-00001-of-00002.gguf",
        f"{REPO}/split/tiny-llama-Q4_K_M-00002-of-00002.gguf",
    ]
    assert all(row["verdict"] == "fits" and row["largest_ctx"] == 4096 for row in rows.values())
    total_size = sum(
        p.stat().st_size for name, p in hub.files.items() if name.endswith(".gguf") and "mmproj" not in name
    )
    assert bytes_sent(hub) < total_size / 10
    human = CliRunner().invoke(cli, ["plan", REPO, "--gpu", "rx-7600"])
    assert "Q8_0" in human.stdout and "5/5" in human.stdout


def test_unknown_quant_and_missing_repo(hub):
    result = CliRunner().invoke(cli, ["plan", REPO + ":IQ2_XXS"])
    assert result.exit_code == 1 and "no GGUF file for quant IQ2_XXS" in result.stderr
    result = CliRunner().invoke(cli, ["plan", "test-org/absent-GGUF"])
    assert result.exit_code == 1 and "not found" in result.stderr


def test_the_token_goes_to_the_hub_and_never_to_the_cdn(hub, tiny_models, monkeypatch):
    hub.add_repo("test-org/gated-GGUF", {"tiny-llama-Q8_0.gguf": tiny_models.chat}, token="hf_secret")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    result = CliRunner().invoke(cli, ["plan", "test-org/gated-GGUF:Q8_0", "--json"])
    assert result.exit_code == 0, result.output
    cdn = [entry for entry in hub.log if entry["server"] == "cdn"]
    assert cdn and all(entry["authorization"] is None for entry in cdn)
    assert all(entry["authorization"] == "Bearer hf_secret" for entry in hub.log if entry["server"] == "hub")
    assert "hf_secret" not in result.output


def test_quants_are_matched_as_download_matches_them(hub, tiny_models):
    hub.add_repo(
        "test-org/prefixed-GGUF",
        {"Q4_K_XL/tiny-UD-Q4_K_XL.gguf": tiny_models.chat, "tiny.i1-Q4_K_M.gguf": tiny_models.chat},
    )
    rows = json.loads(CliRunner().invoke(cli, ["plan", "test-org/prefixed-GGUF", "--json"]).stdout)["quants"]
    assert sorted(row["quant"] for row in rows) == ["UD-Q4_K_XL", "i1-Q4_K_M"]
    result = CliRunner().invoke(cli, ["plan", "test-org/prefixed-GGUF:q4_k_xl", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"]["files"] == ["test-org/prefixed-GGUF/Q4_K_XL/tiny-UD-Q4_K_XL.gguf"]
    result = CliRunner().invoke(cli, ["plan", "test-org/prefixed-GGUF:Q4_K"])  # bounded: never Q4_K_M
    assert result.exit_code == 1 and "no GGUF file for quant Q4_K" in result.stderr


def test_byte_split_pieces_are_read_as_one_file(hub):
    data = hub.files["tiny-llama-Q8_0.gguf"].read_bytes()
    cut = 1000  # inside the header: the reader's first read spans both pieces
    pieces = {"tiny-llama-Q8_0.gguf.part1of2": data[:cut], "tiny-llama-Q8_0.gguf.part2of2": data[cut:]}
    hub.add_repo("test-org/pieces-GGUF", pieces)
    result = CliRunner().invoke(cli, ["plan", "test-org/pieces-GGUF:Q8_0", "--ctx", "2048", "--json"])
    assert result.exit_code == 0, result.output
    remote = json.loads(result.stdout)
    ranged = [e for e in hub.log if e["server"] == "cdn" and e["file"] in pieces]
    assert {e["file"] for e in ranged} == set(pieces) and all(e["range"] for e in ranged)
    local = json.loads(
        CliRunner().invoke(cli, ["plan", str(hub.files["tiny-llama-Q8_0.gguf"]), "--ctx", "2048", "--json"]).stdout
    )
    for key in ("weights_bytes", "kv_cache_bytes", "total_bytes", "gpu_layers"):
        assert remote[key] == local[key]
