"""The planner's formulas against figures from llama.cpp's source and the shared reference."""

from __future__ import annotations

import pytest

from llmctl.errors import PlanInputError
from llmctl.plan.budgets import Budget
from llmctl.plan.kv_cache import context_layout, layer_caches, swa_cells
from llmctl.plan.placement import place
from llmctl.plan.planner import FITS, HYBRID, NO_FIT, PlanRequest, largest_context, plan
from testkit.plan_shapes import MIB, dense, shape

GIB = 1024**3


def gpu_budget(gib: float, **kwargs) -> Budget:
    return Budget("test", int(gib * GIB), 64 * GIB, overhead_bytes=512 * MIB, **kwargs)


@pytest.mark.parametrize(
    ("ctx", "parallel", "unified", "expected"),
    [
        (5000, None, None, (5120, 5120, 1)),  # -c 5000 -> padded to 5120, -np auto is unified
        (4096, 3, None, (4608, 1536, 3)),  # -np 3: three streams of pad(4096/3, 256)
        (4096, 4, None, (4096, 1024, 4)),
        (4096, 3, True, (4096, 4096, 1)),  # -np 3 -kvu
    ],
)
def test_context_layout_matches_llama_context(ctx, parallel, unified, expected):
    layout = context_layout(ctx, parallel, unified)
    assert (layout.n_ctx, layout.n_ctx_seq, layout.n_stream) == expected


def test_swa_cells_use_n_ubatch_and_slots():
    assert swa_cells(context_layout(8192, None), 512, 512) == 2560  # 512*4 + 512
    assert swa_cells(context_layout(8192, 2), 512, 512) == 1024  # per stream: 512 + 512
    assert swa_cells(context_layout(8192, None), 512, 128) == 2304
    assert swa_cells(context_layout(1024, None), 512, 512) == 1024  # capped at the cache size
    assert swa_cells(context_layout(8192, None), 512, 512, swa_full=True) == 8192


def test_gqa_kv_bytes_per_layer_and_quantized_types():
    model = dense()
    f16 = plan(model, PlanRequest(ctx=8192, parallel=1), Budget("cpu", None, 64 * GIB))
    assert f16.kv_cache_bytes == 32 * 8192 * (2 * 8 * 128 * 2)  # 1 GiB, the well-known 128 KiB/token
    q8 = plan(model, PlanRequest(ctx=8192, parallel=1, type_k="q8_0", type_v="q8_0"), Budget("cpu", None, 64 * GIB))
    assert q8.kv_cache_bytes == f16.kv_cache_bytes * 34 // 64  # 34 bytes per 32 values
    q4 = plan(model, PlanRequest(ctx=8192, parallel=1, type_k="q4_0", type_v="q4_0"), Budget("cpu", None, 64 * GIB))
    assert q4.kv_cache_bytes == f16.kv_cache_bytes * 18 // 64


def test_per_layer_head_count_kv_array_is_honoured():
    keys = {"embedding_length": 2048, "attention.head_count": 16, "attention.head_count_kv": [4, 0, 4, 2]}
    model = shape("llama", keys, n_layer=4)
    caches = layer_caches(model, context_layout(1024, 1))
    assert [c.kv_bytes for c in caches] == [1024 * 2 * n * 128 * 2 for n in (4, 0, 4, 2)]


def test_mla_cache_has_no_v_deepseek_v3():
    keys = {
        "embedding_length": 7168,
        "attention.head_count": 128,
        "attention.head_count_kv": 1,
        "attention.key_length": 576,
        "attention.value_length": 512,
        "attention.key_length_mla": 192,
        "attention.value_length_mla": 128,
        "context_length": 163840,
    }
    model = shape("deepseek2", keys, n_layer=61)
    assert model.is_mla
    result = plan(model, PlanRequest(ctx=65536, parallel=1), Budget("cpu", None, 1 << 50))
    assert result.kv_cache_bytes == 61 * 576 * 2 * 65536  # 70272 bytes per token, K only
    with pytest.raises(PlanInputError, match="same K and V"):
        plan(model, PlanRequest(ctx=4096, type_k="q8_0", type_v="f16"), Budget("cpu", None, 1 << 50))


