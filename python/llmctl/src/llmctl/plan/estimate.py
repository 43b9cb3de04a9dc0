"""What `llmctl plan MODEL` computes: the plan of one model (with the largest context
per KV type when asked), or one row per quant of a Hub repository named without one."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from llmctl.errors import PlanInputError
from llmctl.plan.budgets import Budget
from llmctl.plan.placement import max_gpu_layers
from llmctl.plan.planner import Plan, PlanRequest, largest_context, plan
from llmctl.plan.shape import ModelShape, model_shape
from llmctl.plan.sources import ModelSource, resolve_models

CTX_TABLE_TYPES = ("f16", "q8_0", "q4_0")


@dataclass
class Estimate:
    """One model: `source`, `shape`, `plan` (and `ctx_table` when asked); a repository
    without a quant: `quants`, one row per quant."""

    source: ModelSource | None = None
    shape: ModelShape | None = None
    plan: Plan | None = None
    ctx_table: list[dict[str, Any]] | None = None
    quants: list[dict[str, Any]] | None = None


def estimate(
    model: str, request: PlanRequest, budget: Budget, models_dir: Path | None, *, ctx_table: bool = False
) -> Estimate:
    """The plan for MODEL (a GGUF path, a model ID in `models_dir`, or ORG/REPO[:QUANT])."""
    sources = resolve_models(model, models_dir)
    if len(sources) > 1:
        return Estimate(quants=[_quant_row(source, request, budget) for source in sources])
    source = sources[0]
    shape = model_shape(source.headers)
    result = plan(shape, request, budget)
    table = context_table(shape, request, budget) if ctx_table else None
    return Estimate(source=source, shape=shape, plan=result, ctx_table=table)


def context_table(shape: ModelShape, request: PlanRequest, budget: Budget) -> list[dict[str, Any]]:
    """Per KV type: its cache at the requested context and the largest context that fits."""
    rows = []
    for kv_type in CTX_TABLE_TYPES:
        typed = replace(request, type_k=kv_type, type_v=kv_type)
        try:
            at_ctx = plan(shape, typed, budget)
        except PlanInputError:
            continue  # e.g. head size not divisible by the block size
        largest = largest_context(shape, typed, budget)
        kv_largest = plan(shape, replace(typed, ctx=largest), budget).kv_cache_bytes if largest else None
        rows.append(
            {
                "kv_type": kv_type,
                "kv_cache_bytes": at_ctx.kv_cache_bytes,
                "largest_ctx": largest,
                "largest_ctx_kv_bytes": kv_largest,
            }
        )
    return rows


def _quant_row(source: ModelSource, request: PlanRequest, budget: Budget) -> dict[str, Any]:
    shape = model_shape(source.headers)
    result = plan(shape, request, budget)
    return {
        "quant": source.label,
        "file_bytes": shape.file_bytes,
        "bytes_fetched": source.bytes_fetched,
        "verdict": result.verdict,
        "gpu_layers": result.gpu_layers,
        "max_gpu_layers": max_gpu_layers(shape),
        "largest_ctx": largest_context(shape, request, budget),
        "plan": result.to_json(),
    }
