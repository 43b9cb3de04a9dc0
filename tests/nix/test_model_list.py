"""GET /v1/models through the nix/lib gateway: one list of every model ID a client may
send, each once, read with the official openai client; the rest stays listed when a
backend is down or hangs."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from openai import OpenAI

from testkit import openai_client as api
from testkit.local_stack import MODEL_NAMES, OLLAMA_MODEL, local_stack
from testkit.nixeval import nix_eval
from testkit.ollama import start_ollama
from testkit.waiting import wait_until


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Dedicated servers, the real Ollama and the llama-swap replay (its /v1/models
    lists qwen, devstral and tiny-chat): llama-swap itself cannot be installed here."""
    with local_stack(work_dir=tmp_path_factory.mktemp("models"), with_services=True, with_ollama=True) as running:
        yield running


def listed(base_url: str, api_key: str = "unused") -> list[tuple[str, str]]:
    return [(model.id, model.owned_by) for model in OpenAI(base_url=base_url, api_key=api_key).models.list()]


def declared() -> dict[str, str]:
    """Every declared model and alias of the local stack -> the backend serving it."""
    aliases = nix_eval("lib.defaultAliases")
    names = {model: role for role, model in MODEL_NAMES.items()}
    return names | {alias: role for alias, role in aliases.items() if alias not in names}


def test_every_declared_live_and_ollama_model_is_listed_once(stack):
    models = listed(stack.base_url)
    counts = Counter(model_id for model_id, _ in models)
    assert [model_id for model_id, count in counts.items() if count > 1] == []
    owners = dict(models)
    # Declared names first, under the backend their route goes to; `devstral` and
    # `tiny-chat`, which llama-swap lists too, stay with the dedicated chat server.
    assert {name: owners[name] for name in declared()} == declared()
    assert owners[OLLAMA_MODEL] == "ollama"
    assert owners["qwen"] == "llamaSwap"
    assert set(owners) == {*declared(), OLLAMA_MODEL, "qwen"}
    assert {model_id for model_id, _ in models[: len(declared())]} == set(declared())


def test_the_answer_has_openais_shape(stack):
    reply = api.get(f"{stack.base_url}/models")
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    document = reply.json()
    assert document["object"] == "list"
    for entry in document["data"]:
        assert set(entry) == {"id", "object", "created", "owned_by"}
        assert entry["object"] == "model" and isinstance(entry["created"], int)


def test_every_listed_model_routes_where_the_list_says(stack):
    client = OpenAI(base_url=stack.base_url, api_key="unused", max_retries=0, timeout=120)
    for model_id, owner in listed(stack.base_url):
        before = stack.upstream_requests()
        if owner in ("chat", "ollama"):
            answer = client.chat.completions.create(
                model=model_id, messages=[{"role": "user", "content": "hi"}], max_tokens=2
            )
            assert answer.choices, model_id
        elif owner == "embedding":
            assert len(client.embeddings.create(model=model_id, input="hi").data[0].embedding) == 128
        elif owner == "rerank":
            reply = api.rerank(stack.base_url, model_id, "query", ["a", "b"])
            assert reply.status == 200, (model_id, reply.body)
        else:  # llamaSwap: the replay answers no POST; the route is checked by name below
            continue
        assert stack.upstream_requests()[owner] > before[owner], model_id


def test_the_rest_is_listed_while_ollama_is_down(stack):
    port = stack.ollama.info["port"]
    stack.ollama.stop()
    try:
        owners = dict(listed(stack.base_url))
        assert OLLAMA_MODEL not in owners
        assert set(declared()) <= set(owners) and owners["qwen"] == "llamaSwap"
    finally:
        # Back on its port with its models folder, for the tests after this one.
        stack.ollama = start_ollama(work_dir=stack.work_dir, environment=stack.ollama_environment, port=port)
        wait_until(lambda: OLLAMA_MODEL in dict(listed(stack.base_url)), what="Ollama listed again", interval=0.5)


def test_the_rest_is_listed_while_llama_swap_hangs_or_fails(stack):
    swap = stack.replays["llamaSwap"]
    for fault in ("hang", "500", "broken-json"):
        swap.fault, swap.fault_paths = fault, ("/v1/models",)
        try:
            owners = dict(listed(stack.base_url))
        finally:
            swap.fault, swap.fault_paths = None, ()
        assert "qwen" not in owners, fault
        assert {name: owners[name] for name in declared()} == declared(), fault


def test_a_keyed_gateway_lists_only_for_a_valid_key(tmp_path):
    with local_stack(work_dir=tmp_path, api_key="sk-local-test") as keyed:
        assert api.get(f"{keyed.base_url}/models").status == 401
        assert api.get(f"{keyed.base_url}/models", api_key="sk-wrong").status == 401
        assert {model_id for model_id, _ in listed(keyed.base_url, "sk-local-test")} == set(declared())


def test_declared_swapped_models_and_their_aliases_are_listed_unless_unlisted():
    spec = {
        "dedicated": {"chat": {"model": "big"}},
        "models": {
            "big": {"file": "big.gguf", "serve": "dedicated"},
            "coder": {"file": "coder.gguf", "aliases": ["code"]},
            "hidden": {"file": "hidden.gguf", "unlisted": True},
        },
        "llamaSwap": {"enable": True},
        "gateway": {"enable": True, "aliases": {"gpt-4": "chat"}},
    }
    filters = nix_eval(
        "(builtins.head (builtins.head (builtins.head (lib.envoyConfig spec).static_resources.listeners)"
        ".filter_chains).filters).typed_config.http_filters",
        spec=spec,
    )
    # Without API keys the model list is the first filter.
    source = filters[0]["typed_config"]["default_source_code"]["inline_string"]
    config = json.loads(source.split("[==[", 1)[1].split("]==]", 1)[0])
    assert config["declared"] == [
        {"id": "big", "owned_by": "chat"},
        {"id": "gpt-4", "owned_by": "chat"},
        {"id": "coder", "owned_by": "llamaSwap"},
        {"id": "code", "owned_by": "llamaSwap"},
    ]
    assert [source["cluster"] for source in config["live"]] == ["llamaSwap"]
