"""CONFIGURATION.md: what a host runs, in words, from nix/lib's facts
(configuration.nix) and a jinja2 template (templates/CONFIGURATION.md.j2). The memory
plan of a model comes from the planner when its file is in the models folder here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmctl.errors import LlmctlError, RenderError

TEMPLATE = "CONFIGURATION.md.j2"
FACTS_HINT = "give the JSON of nix/lib's configurationFacts for the host, as the NixOS module does"


def configuration_from_file(path: Path) -> str:
    """CONFIGURATION.md from a file of nix/lib's configurationFacts (`--configuration-from`)."""
    from llmctl.render.source import read_object

    facts = read_object(path, "the configuration facts", FACTS_HINT)
    return configuration_markdown(facts, origin=str(path))


def configuration_markdown(
    facts: dict[str, Any], plans: dict[str, dict[str, Any]] | None = None, *, origin: str = "the facts"
) -> str:
    """The document; facts without a key the template reads are a RenderError naming it."""
    from importlib import resources

    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("llmctl").joinpath("templates", name).read_text(encoding="utf-8")
        ),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["code"] = lambda value: f"`{value}`"
    try:
        text = environment.get_template(TEMPLATE).render(facts=facts, plans=plans or {})
    except jinja2.UndefinedError as error:
        raise RenderError(f"{origin}: not nix/lib's configuration facts ({error.message})", hint=FACTS_HINT) from None
    return "\n".join(line.rstrip() for line in text.splitlines()).strip() + "\n"


def memory_plans(facts: dict[str, Any], stack_document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per model with a file present here: the planner's verdict and memory figures."""
    from llmctl.output import binary_size
    from llmctl.plan.budgets import budget_for
    from llmctl.plan.estimate import estimate
    from llmctl.plan.planner import PlanRequest
    from llmctl.stack import parse_stack

    spec = parse_stack(stack_document)
    budget = budget_for(None, None, spec.gpu)
    plans = {}
    for model in facts["models"]:
        path = _model_path(spec.models_dir, model.get("file"))
        if path is None:
            continue
        try:
            found = estimate(str(path), PlanRequest(ctx=model.get("contextSize")), budget, spec.models_dir).plan
        except LlmctlError as error:
            plans[model["name"]] = {"problem": error.message}
            continue
        if found is not None:
            plans[model["name"]] = {
                "verdict": found.verdict,
                "gpuLayers": found.gpu_layers,
                "context": found.n_ctx,
                "gpu": binary_size(found.gpu.total),
                "host": binary_size(found.host.total),
                "kvCache": binary_size(found.kv_cache_bytes),
            }
    return plans


def _model_path(models_dir: Path, file: str | None) -> Path | None:
    if not file:
        return None
    path = Path(file) if file.startswith("/") else models_dir / file
    if path.is_file():
        return path
    if path.is_dir():  # declared by source: fetched into modelsDir/NAME/
        found = sorted(p for p in path.rglob("*.gguf") if not p.name.startswith(("mmproj", ".")))
        return found[0] if found else None
    return None
