"""Discovery's `llamaServer.autoSize`: -c, -ngl and swap groups from the capacity plan.

The plan (core/fleet) sizes every discovered model under the GPU budget of the
stack spec's `gpu` section and packs models that fit together into groups; the
llama-swap config then swaps between groups only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from llmctl.core.fleet import FleetPlan, plan_fleet
from llmctl.stack import StackSpec


def plan_models(paths: Mapping[str, list[Path]], spec: StackSpec, problems: list[str]) -> FleetPlan:
    """The fleet plan of the models `paths` names (entry key -> shards); a model
    whose header cannot be read is left out with a note in `problems`."""
    from llmctl.core.gguf_reader import GGUFError, read_gguf
    from llmctl.core.gpu_profiles import budget_profile
    from llmctl.core.plan_model import model_shape
    from llmctl.core.planner import Budget, PlanRequest

    shapes = {}
    for key, shards in paths.items():
        try:
            shapes[key] = model_shape([read_gguf(shard, tensors=True) for shard in shards])
        except (GGUFError, OSError) as error:
            problems.append(f"model '{key}': not sized automatically: {error}")
    defaults = spec.llama_server
    budget = Budget.from_profile(*budget_profile(None, None, spec.gpu))
    request = PlanRequest(
        ctx=defaults.context_size, parallel=defaults.parallel, flash_attn=defaults.flash_attention != "off"
    )
    return plan_fleet(shapes, budget, request)
