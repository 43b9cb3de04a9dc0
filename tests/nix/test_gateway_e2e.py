"""The Envoy gateway built from nix/lib, running in front of real llama-servers."""

from __future__ import annotations

import json

import pytest

from testkit import openai_client as api
from testkit.local_stack import local_stack
from testkit.waiting import wait_until


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Dedicated chat/embedding/rerank servers, plus a chat server standing in for llama-swap."""
    with local_stack(work_dir=tmp_path_factory.mktemp("stack"), with_llama_swap=True) as running:
        yield running


def routed(stack, send) -> dict[str, int]:
    """Which backends `send()` reached, with the reply: ({backend: requests}, reply)."""
    before = stack.upstream_requests()
    reply = send()
    after = stack.upstream_requests()
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}, reply


def test_path_routing_for_the_three_roles(stack):
    where, reply = routed(stack, lambda: api.chat(stack.base_url, "tiny-chat", "hi", max_tokens=2))
    assert reply.status == 200 and reply.json()["choices"][0]["message"]["role"] == "assistant"
    assert where == {"chat": 1}
    where, reply = routed(stack, lambda: api.embed(stack.base_url, "any-embedding-model", "hello"))
    assert reply.status == 200 and len(reply.json()["data"][0]["embedding"]) == 128
    assert where == {"embedding": 1}
    for url in (stack.base_url, stack.gateway_url):  # /v1/rerank and /rerank
        where, reply = routed(stack, lambda url=url: api.rerank(url, "any", "q", ["a", "b", "c"]))
        assert reply.status == 200 and len(reply.json()["results"]) == 3
        assert where == {"rerank": 1}


@pytest.mark.parametrize(
    ("model", "content_type", "backend"),
    [
        ("tiny-chat", "application/json", "chat"),
        ("gpt-4", "application/json", "chat"),
        ("claude-3-sonnet", "application/json; charset=utf-8", "chat"),
        ("devstral-2", "application/json;charset=UTF-8", "chat"),
        ("some-swapped-model", "application/json", "llamaSwap"),
        # Not JSON by its content type: the body is not read, the path default applies.
        ("gpt-4", "text/plain", "llamaSwap"),
    ],
)
def test_routing_by_model(stack, model, content_type, backend):
    payload = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    where, reply = routed(
        stack, lambda: api.post_json(f"{stack.base_url}/chat/completions", payload, content_type=content_type)
    )
    assert reply.status == 200, reply.body
    assert where == {backend: 1}


def test_only_the_top_level_model_counts(stack):
    payload = {"metadata": {"model": "gpt-4"}, "model": "unknown", "prompt": "hi", "max_tokens": 2}
    where, reply = routed(stack, lambda: api.post_json(f"{stack.base_url}/completions", payload))
    assert reply.status == 200 and where == {"llamaSwap": 1}


def test_two_mib_request_is_accepted_and_routed(stack):
    payload = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 2,
        "user": "x" * (2 * 1024 * 1024),  # Envoy's default buffer (1 MiB) would answer 413
    }
    body = json.dumps(payload).encode()
    assert len(body) > 2 * 1024 * 1024
    where, reply = routed(stack, lambda: api.post_json(f"{stack.base_url}/chat/completions", body))
    assert reply.status == 200, reply.body[:300]
    assert where == {"chat": 1}


def test_models_health_and_metrics(stack):
    where, reply = routed(stack, lambda: api.get(f"{stack.base_url}/models"))
    assert reply.status == 200 and where == {"llamaSwap": 1}
    health = api.get(f"{stack.gateway_url}/health")
    assert (health.status, health.body) == (200, b"OK")
    metrics = api.get(f"http://127.0.0.1:{stack.metrics_port}/metrics").body.decode()
    assert 'envoy_cluster_upstream_rq_total{envoy_cluster_name="chat"}' in metrics
    assert api.get(f"http://127.0.0.1:{stack.metrics_port}/config_dump").status == 404


def test_api_keys_from_a_file(tmp_path):
    key = "sk-local-3f9a1c7e5b2d"
    with local_stack(work_dir=tmp_path, api_key=key) as running:
        base = running.base_url
        assert api.chat(base, "gpt-4", "hi", max_tokens=2).status == 401
        wrong = api.chat(base, "gpt-4", "hi", max_tokens=2, api_key="sk-wrong")
        assert wrong.status == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        assert api.chat(base, "gpt-4", "hi", max_tokens=2, api_key=key).status == 200
        assert api.embed(base, "text-embedding-ada-002", "hi", api_key=key).status == 200
        assert api.get(f"{running.gateway_url}/health").status == 200
        assert api.get(f"{base}/models").status == 401
        config_text = json.dumps(running.envoy_config)
        assert key not in config_text and key not in json.dumps(running.stack_json)
        assert str(running.work_dir / "api-keys") in config_text


def test_failover_to_the_fallback_and_back(tmp_path):
    with local_stack(work_dir=tmp_path, with_fallback=True) as running:

        def ask():
            return routed(running, lambda: api.chat(running.base_url, "gpt-4", "hi", max_tokens=2))

        where, reply = ask()
        assert reply.status == 200 and where == {"chat": 1}

        running.servers["chat"].kill()
        for _ in range(5):  # right after the kill (retries) and once health checks noticed
            where, reply = ask()
            assert reply.status == 200, reply.body
            assert where.get("chat-fallback") == 1

        running.start_server("chat")
        wait_until(
            lambda: ask()[0] == {"chat": 1}, what="traffic back on the restarted primary", timeout=20, interval=0.2
        )
        for _ in range(3):
            assert ask()[0] == {"chat": 1}


def test_stack_file_describes_the_running_stack(stack):
    from llmctl.stack import load_stack

    loaded = load_stack(stack.stack_file)
    assert loaded.endpoint("gateway").url == stack.gateway_url
    for name in ("chat", "embedding", "rerank", "llamaSwap"):
        assert api.get(f"{loaded.endpoint(name).url}/health").status == 200
    assert "gpt-4" in loaded.endpoint("chat").aliases
