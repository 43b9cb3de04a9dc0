"""`llmctl plan` on local files, model IDs and split sets; errors and JSON shape."""

from __future__ import annotations

import json

import gguf
import numpy as np
import pytest
from click.testing import CliRunner

from llmctl.cli import cli

JSON_KEYS = {"weights_bytes", "kv_cache_bytes", "compute_bytes", "total_bytes", "gpu_layers", "fits", "verdict"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run_json(runner, *args):
    result = runner.invoke(cli, ["plan", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_plan_of_a_local_file(runner, tiny_models):
    data = run_json(runner, str(tiny_models.chat), "--ctx", "4096", "--gpu", "rx-7600")
    assert set(data) >= JSON_KEYS
    assert data["verdict"] == "fits" and data["fits"] is True
    assert data["gpu_layers"] == data["max_gpu_layers"] == tiny_models.chat_shape.n_layer + 1
    assert data["kv_cache_bytes"] == 4 * 1024 * 1024  # 4 layers x 4096 cells x (2 x 64) x f16
    total = data["weights_bytes"] + data["kv_cache_bytes"] + data["compute_bytes"] + data["output_bytes"]
    assert data["total_bytes"] == total
    assert data["server_args"] == ["-c", "4096", "-ngl", "5"]


def test_human_output_has_breakdown_verdict_and_command(runner, tiny_models):
    result = runner.invoke(cli, ["plan", str(tiny_models.gemma3), "--gpu", "radeon-r9700", "--ctx-table"])
    assert result.exit_code == 0, result.output
    for text in ("weights", "KV cache", "compute buffers", "verdict:  fits", "-ngl 13", "Largest context", "q4_0"):
        assert text in result.stdout


def test_ctx_table_in_json(runner, tiny_models):
    data = run_json(runner, str(tiny_models.chat), "--ctx-table", "--gpu-mem", "1.6")
    rows = {row["kv_type"]: row for row in data["ctx_table"]}
    assert set(rows) == {"f16", "q8_0", "q4_0"}
    assert rows["q8_0"]["kv_cache_bytes"] < rows["f16"]["kv_cache_bytes"]
    assert rows["f16"]["largest_ctx"] == 4096  # capped at the training context


def test_model_id_and_split_sets(runner, tiny_models):
    by_id = run_json(runner, "TINY-LLAMA-F16", "--models-dir", str(tiny_models.root / "chat"))
    assert by_id["model"]["files"] == [str(tiny_models.chat)]
    from_second_shard = run_json(runner, str(tiny_models.split[1]))
    assert from_second_shard["model"]["files"] == [str(p) for p in tiny_models.split]
    assert from_second_shard["weights_bytes"] == by_id["weights_bytes"]  # same shape, same tensors
    split_id = run_json(runner, "tiny-split-f16", "--models-dir", str(tiny_models.root / "split"))
    assert split_id["model"]["files"][0] == str(tiny_models.split[0])


def test_hybrid_and_no_fit_verdicts(runner, tiny_models):
    fits = run_json(runner, str(tiny_models.chat), "--ngl", "2", "--gpu-mem", "2")
    assert fits["verdict"] == "hybrid" and fits["gpu_layers"] == 2
    assert run_json(runner, str(tiny_models.chat), "--gpu-mem", "1")["verdict"] == "does-not-fit"


def test_context_above_training_warns(runner, tiny_models):
    result = runner.invoke(cli, ["plan", str(tiny_models.chat), "--ctx", "16384"])
    assert result.exit_code == 0
    assert "above the training context 4096" in result.stderr


def test_unknown_architecture_is_stated(runner, tmp_path):
    path = tmp_path / "mystery.gguf"
    writer = gguf.GGUFWriter(path, "mystery")
    writer.add_block_count(2)
    writer.add_embedding_length(64)
    writer.add_head_count(4)
    writer.add_tensor("token_embd.weight", np.zeros((16, 64), dtype=np.float16))
    writer.add_tensor("blk.0.attn_q.weight", np.zeros((64, 64), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    result = runner.invoke(cli, ["plan", str(path), "--ctx", "1024"])
    assert result.exit_code == 0, result.output
    assert "not modelled: architecture 'mystery' is not known" in result.stderr
    data = run_json(runner, str(path), "--ctx", "1024")
    assert data["missing"] and data["weights_bytes"] == 16 * 64 * 2 + 64 * 64 * 2


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["/nonexistent/model.gguf"], 1, "no such file"),
        (["no-such-model-id"], 1, "not a file, no model with this ID"),
        (["{chat}", "--kv-type", "q3_k"], 2, "Invalid value"),
        (["{chat}", "--gpu", "tpu"], 2, "Invalid value"),
        (["{chat}", "--kv-type", "q8_0", "--no-flash-attn"], 2, "requires flash attention"),
        (["{truncated}"], 1, "truncated"),
        (["{folder}"], 1, "is a folder, not a GGUF file"),
    ],
)
def test_bad_input_is_one_clear_line(runner, tiny_models, args, code, message):
    args = [a.format(chat=tiny_models.chat, truncated=tiny_models.truncated, folder=tiny_models.root) for a in args]
    result = runner.invoke(cli, ["plan", *args])
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_budget_comes_from_the_stack_spec(runner, tiny_models, stack_file):
    data = run_json(runner, str(tiny_models.chat), "--stack", str(stack_file))
    assert data["budget"]["profile"] == "strix-halo"
    assert data["budget"]["unified_memory"] is True
    assert data["budget"]["gpu_bytes"] == 120 * 1024**3
    overridden = run_json(runner, str(tiny_models.chat), "--stack", str(stack_file), "--gpu", "rx-7600")
    assert overridden["budget"]["gpu_bytes"] == 8 * 1024**3


def test_ctx_table_goes_past_the_training_context_when_asked(runner, tiny_models):
    data = run_json(runner, str(tiny_models.chat), "--ctx", "1048576", "--ctx-table", "--gpu-mem", "2")
    rows = {row["kv_type"]: row["largest_ctx"] for row in data["ctx_table"]}
    assert 4096 < rows["f16"] < rows["q8_0"] < rows["q4_0"] <= 1048576


def test_model_ids_are_the_inventorys(runner, tiny_models, tmp_path):
    """Colliding names get their sub-folder prefix, as `llmctl models` shows them."""
    import shutil

    models = tmp_path / "models"
    for folder in ("a", "b"):
        (models / folder).mkdir(parents=True)
        shutil.copyfile(tiny_models.chat, models / folder / "tiny-llama-F16.gguf")
    shutil.copyfile(tiny_models.split[0], models / tiny_models.split[0].name)  # shard 2 missing
    listed = json.loads(runner.invoke(cli, ["models", "--models-dir", str(models), "--json"]).stdout)
    ids = {model["id"] for model in listed["models"]}
    assert {"a/tiny-llama-f16", "b/tiny-llama-f16"} <= ids
    by_id = run_json(runner, "b/tiny-llama-f16", "--models-dir", str(models))
    assert by_id["model"]["files"] == [str(models / "b" / "tiny-llama-F16.gguf")]
    result = runner.invoke(cli, ["plan", "tiny-llama-f16", "--models-dir", str(models)])
    assert result.exit_code == 1 and "no model with this ID" in result.stderr
    result = runner.invoke(cli, ["plan", "tiny-split-f16", "--models-dir", str(models)])
    assert result.exit_code == 1 and "incomplete split set, shard(s) 2 of 2 missing" in result.stderr
    assert "Hint: download the missing shards" in result.stderr


def test_a_moe_model_larger_than_the_card_keeps_experts_in_host_memory(runner, tmp_path):
    from testkit.sparse_models import qwen3_moe_30b, write_sparse

    # Qwen3-30B-A3B with Q8_0 experts: a 30 GiB file (sparse: headers only are read) for a 24 GiB card.
    model = write_sparse(qwen3_moe_30b("Q8_0"), tmp_path / "qwen3moe-q8.gguf")
    data = run_json(runner, str(model), "--ctx", "32768", "--gpu", "rx-7900xtx")
    assert data["verdict"] == "experts-on-host" and data["fits"]
    assert data["gpu_layers"] == 49 and 0 < data["cpu_moe_layers"] < 48
    assert data["server_args"] == ["-c", "32768", "-ngl", "49", "--n-cpu-moe", str(data["cpu_moe_layers"])]
    assert data["gpu"]["total"] + data["budget"]["margin_bytes"] <= 24 * 1024**3
    # One block fewer on the host would not fit: the plan keeps as many experts on the GPU as it can.
    fewer = run_json(
        runner, str(model), "--ctx", "32768", "--gpu", "rx-7900xtx", "--n-cpu-moe", str(data["cpu_moe_layers"] - 1)
    )
    assert fewer["verdict"] in ("hybrid", "does-not-fit")
    assert "routed experts of blocks 0-" in data["placement"] and "KV cache on the GPU" in data["placement"]
    human = runner.invoke(cli, ["plan", str(model), "--ctx", "32768", "--gpu", "rx-7900xtx"])
    assert "fits with experts in host memory" in human.stdout and "--n-cpu-moe" in human.stdout


def test_dropping_layers_is_the_last_resort_for_a_moe_model(runner, tmp_path):
    from testkit.sparse_models import qwen3_moe_30b, write_sparse

    model = write_sparse(qwen3_moe_30b("Q8_0"), tmp_path / "qwen3moe-q8.gguf")
    # 3 GiB: not even every block's attention, router and KV cache fit beside the runtime overhead.
    args = (str(model), "--ctx", "32768", "--gpu", "nvidia", "--gpu-mem", "3")
    data = run_json(runner, *args)
    assert data["verdict"] == "hybrid" and 0 < data["gpu_layers"] < 49
    assert data["cpu_moe_layers"] == 48, "the GPU blocks keep their experts in host memory too"
    assert "the GPU blocks' routed experts" in data["placement"]
    whole_layers = run_json(runner, *args, "--n-cpu-moe", "0")
    assert whole_layers["gpu_layers"] < data["gpu_layers"], "experts on the host let more blocks onto the GPU"
