"""A conservative model of llama.cpp's compute buffers.

llama.cpp reserves the graph for the worst case (`llama_context::sched_reserve`):
n_tokens = min(n_ctx, n_ubatch) tokens against a full cache. The allocator
reuses memory between layers, so the buffer is the peak of one layer plus the
attention mask, not a sum over layers. Terms (sizes in bytes):

- mask: one per cache (base and SWA), [cells per stream, n_tokens], f16 with
  flash attention, f32 without;
- activations: n_tokens * 4 * (6 * n_embd + 3 * ffn width); the peak is in
  the FFN (gate, up and their product) with the residual stream alive; for MoE
  the width is expert_feed_forward_length * expert_used_count;
- without flash attention, the scores KQ = f32[cells, n_tokens, n_head];
- logits f32[n_vocab, n_outputs] (n_outputs = slots for llama-server).

Measured on the CPU build with tiny llama and gemma3 models (bench/plan_accuracy.py)
this is 0-25 % above the logged `compute buffer size`. On a GPU a partially
offloaded model needs more (host-boundary copies; gguf-parser-go#45 measured
1.2-2.7x), so the device buffer is doubled there and the host gets its own.
"""

from __future__ import annotations

from llmctl.plan.kv_cache import ContextLayout, LayerCache, cache_cells
from llmctl.plan.shape import ModelShape

PARTIAL_OFFLOAD_FACTOR = 2.0


def ffn_width(shape: ModelShape) -> int:
    """Values per token in the widest FFN step: MoE runs n_expert_used experts at once."""
    return max(shape.n_ff, shape.n_ff_expert * shape.n_expert_used)


def compute_bytes(
    shape: ModelShape,
    layout: ContextLayout,
    caches: list[LayerCache],
    *,
    n_ubatch: int,
    flash_attn: bool = True,
) -> int:
    """The compute buffer of a device running the whole graph."""
    n_tokens = min(layout.n_ctx, n_ubatch)
    # One mask per cache: the base cache and, for iSWA models, the SWA cache.
    cache_sizes = cache_cells(shape, caches)
    mask_element = 2 if flash_attn else 4
    mask = sum(cells * n_tokens * mask_element for cells in cache_sizes)
    activations = n_tokens * 4 * (6 * shape.n_embd + 3 * ffn_width(shape))
    scores = 0
    if not flash_attn and cache_sizes:
        scores = max(cache_sizes) * n_tokens * max(shape.n_head, default=0) * 4
    logits = shape.n_vocab * layout.n_seq_max * 4
    return mask + activations + scores + logits


def output_buffer_bytes(shape: ModelShape, layout: ContextLayout) -> int:
    """llama_context's output buffer: logits and embeddings for n_outputs_max rows (host memory)."""
    return (shape.n_vocab + shape.n_embd) * layout.n_seq_max * 4
