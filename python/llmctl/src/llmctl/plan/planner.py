"""The capacity plan: will a model with this context fit, and with which -ngl.

Puts together the model shape (plan.shape), the cache llama.cpp allocates
(plan.kv_cache), the compute-buffer model (plan.compute) and the layer placement
(plan.placement), then decides like llama.cpp's --fit: full offload when the device
keeps a free margin (1 GiB) after weights, caches, compute and a fixed runtime
overhead; for a MoE model, every layer on the GPU with the routed experts of the
fewest first blocks in host memory (--n-cpu-moe N: experts are most of the
weights but few run per token, so this costs far less speed than moving whole
layers); otherwise the largest -ngl that does; otherwise it does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from llmctl.errors import PlanInputError
from llmctl.flags import option_args
from llmctl.plan.budgets import GIB, Budget
from llmctl.plan.compute import PARTIAL_OFFLOAD_FACTOR, expert_offload_split, output_buffer_bytes, stages
from llmctl.plan.kv_cache import DEFAULT_KV_TYPE, DEFAULT_UBATCH, context_layout, kv_type_size, layer_caches
from llmctl.plan.placement import Placement, max_gpu_layers, place
from llmctl.plan.shape import ModelShape

FITS, EXPERTS_ON_HOST, HYBRID, NO_FIT = "fits", "experts-on-host", "hybrid", "does-not-fit"
FULL_PRECISION_KV = ("f32", "f16", "bf16")
MAX_SEARCH_CTX = 1 << 20  # when the training context is unknown


@dataclass(frozen=True)
class PlanRequest:
    ctx: int | None = None  # None: the training context (llama-server -c 0)
    type_k: str = DEFAULT_KV_TYPE
    type_v: str = DEFAULT_KV_TYPE
    parallel: int | None = None  # None: llama-server's auto (4 slots, unified cache)
    kv_unified: bool | None = None
    gpu_layers: int | None = None  # None: recommend one
    cpu_moe_layers: int | None = None  # --n-cpu-moe; None: recommend one (0 for dense models)
    n_ubatch: int = DEFAULT_UBATCH
    flash_attn: bool = True
    swa_full: bool = False


@dataclass
class Side:
    """Bytes on one side (GPU device or host RAM)."""

    weights: int = 0
    kv_cache: int = 0
    compute: int = 0
    output: int = 0
    overhead: int = 0

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute + self.output + self.overhead

    def to_json(self) -> dict[str, int]:
        return {**self.__dict__, "total": self.total}


@dataclass
class Plan:
    shape: ModelShape
    request: PlanRequest
    budget: Budget
    n_ctx: int
    n_ctx_seq: int
    n_stream: int
    n_seq_max: int
    kv_unified: bool
    kv_cache_bytes: int
    recurrent_bytes: int
    gpu_layers: int
    verdict: str
    gpu: Side
    host: Side
    warnings: list[str] = field(default_factory=list)
    cpu_moe_layers: int = 0
    host_expert_bytes: int = 0  # routed experts kept in host memory (in host.weights)

    @property
    def weights_bytes(self) -> int:
        return self.gpu.weights + self.host.weights

    @property
    def compute_bytes(self) -> int:
        return self.gpu.compute + self.host.compute

    @property
    def total_bytes(self) -> int:
        """What llama.cpp allocates: weights, caches, compute and output buffers (no overhead)."""
        return self.gpu.total + self.host.total - self.gpu.overhead - self.host.overhead

    @property
    def fits(self) -> bool:
        return self.verdict != NO_FIT

    def server_options(self) -> dict[str, Any]:
        """The plan as options of the shared flag table (llama-server's defaults left out)."""
        request = self.request
        return {
            "contextSize": request.ctx or self.n_ctx,
            "gpuLayers": self.gpu_layers,
            "cpuMoeLayers": self.cpu_moe_layers or None,
            "parallel": request.parallel,
            "cacheTypeK": None if request.type_k == DEFAULT_KV_TYPE else request.type_k,
            "cacheTypeV": None if request.type_v == DEFAULT_KV_TYPE else request.type_v,
            "flashAttention": None if request.flash_attn else "off",
        }

    def server_args(self) -> list[str]:
        """The llama-server flags that run this plan, spelled by the flag table."""
        return option_args(self.server_options())

    def to_json(self) -> dict[str, Any]:
        shape = self.shape
        return {
            "model": {
                "name": shape.name,
                "architecture": shape.architecture,
                "files": shape.files,
                "file_bytes": shape.file_bytes,
                "n_layer": shape.n_layer,
                "n_ctx_train": shape.n_ctx_train,
            },
            "settings": {
                "ctx": self.n_ctx,
                "n_ctx_seq": self.n_ctx_seq,
                "streams": self.n_stream,
                "parallel": self.n_seq_max,
                "kv_unified": self.kv_unified,
                "type_k": self.request.type_k,
                "type_v": self.request.type_v,
                "n_ubatch": self.request.n_ubatch,
                "flash_attn": self.request.flash_attn,
            },
            "budget": self.budget.to_json(),
            "verdict": self.verdict,
            "fits": self.fits,
            "gpu_layers": self.gpu_layers,
            "max_gpu_layers": max_gpu_layers(shape),
            "cpu_moe_layers": self.cpu_moe_layers,
            "host_expert_bytes": self.host_expert_bytes,
            "placement": self.placement_text(),
            "weights_bytes": self.weights_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
            "recurrent_bytes": self.recurrent_bytes,
            "compute_bytes": self.compute_bytes,
            "output_bytes": self.gpu.output + self.host.output,
            "overhead_bytes": self.gpu.overhead + self.host.overhead,
            "total_bytes": self.total_bytes,
            "gpu": self.gpu.to_json(),
            "host": self.host.to_json(),
            "server_args": self.server_args(),
            "warnings": self.warnings,
            "missing": shape.missing,
        }

    def placement_text(self) -> str:
        """What stays where, in one sentence."""
        n_all = max_gpu_layers(self.shape)
        if self.budget.gpu_bytes is None or self.gpu_layers == 0:
            return "everything in host memory"
        layers = f"all {n_all} layers on the GPU"
        if self.gpu_layers < n_all:
            layers = (
                f"{self.gpu_layers} of {n_all} layers (the output layer and the last blocks) on the GPU, "
                "the rest in host memory"
            )
        if not self.host_expert_bytes:
            return layers
        experts = f"{self.host_expert_bytes / GIB:.1f} GiB"
        if self.gpu_layers < n_all:
            which = f"the GPU blocks' routed experts ({experts})"
        elif self.cpu_moe_layers >= self.shape.n_layer:
            which = f"the routed experts of every block ({experts})"
        else:
            which = f"the routed experts of blocks 0-{self.cpu_moe_layers - 1} ({experts})"
        return f"{layers}; {which} in host memory, their attention, router, shared experts and KV cache on the GPU"


def check_request(shape: ModelShape, request: PlanRequest) -> None:
    """Refuse what llama.cpp refuses (src/llama-context.cpp, llama-kv-cache.cpp)."""
    for kind, kv_type in (("K", request.type_k), ("V", request.type_v)):
        try:
            block, _ = kv_type_size(kv_type)
        except ValueError as error:
            raise PlanInputError(str(error)) from None
        heads = shape.head_k if kind == "K" else shape.head_v
        if block > 1 and any(h % block for h in heads if h):
            raise PlanInputError(f"a {kv_type} {kind} cache needs head sizes divisible by {block}")
    if request.type_v not in FULL_PRECISION_KV and not request.flash_attn:
        raise PlanInputError("a quantized V cache requires flash attention")
    if shape.is_mla and request.type_k != request.type_v:
        raise PlanInputError("MLA models need the same K and V cache type")
    if request.parallel is not None and request.parallel < 1:
        raise PlanInputError("--parallel must be at least 1")


def plan(shape: ModelShape, request: PlanRequest, budget: Budget) -> Plan:
    """The plan for `request`; with `request.gpu_layers` (or `cpu_moe_layers`) None the best is chosen:
    every layer on the GPU; for MoE models then the fewest blocks with their experts in host
    memory; then the most layers on the GPU (a MoE model's experts all in host memory)."""
    check_request(shape, request)
    moe = any(shape.expert_bytes)
    wanted_moe = request.cpu_moe_layers
    if budget.gpu_bytes is None:
        return _plan_at(shape, request, budget, 0, 0)
    if request.gpu_layers is not None and (wanted_moe is not None or not moe):
        return _plan_at(shape, request, budget, request.gpu_layers, wanted_moe or 0)
    n_all = max_gpu_layers(shape)
    if request.gpu_layers is not None:  # -ngl given: the fewest expert blocks on the host that fit
        return _fewest_expert_blocks(shape, request, budget, request.gpu_layers)
    if wanted_moe is not None or not moe:
        candidates = (_plan_at(shape, request, budget, layers, wanted_moe or 0) for layers in range(n_all, 0, -1))
    else:
        best = _fewest_expert_blocks(shape, request, budget, n_all)
        if best.verdict != NO_FIT:
            return best
        candidates = (_plan_at(shape, request, budget, layers, shape.n_layer) for layers in range(n_all - 1, 0, -1))
    for candidate in candidates:
        if candidate.verdict != NO_FIT:
            return candidate
    return _plan_at(shape, request, budget, 0, 0)


def _fewest_expert_blocks(shape: ModelShape, request: PlanRequest, budget: Budget, gpu_layers: int) -> Plan:
    """The plan with the smallest --n-cpu-moe that fits at `gpu_layers` (the last tried when none does)."""
    low, high = 0, shape.n_layer
    every_block = _plan_at(shape, request, budget, gpu_layers, high)
    if every_block.verdict == NO_FIT:
        return every_block
    while low < high:  # fewer experts on the GPU never needs more GPU memory
        middle = (low + high) // 2
        if _plan_at(shape, request, budget, gpu_layers, middle).verdict == NO_FIT:
            low = middle + 1
        else:
            high = middle
    return _plan_at(shape, request, budget, gpu_layers, low)


def _plan_at(
    shape: ModelShape, request: PlanRequest, budget: Budget, gpu_layers: int, cpu_moe_layers: int = 0
) -> Plan:
    ctx = request.ctx or shape.n_ctx_train or 4096
    layout = context_layout(ctx, request.parallel, request.kv_unified)
    caches = layer_caches(
        shape,
        layout,
        type_k=request.type_k,
        type_v=request.type_v,
        n_ubatch=request.n_ubatch,
        swa_full=request.swa_full,
    )
    placement = place(shape, caches, gpu_layers, cpu_moe_layers)
    graph = stages(
        shape,
        layout,
        caches,
        n_ubatch=request.n_ubatch,
        flash_attn=request.flash_attn,
        quantized_k=request.type_k not in FULL_PRECISION_KV,
    )
    full_compute = graph.peak
    gpu, host = Side(), Side()
    gpu.weights, host.weights = placement.gpu_weights, placement.host_weights
    gpu.kv_cache, host.kv_cache = placement.gpu_cache, placement.host_cache
    host.output = output_buffer_bytes(shape, layout)
    if placement.gpu_layers == 0:
        host.compute = full_compute
    elif placement.full and placement.host_expert_bytes:
        split = expert_offload_split(graph, shape, experts_on_gpu=placement.experts_on_gpu)
        gpu.compute, host.compute = split.gpu, split.host
    elif placement.full:
        gpu.compute = full_compute
        host.compute = graph.n_tokens * 4 * 2 * shape.n_embd  # inputs staged in pinned host memory
    else:
        gpu.compute = int(full_compute * PARTIAL_OFFLOAD_FACTOR)
        host.compute = full_compute
    if placement.gpu_layers:
        gpu.overhead = budget.overhead_bytes

    warnings = []
    if shape.n_ctx_train and layout.n_ctx_seq > shape.n_ctx_train:
        warnings.append(
            f"context per slot {layout.n_ctx_seq} is above the training context {shape.n_ctx_train}: "
            "quality may degrade unless the model supports rope scaling"
        )
    verdict = _verdict(budget, gpu, host, placement, warnings)
    return Plan(
        shape=shape,
        request=request,
        budget=budget,
        n_ctx=layout.n_ctx,
        n_ctx_seq=layout.n_ctx_seq,
        n_stream=layout.n_stream,
        n_seq_max=layout.n_seq_max,
        kv_unified=layout.unified,
        kv_cache_bytes=sum(c.kv_bytes for c in caches),
        recurrent_bytes=sum(c.rs_bytes for c in caches),
        gpu_layers=placement.gpu_layers,
        verdict=verdict,
        gpu=gpu,
        host=host,
        warnings=warnings,
        cpu_moe_layers=placement.cpu_moe_layers,
        host_expert_bytes=placement.host_expert_bytes,
    )


def _verdict(budget: Budget, gpu: Side, host: Side, placement: Placement, warnings: list[str]) -> str:
    if budget.gpu_bytes is None:
        return FITS if host.total + budget.margin_bytes <= budget.host_bytes else NO_FIT
    if placement.gpu_layers == 0 or gpu.total + budget.margin_bytes > budget.gpu_bytes:
        return NO_FIT
    if host.total > budget.host_bytes:
        warnings.append(
            f"the host part ({host.total / GIB:.1f} GiB) exceeds host RAM ({budget.host_bytes / GIB:.1f} GiB)"
        )
    if budget.unified_memory and gpu.total + host.total + budget.margin_bytes > budget.host_bytes:
        warnings.append("unified memory: GPU and host parts together exceed the system RAM")
    if not placement.full:
        return HYBRID
    return EXPERTS_ON_HOST if placement.host_expert_bytes else FITS


def largest_context(shape: ModelShape, request: PlanRequest, budget: Budget) -> int | None:
    """The largest context (a multiple of 256) that fits with every layer on the GPU
    (or in RAM for the cpu profile), up to the training context or the requested
    context if that is larger. None: not even 256."""
    full = None if budget.gpu_bytes is None else max_gpu_layers(shape)

    def fits(ctx: int) -> bool:
        return _plan_at(shape, replace(request, ctx=ctx, gpu_layers=full), budget, full or 0, 0).verdict == FITS

    if not fits(256):
        return None
    limit = max(shape.n_ctx_train or MAX_SEARCH_CTX, request.ctx or 0)  # a larger --ctx raises the cap
    low, high = 1, max(limit // 256, 1)
    while low < high:  # fits() is monotone in the context
        middle = (low + high + 1) // 2
        if fits(middle * 256):
            low = middle
        else:
            high = middle - 1
    return low * 256
