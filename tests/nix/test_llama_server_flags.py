"""One flag table for Nix and llmctl: same argv for the same inputs, old and new
llama.cpp flag sets, and the new set accepted by the real llama-server."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from llmctl import flags as server_flags
from llmctl.errors import LlmctlError
from llmctl.serving import swap_cmd
from testkit.llama_server import start_llama_server_argv
from testkit.nixeval import NIX_LIB, REPO, nix_eval
from testkit.processes import free_port
from testkit.tools import llama_server_bin

PACKAGED_TABLE = REPO / "python/llmctl/src/llmctl/data/llama-server-flags.json"
OLD = {"loadMode": False, "flashAttnValue": False, "traceLog": False}
NEW = {"loadMode": True, "flashAttnValue": True, "traceLog": True}


def test_packaged_table_is_the_nix_table():
    assert not (NIX_LIB / "llama-server-flags.json").exists(), "one copy: llmctl's data folder (nix/lib/data.nix)"
    assert nix_eval("lib.flagTable") == json.loads(PACKAGED_TABLE.read_text()) == server_flags.flag_table()


def cases():
    options = [
        {"model": "/m/a.gguf"},
        {
            "model": "/m/a.gguf",
            "host": "127.0.0.1",
            "port": 8000,
            "alias": ["devstral", "gpt-4"],
            "contextSize": 262144,
        },
        {
            "model": "/m/a.gguf",
            "gpuLayers": 999,
            "parallel": 2,
            "flashAttention": "on",
            "noMmap": True,
            "metrics": True,
        },
        {"loadLog": True, "model": "/m/a.gguf", "gpuLayers": 49, "cpuMoeLayers": 30, "flashAttention": "on"},
        {"model": "/m/a.gguf", "gpuLayers": "auto", "flashAttention": "off", "noMmap": False, "contextSize": None},
        {"model": "/m/a.gguf", "flashAttention": "auto"},
        {"model": "/m/a b.gguf", "mmproj": "/m/mmproj-a.gguf", "port": "${PORT}", "noMmap": True},
        {
            "model": "/m/a.gguf",
            "contextSize": 8192,
            "cacheTypeK": "q8_0",
            "cacheTypeV": "q4_0",
            "flashAttention": "on",
        },
    ]
    capability_sets = [None, OLD, NEW, {"loadMode": True, "flashAttnValue": False, "traceLog": True}]
    for (i, opts), caps, role in itertools.product(
        enumerate(options), capability_sets, ("chat", "embedding", "rerank")
    ):
        yield {"options": opts, "capabilities": caps, "role": role, "extra": ["--threads", "2"] if i % 2 else []}


def test_nix_and_python_build_the_same_argv():
    all_cases = list(cases())
    nix_args = [
        {
            "role": c["role"],
            "options": c["options"],
            "extraArgs": c["extra"],
            **({"capabilities": c["capabilities"]} if c["capabilities"] is not None else {}),
        }
        for c in all_cases
    ]
    from_nix = nix_eval("map lib.llamaServerArgv cases", cases=nix_args)
    from_python = [
        server_flags.llama_server_argv(
            role=c["role"], options=c["options"], extra_args=c["extra"], capabilities=c["capabilities"]
        )
        for c in all_cases
    ]
    assert from_nix == from_python
    assert len({tuple(argv) for argv in from_nix}) > 20  # the cases really differ
    with_projector = [argv for argv in from_nix if "/m/mmproj-a.gguf" in argv]
    assert len(with_projector) == 4, "--mmproj is passed for the chat role only"
    assert all(argv[argv.index("/m/mmproj-a.gguf") - 1] == "--mmproj" for argv in with_projector)


def test_old_and_new_flag_sets():
    options = {"model": "/m.gguf", "flashAttention": "on", "noMmap": True}
    assert server_flags.llama_server_argv(role="chat", options=options, capabilities=OLD) == [
        "llama-server",
        "-m",
        "/m.gguf",
        "-fa",
        "--no-mmap",
    ]
    # --metrics is spelled the same by old and new builds (monitoring).
    for capabilities in (OLD, NEW):
        argv = server_flags.llama_server_argv(
            role="chat", options={**options, "metrics": True}, capabilities=capabilities
        )
        assert argv[-1] == "--metrics"
    assert server_flags.llama_server_argv(role="rerank", options=options, capabilities=NEW) == [
        "llama-server",
        "-m",
        "/m.gguf",
        "-fa",
        "on",
        "--load-mode",
        "none",
        "--reranking",
    ]
    # Defaults = nixos-26.05's llama.cpp: valued -fa, no --load-mode yet, INFO lines logged by default.
    assert (
        nix_eval("lib.defaultCapabilities")
        == server_flags.default_capabilities()
        == {
            "loadMode": False,
            "flashAttnValue": True,
            "traceLog": False,
        }
    )


def test_load_lines_and_expert_offload_flags():
    options = {"loadLog": True, "model": "/m.gguf", "gpuLayers": 49, "cpuMoeLayers": 30}
    # -lv 4 before -ngl: the GPU backends initialise while -ngl is parsed, at the verbosity set so far.
    assert server_flags.llama_server_argv(role="chat", options=options, capabilities=NEW) == [
        "llama-server",
        "-m",
        "/m.gguf",
        "-lv",
        "4",
        "-ngl",
        "49",
        "--n-cpu-moe",
        "30",
    ]
    old = server_flags.llama_server_argv(role="chat", options=options, capabilities=OLD)
    assert "-lv" not in old and old[-2:] == ["--n-cpu-moe", "30"]


def test_capabilities_from_help_texts():
    old_help = "-fa,   --flash-attn                     enable Flash Attention\n--no-mmap   do not memory-map model"
    new_help = (
        "-fa,   --flash-attn [on|off|auto]       set Flash Attention use\n-lm,   --load-mode MODE\n"
        " - 4: trace (more info)"
    )
    assert server_flags.capabilities_from_help(old_help) == OLD
    assert server_flags.capabilities_from_help(new_help) == NEW


def test_real_llama_server_accepts_the_new_flag_set(tiny_models, tmp_path):
    binary = str(llama_server_bin())
    caps = server_flags.probe_capabilities(binary)
    assert caps == NEW, "the llama-server under test has --load-mode and a valued -fa"
    port = free_port()
    spec = {
        "modelsDir": str(tiny_models.chat.parent),
        "gpu": {"profile": "strix-halo", "ramGiB": 16},  # noMmap + -fa on + -ngl 999
        "llamaServer": {"binary": binary, "capabilities": caps, "contextSize": 256, "extraArgs": ["--threads", "2"]},
        "models": {"tiny": {"file": Path(tiny_models.chat).name}},
        "dedicated": {"chat": {"port": port, "model": "tiny"}},
    }
    argv = nix_eval('lib.dedicatedServerArgv spec "chat"', spec=spec)
    assert argv[argv.index("--load-mode") : argv.index("--load-mode") + 2] == ["--load-mode", "none"]
    server = start_llama_server_argv(argv, port=port, log_dir=tmp_path)
    try:
        assert "--no-mmap" not in server.argv
    finally:
        server.stop()


def test_probe_of_a_missing_binary_is_a_clear_error(tmp_path):
    with pytest.raises(LlmctlError, match="cannot run"):
        server_flags.probe_capabilities(str(tmp_path / "nope"))


@pytest.mark.parametrize("capabilities", [OLD, NEW])
@pytest.mark.parametrize("role", ["chat", "embedding", "rerank"])
def test_discovery_commands_are_the_nix_argv(role, capabilities):
    """llmctl discover's llama-swap cmd is what nix/lib builds from the same options."""
    settings = {
        "context_size": 4096,
        "gpu_layers": 99,
        "flash_attention": "on",
        "parallel": 2,
        "unified_memory": True,
        "mmproj": "/m/mmproj.gguf",
        "extra_args": ["--threads", "2"],
    }
    discovered = swap_cmd.discovered_argv("/bin/llama-server", "/m/a.gguf", role, settings, capabilities)
    from_nix = nix_eval(
        "lib.llamaServerArgv args",
        args={
            "binary": "/bin/llama-server",
            "role": role,
            "options": swap_cmd.table_options("/m/a.gguf", settings),
            "extraArgs": ["--threads", "2"],
            "capabilities": capabilities,
        },
    )
    assert discovered == from_nix
    assert ("--load-mode" in discovered) == capabilities["loadMode"]
    assert ("--mmproj" in discovered) == (role == "chat")


