"""`llmctl status --watch` against a real llama-server started with --metrics: the rate
between two sweeps is the tokens generated between them, JSON lines off a terminal, a
live table on one, and Ctrl-C ends either without a traceback."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

from llmctl.stack import load_stack
from llmctl.status.collect import collect_status
from llmctl.status.exposition import render
from llmctl.status.rates import RateTracker
from testkit.openai_client import post_json

GENERATED = 16  # tokens per completion: n_predict with ignore_eos, so exactly these


@pytest.fixture
def server(llama_server, tiny_models):
    return llama_server(tiny_models.chat, ["--metrics", "-c", "512", "-np", "2", "--alias", "tiny-chat"])


@pytest.fixture
def stack_file(tmp_path, server):
    path = tmp_path / "stack.json"
    endpoints = {"chat": {"url": server.info["url"], "model": "tiny-chat"}}
    path.write_text(json.dumps({"version": 1, "host": "watch", "modelsDir": str(tmp_path), "endpoints": endpoints}))
    return path


def generate(server, times: int = 1) -> None:
    for _ in range(times):
        reply = post_json(
            f"{server.info['url']}/completion", {"prompt": "count", "n_predict": GENERATED, "ignore_eos": True}
        )
        assert reply.status == 200 and reply.json()["tokens_predicted"] == GENERATED


def chat_model(report) -> dict:
    (service,) = [s for s in report.services if s.name == "chat"]
    (model,) = service.models
    return model


def test_rate_between_two_sweeps_is_the_tokens_generated_between_them(stack_file, server):
    spec = load_stack(stack_file)
    tracker = RateTracker()
    first = collect_status(spec, 5.0)
    tracker.update(first, at=100.0)
    assert chat_model(first)["tokens_per_second"] is None, "one sweep has no rate yet"
    generate(server, times=3)
    second = collect_status(spec, 5.0)
    tracker.update(second, at=104.0)  # the clock is the caller's: 4 s between the sweeps
    model = chat_model(second)
    assert model["tokens_per_second"] == 3 * GENERATED / 4
    assert model["prompt_tokens_per_second"] > 0
    assert second.rate_window_s == 4.0
    # Nothing generated since: the rate falls to zero.
    third = collect_status(spec, 5.0)
    tracker.update(third, at=106.0)
    assert chat_model(third)["tokens_per_second"] == 0


def test_a_counter_that_went_down_is_a_new_process(stack_file):
    """A restarted server (or a llama-swap reload) starts its counters again: what it
    counted since is the rate, never a negative one."""
    spec = load_stack(stack_file)
    tracker = RateTracker()
    report = collect_status(spec, 5.0)
    chat_model(report)["llamacpp"]["tokens_predicted_total"] = 1000.0
    tracker.update(report, at=0.0)
    report = collect_status(spec, 5.0)
    chat_model(report)["llamacpp"]["tokens_predicted_total"] = 30.0
    tracker.update(report, at=2.0)
    assert chat_model(report)["tokens_per_second"] == 15.0


def test_exporter_text_has_the_model_and_no_duplicate_of_a_dedicated_servers_counters(stack_file, server):
    generate(server)
    text = render(collect_status(load_stack(stack_file), 5.0))
    assert 'local_llm_up{service="chat",kind="llama-server"} 1' in text
    assert 'local_llm_model_loaded{service="chat",model="tiny-chat"} 1' in text
    assert 'local_llm_model_slots{service="chat",model="tiny-chat"} 2' in text
    # Prometheus scrapes the dedicated server itself: its llamacpp:* stay out of here.
    assert "llamacpp:" not in text


def watch(stack_file, **popen) -> subprocess.Popen:
    """`llmctl status --watch` with Ctrl-C's default meaning: a shell that starts pytest in
    the background hands its children SIGINT ignored, and Python then never raises
    KeyboardInterrupt, so the SIGINT below would not end the process."""
    argv = [sys.executable, "-m", "llmctl", "--stack", str(stack_file), "status", "--watch", "--interval", "0.5"]
    return subprocess.Popen(argv, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **popen)


def json_lines(process, count: int) -> list[dict]:
    return [json.loads(process.stdout.readline()) for _ in range(count)]


@pytest.mark.timeout(120)
def test_json_lines_off_a_terminal_carry_the_rate_and_sigint_ends_cleanly(stack_file, server):
    """stdout is a pipe: one JSON document per sweep without --json. Summed over the
    sweeps, rate x window is every token generated meanwhile."""
    process = watch(stack_file, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        (first,) = json_lines(process, 1)
        assert "rate_window_s" not in first
        generate(server, times=2)
        seen = 0.0
        while seen < 2 * GENERATED - 0.01:  # the sweeps after the completions count them
            (line,) = json_lines(process, 1)
            (chat,) = [s for s in line["services"] if s["name"] == "chat"]
            seen += chat["models"][0]["tokens_per_second"] * line["rate_window_s"]
        assert seen == pytest.approx(2 * GENERATED, abs=0.01)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode in (0, 130)
    assert "Traceback" not in stderr


@pytest.mark.timeout(120)
def test_live_table_on_a_terminal_and_sigint_ends_it(stack_file, server):
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
    process = watch(stack_file, stdin=secondary, stdout=secondary, stderr=secondary, env=env)
    os.close(secondary)
    screen = b""
    try:
        deadline = time.monotonic() + 60  # a guard against a hang, not a measurement
        while b"tiny-chat" not in screen or b"TOKENS/S" not in screen:
            assert time.monotonic() < deadline, screen.decode(errors="replace")
            if select.select([primary], [], [], 1.0)[0]:
                screen += os.read(primary, 65536)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        while select.select([primary], [], [], 0.2)[0]:
            try:
                screen += os.read(primary, 65536)
            except OSError:
                break
    finally:
        process.kill()
        os.close(primary)
    text = screen.decode(errors="replace")
    assert process.returncode in (0, 130)
    assert "Traceback" not in text
    assert "SLOTS BUSY" in text and "0/2" in text