def test_gpt_oss_sliding_window_halves_the_cache():
    keys = {
        "embedding_length": 2880,
        "attention.head_count": 64,
        "attention.head_count_kv": 8,
        "attention.key_length": 64,
        "attention.value_length": 64,
        "attention.sliding_window": 128,
        "context_length": 131072,
    }
    model = shape("gpt-oss", keys, n_layer=24)
    assert model.is_swa == [il % 2 == 0 for il in range(24)]  # even layers slide
    result = plan(model, PlanRequest(ctx=131072), Budget("cpu", None, 1 << 50))
    full_layers = 12 * 131072 * 2 * 8 * 64 * 2
    swa_layers = 12 * 1024 * 2 * 8 * 64 * 2  # pad(128*4 + 512, 256) cells
    assert result.kv_cache_bytes == full_layers + swa_layers  # ~3.0 GiB, not the 6 GiB of full attention


def test_gemma3_pattern_and_explicit_pattern_key():
    keys = {
        "embedding_length": 5376,
        "attention.head_count": 32,
        "attention.head_count_kv": 16,
        "attention.key_length": 128,
        "attention.value_length": 128,
        "attention.sliding_window": 1024,
    }
    model = shape("gemma3", keys, n_layer=62)
    assert model.is_swa.count(False) == 10 and model.is_swa.count(True) == 52
    no_window = shape("gemma3", {**keys, "attention.sliding_window": 0}, n_layer=62)
    assert not any(no_window.is_swa)
    explicit = shape("gemma3", {**keys, "attention.sliding_window_pattern": [True, False] * 31}, n_layer=62)
    assert explicit.is_swa.count(True) == 31


def test_qwen3_next_recurrent_state_matches_reference():
    keys = {
        "embedding_length": 2048,
        "attention.head_count": 16,
        "attention.head_count_kv": 2,
        "attention.key_length": 256,
        "attention.value_length": 256,
        "ssm.conv_kernel": 4,
        "ssm.inner_size": 4096,
        "ssm.state_size": 128,
        "ssm.group_count": 16,
        "full_attention_interval": 4,
    }
    model = shape("qwen3next", keys, n_layer=48)
    assert (model.n_embd_r, model.n_embd_s) == (24576, 524288)
    assert model.is_recurrent.count(True) == 36
    result = plan(model, PlanRequest(ctx=4096, parallel=1), Budget("cpu", None, 1 << 50))
    assert result.recurrent_bytes == 36 * 4 * (24576 + 524288)  # 2.19 MB per layer per sequence
    assert result.kv_cache_bytes == 12 * 4096 * 2 * 2 * 256 * 2
    auto = plan(model, PlanRequest(ctx=4096), Budget("cpu", None, 1 << 50))
    assert auto.recurrent_bytes == 4 * result.recurrent_bytes  # one state per slot


def test_granite_hybrid_zero_kv_layers_are_recurrent():
    keys = {
        "embedding_length": 1024,
        "attention.head_count": 8,
        "attention.head_count_kv": [0, 0, 0, 4],
        "ssm.conv_kernel": 4,
        "ssm.inner_size": 2048,
        "ssm.state_size": 64,
        "ssm.group_count": 1,
    }
    model = shape("granitehybrid", keys, n_layer=4)
    assert model.is_recurrent == [True, True, True, False]
    assert model.n_embd_r == 3 * (2048 + 2 * 64)


def test_unknown_architecture_states_what_is_missing():
    keys = {"embedding_length": 1024, "attention.head_count": 8, "context_length": 4096}
    model = shape("brand-new-arch", keys, n_layer=4)
    assert any("brand-new-arch" in note and "not modelled" in note for note in model.missing)
    bare = shape("mystery", {}, n_layer=0)
    assert any("block_count" in note for note in bare.missing)


def test_output_layer_is_offloaded_first_and_token_embd_stays_on_cpu():
    model = dense(n_layer=4)
    caches = layer_caches(model, context_layout(1024, 1))
    one = place(model, caches, 1)
    assert one.gpu_weights == model.output_bytes and one.gpu_cache == 0
    two = place(model, caches, 2)
    assert two.gpu_weights == model.output_bytes + model.layer_bytes[3]  # the LAST block comes next
    assert two.gpu_cache == caches[3].kv_bytes
    full = place(model, caches, 99)
    assert full.gpu_layers == 5 and full.full
    assert full.host_weights == model.input_bytes  # token_embd only


