"""Which layers llama.cpp puts on the GPU for a given -ngl.

Current rule (`src/llama-model.cpp` load_tensors, since PR #18148, Dec 2025):
the n_layer blocks plus the output layer make n_layer + 1 "layers"; -ngl N
offloads the output layer first, then the last N - 1 blocks
(i_gpu_start = max(n_layer + 1 - N, 0)). token_embd stays on the CPU; with
tied embeddings the output layer gets its own copy of token_embd. A layer's
KV cache (or recurrent state) lives on that layer's device.

MoE expert offload: `--n-cpu-moe N` adds a CPU buffer override for the routed
experts of blocks 0..N-1 (common/common.h llm_add_n_cpu_ffn_overrides, regex
LLM_FFN_EXPS_REGEX; `--cpu-moe` is every block), whatever -ngl says; the rest of
such a block (attention, norms, router, shared experts) and its cache stay on
the block's device.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmctl.plan.kv_cache import LayerCache
from llmctl.plan.shape import ModelShape


@dataclass(frozen=True)
class Placement:
    gpu_layers: int  # as passed to -ngl (output layer counted)
    gpu_weights: int
    host_weights: int
    gpu_cache: int  # KV + recurrent state on the GPU
    host_cache: int
    host_weights_blocks: int = 0  # blocks and output left on the CPU (token_embd excluded)
    cpu_moe_layers: int = 0  # blocks whose routed experts stay in host memory
    host_expert_bytes: int = 0  # those experts, in host_weights

    @property
    def full(self) -> bool:
        """Every block and the output layer on the GPU (experts kept on the host aside)."""
        return self.host_weights_blocks == self.host_expert_bytes

    @property
    def experts_on_gpu(self) -> bool:
        """Some routed experts run on the GPU."""
        return any(self.gpu_blocks[self.cpu_moe_layers :])

    gpu_blocks: tuple[bool, ...] = ()


def max_gpu_layers(shape: ModelShape) -> int:
    return shape.n_layer + 1


def place(shape: ModelShape, caches: list[LayerCache], gpu_layers: int, cpu_moe_layers: int = 0) -> Placement:
    n_all = max_gpu_layers(shape)
    gpu_layers = max(0, min(gpu_layers, n_all))
    cpu_moe_layers = max(0, min(cpu_moe_layers, shape.n_layer)) if any(shape.expert_bytes) else 0
    start = n_all - gpu_layers
    on_gpu = [il >= start for il in range(shape.n_layer)]
    output_on_gpu = gpu_layers > 0
    # Experts of GPU blocks below N stay in host memory (those of CPU blocks are there anyway).
    kept = [shape.expert_bytes[il] if on_gpu[il] and il < cpu_moe_layers else 0 for il in range(shape.n_layer)]
    gpu_weights = sum(b - kept[il] for il, b in enumerate(shape.layer_bytes) if on_gpu[il])
    host_blocks = sum(b for il, b in enumerate(shape.layer_bytes) if not on_gpu[il]) + sum(kept)
    host_weights = host_blocks + shape.input_bytes
    if output_on_gpu:
        gpu_weights += shape.output_bytes + shape.tied_output_bytes
    else:
        host_weights += shape.output_bytes
    cache = [c.kv_bytes + c.rs_bytes for c in caches]
    gpu_cache = sum(b for il, b in enumerate(cache) if on_gpu[il])
    return Placement(
        gpu_layers=gpu_layers,
        gpu_weights=gpu_weights,
        host_weights=host_weights,
        gpu_cache=gpu_cache,
        host_cache=sum(cache) - gpu_cache,
        host_weights_blocks=host_blocks + (0 if output_on_gpu else shape.output_bytes),
        cpu_moe_layers=cpu_moe_layers,
        host_expert_bytes=sum(kept),
        gpu_blocks=tuple(on_gpu),
    )
