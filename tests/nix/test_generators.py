"""stack, webui and ollama generators, and their errors."""

from __future__ import annotations

import pytest

from llmctl.stack import parse_stack
from testkit.nixeval import NixEvalError, nix_eval


def test_minimal_spec_fills_defaults_and_loads_in_llmctl():
    document = nix_eval("lib.stackJson { }")
    assert document == {
        "version": 1,
        "modelsDir": "/var/lib/local-llm/models",
        "endpoints": {},
        "gpu": {"backend": "cpu", "profile": "cpu", "targets": [], "unifiedMemory": False},
        "llamaServer": {"binary": "llama-server", "flashAttention": "auto", "noMmap": False, "gpuLayers": 0},
    }
    assert parse_stack(document).gpu.backend == "cpu"


def test_fallbacks_aliases_and_key_file_reach_llmctl():
    spec = {
        "dedicated": {"chat": {"model": "m", "fallbacks": ["http://10.0.0.2:8000/"]}},
        "models": {"m": {"file": "m.gguf", "aliases": ["mine"]}},
        "gateway": {"enable": True, "apiKeyFile": "/run/keys", "aliases": {"gpt-4": "chat"}},
    }
    loaded = parse_stack(nix_eval("lib.stackJson spec", spec=spec))
    chat = loaded.endpoint("chat")
    assert chat.model == "m" and chat.aliases == ("mine", "gpt-4") and chat.fallbacks == ("http://10.0.0.2:8000",)
    assert loaded.gateway.api_key_file == "/run/keys"


def test_host_alias_table_replaces_the_default():
    spec = {"dedicated": {"chat": {"model": "m"}}, "gateway": {"enable": True, "aliases": {"house": "chat"}}}
    assert nix_eval("lib.stackJson spec", spec=spec)["endpoints"]["chat"]["aliases"] == ["house"]


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("lib.envoyConfig { gateway.enable = true; }", "the gateway has no backend"),
        ("lib.stackJson { dedicated.chatt = { }; }", "unknown dedicated role"),
        ('lib.envoyConfig { dedicated.chat.fallbacks = [ "https://x:1" ]; }', "only http:// backends"),
        ('lib.envoyConfig { dedicated.chat.fallbacks = [ "x:1" ]; }', "'x:1' is not an http://HOST:PORT URL"),
        ('lib.dedicatedServerArgv { dedicated.chat.model = "m"; } "chat"', "model 'm' is not declared"),
        ('lib.dedicatedServerArgv { dedicated.chat.model = "m"; models.m = { }; } "chat"', "has no file"),
        ('lib.llamaServerArgv { role = "chatt"; options = { }; }', "unknown llama-server role"),
    ],
)
def test_bad_specs_fail_with_a_message(expr, message):
    with pytest.raises(NixEvalError, match=message):
        nix_eval(expr)


def test_webui_points_at_llama_swap_and_ollama_without_a_gateway(seed_specs):
    spec = {**seed_specs["nas-01"], "gateway": {"enable": False}}
    settings = nix_eval("lib.webuiSettings spec", spec=spec)
    assert (settings["host"], settings["port"]) == ("127.0.0.1", 3001)
    assert settings["environmentFile"] == "/run/secrets/open-webui.env"
    env = settings["environment"]
    assert env["OPENAI_API_BASE_URLS"] == "http://127.0.0.1:8090/v1"
    assert env["OLLAMA_BASE_URL"] == "http://127.0.0.1:11434"
    assert env["ENABLE_PERSISTENT_CONFIG"] == "False"
    assert env["WEBUI_AUTH"] == "True" and env["ENABLE_OPENAI_API"] == "True"
    assert not any("SECRET" in name for name in env), "the secret key comes from environmentFile"


def test_webui_uses_the_gateway_when_there_is_one(seed_specs):
    env = nix_eval("(lib.webuiSettings spec).environment", spec=seed_specs["strix-halo"])
    assert env["OPENAI_API_BASE_URLS"] == "http://127.0.0.1:4001/v1"
    assert env["ENABLE_OLLAMA_API"] == "False" and "OLLAMA_BASE_URL" not in env


def test_ollama_settings_from_the_profile(seed_specs):
    nas = nix_eval("lib.ollamaSettings spec", spec=seed_specs["nas-01"])
    assert nas["package"] == "ollama-rocm" and nas["port"] == 11434
    assert nas["loadModels"] == ["llama3.2:3b"]
    strix = nix_eval("lib.ollamaSettings spec", spec=seed_specs["strix-halo"])
    # ROCm Ollama falls back to CPU on gfx1151; Vulkan works.
    assert strix["package"] == "ollama-vulkan" and strix["environment"]["OLLAMA_VULKAN"] == "1"