def test_tied_embeddings_get_a_copy_on_the_gpu():
    model = dense(n_layer=2, tied=True)
    full = place(model, layer_caches(model, context_layout(1024, 1)), 3)
    assert model.tied_output_bytes == MIB
    assert full.gpu_weights == 2 * MIB + model.output_bytes + MIB


def test_recommendation_full_hybrid_and_no_fit():
    model = dense(n_layer=32, layer_bytes=200 * MIB)  # ~6.6 GB of weights
    request = PlanRequest(ctx=8192)
    roomy = plan(model, request, gpu_budget(24))
    assert roomy.verdict == FITS and roomy.gpu_layers == 33
    tight = plan(model, request, gpu_budget(6))
    assert tight.verdict == HYBRID and 1 <= tight.gpu_layers < 33
    assert tight.gpu.total + tight.budget.margin_bytes <= tight.budget.gpu_bytes
    one_more = plan(model, PlanRequest(ctx=8192, gpu_layers=tight.gpu_layers + 1), gpu_budget(6))
    assert one_more.verdict == NO_FIT  # the recommendation is the largest -ngl that fits
    assert tight.compute_bytes > roomy.compute_bytes  # partial offload needs bigger compute buffers
    assert plan(model, request, gpu_budget(1.2)).verdict == NO_FIT


def test_largest_context_is_the_boundary():
    model = dense(n_layer=32, layer_bytes=200 * MIB)
    budget = gpu_budget(12)
    largest = largest_context(model, PlanRequest(), budget)
    assert largest is not None and largest % 256 == 0
    assert plan(model, PlanRequest(ctx=largest, gpu_layers=33), budget).verdict == FITS
    assert plan(model, PlanRequest(ctx=largest + 256, gpu_layers=33), budget).verdict == NO_FIT
    assert largest_context(model, PlanRequest(), gpu_budget(2)) is None


def test_context_above_training_warns():
    result = plan(dense(), PlanRequest(ctx=262144), Budget("cpu", None, 1 << 50))
    assert any("training context 131072" in w for w in result.warnings)


def test_requests_llama_cpp_refuses_are_refused():
    with pytest.raises(PlanInputError, match="flash attention"):
        plan(dense(), PlanRequest(ctx=4096, type_v="q8_0", flash_attn=False), Budget("cpu", None, 1 << 50))
    odd_heads = shape("llama", {"embedding_length": 480, "attention.head_count": 10}, n_layer=2)  # head size 48
    with pytest.raises(PlanInputError, match="divisible by 32"):
        plan(odd_heads, PlanRequest(ctx=4096, type_k="q4_0"), Budget("cpu", None, 1 << 50))


def test_moe_compute_counts_the_active_experts_and_their_down_projection():
    base = {"embedding_length": 2048, "attention.head_count": 32, "attention.head_count_kv": 4}
    moe = shape(
        "qwen3moe",
        {**base, "feed_forward_length": 1024, "expert_feed_forward_length": 768, "expert_used_count": 8},
        n_layer=4,
    )
    as_wide = shape("qwen3", {**base, "feed_forward_length": 768 * 8}, n_layer=4)
    cpu = Budget("cpu", None, 1 << 40)
    compute = {
        name: plan(s, PlanRequest(ctx=4096), cpu).compute_bytes for name, s in (("moe", moe), ("wide", as_wide))
    }
    # 8 experts of 768 run at once, like a 6144-wide FFN; their down projection
    # [n_embd, 8, tokens] does not fit the slot gate and up leave, so it comes on top.
    assert compute["moe"] - compute["wide"] == 512 * 4 * 2048 * 8


def test_llama_arch_moe_experts_are_feed_forward_length_wide():
    keys = {
        "embedding_length": 4096,
        "attention.head_count": 32,
        "attention.head_count_kv": 8,
        "feed_forward_length": 14336,
        "expert_count": 8,
        "expert_used_count": 2,
    }
    mixtral = shape("llama", keys, n_layer=4)
    dense = shape("llama", {**keys, "expert_count": 0, "expert_used_count": 0}, n_layer=4)
    assert (mixtral.n_ff_expert, mixtral.is_moe) == (14336, True)
    cpu = Budget("cpu", None, 1 << 40)
    difference = (
        plan(mixtral, PlanRequest(ctx=4096), cpu).compute_bytes - plan(dense, PlanRequest(ctx=4096), cpu).compute_bytes
    )
    assert difference == 512 * 4 * 3 * 14336  # a second expert's gate, up and product
