"""Automatic sizing of many models under one GPU budget (discovery's `autoSize`).

`plan_fleet` gives every model a context (-c) and a layer count (-ngl), then
packs the models into groups whose members can be resident together: each
group becomes a llama-swap group with `swap: false` (members run side by side)
and `exclusive: true` (loading a member of another group unloads this one), so
models that cannot be resident together swap.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from llmctl.core.plan_model import ModelShape
from llmctl.core.planner import NO_FIT, Budget, PlanRequest, largest_context, plan

DEFAULT_MIN_CTX = 4096  # like llama.cpp --fit-ctx: below this a model is not worth serving fully offloaded


@dataclass(frozen=True)
class Sizing:
    ctx: int
    gpu_layers: int
    verdict: str  # fits / hybrid / does-not-fit
    gpu_bytes: int  # what the running llama-server takes on the GPU (overhead included)
    host_bytes: int

    def server_args(self) -> list[str]:
        return ["-c", str(self.ctx), "-ngl", str(self.gpu_layers)]


@dataclass(frozen=True)
class FleetPlan:
    sizing: dict[str, Sizing]
    groups: list[list[str]]

    def swap_groups(self, prefix: str = "plan") -> dict[str, dict]:
        """The llama-swap `groups:` entries (only when some models must swap)."""
        if len(self.groups) <= 1:
            return {}
        return {
            f"{prefix}-{index}": {"swap": False, "exclusive": True, "members": members}
            for index, members in enumerate(self.groups, start=1)
        }


def size_model(
    shape: ModelShape, budget: Budget, request: PlanRequest | None = None, min_ctx: int = DEFAULT_MIN_CTX
) -> Sizing:
    """The largest context up to the wanted one (request.ctx or the training context)
    with every layer on the GPU; when not even `min_ctx` fits that way, `min_ctx`
    with the most layers that fit (hybrid)."""
    request = request or PlanRequest()
    wanted = request.ctx or shape.n_ctx_train or min_ctx
    largest = largest_context(shape, request, budget)
    floor = min(min_ctx, wanted)
    ctx = min(wanted, largest) if largest is not None and largest >= floor else floor
    result = plan(shape, replace(request, ctx=ctx, gpu_layers=None), budget)
    return Sizing(ctx, result.gpu_layers, result.verdict, result.gpu.total, result.host.total)


def plan_fleet(
    models: dict[str, ModelShape],
    budget: Budget,
    request: PlanRequest | None = None,
    min_ctx: int = DEFAULT_MIN_CTX,
) -> FleetPlan:
    """Size every model, then pack them first-fit-decreasing into groups that fit
    the GPU together (one free margin per device, one runtime overhead per server)."""
    sizing = {model_id: size_model(shape, budget, request, min_ctx) for model_id, shape in models.items()}
    if budget.gpu_bytes is None:
        capacity = budget.host_bytes - budget.margin_bytes
    else:
        capacity = budget.gpu_bytes - budget.margin_bytes
    groups: list[list[str]] = []
    used: list[int] = []

    def footprint(model_id: str) -> int:
        found = sizing[model_id]
        return found.host_bytes if budget.gpu_bytes is None else found.gpu_bytes

    for model_id in sorted(sizing, key=lambda m: (-footprint(m), m)):
        need = footprint(model_id)
        for index, members in enumerate(groups):
            if used[index] + need <= capacity and sizing[model_id].verdict != NO_FIT:
                members.append(model_id)
                used[index] += need
                break
        else:
            groups.append([model_id])
            used.append(need)
    return FleetPlan(sizing, [sorted(members) for members in groups])
