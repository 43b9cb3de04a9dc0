"""`llmctl exporter` as a real process against replay servers: llama-swap's running
model and its llama-server's counters come out labelled with the model, listed but
unloaded models as 0; bad addresses and a taken port are one clear error."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest
from click.testing import CliRunner

from llmctl.cli import cli
from llmctl.stack import load_stack
from llmctl.status.exporter import SpecSource
from testkit.processes import ProcessStartError
from testkit.prometheus import start_llmctl_exporter
from testkit.replay_servers import llama_server_routes, llama_swap_routes, ollama_routes, start_replay


@pytest.fixture
def services():
    started = []
    upstream = start_replay("qwen-server", llama_server_routes())
    started.append(upstream)
    swap = start_replay("llama-swap", llama_swap_routes(running=[{"model": "qwen", "proxy": upstream.url}]))
    ollama = start_replay("ollama", ollama_routes())
    started += [swap, ollama]
    yield {"llamaSwap": swap, "ollama": ollama, "upstream": upstream}
    for server in started:
        server.stop()


def write_stack(tmp_path, endpoints: dict, backend: str = "cpu") -> object:
    path = tmp_path / "stack.json"
    document = {"version": 1, "modelsDir": str(tmp_path), "endpoints": endpoints, "gpu": {"backend": backend}}
    path.write_text(json.dumps(document))
    return path


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return response.read().decode()


def test_exporter_joins_what_no_service_exports(tmp_path, services):
    endpoints = {name: {"url": services[name].url} for name in ("llamaSwap", "ollama")}
    stack = write_stack(tmp_path, endpoints, backend="rocm")
    exporter = start_llmctl_exporter(stack, tmp_path)
    try:
        text = scrape(exporter.info["port"])
    finally:
        exporter.stop()
    lines = set(text.splitlines())
    assert {
        'local_llm_up{service="llamaSwap",kind="llama-swap"} 1',
        'local_llm_up{service="ollama",kind="ollama"} 1',
        # Loaded by llama-swap; listed but not loaded; Ollama's loaded and available ones.
        'local_llm_model_loaded{service="llamaSwap",model="qwen"} 1',
        'local_llm_model_loaded{service="llamaSwap",model="devstral"} 0',
        'local_llm_model_loaded{service="ollama",model="llama3.2:3b"} 1',
        'local_llm_model_loaded{service="ollama",model="qwen3:8b"} 0',
        'local_llm_model_vram_bytes{service="ollama",model="llama3.2:3b"} 1610612736',
        'local_llm_model_slots_busy{service="llamaSwap",model="qwen"} 1',
        # The llama-server llama-swap runs, asked on its own port, under its model's name.
        'llamacpp:tokens_predicted_total{service="llamaSwap",model="qwen"} 345',
        'llamacpp:requests_processing{service="llamaSwap",model="qwen"} 1',
        # status' GPU-use check on a ROCm host: Ollama holds 3/4 of the model in VRAM.
        'local_llm_model_gpu_use{service="ollama",model="llama3.2:3b",state="partial"} 1',
    } <= lines
    assert "# TYPE local_llm_model_loaded gauge" in lines
    assert "/upstream/" not in " ".join(services["llamaSwap"].requests), "never through llama-swap"
    assert "/metrics" in services["upstream"].requests


def test_a_down_service_is_zero_not_missing(tmp_path):
    from testkit.processes import free_port

    stack = write_stack(tmp_path, {"llamaSwap": {"url": f"http://127.0.0.1:{free_port()}"}})
    exporter = start_llmctl_exporter(stack, tmp_path)
    try:
        text = scrape(exporter.info["port"])
    finally:
        exporter.stop()
    assert 'local_llm_up{service="llamaSwap",kind="llama-swap"} 0' in text.splitlines()


def test_the_spec_is_read_again_when_its_file_changes(tmp_path, services):
    stack = write_stack(tmp_path, {"ollama": {"url": services["ollama"].url}})
    source = SpecSource(lambda: load_stack(stack), str(stack))
    assert set(source.get().endpoints) == {"ollama"}
    assert source.get() is source.get(), "unchanged: not read again"
    write_stack(tmp_path, {"ollama": {"url": services["ollama"].url}, "llamaSwap": {"url": services["llamaSwap"].url}})
    assert set(source.get().endpoints) == {"ollama", "llamaSwap"}


def test_a_taken_port_is_one_clear_error(tmp_path, services):
    stack = write_stack(tmp_path, {"ollama": {"url": services["ollama"].url}})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["--stack", str(stack), "exporter", "--listen", f"127.0.0.1:{port}"])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Hint: pass --listen HOST:PORT with a free port" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("listen", ["9903", "127.0.0.1:", "127.0.0.1:99999", "host:port"])
def test_a_bad_listen_address_is_a_usage_error(tmp_path, listen):
    result = CliRunner().invoke(cli, ["--stack", str(write_stack(tmp_path, {})), "exporter", "--listen", listen])
    assert result.exit_code == 2 and "is not HOST:PORT" in result.stderr


def test_a_missing_stack_spec_stops_it_before_it_listens(tmp_path):
    with pytest.raises(ProcessStartError, match="does not exist"):
        start_llmctl_exporter(tmp_path / "none.json", tmp_path)
