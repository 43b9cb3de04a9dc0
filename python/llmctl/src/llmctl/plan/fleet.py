"""Automatic sizing of many models under one GPU budget (discovery's `autoSize`).

`plan_fleet` gives every model a context (-c) and a layer count (-ngl), then
packs the models into groups whose members can be resident together: each
group becomes a llama-swap group with `swap: false` (members run side by side)
and `exclusive: true` (loading a member of another group unloads this one), so
models that cannot be resident together swap. `auto_size` is the same for the
models discovery serves, under the GPU budget of the stack spec's `gpu` section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from llmctl.errors import GGUFError
from llmctl.flags import option_args
from llmctl.gguf.reader import read_gguf
from llmctl.plan.budgets import Budget, budget_for
from llmctl.plan.planner import EXPERTS_ON_HOST, NO_FIT, PlanRequest, largest_context, plan
from llmctl.plan.shape import ModelShape, model_shape
from llmctl.stack import StackSpec

DEFAULT_MIN_CTX = 4096  # like llama.cpp --fit-ctx: below this a model is not worth serving fully offloaded


@dataclass(frozen=True)
class Sizing:
    ctx: int
    gpu_layers: int
    verdict: str  # fits / experts-on-host / hybrid / does-not-fit
    gpu_bytes: int  # what the running llama-server takes on the GPU (overhead included)
    host_bytes: int
    cpu_moe_layers: int = 0  # MoE: blocks whose routed experts stay in host memory

    def server_args(self) -> list[str]:
        """-c, -ngl and --n-cpu-moe as the flag table spells them."""
        return option_args(
            {"contextSize": self.ctx, "gpuLayers": self.gpu_layers, "cpuMoeLayers": self.cpu_moe_layers or None}
        )


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
    with every layer on the GPU; for a MoE model that does not fit so, the wanted
    context with the experts of the fewest blocks in host memory when that fits;
    otherwise `min_ctx` with the best the plan finds (experts in host memory, else
    the most layers that fit: hybrid)."""
    request = replace(request or PlanRequest(), gpu_layers=None, cpu_moe_layers=None)
    wanted = request.ctx or shape.n_ctx_train or min_ctx
    largest = largest_context(shape, request, budget)
    floor = min(min_ctx, wanted)
    ctx = min(wanted, largest) if largest is not None and largest >= floor else floor
    result = plan(shape, replace(request, ctx=ctx), budget)
    if ctx < wanted and any(shape.expert_bytes):
        # Experts in host memory may leave room for the whole wanted context.
        at_wanted = plan(shape, replace(request, ctx=wanted), budget)
        if at_wanted.verdict == EXPERTS_ON_HOST:
            ctx, result = wanted, at_wanted
    return Sizing(ctx, result.gpu_layers, result.verdict, result.gpu.total, result.host.total, result.cpu_moe_layers)


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


def auto_size(paths: Mapping[str, list[Path]], spec: StackSpec, problems: list[str]) -> FleetPlan:
    """The fleet plan of the models `paths` names (entry key -> shards) under the stack
    spec's GPU budget and llama-server defaults; a model whose header cannot be read is
    left out with a note in `problems`."""
    shapes = {}
    for key, shards in paths.items():
        try:
            shapes[key] = model_shape([read_gguf(shard, tensors=True) for shard in shards])
        except (GGUFError, OSError) as error:
            problems.append(f"model '{key}': not sized automatically: {error}")
    defaults = spec.llama_server
    request = PlanRequest(
        ctx=defaults.context_size, parallel=defaults.parallel, flash_attn=defaults.flash_attention != "off"
    )
    return plan_fleet(shapes, budget_for(None, None, spec.gpu), request)
