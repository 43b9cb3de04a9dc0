"""The comparisons behind the host checks, and verify's argument errors."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner

from llmctl.cli import cli
from llmctl.verify.checks import rules

NFT_RULESET = """table inet nixos-fw {
	chain input-allow {
		tcp dport 22 accept comment "sshd"
		tcp dport { 4001, 8080-8081 } accept
		udp dport 5353 accept
		iifname "tailscale0" tcp dport 3001 drop
	}
}"""

IPTABLES_SAVE = """*filter
:nixos-fw - [0:0]
-A nixos-fw -p tcp -m tcp --dport 22 -j nixos-fw-accept
-A nixos-fw -p tcp -m tcp --dport 4001 -j nixos-fw-accept
-A nixos-fw -p tcp -m multiport --dports 9000:9002 -j nixos-fw-accept
-A nixos-fw -p tcp -m tcp --dport 3001 -j nixos-fw-log-refuse
COMMIT"""


def test_open_ports_from_nftables_and_iptables():
    assert rules.open_ports(NFT_RULESET) == {22, 4001, 8080, 8081}
    assert rules.open_ports(IPTABLES_SAVE) == {22, 4001, 9000, 9001, 9002}


def test_firewall_rules_come_from_iptables_when_nft_shows_none(tmp_path, monkeypatch):
    """nft installed but empty (an iptables-legacy firewall): the iptables rules are read,
    the check is not skipped as if no firewall were loaded."""
    import testinfra

    from llmctl.verify.checks.test_host import _firewall_ruleset

    for name, output in (("nft", ""), ("iptables-save", IPTABLES_SAVE)):
        program = tmp_path / name
        program.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\n")
        program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    ruleset = _firewall_ruleset(testinfra.get_host("local://"))
    assert rules.open_ports(ruleset) == {22, 4001, 9000, 9001, 9002}


def test_expected_bind_follows_the_url_host():
    assert rules.expected_bind("http://127.0.0.1:8000") == rules.LOOPBACK
    assert rules.expected_bind("http://localhost:8000") == rules.LOOPBACK
    assert rules.expected_bind("http://[::1]:8000") == rules.LOOPBACK
    assert rules.expected_bind("http://strix-halo.lan:4001") == rules.ALL
    assert rules.expected_bind("http://0.0.0.0:4001") == rules.ALL


def test_first_api_key_skips_comments_and_blank_lines_as_the_gateway_does():
    assert rules.first_api_key("# gateway API keys\n\n  sk-one  \nsk-two\n") == "sk-one"
    assert rules.first_api_key("# only a comment\n\n") is None


def test_url_host_drops_scheme_port_and_brackets():
    assert rules.url_host("http://atlas:4001") == "atlas"
    assert rules.url_host("http://[::1]:8000/v1") == "::1"
    assert rules.url_host("http://[::1]") == "::1"
    assert rules.url_host("https://Strix-Halo.lan") == "strix-halo.lan"


def test_bind_problems():
    listening = ["tcp://0.0.0.0:4001", "tcp://127.0.0.1:8000", "tcp://:::9901", "unix:///run/x.sock"]
    assert rules.bound_addresses(listening, 9901) == {"::"}
    assert rules.bind_problem(rules.bound_addresses(listening, 8000), 8000, rules.LOOPBACK) is None
    assert rules.bind_problem(rules.bound_addresses(listening, 4001), 4001, rules.ALL) is None
    assert (
        rules.bind_problem(rules.bound_addresses(listening, 4001), 4001, rules.LOOPBACK)
        == "port 4001 listens on 0.0.0.0; the spec says loopback only"
    )
    assert (
        rules.bind_problem(rules.bound_addresses(listening, 8000), 8000, rules.ALL)
        == "port 8000 listens only on 127.0.0.1; the spec says all addresses"
    )
    assert rules.bind_problem(set(), 7000, rules.ALL) == "nothing listens on TCP port 7000"


def test_secret_needles_cover_plain_and_environment_files():
    assert rules.secret_needles("sk-abcdef123\n") == ["sk-abcdef123"]
    env_file = "# gateway\nWEBUI_SECRET_KEY='s3cret-value'\nHF_TOKEN=hf_xyz12345\nEMPTY=\n"
    needles = rules.secret_needles(env_file)
    assert "s3cret-value" in needles and "hf_xyz12345" in needles
    assert "" not in needles


def test_verify_rejects_a_host_that_is_not_a_host_spec(tmp_path):
    result = CliRunner().invoke(cli, ["verify", "--host", "root@strix-halo"])
    assert result.exit_code == 2
    assert "not a host spec" in result.stderr


def test_verify_with_an_invalid_spec_is_one_clear_error(tmp_path):
    spec = tmp_path / "stack.json"
    spec.write_text('{"version": 1, "secrets": {"file": []}}')
    result = CliRunner().invoke(cli, ["--stack", str(spec), "verify"])
    assert result.exit_code == 1
    assert "unknown key 'secrets.file'" in result.stderr
    assert "Traceback" not in result.output


def test_a_host_without_a_readable_spec_is_one_clear_error(tmp_path, monkeypatch):
    """Without --stack the host's own spec is read first (testinfra's local backend stands
    in for SSH): missing or broken, verify stops with the file named, before any check."""
    import pytest

    from llmctl.errors import StackSpecError
    from llmctl.verify.runner import run_host_checks

    host_spec = tmp_path / "stack.json"
    monkeypatch.setattr("llmctl.verify.checks.plugin.DEFAULT_STACK_PATH", host_spec)
    with pytest.raises(StackSpecError, match=f"stack spec {host_spec} does not exist on local://") as missing:
        run_host_checks("local://", None)
    assert "--stack FILE" in missing.value.hint
    host_spec.write_text('{"version": 1,')
    with pytest.raises(StackSpecError, match=f"stack spec {host_spec} on local://: not valid JSON"):
        run_host_checks("local://", None)
    host_spec.write_text(json.dumps({"version": 1, "modelsDir": str(tmp_path)}))
    checks = {result["check"]: result["result"] for result in run_host_checks("local://", None)}
    assert checks["models folder"] == "pass", "a readable spec is the one the checks use"


def test_gpu_evidence_of_a_unit():
    from llmctl.verify.checks import gpu_evidence

    shown = "InvocationID=4f1c\nUser=llama\nSupplementaryGroups=render video\n"
    shown += 'Environment=ROCBLAS_USE_HIPBLASLT=1 "HSA_OVERRIDE_GFX_VERSION=11.0.0"\n'
    properties = gpu_evidence.unit_properties(shown)
    assert properties["InvocationID"] == "4f1c" and properties["SupplementaryGroups"] == "render video"
    assert gpu_evidence.hsa_override(properties) == "11.0.0"
    assert gpu_evidence.hsa_override({"Environment": "HIP_VISIBLE_DEVICES=0"}) is None
    nodes = {"/dev/kfd": ("render", 0o660), "/dev/dri/renderD128": ("render", 0o660)}
    assert gpu_evidence.device_access("rocm", nodes, {"render", "video"}) is True
    assert gpu_evidence.device_access("rocm", nodes, {"video"}) is False
    assert gpu_evidence.device_access("rocm", {"/dev/kfd": ("render", 0o666)}, set()) is True
    assert gpu_evidence.device_access("cuda", nodes, {"render"}) is None  # no NVIDIA nodes: not a group problem


def test_gpu_verdict_of_a_dedicated_server_uses_the_spec(stack_document):
    from pathlib import Path

    from llmctl.stack import parse_stack
    from llmctl.status.gpu_use import HostFacts, server_verdict

    logs = Path(__file__).parent / "data" / "llama-logs"
    stack_document["models"]["devstral"]["gpuLayers"] = 24
    spec = parse_stack(stack_document)
    chat = spec.endpoints["chat"]
    partial = server_verdict((logs / "rocm-partial-b11434.log").read_text(), spec, chat, HostFacts())
    assert partial.ok, "24 layers were declared, 24 offloaded"
    facts = HostFacts(device_access=False)
    failed = server_verdict((logs / "rocm-no-device-b11434.log").read_text(), spec, chat, facts)
    assert not failed.ok and "render group" in failed.cause
