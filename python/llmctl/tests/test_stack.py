"""The stack spec loader: defaults, and errors that name the key and the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmctl.errors import StackSpecError
from llmctl.stack import DEFAULT_MODELS_DIR, load_stack, parse_stack


def write(tmp_path: Path, document) -> Path:
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(document))
    return path


def test_valid_spec_loads_with_defaults(stack_file):
    spec = load_stack(stack_file)
    assert spec.path == stack_file
    assert spec.host == "strix-halo"
    assert str(spec.models_dir) == "/srv/models"
    assert spec.endpoint("chat").url == "http://127.0.0.1:8000"
    assert spec.endpoint("chat").model == "devstral"
    assert spec.endpoint("rerank") is None, "a disabled endpoint is not offered"
    assert spec.endpoints["rerank"].enable is False
    assert spec.endpoint("ollama") is None
    assert spec.gpu.unified_memory is True and spec.gpu.memory_gib == 120
    assert spec.llama_server.binary == "llama-server"
    assert spec.models["devstral"].serve == "dedicated"
    assert spec.models["devstral"].aliases == ()


def test_minimal_spec_gets_every_default(tmp_path):
    spec = load_stack(write(tmp_path, {"version": 1}))
    assert str(spec.models_dir) == DEFAULT_MODELS_DIR
    assert spec.gpu.backend == "cpu"
    assert spec.endpoints == {} and spec.models == {}


def test_missing_named_file_names_the_file_and_the_options(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(StackSpecError) as caught:
        load_stack(missing)
    assert str(missing) in caught.value.message
    assert "--stack" in caught.value.hint and "LOCAL_LLM_STACK" in caught.value.hint


def test_missing_default_file_is_fine_when_not_required(monkeypatch, tmp_path):
    monkeypatch.setattr("llmctl.stack.DEFAULT_STACK_PATH", tmp_path / "absent.json")
    spec = load_stack(None, required=False)
    assert spec.path is None and str(spec.models_dir) == DEFAULT_MODELS_DIR
    with pytest.raises(StackSpecError):
        load_stack(None, required=True)


def test_environment_variable_names_the_file(monkeypatch, stack_file):
    monkeypatch.setenv("LOCAL_LLM_STACK", str(stack_file))
    assert load_stack(None).path == stack_file


def test_wrong_type_names_key_and_file(tmp_path, stack_document):
    stack_document["endpoints"]["chat"]["url"] = 8000
    path = write(tmp_path, stack_document)
    with pytest.raises(StackSpecError) as caught:
        load_stack(path)
    message = caught.value.message
    assert str(path) in message
    assert "endpoints.chat.url" in message
    assert "expected string, got integer 8000" in message


def test_unknown_key_names_the_full_path(tmp_path, stack_document):
    stack_document["gpu"]["memoryGB"] = 128
    path = write(tmp_path, stack_document)
    with pytest.raises(StackSpecError) as caught:
        load_stack(path)
    assert "unknown key 'gpu.memoryGB'" in caught.value.message
    assert "memoryGiB" in caught.value.message, "the known keys are listed"
    assert str(path) in caught.value.message


def test_unknown_model_key_is_named(tmp_path, stack_document):
    stack_document["models"]["devstral"]["ctx"] = 4096
    with pytest.raises(StackSpecError, match=r"unknown key 'models\.devstral\.ctx'"):
        load_stack(write(tmp_path, stack_document))


def test_missing_required_key(tmp_path):
    with pytest.raises(StackSpecError, match="missing key 'version'"):
        load_stack(write(tmp_path, {"host": "x"}))
    with pytest.raises(StackSpecError, match=r"missing key 'endpoints\.chat\.url'"):
        load_stack(write(tmp_path, {"version": 1, "endpoints": {"chat": {}}}))


def test_unsupported_version(tmp_path):
    with pytest.raises(StackSpecError, match="unsupported version 2"):
        load_stack(write(tmp_path, {"version": 2}))


def test_invalid_json_names_line_and_column(tmp_path):
    path = tmp_path / "stack.json"
    path.write_text('{"version": 1,\n "host": }')
    with pytest.raises(StackSpecError, match=r"not valid JSON at line 2, column 10"):
        load_stack(path)


def test_bad_enum_and_bad_source(tmp_path, stack_document):
    stack_document["models"]["devstral"]["role"] = "vision"
    with pytest.raises(StackSpecError, match=r"models\.devstral\.role"):
        load_stack(write(tmp_path, stack_document))
    stack_document["models"]["devstral"]["role"] = "chat"
    stack_document["models"]["devstral"]["source"] = "unsloth/Devstral"
    with pytest.raises(StackSpecError, match=r"models\.devstral\.source"):
        load_stack(write(tmp_path, stack_document))


def test_several_problems_are_counted(tmp_path):
    with pytest.raises(StackSpecError, match=r"and 2 more problems"):
        load_stack(write(tmp_path, {"version": 1, "host": 1, "modelsDir": 2, "gpu": {"devices": "x"}}))


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
def test_any_json_value_is_accepted_or_rejected_with_a_stack_error(document):
    try:
        parse_stack(document)
    except StackSpecError as error:
        assert error.message.startswith("stack spec")


def test_stack_show_json_is_a_stack_spec_that_reads_back(tmp_path, stack_document):
    from click.testing import CliRunner

    from llmctl.cli import cli

    stack_document["endpoints"]["gatewayAdmin"] = {"url": "http://127.0.0.1:9901", "health": "/ready"}
    stack_document["llamaSwap"] = {"ttl": 300, "groups": {"small": {"swap": False, "members": ["a"]}}}
    stack_document["llamaServer"] = {"autoSize": True, "extraArgs": ["--threads", "4"]}
    stack_document["secrets"] = {"files": ["/run/keys/api"]}
    first = CliRunner().invoke(cli, ["stack", "show", "--json", "--stack", str(write(tmp_path, stack_document))])
    assert first.exit_code == 0, first.stderr
    shown = json.loads(first.stdout)
    # The keys of stack.json, every default written out.
    assert set(shown) >= {"version", "modelsDir", "endpoints", "gpu", "llamaServer", "llamaSwap", "models"}
    assert "models_dir" not in shown and "raw" not in shown and "path" not in shown
    assert shown["endpoints"]["chat"] == {
        "url": "http://127.0.0.1:8000",
        "enable": True,
        "model": "devstral",
        "openFirewall": False,
        "aliases": [],
        "fallbacks": [],
        "health": "/health",
    }
    assert shown["llamaServer"]["binary"] == "llama-server" and shown["llamaSwap"]["autoDiscover"] is True
    assert shown["models"]["devstral"]["serve"] == "dedicated"

    again_file = tmp_path / "shown" / "stack.json"
    again_file.parent.mkdir()
    again_file.write_text(first.stdout)
    again = CliRunner().invoke(cli, ["stack", "show", "--json", "--stack", str(again_file)])
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout) == shown
    original, reread = load_stack(write(tmp_path, stack_document)), load_stack(again_file)
    assert [(e.name, e.url, e.health) for e in reread.endpoints.values()] == [
        (e.name, e.url, e.health) for e in original.endpoints.values()
    ]
    assert (reread.gpu, reread.llama_server, reread.llama_swap, reread.models) == (
        original.gpu,
        original.llama_server,
        original.llama_swap,
        original.models,
    )


def test_health_paths_default_per_endpoint_and_can_be_set(tmp_path, stack_document):
    stack_document["endpoints"]["ollama"] = {"url": "http://127.0.0.1:11434"}
    stack_document["endpoints"]["webui"] = {"url": "http://127.0.0.1:3001", "health": "/api/health"}
    spec = load_stack(write(tmp_path, stack_document))
    health = {name: endpoint.health for name, endpoint in spec.endpoints.items()}
    assert health == {
        "gateway": "/health",
        "chat": "/health",
        "embedding": "/health",
        "rerank": "/health",
        "ollama": "/api/version",
        "webui": "/api/health",
    }
    stack_document["endpoints"]["chat"]["health"] = "health"
    with pytest.raises(StackSpecError, match=r"endpoints\.chat\.health"):
        load_stack(write(tmp_path, stack_document))
