"""`llmctl plan ORG/REPO[:QUANT]`: headers only, over HTTP Range, from a local Hub stand-in."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import gguf
import pytest
from click.testing import CliRunner

from llmctl.cli import cli
from testkit.tiny_models import write_llama


class HubStandIn:
    """Serves a repo listing and `resolve/main/<file>` with Range support; counts bytes sent."""

    def __init__(self, repo: str, files: dict[str, Path]):
        self.repo, self.files = repo, files
        self.bytes_sent = 0
        self.full_downloads = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_GET(self):
                stand_in.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?")[0]
        if path == f"/api/models/{self.repo}/tree/main":
            listing = [{"type": "file", "path": "README.md", "size": 10}]
            listing += [{"type": "file", "path": name, "size": p.stat().st_size} for name, p in self.files.items()]
            body = json.dumps(listing).encode()
            request.send_response(200)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
            return
        prefix = f"/{self.repo}/resolve/main/"
        name = path[len(prefix) :] if path.startswith(prefix) else None
        if name not in self.files:
            request.send_error(404)
            return
        data = self.files[name].read_bytes()
        wanted = re.fullmatch(r"bytes=(\d+)-(\d+)", request.headers.get("Range", ""))
        if not wanted:
            self.full_downloads += 1
            request.send_response(200)
            chunk = data
        else:
            start, end = int(wanted[1]), min(int(wanted[2]), len(data) - 1)
            chunk = data[start : end + 1]
            request.send_response(206)
            request.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.bytes_sent += len(chunk)  # counted before the client can see it
        request.send_header("Content-Length", str(len(chunk)))
        request.end_headers()
        request.wfile.write(chunk)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub(tiny_models, monkeypatch, tmp_path):
    q8 = write_llama(tmp_path / "q8.gguf", weight_type=gguf.GGMLQuantizationType.Q8_0)[0]
    files = {
        "tiny-llama-F16.gguf": tiny_models.chat,
        "tiny-llama-Q8_0.gguf": q8,
        "split/tiny-llama-Q4_K_M-00001-of-00002.gguf": tiny_models.split[0],
        "split/tiny-llama-Q4_K_M-00002-of-00002.gguf": tiny_models.split[1],
        "mmproj-F16.gguf": tiny_models.gemma3,
    }
    stand_in = HubStandIn("test-org/tiny-llama-GGUF", files)
    monkeypatch.setenv("HF_ENDPOINT", stand_in.url)
    yield stand_in
    stand_in.close()


def test_one_quant_reads_only_the_header(hub, tiny_models):
    result = CliRunner().invoke(cli, ["plan", "test-org/tiny-llama-GGUF:Q8_0", "--ctx", "2048", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    size = hub.files["tiny-llama-Q8_0.gguf"].stat().st_size
    assert data["bytes_fetched"] == hub.bytes_sent
    assert hub.bytes_sent <= 128 * 1024 < size / 10  # the header, not the 2.5 MiB of weights
    assert hub.full_downloads == 0
    local = json.loads(
        CliRunner().invoke(cli, ["plan", str(hub.files["tiny-llama-Q8_0.gguf"]), "--ctx", "2048", "--json"]).stdout
    )
    for key in ("weights_bytes", "kv_cache_bytes", "compute_bytes", "total_bytes", "gpu_layers"):
        assert data[key] == local[key]


def test_repo_without_quant_gives_one_row_per_quant(hub):
    result = CliRunner().invoke(cli, ["plan", "test-org/tiny-llama-GGUF", "--gpu", "rx-7600", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["quant"]: row for row in json.loads(result.stdout)["quants"]}
    assert set(rows) == {"F16", "Q8_0", "Q4_K_M"}  # mmproj is not a model; shards are one model
    assert rows["Q4_K_M"]["plan"]["model"]["files"] == [
        "test-org/tiny-llama-GGUF/split/tiny-llama-Q4_K_M-00001-of-00002.gguf",
        "test-org/tiny-llama-GGUF/split/tiny-llama-Q4_K_M-00002-of-00002.gguf",
    ]
    assert all(row["verdict"] == "fits" and row["largest_ctx"] == 4096 for row in rows.values())
    total_size = sum(p.stat().st_size for name, p in hub.files.items() if "mmproj" not in name)
    assert hub.bytes_sent < total_size / 10
    human = CliRunner().invoke(cli, ["plan", "test-org/tiny-llama-GGUF", "--gpu", "rx-7600"])
    assert "Q8_0" in human.stdout and "5/5" in human.stdout


def test_unknown_quant_and_missing_repo(hub):
    result = CliRunner().invoke(cli, ["plan", "test-org/tiny-llama-GGUF:IQ2_XXS"])
    assert result.exit_code == 1 and "no GGUF file for quant IQ2_XXS" in result.stderr
    result = CliRunner().invoke(cli, ["plan", "test-org/absent-GGUF"])
    assert result.exit_code == 1 and "not found" in result.stderr
