"""The shared fixtures start the real llama-server and Envoy, and the tiny models
are models they load: chat, embeddings and reranking through their own endpoints."""

from __future__ import annotations

import json
import urllib.request

import pytest

from testkit.llama_server import start_llama_server
from testkit.processes import ProcessStartError, free_port


def post(url: str, body: dict, timeout: float = 60) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("kind", ["chat", "gemma3", "split"])
def test_chat_models_answer_a_chat_completion(llama_server, tiny_models, kind):
    model = tiny_models.split[0] if kind == "split" else getattr(tiny_models, kind)
    server = llama_server(model, ["-c", "1024"])
    answer = post(
        f"{server.info['url']}/v1/chat/completions",
        {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 4, "temperature": 0},
    )
    assert answer["object"] == "chat.completion"
    assert answer["usage"]["completion_tokens"] == 4
    assert isinstance(answer["choices"][0]["message"]["content"], str)


def test_split_model_needs_every_shard(tiny_models, tmp_path):
    """The split fixture really is one model in two files: shard 1 alone does not load."""
    lonely = tmp_path / tiny_models.split[0].name
    lonely.write_bytes(tiny_models.split[0].read_bytes())
    with pytest.raises(ProcessStartError, match="exited with code"):
        start_llama_server(lonely, log_dir=tmp_path, timeout=60)


def test_embedding_model_returns_vectors_of_its_dimension(llama_server, tiny_models):
    server = llama_server(tiny_models.embedding, ["--embedding"])
    answer = post(f"{server.info['url']}/v1/embeddings", {"input": ["hello world", "the cat sat"]})
    vectors = [item["embedding"] for item in answer["data"]]
    assert [len(v) for v in vectors] == [tiny_models.embedding_dim] * 2
    assert vectors[0] != vectors[1], "different inputs give different embeddings"


def test_reranker_scores_each_document(llama_server, tiny_models):
    server = llama_server(tiny_models.reranker, ["--rerank"])
    documents = ["a b", "the world", "it is"]
    answer = post(f"{server.info['url']}/v1/rerank", {"query": "hello", "documents": documents})
    results = answer["results"]
    assert sorted(r["index"] for r in results) == [0, 1, 2]
    assert len({round(r["relevance_score"], 6) for r in results}) == 3, "scores differ per document"


def test_truncated_model_fails_with_the_server_log(tiny_models, tmp_path):
    with pytest.raises(ProcessStartError) as caught:
        start_llama_server(tiny_models.truncated, log_dir=tmp_path, timeout=60)
    message = str(caught.value)
    assert "exited with code" in message
    assert str(tiny_models.truncated) in message
    assert "failed to load model" in message or "error loading model" in message


def test_wrong_magic_fails_with_the_server_log(tiny_models, tmp_path):
    with pytest.raises(ProcessStartError, match="exited with code"):
        start_llama_server(tiny_models.wrong_magic, log_dir=tmp_path, timeout=60)


def test_envoy_fixture_serves_a_direct_response(envoy):
    admin, listener = free_port(), free_port()
    config = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "probe",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": listener}},
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": {
                                        "@type": "type.googleapis.com/envoy.extensions.filters.network."
                                        "http_connection_manager.v3.HttpConnectionManager",
                                        "stat_prefix": "probe",
                                        "route_config": {
                                            "virtual_hosts": [
                                                {
                                                    "name": "all",
                                                    "domains": ["*"],
                                                    "routes": [
                                                        {
                                                            "match": {"prefix": "/"},
                                                            "direct_response": {
                                                                "status": 200,
                                                                "body": {"inline_string": "envoy is up"},
                                                            },
                                                        }
                                                    ],
                                                }
                                            ]
                                        },
                                        "http_filters": [
                                            {
                                                "name": "envoy.filters.http.router",
                                                "typed_config": {
                                                    "@type": "type.googleapis.com/envoy.extensions.filters.http."
                                                    "router.v3.Router"
                                                },
                                            }
                                        ],
                                    },
                                }
                            ]
                        }
                    ],
                }
            ]
        },
    }
    envoy(config, admin_port=admin)
    with urllib.request.urlopen(f"http://127.0.0.1:{listener}/", timeout=10) as response:
        assert response.read() == b"envoy is up"
