"""`llmctl discover` and `llmctl models`: the generated llama-swap config validates against
llama-swap's schemas, merges the stack spec, and its commands start the real llama-server
(split and filled in the way llama-swap does) which answers on the endpoint of its role."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from llmctl.cli import cli
from llmctl.flags import probe_capabilities
from llmctl.library.inventory import scan
from llmctl.serving.swap_config import build_swap_config
from llmctl.stack import parse_stack
from testkit.llama_swap_cmd import cmd_to_argv
from testkit.processes import free_port, http_status, start_process
from testkit.tiny_mmproj import write_mmproj
from testkit.tools import llama_server_bin, shared_data


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMCTL_CACHE_DIR", str(tmp_path / "llmctl-cache"))


def place(folder: Path, source: Path, name: str | None = None) -> Path:
    target = folder / (name or source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def post(url: str, body: dict, timeout: float = 60) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def spec_for(models_dir: Path, **extra) -> object:
    document = {"version": 1, "modelsDir": str(models_dir), "llamaServer": {"binary": str(llama_server_bin())}}
    for key, value in extra.items():
        document[key] = {**document.get(key, {}), **value}
    return parse_stack(document)


def generate(models_dir: Path, spec=None, version: int | None = None) -> dict:
    """Build, render and re-read the config, as llama-swap would read the file."""
    spec = spec or spec_for(models_dir)
    config = build_swap_config(scan(models_dir), spec, probe_capabilities(spec.llama_server.binary), version)
    return yaml.safe_load(config.to_yaml(str(models_dir)))


@pytest.fixture
def validate():
    """Checks a config against llama-swap's v230 and v250 schemas (../shared/data/llama-swap).
    The schemas are looked up before the test starts: without them the test is skipped
    whole (a failure under LOCAL_LLM_REQUIRE_TOOLS=1), never halfway through."""
    from jsonschema import Draft7Validator

    folder = shared_data("llama-swap")
    schemas = {
        version: json.loads((folder / f"config-schema-{version}.json").read_text()) for version in ("v230", "v250")
    }

    def check(document: dict) -> None:
        for version, schema in schemas.items():
            errors = [error.message for error in Draft7Validator(schema).iter_errors(document)]
            assert errors == [], f"{version}: {errors}"

    return check


def ask_role(url: str, role: str) -> None:
    """One request on the endpoint of `role`, with an answer of the right shape."""
    if role == "chat":
        answer = post(f"{url}/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
        assert answer["object"] == "chat.completion"
    elif role == "embedding":
        answer = post(f"{url}/v1/embeddings", {"input": ["hello world"]})
        assert len(answer["data"][0]["embedding"]) == 128
    else:
        answer = post(f"{url}/v1/rerank", {"query": "hello", "documents": ["a b", "the world"]})
        assert sorted(result["index"] for result in answer["results"]) == [0, 1]


def run_entry(cmd: str, log_dir: Path, cwd: Path | None = None):
    """Start `cmd` the way llama-swap does: macros filled in, split by its splitter, no shell."""
    port = free_port()
    argv = cmd_to_argv(cmd, port)
    url = f"http://127.0.0.1:{port}"
    server = start_process(
        "llama-server",
        argv,
        log_dir / f"server-{port}.log",
        lambda: http_status(f"{url}/health") == 200,
        timeout=90,
        cwd=cwd,
    )
    return server, argv, url


@pytest.fixture
def every_kind(tmp_path, tiny_models) -> Path:
    root = tmp_path / "models"
    place(root / "chat", tiny_models.chat)
    place(root / "gemma3", tiny_models.gemma3)
    place(root / "embedding", tiny_models.embedding)
    place(root / "reranker", tiny_models.reranker)
    for shard in tiny_models.split:
        place(root / "split", shard)
    place(root / "split-broken", tiny_models.split[0], "lonely-F16-00001-of-00002.gguf")
    place(root / "broken", tiny_models.truncated)
    return root


def test_config_validates_against_both_schemas_for_every_version(every_kind, validate):
    for version in (150, 230, 250):
        document = generate(every_kind, version=version)
        validate(document)
        assert sorted(document["models"]) == [
            "tiny-embed-f16",
            "tiny-gemma3-f16",
            "tiny-llama-f16",
            "tiny-rerank-f16",
            "tiny-split-f16",
        ]
        has_metadata = ["metadata" in entry for entry in document["models"].values()]
        assert has_metadata == [version >= 163] * 5


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model_id", "role"),
    [
        ("tiny-llama-f16", "chat"),
        ("tiny-gemma3-f16", "chat"),
        ("tiny-embed-f16", "embedding"),
        ("tiny-rerank-f16", "rerank"),
        ("tiny-split-f16", "chat"),
    ],
)
def test_generated_cmd_starts_llama_server_answering_for_its_role(every_kind, tmp_path, model_id, role):
    spec = spec_for(every_kind, llamaServer={"contextSize": 512}, gpu={"unifiedMemory": True})
    entry = generate(every_kind, spec)["models"][model_id]
    assert entry["metadata"]["role"] == role
    server, argv, url = run_entry(entry["cmd"], tmp_path / "logs")
    try:
        # The host flags reached the server: the context and the no-mmap spelling this build knows.
        assert argv[argv.index("-c") + 1] == "512"
        assert "--load-mode" in argv and "--no-mmap" not in argv
        ask_role(url, role)
    finally:
        server.stop()


def tiny_png(size: int = 28) -> bytes:
    """An RGB gradient as a PNG, written by hand (no imaging library needed)."""
    import struct
    import zlib

    rows = b"".join(b"\x00" + b"".join(bytes([x * 9, y * 9, 128]) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.mark.slow
def test_vision_pair_is_served_with_its_projector(tmp_path, tiny_models):
    import base64

    root = tmp_path / "models"
    place(root / "vision", tiny_models.chat, "tiny-vlm-F16.gguf")
    projector = write_mmproj(root / "vision" / "mmproj-tiny-vlm-F16.gguf")
    document = generate(root)
    assert list(document["models"]) == ["tiny-vlm-f16"], "the projector is not a model"
    server, argv, url = run_entry(document["models"]["tiny-vlm-f16"]["cmd"], tmp_path / "logs")
    try:
        assert argv[argv.index("--mmproj") + 1] == str(projector)
        listed = json.loads(urllib.request.urlopen(f"{url}/v1/models", timeout=30).read())
        assert "multimodal" in listed["models"][0]["capabilities"]
        image = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
        content = [{"type": "text", "text": "what is it?"}, {"type": "image_url", "image_url": {"url": image}}]
        answer = post(
            f"{url}/v1/chat/completions", {"messages": [{"role": "user", "content": content}], "max_tokens": 2}
        )
        text_only = post(
            f"{url}/v1/chat/completions", {"messages": [{"role": "user", "content": "what is it?"}], "max_tokens": 2}
        )
        # The image became prompt tokens: (28/14)^2 = 4 patches more than the same text alone.
        assert answer["usage"]["prompt_tokens"] > text_only["usage"]["prompt_tokens"]
    finally:
        server.stop()


NASTY_NAMES = [
    "my model Q4.gguf",
    'it\'s "quoted".gguf',
    "$(touch pwned) and `touch pwned2`; touch pwned3.gguf",
    "${PORT}-${env.HOME}-${MODEL_ID}.gguf",
    "#not-a-comment.gguf",
    "modèle-日本語 ü.gguf",
]


@pytest.mark.slow
def test_nasty_file_names_reach_llama_server_intact(tmp_path, tiny_models, validate):
    root = tmp_path / "models $(x) 'q'"
    for name in NASTY_NAMES:
        place(root, tiny_models.embedding, name)
    place(root, tiny_models.embedding, "new\nline.gguf")
    spec = spec_for(root)
    inventory = scan(root)
    assert [item.path.name for item in inventory.invalid] == ["new\nline.gguf"]
    document = generate(root, spec)
    validate(document)
    assert len(document["models"]) == len(NASTY_NAMES)
    served = set()
    work = tmp_path / "cwd"
    work.mkdir()
    for model_id, entry in document["models"].items():
        assert "$" not in model_id and " " not in model_id
        server, argv, url = run_entry(entry["cmd"], tmp_path / "logs", cwd=work)
        try:
            model_path = Path(argv[argv.index("-m") + 1])
            assert model_path.parent == root
            served.add(model_path.name)
            ask_role(url, "embedding")
        finally:
            server.stop()
    assert served == set(NASTY_NAMES)
    assert list(work.iterdir()) == [], "nothing was executed from a file name"


def test_declared_models_are_merged_and_win(every_kind, tiny_models, validate):
    spec = spec_for(
        every_kind,
        gpu={"unifiedMemory": True},
        llamaServer={"contextSize": 4096, "gpuLayers": 99, "flashAttention": "on"},
        llamaSwap={
            "ttl": 600,
            "healthCheckTimeout": 60,
            "startPort": 9000,
            "groups": {"always": {"persistent": True, "members": ["tiny-rerank-f16", "absent"]}},
        },
        models={
            "my-chat": {
                "file": "chat/tiny-llama-F16.gguf",
                "aliases": ["gpt-4"],
                "ttl": 300,
                "contextSize": 2048,
                "extraArgs": ["--alias", "x y"],
                "group": "chat-group",
            },
            "tiny-gemma3-f16": {"unlisted": True, "role": "chat"},
            "static": {"cmd": "/opt/bin/server --port ${PORT}", "proxy": "http://127.0.0.1:${PORT}"},
            "dedicated-embed": {"file": "tiny-embed-F16.gguf", "serve": "dedicated"},
            "ghost": {"source": "hf:org/repo:Q4_K_M"},
        },
    )
    config = build_swap_config(scan(every_kind), spec, probe_capabilities(spec.llama_server.binary), 250)
    document = yaml.safe_load(config.to_yaml(str(every_kind)))
    validate(document)
    models = document["models"]
    assert sorted(models) == ["my-chat", "static", "tiny-gemma3-f16", "tiny-rerank-f16", "tiny-split-f16"]
    argv = cmd_to_argv(models["my-chat"]["cmd"], 1)
    assert argv[argv.index("-c") + 1] == "2048"  # declared beats the default 4096
    assert argv[-2:] == ["--alias", "x y"]
    assert {"-ngl", "99", "-fa", "on", "--load-mode", "none"} <= set(argv)
    rerank = cmd_to_argv(models["tiny-rerank-f16"]["cmd"], 1)
    assert rerank[rerank.index("-c") + 1] == "512", "the 4096 default is capped at the training context"
    assert models["my-chat"]["aliases"] == ["gpt-4"] and models["my-chat"]["ttl"] == 300
    assert models["tiny-split-f16"]["ttl"] == 600
    assert models["tiny-gemma3-f16"]["unlisted"] is True
    assert models["static"] == {
        "cmd": "/opt/bin/server --port ${PORT}",
        "proxy": "http://127.0.0.1:${PORT}",
        "ttl": 600,
    }
    assert document["groups"] == {
        "always": {"persistent": True, "members": ["tiny-rerank-f16"]},
        "chat-group": {"members": ["my-chat"]},
    }
    assert (document["healthCheckTimeout"], document["startPort"]) == (60, 9000)
    assert config.problems == ["declared model 'ghost': its file is not in the models folder yet"]
    assert config.entries["my-chat"] == "merged" and config.entries["static"] == "declared"


def test_without_auto_discover_only_declared_models_are_served(every_kind):
    spec = spec_for(every_kind, llamaSwap={"autoDiscover": False}, models={"emb": {"file": "tiny-embed-F16.gguf"}})
    assert list(generate(every_kind, spec)["models"]) == ["emb"]


def test_cli_writes_atomically_only_on_change(every_kind, tmp_path, tiny_models):
    runner = CliRunner()
    stack = tmp_path / "stack.json"
    output = tmp_path / "swap" / "config.yaml"
    output.parent.mkdir()
    stack.write_text(
        json.dumps({"version": 1, "modelsDir": str(every_kind), "llamaSwap": {"configFile": str(output)}})
    )
    first = runner.invoke(cli, ["--stack", str(stack), "discover"])
    assert first.exit_code == 0, first.output
    assert "written (5 models)" in first.stderr
    assert "not served" in first.stderr and "lonely" in first.stderr and "truncated" in first.stderr
    inode = output.stat().st_ino
    second = runner.invoke(cli, ["--stack", str(stack), "discover"])
    assert "unchanged" in second.stderr and output.stat().st_ino == inode
    place(every_kind / "more", tiny_models.embedding, "another-embed.gguf")
    third = runner.invoke(cli, ["--stack", str(stack), "discover"])
    assert "written (6 models)" in third.stderr and output.stat().st_ino != inode
    assert "another-embed" in yaml.safe_load(output.read_text())["models"]
    assert sorted(p.name for p in output.parent.iterdir()) == ["config.yaml"], "no temporary file left"


def test_cli_stdout_output_is_only_yaml(every_kind):
    result = CliRunner().invoke(cli, ["discover", "--models-dir", str(every_kind), "--output", "-"])
    assert result.exit_code == 0, result.stderr
    assert set(yaml.safe_load(result.stdout)["models"]) >= {"tiny-llama-f16", "tiny-split-f16"}


def test_cli_unwritable_output_is_a_clear_error(every_kind, tmp_path):
    result = CliRunner().invoke(
        cli, ["discover", "--models-dir", str(every_kind), "-o", str(tmp_path / "no" / "x.yaml")]
    )
    assert result.exit_code == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.output


def test_models_json_lists_models_and_invalid_files(every_kind, tmp_path):
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"version": 1, "modelsDir": str(every_kind)}))
    result = CliRunner().invoke(cli, ["--stack", str(stack), "models", "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    roles = {model["id"]: (model["role"], model["usable"]) for model in data["models"]}
    assert roles == {
        "lonely-f16": ("chat", False),
        "tiny-embed-f16": ("embedding", True),
        "tiny-gemma3-f16": ("chat", True),
        "tiny-llama-f16": ("chat", True),
        "tiny-rerank-f16": ("rerank", True),
        "tiny-split-f16": ("chat", True),
    }
    assert [Path(item["path"]).name for item in data["invalid"]] == ["truncated.gguf"]
    human = CliRunner().invoke(cli, ["models", "--models-dir", str(every_kind)])
    assert human.exit_code == 0 and "tiny-rerank-f16" in human.stdout and "invalid:" in human.stderr
    assert (Path(os.environ["LLMCTL_CACHE_DIR"]) / "gguf-summaries.json").is_file()


def test_cli_with_a_binary_of_another_host_uses_the_table_defaults(every_kind, tmp_path):
    stack = tmp_path / "stack.json"
    binary = "/nix/store/0abc-llama-cpp-6500/bin/llama-server"
    document = {
        "version": 1,
        "modelsDir": str(every_kind),
        "gpu": {"unifiedMemory": True},
        "llamaServer": {"binary": binary, "flashAttention": "on"},
    }
    stack.write_text(json.dumps(document))
    result = CliRunner().invoke(cli, ["--stack", str(stack), "discover", "--output", "-"])
    assert result.exit_code == 0, result.stderr
    assert f"{binary} cannot be run here" in result.stderr
    argv = cmd_to_argv(yaml.safe_load(result.stdout)["models"]["tiny-llama-f16"]["cmd"], 1)
    # nixos-26.05's llama.cpp: valued -fa, --no-mmap (no --load-mode yet).
    assert argv[0] == binary and argv[-3:] == ["-fa", "on", "--no-mmap"]


def shape_of(path: Path):
    from llmctl.gguf.reader import read_gguf
    from llmctl.plan.shape import model_shape

    return model_shape([read_gguf(path, tensors=True)])


@pytest.mark.slow
def test_auto_size_sets_context_layers_and_swap_groups_from_the_plan(tmp_path, tiny_models, validate):
    from llmctl.plan.budgets import Budget, budget_profile
    from llmctl.plan.fleet import plan_fleet
    from llmctl.plan.planner import PlanRequest

    root = tmp_path / "models"
    for model in (tiny_models.chat, tiny_models.gemma3, tiny_models.embedding, tiny_models.reranker):
        place(root, model)
    spec = spec_for(
        root,
        # 1 GiB left after the free margin: the embedding and reranker servers fit together,
        # the chat model fits alone (each server also carries 512 MiB of runtime overhead).
        gpu={"backend": "vulkan", "memoryGiB": 2.015},
        llamaServer={"autoSize": True},
        models={"tiny-gemma3-f16": {"contextSize": 1024, "group": "mine"}},
    )
    document = generate(root, spec, 250)
    validate(document)
    models = document["models"]
    shapes = {model_id: shape_of(Path(cmd_to_argv(models[model_id]["cmd"], 1)[2])) for model_id in models}
    expected = plan_fleet(shapes, Budget.from_profile(*budget_profile(None, None, spec.gpu)), PlanRequest())
    for model_id, entry in models.items():
        argv = cmd_to_argv(entry["cmd"], 1)
        planned = expected.sizing[model_id]
        context = 1024 if model_id == "tiny-gemma3-f16" else planned.ctx  # declared settings win
        assert (argv[argv.index("-c") + 1], argv[argv.index("-ngl") + 1]) == (str(context), str(planned.gpu_layers))
    assert expected.sizing["tiny-llama-f16"].gpu_layers > 0
    groups = document["groups"]
    assert groups.pop("mine") == {"members": ["tiny-gemma3-f16"]}, "a declared group wins over the plan"
    assert sorted(group["members"] for group in groups.values()) == [
        ["tiny-embed-f16", "tiny-rerank-f16"],
        ["tiny-llama-f16"],
    ]
    assert all(group["swap"] is False and group["exclusive"] is True for group in groups.values())

    server, argv, url = run_entry(models["tiny-llama-f16"]["cmd"], tmp_path / "logs")
    try:
        assert argv[argv.index("-c") + 1] == str(expected.sizing["tiny-llama-f16"].ctx)
        ask_role(url, "chat")
    finally:
        server.stop()


def test_without_auto_size_nothing_is_planned(every_kind):
    spec = spec_for(every_kind, gpu={"backend": "vulkan", "memoryGiB": 2.015})
    document = generate(every_kind, spec)
    assert "groups" not in document
    assert all("-ngl" not in cmd_to_argv(entry["cmd"], 1) for entry in document["models"].values())


def test_auto_size_keeps_a_moe_models_experts_in_host_memory(tmp_path, validate):
    from testkit.sparse_models import qwen3_moe_30b, write_sparse

    root = tmp_path / "models"
    # Qwen3-30B-A3B with Q8_0 experts: a 30 GiB file (sparse: discovery reads headers only) for a 24 GiB card.
    write_sparse(qwen3_moe_30b("Q8_0"), root / "Qwen3-30B-A3B-Q8_0.gguf")
    spec = spec_for(
        root, gpu={"backend": "rocm", "memoryGiB": 24}, llamaServer={"autoSize": True, "contextSize": 32768}
    )
    document = generate(root, spec, 250)
    validate(document)
    (entry,) = document["models"].values()
    argv = cmd_to_argv(entry["cmd"], 1)
    layers = argv[argv.index("--n-cpu-moe") + 1]
    assert argv[argv.index("-c") + 1] == "32768", "experts in host memory leave room for the wanted context"
    assert argv[argv.index("-ngl") + 1] == "49" and 0 < int(layers) < 48, "every layer on the GPU, some experts not"
    assert argv.index("-lv") < argv.index("-ngl"), "the load lines verify reads are logged from the start"
