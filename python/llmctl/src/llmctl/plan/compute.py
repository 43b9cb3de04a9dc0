"""llama.cpp's compute buffers, from the graph it reserves and how ggml allocates it.

llama.cpp reserves the graph for the worst case (src/llama-context.cpp
sched_reserve -> graph_reserve): n_tokens = min(n_ctx, n_ubatch) tokens (T)
against a full cache, n_seq_max sequences. ggml-alloc (ggml/src/ggml-alloc.c,
llama.cpp b11434) walks the graph in order, frees a tensor after its last use,
reuses a parent's memory only for the ops of `ggml_op_can_inplace` (l. 22: add,
mul, norms, rope, softmax... not GLU or matrix products) and places a new tensor
in the best-fitting free block or at the end (`ggml_dyn_tallocr_alloc`, l. 203).
The buffer is the high-water mark: the graph inputs plus the largest stage of one
layer. With GGML_ALLOCATOR_DEBUG the peak's live tensors are printed; these are
the stages (sizes per token in f32 values, E = n_embd, Q = query width):

- inputs, alive throughout: one KQ mask per cache, [cells per stream, T], f16
  with flash attention, f32 without (src/llama-graph.cpp:1014); without flash
  attention the V cache is transposed and its rows are written through an i64
  index per value, T * n_embd_v_gqa_max (src/llama-kv-cache.cpp:1450); a
  quantized K cache adds a head_k x head_k f32 rotation per cache;
- FFN: 5 E (the input embedding, still alive in layer 0, the residual, the norm
  and two freed slots) + gate, up and their GLU product, 3 F. For MoE
  (build_moe_ffn, src/llama-graph.cpp:2241-2372) F is n_ff_exp * n_expert_used:
  the expert matrices give [n_ff_exp, n_expert_used, T] each; the down
  projection [E, n_expert_used, T] goes into the slot gate and up left (2 F)
  when it fits, else after the GLU product: + E * n_expert_used. That term is
  what a "3 * expert width" model misses (Qwen3-30B-A3B: 45056 values per token,
  not 28672); llama-arch MoE models (Mixtral) have no
  `expert_feed_forward_length`, so the width comes from the expert tensors;
- attention without flash attention: 5 E + 2 Q + the scores KQ, f32 [cells, T,
  n_head] (src/llama-graph.cpp:2763; softmax runs in place); with it 5 E + 3 Q;
- Mamba-2 layers (hybrids): 5 E + in_proj + 2 conv_dim (the conv input and
  output) + d_inner, plus the new states per sequence, which ssm_scan returns
  with its output;
- the logits of n_seq_max outputs (llama-server reserves n_outputs_max, one per
  slot).

Checked against llama-server's log on real shapes in every case of
tests/testkit/real_scale.py (bench/plan_real_scale.py prints them).
"""

from __future__ import annotations

from dataclasses import dataclass

from llmctl.plan.kv_cache import ContextLayout, LayerCache, cache_cells
from llmctl.plan.shape import ModelShape

F32 = 4
# A dense partially offloaded model needs more on the device (host-boundary copies;
# gguf-parser-go#45 measured 1.2-2.7x): its device buffer is doubled.
PARTIAL_OFFLOAD_FACTOR = 2.0
# Router logits, probabilities and top-k ids per token and expert, small buffers
# (positions, output ids) that live in the gaps.
SLACK_BYTES = 256 * 1024


@dataclass(frozen=True)
class ComputeSplit:
    """Compute buffer bytes per side of a plan."""

    gpu: int = 0
    host: int = 0


@dataclass(frozen=True)
class Stages:
    """The parts of the reserved graph, in bytes (inputs apart from the layer stages)."""

    inputs: int
    ffn: int
    attention: int
    recurrent: int
    logits: int
    n_tokens: int

    @property
    def peak(self) -> int:
        return self.inputs + max(self.ffn, self.attention, self.recurrent, self.logits) + SLACK_BYTES


