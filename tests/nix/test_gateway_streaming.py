"""A stream with a pause longer than Envoy's default 15 s route timeout arrives whole."""

from __future__ import annotations

import json
import urllib.request

import pytest

from testkit.nixeval import nix_eval
from testkit.processes import free_port
from testkit.slow_backend import slow_backend

PAUSE = 16.5  # > the 15 s default route timeout


@pytest.mark.slow
def test_stream_with_a_long_pause_arrives_whole(envoy):
    with slow_backend(PAUSE) as backend_port:
        gateway_port, admin_port, metrics_port = free_port(), free_port(), free_port()
        spec = {
            "dedicated": {"chat": {"port": backend_port, "model": "slow"}},
            "gateway": {"enable": True, "port": gateway_port, "adminPort": admin_port, "metricsPort": metrics_port},
        }
        envoy(nix_eval("lib.envoyConfig spec", spec=spec), admin_port=admin_port)
        request = urllib.request.Request(
            f"http://127.0.0.1:{gateway_port}/v1/chat/completions",
            data=json.dumps({"model": "gpt-4", "stream": True, "messages": []}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
            events = [line for line in response.read().decode().splitlines() if line.startswith("data: ")]
    contents = [json.loads(e[6:])["choices"][0]["delta"]["content"] for e in events if e != "data: [DONE]"]
    assert contents == ["first", "second"]
    assert events[-1] == "data: [DONE]"
