"""Configurations NixOS rejects are rejected by the module tier too, with the message a
user would see: by an option type or an abort of the real modules (the evaluation
fails), or by an assertion (ours or upstream's)."""

from __future__ import annotations

import pytest

from testkit.nixeval_modules import ModuleEvalError, evaluate_host


def host_file(tmp_path, body: str):
    host = tmp_path / "host.nix"
    host.write_text(f"{{ {body} }}\n")
    return host


ASSERTED = {
    "invalid networking.hostId": (
        'networking.hostId = "nas-01"; services.local-llm.enable = true;',
        "Invalid value given to the networking.hostId option.",
    ),
    "local-llm running as Ollama's user": (
        'services.local-llm = { enable = true; user = "ollama"; ollama.enable = true; };',
        'services.local-llm.user = "ollama" is the user services.ollama creates for Ollama',
    ),
    "zfs without hostId": (
        'services.local-llm = { enable = true; zfs.dataset = "tank/models"; };',
        "needs networking.hostId",
    ),
    "two services on one port": (
        "services.local-llm = { enable = true; llamaSwap.enable = true; webui = { enable = true; port = 8090; }; };",
        "port 8090 is used by llama-swap and webui",
    ),
    "gateway without backend": (
        "services.local-llm = { enable = true; gateway.enable = true; };",
        "gateway: no backend",
    ),
    "dedicated model without file or source": (
        'services.local-llm = { enable = true; models.x = { serve = "dedicated"; }; };',
        "models.x: a dedicated model needs a file or a source",
    ),
    "two dedicated chat models": (
        'services.local-llm = { enable = true; models.a = { serve = "dedicated"; file = "a.gguf"; };'
        ' models.b = { serve = "dedicated"; file = "b.gguf"; }; };',
        'more than one model is declared with serve = "dedicated" and role = "chat"',
    ),
    "GPU memory target above RAM": (
        'services.local-llm = { enable = true; gpu = { profile = "strix-halo"; ramGiB = 64; memoryGiB = 96; }; };',
        "services.local-llm.gpu.memoryGiB (96) exceeds services.local-llm.gpu.ramGiB (64)",
    ),
}


@pytest.mark.parametrize("case", sorted(ASSERTED))
def test_assertion_fires_with_its_message(tmp_path, case):
    body, message = ASSERTED[case]
    failures = evaluate_host(host_file(tmp_path, body))["assertions"]
    assert any(message in failure for failure in failures), failures


REFUSED = {
    "FQDN networking.hostName": (
        'networking.hostName = "nas-01.home.arpa"; services.local-llm.enable = true;',
        "A definition for option `networking.hostName' is not of type `string matching the pattern",
    ),
    "user name of 32 characters": (
        f'services.local-llm = {{ enable = true; user = "{"l" * 32}"; }};',
        f"Username '{'l' * 32}' is longer than 31 characters which is not allowed!",
    ),
    "unknown GPU profile": (
        'services.local-llm = { enable = true; gpu.profile = "voodoo3"; };',
        "A definition for option `services.local-llm.gpu.profile' is not of type `one of ",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_evaluation_refuses_with_its_message(tmp_path, case):
    body, message = REFUSED[case]
    with pytest.raises(ModuleEvalError) as refused:
        evaluate_host(host_file(tmp_path, body))
    assert message in str(refused.value)