def ffn_width(shape: ModelShape) -> int:
    """Values per token of each FFN matrix product: the experts a token runs, or the dense FFN."""
    return shape.n_ff_expert * shape.n_expert_used if shape.is_moe else shape.n_ff


def ffn_products(shape: ModelShape) -> int:
    """Values per token the FFN's products hold at its peak: gate, up and their GLU
    product, and a MoE down projection that does not fit the slot gate and up leave."""
    width = ffn_width(shape)
    routed = shape.n_embd * shape.n_expert_used
    return 3 * width + (routed if shape.is_moe and routed > 2 * width else 0)


def stages(
    shape: ModelShape,
    layout: ContextLayout,
    caches: list[LayerCache],
    *,
    n_ubatch: int,
    flash_attn: bool = True,
    quantized_k: bool = False,
) -> Stages:
    n_tokens = min(layout.n_ctx, n_ubatch)
    per_token = n_tokens * F32
    cells = [c for c in cache_cells(shape, caches) if c]
    inputs = sum(c * n_tokens * (2 if flash_attn else F32) for c in cells)
    if not flash_attn:
        inputs += len(cells) * n_tokens * shape.n_v * 8
    if quantized_k:
        inputs += len(cells) * max(shape.head_k, default=0) ** 2 * F32
    embd = 5 * shape.n_embd
    ffn = embd + ffn_products(shape)
    if flash_attn:
        attention = per_token * (embd + 3 * shape.n_q)
    else:
        scores = max(cells, default=0) * n_tokens * max(shape.n_head, default=0) * F32
        attention = per_token * (embd + 2 * shape.n_q) + scores
    return Stages(
        inputs=inputs,
        ffn=per_token * ffn,
        attention=attention,
        recurrent=_recurrent_stage(shape, layout, per_token),
        logits=(shape.n_vocab + shape.n_embd) * layout.n_seq_max * F32,
        n_tokens=n_tokens,
    )


def _recurrent_stage(shape: ModelShape, layout: ContextLayout, per_token: int) -> int:
    if not any(shape.is_recurrent):
        return 0
    states = layout.n_seq_max * (shape.n_embd_r + shape.n_embd_s) * F32
    ssm = shape.ssm
    if ssm is None:  # RWKV, short convolutions: not calibrated, kept generous
        return per_token * 9 * shape.n_embd + states
    return per_token * (5 * shape.n_embd + ssm.in_proj + 2 * ssm.conv_dim + ssm.d_inner) + states


def expert_offload_split(found: Stages, shape: ModelShape, *, experts_on_gpu: bool) -> ComputeSplit:
    """Every layer on the GPU, (some) routed experts in host memory (--n-cpu-moe).

    The host runs the expert products of its layers: the layer input copied over,
    gate/up/GLU and the down projection (in the slot gate and up left when it fits,
    as on a single device), 4 E + 3 F (+ E * n_expert_used) per token.
    The device keeps the rest and receives the down projection back for the
    weighting: the inputs + max(attention, 4 E + E * n_expert_used, its own
    experts' FFN stage when some stay on it). Measured on an RPC device
    (tests/testkit/expert_offload.py).
    """
    per_token = found.n_tokens * F32
    routed = shape.n_embd * shape.n_expert_used
    host = per_token * (4 * shape.n_embd + ffn_products(shape)) + SLACK_BYTES
    device_stages = [found.attention, found.recurrent, found.logits, per_token * (4 * shape.n_embd + routed)]
    if experts_on_gpu:
        device_stages.append(found.ffn)
    return ComputeSplit(gpu=found.inputs + max(device_stages) + SLACK_BYTES, host=host)


def output_buffer_bytes(shape: ModelShape, layout: ContextLayout) -> int:
    """llama_context's output buffer: logits and embeddings for n_outputs_max rows (host memory)."""
    return (shape.n_vocab + shape.n_embd) * layout.n_seq_max * F32
