"""The LiteLLM proxy as the gateway (gateway.kind = "litellm"): nix/lib's litellmConfig
for the local stack, served by the real proxy in front of the real tiny llama-servers."""

from __future__ import annotations

import json
import urllib.request

import pytest

from testkit.litellm import start_litellm
from testkit.local_stack import local_stack
from testkit.nixeval import nix_eval
from testkit.openai_client import chat, embed, post_json, rerank
from testkit.tools import litellm_bin

KEY = "sk-local-llm-test-key"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    litellm_bin()
    with local_stack(api_key=KEY, with_fallback=True) as stack:
        config = nix_eval("lib.litellmConfig spec", spec=stack.spec)
        proxy = start_litellm(config, work_dir=stack.work_dir, master_key=KEY)
        yield stack, proxy, config
        proxy.stop()


def envoy_routed_names(envoy_config: dict) -> dict[str, str]:
    """Every model name the Envoy gateway matches, with the path pattern of its route."""
    routes = envoy_config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    names = {}
    for route in routes["route_config"]["virtual_hosts"][0]["routes"]:
        for matcher in route["match"].get("dynamic_metadata", []):
            value = matcher["value"]
            for one in value.get("or_match", {}).get("value_matchers", [value]):
                names[one["string_match"]["exact"]] = route["match"]["safe_regex"]["regex"]
    return names


def task_count(url: str) -> int:
    """The highest task id a llama-server's slots have seen (grows with each request)."""
    slots = json.loads(urllib.request.urlopen(f"{url}/slots", timeout=10).read())
    return max(slot.get("id_task", -1) for slot in slots)


def test_chat_embeddings_and_rerank_by_alias(served):
    _, proxy, _ = served
    base = proxy.info["url"] + "/v1"
    answer = chat(base, "gpt-4o", "Hello", api_key=KEY)
    assert answer.status == 200, answer.body
    assert answer.json()["choices"][0]["message"]["content"] is not None
    vectors = embed(base, "text-embedding-3-small", "a sentence", api_key=KEY)
    assert vectors.status == 200, vectors.body
    assert len(vectors.json()["data"][0]["embedding"]) == 128
    ranked = rerank(base, "rerank-english-v3.0", "cats", ["a cat", "a car", "a tree"], api_key=KEY)
    assert ranked.status == 200, ranked.body
    assert sorted(r["index"] for r in ranked.json()["results"]) == [0, 1, 2]


def test_a_request_without_the_key_is_refused(served):
    _, proxy, _ = served
    # LiteLLM 1.106 without a database: a missing key is a 500, a wrong one a 400 ("No
    # connected db": it would look virtual keys up there); neither reaches a backend.
    for key in (None, "sk-wrong"):
        reply = chat(proxy.info["url"] + "/v1", "gpt-4o", "Hello", api_key=key)
        assert reply.status in (400, 401, 500), (key, reply.status)
        assert b"choices" not in reply.body


def test_streamed_chat(served):
    _, proxy, _ = served
    payload = {"model": "gpt-4", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "stream": True}
    reply = post_json(proxy.info["url"] + "/v1/chat/completions", payload, api_key=KEY)
    assert reply.status == 200
    events = [line for line in reply.body.decode().splitlines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert len(events) >= 3
    assert all(json.loads(e[6:])["object"] == "chat.completion.chunk" for e in events[:-1])


def test_litellm_routes_every_alias_envoy_routes(served):
    stack, proxy, config = served
    envoy_names = envoy_routed_names(stack.envoy_config)
    assert {"gpt-4", "text-embedding-3-small", "rerank-english-v3.0", "tiny-chat"} <= set(envoy_names)
    assert set(envoy_names) <= {entry["model_name"] for entry in config["model_list"]}
    base = proxy.info["url"] + "/v1"
    for name, paths in sorted(envoy_names.items()):
        if "embeddings" in paths:
            reply = embed(base, name, "text", api_key=KEY)
        elif "rerank" in paths:
            reply = rerank(base, name, "q", ["one", "two"], api_key=KEY)
        else:
            reply = chat(base, name, "Hi", max_tokens=1, api_key=KEY)
        assert reply.status == 200, (name, reply.body[:300])


def test_fallback_order(served):
    stack, proxy, config = served
    orders = [e["litellm_params"].get("order") for e in config["model_list"] if e["model_name"] == "gpt-4o"]
    assert orders == [1, 2]
    base = proxy.info["url"] + "/v1"
    primary, fallback = stack.endpoints["chat"], stack.endpoints["chat-fallback"]
    before = task_count(primary), task_count(fallback)
    assert chat(base, "gpt-4o", "first", max_tokens=1, api_key=KEY).status == 200
    assert task_count(primary) > before[0], "order 1 (the primary) answers while it is up"
    assert task_count(fallback) == before[1]
    stack.servers["chat"].stop()
    try:
        reply = chat(base, "gpt-4o", "second", max_tokens=1, api_key=KEY)
        assert reply.status == 200, reply.body[:300]
        assert task_count(fallback) > before[1], "order 2 (the fallback) answers once the primary is down"
    finally:
        stack.start_server("chat")
