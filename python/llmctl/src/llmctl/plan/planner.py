"""The capacity plan: will a model with this context fit, and with which -ngl.

Puts together the model shape (plan.shape), the cache llama.cpp allocates
(plan.kv_cache), the compute-buffer model (plan.compute) and the layer placement
(plan.placement), then decides like llama.cpp's --fit: full offload when the device
keeps a free margin (1 GiB) after weights, caches, compute and a fixed runtime
overhead; otherwise the largest -ngl that does; otherwise it does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from llmctl.errors import PlanInputError
from llmctl.flags import option_args
from llmctl.plan.budgets import GIB, Budget
from llmctl.plan.compute import PARTIAL_OFFLOAD_FACTOR, compute_bytes, output_buffer_bytes
from llmctl.plan.kv_cache import DEFAULT_KV_TYPE, DEFAULT_UBATCH, context_layout, kv_type_size, layer_caches
from llmctl.plan.placement import max_gpu_layers, place
from llmctl.plan.shape import ModelShape

FITS, HYBRID, NO_FIT = "fits", "hybrid", "does-not-fit"
MAX_SEARCH_CTX = 1 << 20  # when the training context is unknown


@dataclass(frozen=True)
class PlanRequest:
    ctx: int | None = None  # None: the training context (llama-server -c 0)
    type_k: str = DEFAULT_KV_TYPE
    type_v: str = DEFAULT_KV_TYPE
    parallel: int | None = None  # None: llama-server's auto (4 slots, unified cache)
    kv_unified: bool | None = None
    gpu_layers: int | None = None  # None: recommend one
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
            "parallel": request.parallel,
            "cacheTypeK": None if request.type_k == DEFAULT_KV_TYPE else request.type_k,
            "cacheTypeV": None if request.type_v == DEFAULT_KV_TYPE else request.type_v,
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
    if request.type_v not in ("f16", "f32", "bf16") and not request.flash_attn:
        raise PlanInputError("a quantized V cache requires flash attention")
    if shape.is_mla and request.type_k != request.type_v:
        raise PlanInputError("MLA models need the same K and V cache type")
    if request.parallel is not None and request.parallel < 1:
        raise PlanInputError("--parallel must be at least 1")


def plan(shape: ModelShape, request: PlanRequest, budget: Budget) -> Plan:
    """The plan for `request`; with `request.gpu_layers` None the best -ngl is chosen."""
    check_request(shape, request)
    if request.gpu_layers is not None or budget.gpu_bytes is None:
        layers = 0 if budget.gpu_bytes is None else request.gpu_layers
        return _plan_at(shape, request, budget, layers)
    for layers in range(max_gpu_layers(shape), 0, -1):
        candidate = _plan_at(shape, request, budget, layers)
        if candidate.verdict != NO_FIT:
            return candidate
    return _plan_at(shape, request, budget, 0)


def _plan_at(shape: ModelShape, request: PlanRequest, budget: Budget, gpu_layers: int) -> Plan:
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
    placement = place(shape, caches, gpu_layers)
    full_compute = compute_bytes(shape, layout, caches, n_ubatch=request.n_ubatch, flash_attn=request.flash_attn)
    n_tokens = min(layout.n_ctx, request.n_ubatch)
    gpu, host = Side(), Side()
    gpu.weights, host.weights = placement.gpu_weights, placement.host_weights
    gpu.kv_cache, host.kv_cache = placement.gpu_cache, placement.host_cache
    host.output = output_buffer_bytes(shape, layout)
    if placement.gpu_layers == 0:
        host.compute = full_compute
    elif placement.full:
        gpu.compute = full_compute
        host.compute = n_tokens * 4 * 2 * shape.n_embd  # inputs staged in pinned host memory
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
    verdict = _verdict(budget, gpu, host, placement.full, placement.gpu_layers, warnings)
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
    )


def _verdict(budget: Budget, gpu: Side, host: Side, full: bool, gpu_layers: int, warnings: list[str]) -> str:
    if budget.gpu_bytes is None:
        return FITS if host.total + budget.margin_bytes <= budget.host_bytes else NO_FIT
    if gpu_layers == 0 or gpu.total + budget.margin_bytes > budget.gpu_bytes:
        return NO_FIT
    if host.total > budget.host_bytes:
        warnings.append(
            f"the host part ({host.total / GIB:.1f} GiB) exceeds host RAM ({budget.host_bytes / GIB:.1f} GiB)"
        )
    if budget.unified_memory and gpu.total + host.total + budget.margin_bytes > budget.host_bytes:
        warnings.append("unified memory: GPU and host parts together exceed the system RAM")
    return FITS if full else HYBRID


def largest_context(shape: ModelShape, request: PlanRequest, budget: Budget) -> int | None:
    """The largest context (a multiple of 256) that fits with every layer on the GPU
    (or in RAM for the cpu profile), up to the training context or the requested
    context if that is larger. None: not even 256."""
    full = None if budget.gpu_bytes is None else max_gpu_layers(shape)

    def fits(ctx: int) -> bool:
        return _plan_at(shape, replace(request, ctx=ctx, gpu_layers=full), budget, full or 0).verdict == FITS

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
