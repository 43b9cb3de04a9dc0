"""The real Ollama: tiny GGUF models imported with `ollama create`, served through the
nix/lib gateway by their Ollama names, seen and unloaded by `llmctl status`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from testkit import openai_client as api
from testkit import tiny_models
from testkit.local_stack import MODEL_NAMES, OLLAMA_MODEL, local_stack
from testkit.nixeval import nix_eval
from testkit.ollama import create_model
from testkit.waiting import wait_until


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with local_stack(work_dir=tmp_path_factory.mktemp("ollama-stack"), with_ollama=True) as running:
        yield running


def llmctl_status(stack_file) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "llmctl", "--stack", str(stack_file), "status", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout, done.stderr
    return {service["name"]: service for service in json.loads(done.stdout)["services"]}


def ollama_ps(url: str) -> list[str]:
    return [model["name"] for model in api.get(f"{url}/api/ps").json()["models"]]


def test_ollama_runs_with_the_environment_nix_lib_renders(stack):
    rendered = nix_eval("(lib.ollamaSettings spec).environment", spec=stack.spec)
    assert rendered == stack.ollama_environment
    assert rendered["OLLAMA_KEEP_ALIVE"] == "10m"
    assert all(stack.ollama.info["env"][name] == value for name, value in rendered.items())


@pytest.mark.parametrize(
    ("kind", "write"),
    [
        ("llama", lambda root: tiny_models.write_llama(root / "llama.gguf")[0]),
        ("gemma3", lambda root: tiny_models.write_gemma3(root / "gemma3.gguf")),
    ],
)
def test_imported_tiny_chat_models_answer(ollama, tmp_path, kind, write):
    server = ollama()
    name = create_model(server, f"tiny-{kind}", write(tmp_path))
    tags = [model["name"] for model in api.get(f"{server.info['url']}/api/tags").json()["models"]]
    assert tags == [name]
    reply = api.post_json(
        f"{server.info['url']}/api/generate",
        {"model": name, "prompt": "hello", "stream": False, "options": {"num_predict": 4}},
        timeout=120,
    )
    assert reply.status == 200, reply.body
    assert reply.json()["done"] is True and reply.json()["eval_count"] > 0


def test_imported_tiny_embedding_model_embeds(ollama, tmp_path):
    server = ollama()
    name = create_model(server, "tiny-embedding", tiny_models.write_bert(tmp_path / "bert.gguf"))
    reply = api.post_json(f"{server.info['url']}/api/embed", {"model": name, "input": "local models"}, timeout=120)
    assert reply.status == 200, reply.body
    (vector,) = reply.json()["embeddings"]
    assert len(vector) == 128  # write_bert's n_embd


def test_the_gateway_routes_ollama_names_to_ollama(stack):
    before = stack.upstream_requests()
    reply = api.chat(stack.base_url, OLLAMA_MODEL, "Say hello.", max_tokens=4, timeout=120)
    assert reply.status == 200, reply.body
    assert reply.json()["model"] == OLLAMA_MODEL
    after = stack.upstream_requests()
    assert after["ollama"] > before["ollama"]
    assert after["chat"] == before["chat"]
    # The declared dedicated model still goes to its own server.
    assert api.chat(stack.base_url, MODEL_NAMES["chat"], "hi", max_tokens=2).status == 200
    assert stack.upstream_requests()["chat"] > before["chat"]


def test_the_ollama_prefix_reaches_ollamas_own_api(stack):
    tags = api.get(f"{stack.gateway_url}/ollama/api/tags").json()
    assert [model["name"] for model in tags["models"]] == [OLLAMA_MODEL]
    reply = api.post_json(
        f"{stack.gateway_url}/ollama/api/chat",
        {
            "model": OLLAMA_MODEL,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": False,
            # Random weights rarely say the end-of-text token: bound the answer.
            "options": {"num_predict": 4},
        },
        timeout=120,
    )
    assert reply.status == 200, reply.body
    assert reply.json()["message"]["role"] == "assistant"


def test_llmctl_status_shows_the_loaded_model_until_keep_alive_0_unloads_it(stack):
    url = stack.endpoints["ollama"]
    load = api.post_json(f"{url}/api/generate", {"model": OLLAMA_MODEL, "keep_alive": "5m"}, timeout=120)
    assert load.status == 200, load.body
    assert ollama_ps(url) == [OLLAMA_MODEL]
    service = llmctl_status(stack.stack_file)["ollama"]
    assert service["state"] == "up"
    (model,) = service["models"]
    assert model["name"] == OLLAMA_MODEL and model["state"] == "loaded"
    assert model["size_bytes"] > 0 and model["vram_bytes"] == 0 and model["context"] > 0
    assert service["details"]["available"] == 1

    unload = api.post_json(f"{url}/api/generate", {"model": OLLAMA_MODEL, "keep_alive": 0}, timeout=60)
    assert unload.json()["done_reason"] == "unload"
    # The answer comes when the unload is scheduled; the runner stops right after.
    wait_until(lambda: ollama_ps(url) == [], what="/api/ps empty after keep_alive 0", interval=0.2)
    assert ollama_ps(url) == []
    assert llmctl_status(stack.stack_file)["ollama"]["models"] == []
