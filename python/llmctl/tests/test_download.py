"""`llmctl download` against the Hub emulator: what ends up on disk, under every fault."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from llmctl.cli import cli
from llmctl.fsutil import CHANGE_MARKER
from testkit.tmpfs import read_only, tmpfs
from testkit.waiting import wait_until

REPO = "fake-org/Tiny-Llama-GGUF"
Q4 = "Tiny-Llama-Q4_K_M.gguf"
SPLIT = ("Tiny-Llama-Q8_0/Tiny-Llama-Q8_0-00001-of-00002.gguf", "Tiny-Llama-Q8_0/Tiny-Llama-Q8_0-00002-of-00002.gguf")
BYTE_SPLIT = ("Tiny-Llama-Q6_K.gguf.part1of2", "Tiny-Llama-Q6_K.gguf.part2of2")
MMPROJ = "mmproj-Tiny-Llama-f16.gguf"


def _fake_gguf(name: str, size: int) -> bytes:
    seed = hashlib.sha256(name.encode()).digest()
    return b"GGUF" + (seed * (size // len(seed) + 1))[: size - 4]


@pytest.fixture
def hub(hub_emulator, tiny_models):
    """The emulator serving a bartowski-style repository made of the tiny models."""
    chat = tiny_models.chat.read_bytes()
    half = len(chat) // 2
    hub_emulator.add_repo(
        REPO,
        {
            ".gitattributes": b"*.gguf filter=lfs diff=lfs merge=lfs -text\n",
            "README.md": b"# Tiny Llama GGUF\n",
            Q4: chat,
            "Tiny-Llama-Q4_K_L.gguf": _fake_gguf("q4_k_l", 200_000),
            "Tiny-Llama-UD-Q2_K_XL.gguf": _fake_gguf("ud", 100_000),
            SPLIT[0]: tiny_models.split[0].read_bytes(),
            SPLIT[1]: tiny_models.split[1].read_bytes(),
            BYTE_SPLIT[0]: chat[:half],
            BYTE_SPLIT[1]: chat[half:],
            MMPROJ: _fake_gguf("mmproj", 50_000),
        },
    )
    hub_emulator.tree_page_size = 3
    return hub_emulator


def _download(models: Path, *args: str):
    result = CliRunner().invoke(cli, ["download", REPO, *args, "--models-dir", str(models)])
    return result


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _blob(hub, path: str):
    return hub.repos[REPO].files[path]


def _visible(models: Path) -> list[str]:
    """Files another program walking the models folder would see."""
    return sorted(
        str(p.relative_to(models))
        for p in models.rglob("*")
        if p.is_file() and ".partial" not in p.parts and p.name != CHANGE_MARKER
    )


def _file_gets(hub, path: str) -> list[dict]:
    return [e for e in hub.requests_for(path) if e["method"] == "GET" and e["server"] == "cdn"]


def test_download_one_quant_with_its_projector_verified_and_atomic(hub, models, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_value")
    result = _download(models, "Q4_K_M", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    target = models / "fake-org" / "Tiny-Llama-GGUF"
    assert _visible(models) == [f"fake-org/Tiny-Llama-GGUF/{Q4}", f"fake-org/Tiny-Llama-GGUF/{MMPROJ}"]
    assert _sha(target / Q4) == _blob(hub, Q4).sha256
    assert _sha(target / MMPROJ) == _blob(hub, MMPROJ).sha256
    assert data["model_ids"] == ["tiny-llama-q4_k_m"]
    assert data["commit"] == hub.repos[REPO].commit
    assert not (models / ".partial").exists()
    # The tree was read page by page; the token went to the Hub and never to the CDN.
    assert len([e for e in hub.log if "/tree/" in e["path"]]) > 3
    assert all(e["authorization"] == "Bearer hf_secret_token_value" for e in hub.log if e["server"] == "hub")
    assert [e["authorization"] for e in hub.log if e["server"] == "cdn"] == [None, None]
    assert "hf_secret_token_value" not in result.output
    # Renaming the marker into the folder itself is what starts discovery on a host.
    marker = models / ".llmctl-changed"
    announced = marker.stat().st_ino
    # A second run finds everything in place and transfers nothing.
    again = _download(models, "q4_k_m")
    assert again.exit_code == 0, again.output
    assert marker.stat().st_ino == announced, "nothing new, nothing announced"
    assert len(_file_gets(hub, Q4)) == 1
    assert "tiny-llama-q4_k_m" in again.stdout


def test_a_dropped_connection_resumes_its_chunk_where_it_stopped(hub, models):
    hub.fail_after[Q4] = 1_234_567
    result = _download(models, "Q4_K_M", "--no-mmproj")
    assert result.exit_code == 0, result.output
    gets = _file_gets(hub, Q4)
    last = _blob(hub, Q4).size - 1
    assert [g["range"] for g in gets] == [f"bytes=0-{last}", f"bytes=1234567-{last}"]
    assert [g["status"] for g in gets] == [206, 206]
    assert _sha(models / "fake-org/Tiny-Llama-GGUF" / Q4) == _blob(hub, Q4).sha256
    assert "resuming at byte 1234567" in result.stderr


def test_a_server_ignoring_range_gets_a_clean_restart(hub, models):
    hub.fail_after[Q4] = 1_000_000
    hub.ignore_range = True
    result = _download(models, "Q4_K_M", "--no-mmproj")
    assert result.exit_code == 0, result.output
    gets = _file_gets(hub, Q4)
    # The first answer (200 to a range) goes on as one stream; its retry asks for the rest, gets all again.
    first = f"bytes=0-{_blob(hub, Q4).size - 1}"
    assert [(g["range"], g["status"]) for g in gets] == [(first, 200), ("bytes=1000000-", 200)]
    assert _sha(models / "fake-org/Tiny-Llama-GGUF" / Q4) == _blob(hub, Q4).sha256
    assert "ignores Range: downloading Tiny-Llama-Q4_K_M.gguf over one connection" in result.stderr
    assert "ignored Range; restarting from byte 0" in result.stderr


def test_server_errors_are_retried(hub, models):
    hub.error_burst[Q4] = 3
    result = _download(models, "Q4_K_M", "--no-mmproj")
    assert result.exit_code == 0, result.output
    assert [g["status"] for g in _file_gets(hub, Q4)] == [503, 503, 503, 206]
    assert _sha(models / "fake-org/Tiny-Llama-GGUF" / Q4) == _blob(hub, Q4).sha256


def test_a_corrupted_byte_is_detected_and_nothing_becomes_visible(hub, models):
    hub.corrupt.add(Q4)
    result = _download(models, "Q4_K_M", "--no-mmproj")
    assert result.exit_code == 1
    assert "checksum mismatch" in result.stderr and _blob(hub, Q4).sha256 in result.stderr
    assert "Traceback" not in result.output
    assert _visible(models) == []
    assert not list(models.rglob("*.part"))
    assert not (models / ".llmctl-changed").exists()


def test_a_gated_repository_names_the_token_options(hub, models, tmp_path):
    hub.add_repo("gated-org/Gated-GGUF", {"Gated-Q4_K_M.gguf": _fake_gguf("gated", 10_000)}, token="hf_gate")
    result = CliRunner().invoke(cli, ["download", "gated-org/Gated-GGUF", "Q4_K_M", "--models-dir", str(models)])
    assert result.exit_code == 1
    assert "gated" in result.stderr and "HF_TOKEN" in result.stderr and "--token-file" in result.stderr
    token_file = tmp_path / "token"
    token_file.write_text("hf_gate\n")
    args = ["download", "gated-org/Gated-GGUF:Q4_K_M", "--models-dir", str(models), "--token-file", str(token_file)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (models / "gated-org/Gated-GGUF/Gated-Q4_K_M.gguf").is_file()
    assert "hf_gate" not in result.output


def test_unknown_quant_lists_the_available_ones(hub, models):
    result = _download(models, "Q4_K")
    assert result.exit_code == 2
    for quant in ("Q4_K_M", "Q4_K_L", "UD-Q2_K_XL", "Q8_0", "Q6_K"):
        assert quant in result.stderr
    assert "mmproj" not in result.stderr
    assert _visible(models) == []


def test_without_a_quant_the_quants_are_listed_with_sizes(hub, models):
    result = _download(models, "--json")
    assert result.exit_code == 2
    listed = {q["quant"]: q["size"] for q in json.loads(result.stdout)["quants"]}
    assert listed["Q8_0"] == sum(_blob(hub, p).size for p in SPLIT)
    assert listed["Q6_K"] == sum(_blob(hub, p).size for p in BYTE_SPLIT)
    assert "--all" in result.stderr


def test_dry_run_shows_the_plan_and_writes_nothing(hub, models):
    result = _download(models, "Q8_0", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert [f["path"] for f in plan["files"]] == [SPLIT[0], MMPROJ]
    assert plan["files"][0]["parts"] == list(SPLIT)
    assert plan["total"] == sum(_blob(hub, p).size for p in (*SPLIT, MMPROJ))
    assert 0 < plan["free_after"] < os.statvfs(models).f_bavail * os.statvfs(models).f_frsize
    assert list(models.iterdir()) == []
    human = _download(models, "Q8_0", "--dry-run")
    assert "free afterwards" in human.stdout and SPLIT[0] in human.stdout


def test_dry_run_counts_an_installed_shard_of_the_wrong_size_as_to_write(hub, models):
    stray = models / "fake-org/Tiny-Llama-GGUF" / SPLIT[0]
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"GGUF too short")
    result = _download(models, "Q8_0", "--no-mmproj", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["files"][0]["present"] is False
    assert plan["to_write"] == sum(_blob(hub, p).size for p in SPLIT), "the download rewrites that shard"


def test_split_in_a_subfolder_and_a_byte_split_load_in_llama_server(hub, models, llama_server):
    result = _download(models, "Q8_0", "Q6_K", "--no-mmproj", "--json")
    assert result.exit_code == 0, result.output
    target = models / "fake-org/Tiny-Llama-GGUF"
    assert _visible(models) == [f"fake-org/Tiny-Llama-GGUF/{name}" for name in ("Tiny-Llama-Q6_K.gguf", *SPLIT)]
    joined = target / "Tiny-Llama-Q6_K.gguf"
    assert _sha(joined) == _blob(hub, Q4).sha256  # the pieces joined give back the whole model
    assert json.loads(result.stdout)["model_ids"] == ["tiny-llama-q6_k", "tiny-llama-q8_0"]
    assert not (models / ".partial").exists()
    for model in (target / SPLIT[0], joined):
        server = llama_server(model, ["-c", "256"])
        with urllib.request.urlopen(server.info["url"] + "/props", timeout=10) as response:
            assert json.load(response)["model_path"] == str(model)


def test_two_concurrent_downloads_of_one_file_do_not_corrupt_it(hub, models, tmp_path):
    hub.stall_after[Q4] = 1_000_000
    first = _spawn(hub, models, tmp_path / "first.log")
    assert hub.stalled.wait(30), "the first download never started"
    second = _spawn(hub, models, tmp_path / "second.log")
    wait_until(lambda: "waiting for another download" in (tmp_path / "second.log").read_text(), what="the wait")
    hub.release.set()
    assert first.wait(60) == 0, (tmp_path / "first.log").read_text()
    assert second.wait(60) == 0, (tmp_path / "second.log").read_text()
    assert _sha(models / "fake-org/Tiny-Llama-GGUF" / Q4) == _blob(hub, Q4).sha256
    assert len(_file_gets(hub, Q4)) == 1, "the waiting download found the file done"
    assert not (models / ".partial").exists()


def test_resume_after_sigkill_asks_for_what_the_record_held(hub, models, tmp_path):
    hub.stall_after[Q4] = 2 << 20  # a block boundary: workers write whole 1 MiB blocks
    process = _spawn(hub, models, tmp_path / "killed.log")
    part = models / ".partial/fake-org--Tiny-Llama-GGUF" / (Q4 + ".part")
    assert hub.stalled.wait(30), (tmp_path / "killed.log").read_text()
    # The record counts the written start of the chunk in flight (saved every second).
    wait_until(lambda: _record(part).get("done") == [[0, 2 << 20]], what="the record of 2 MiB")
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert _visible(models) == []
    log_start = len(hub.log)
    rerun = _spawn(hub, models, tmp_path / "rerun.log")
    assert rerun.wait(60) == 0, (tmp_path / "rerun.log").read_text()
    [first_get] = [e for e in hub.log[log_start:] if e["file"] == Q4 and e["server"] == "cdn"]
    assert first_get["range"] == f"bytes={2 << 20}-{_blob(hub, Q4).size - 1}"
    assert _sha(models / "fake-org/Tiny-Llama-GGUF" / Q4) == _blob(hub, Q4).sha256
    assert not part.exists()


def test_a_full_disk_gives_a_clear_error_and_leaves_nothing_visible(hub, tmp_path):
    with tmpfs(tmp_path / "small", size="8m") as small:
        # Checked before starting: with 4 MB taken, the 5 MB file cannot fit.
        (small / "filler").write_bytes(b"\0" * 4_000_000)
        result = _download(small, "Q4_K_M", "--no-mmproj")
        assert result.exit_code == 1
        assert "not enough free space" in result.stderr and "Traceback" not in result.output
        assert _visible(small) == ["filler"]
        # The disk fills up during the transfer: the error says so and the part stays hidden.
        (small / "filler").unlink()
        hub.stall_after[Q4] = 1 << 20
        process = _spawn(hub, small, tmp_path / "full.log")
        assert hub.stalled.wait(30), (tmp_path / "full.log").read_text()
        part = small / ".partial/fake-org--Tiny-Llama-GGUF" / (Q4 + ".part")
        wait_until(lambda: _record(part).get("done") == [[0, 1 << 20]], what="the record of 1 MiB")
        (small / "filler").write_bytes(b"\0" * (_free(small) - 100_000))
        hub.release.set()
        assert process.wait(60) == 1
        log = (tmp_path / "full.log").read_text()
        assert "no space left on the device" in log and "Traceback" not in log
        assert _visible(small) == ["filler"]


def test_a_read_only_models_folder_is_named_before_any_transfer(hub, tmp_path):
    with tmpfs(tmp_path / "ro-models") as models:
        read_only(models)
        result = _download(models, "Q4_K_M", "--no-mmproj")
        assert result.exit_code == 1
        assert f"cannot write to the models folder {models}" in result.stderr and "--models-dir" in result.stderr
        assert "Traceback" not in result.output and "unexpected" not in result.stderr
        assert _file_gets(hub, Q4) == []


def _record(part: Path) -> dict:
    """The resume record beside a part ({} while there is none)."""
    try:
        return json.loads(part.with_name(part.name + ".json").read_text())
    except (OSError, ValueError):
        return {}


def _free(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def _spawn(hub, models: Path, log: Path, quant: str = "Q4_K_M") -> subprocess.Popen:
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint}
    argv = [sys.executable, "-m", "llmctl", "download", REPO, quant, "--no-mmproj", "--models-dir", str(models)]
    with open(log, "w") as handle:
        return subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT)