@pytest.mark.parametrize("capabilities", [OLD, NEW])
def test_planner_and_fleet_flags_are_the_nix_argv(capabilities):
    """The flags `llmctl plan` recommends (-c, -ngl, -np, -ctk, -ctv) and autoSize's
    (-c, -ngl) are the table's, as nix/lib spells them for the same options."""
    from llmctl.plan.budgets import Budget
    from llmctl.plan.fleet import size_model
    from llmctl.plan.planner import PlanRequest, plan
    from testkit.plan_shapes import dense

    shape = dense()
    budget = Budget("test", 8 << 30, 32 << 30)
    result = plan(shape, PlanRequest(ctx=8192, parallel=2, type_k="q8_0", type_v="q4_0"), budget)
    sizing = size_model(shape, budget)
    for options, args in (
        (result.server_options(), result.server_args()),
        ({"contextSize": sizing.ctx, "gpuLayers": sizing.gpu_layers}, sizing.server_args()),
    ):
        from_nix = nix_eval(
            "lib.llamaServerArgv args",
            args={"role": "chat", "options": {"model": "/m.gguf", **options}, "capabilities": capabilities},
        )
        assert from_nix == ["llama-server", "-m", "/m.gguf", *args]
    assert result.server_args() == [
        "-c",
        "8192",
        "-ngl",
        str(result.gpu_layers),
        "-np",
        "2",
        "-ctk",
        "q8_0",
        "-ctv",
        "q4_0",
    ]
