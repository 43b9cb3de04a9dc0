"""A status sweep as Prometheus metrics (what `llmctl exporter` serves).

What no service of the stack exports itself, joined here:
- `local_llm_up{service,kind}`: the service answers (1) or is down (0);
- `local_llm_model_loaded{service,model}`: 1 for every loaded model, 0 for a model
  llama-swap or Ollama lists but has not loaded, so `changes()` counts loads;
- slots, busy slots, context, size and (where the service says) GPU bytes per model;
- `local_llm_model_gpu_use{service,model,state}`: the verdict of `status.gpu_use` (the
  server's log or Ollama's size_vram against the plan), 1 for its state;
- the `llamacpp:*` samples of the llama-servers llama-swap runs, labelled with their
  model: llama-swap picks their ports, so Prometheus cannot scrape them itself (and
  asking through llama-swap's /upstream/ would count as use and keep them loaded).
The dedicated llama-servers are scraped directly; their `llamacpp:*` samples are not
repeated here, so a sum by model counts each server once.
"""

from __future__ import annotations

from llmctl.status.metrics_text import LLAMACPP_PREFIX, family, sample
from llmctl.status.report import DOWN, StatusReport

LOADED_STATES = (None, "ready", "loaded", "starting")
# Model dict key -> (metric, help).
MODEL_GAUGES = {
    "slots": ("local_llm_model_slots", "Parallel slots of the model's server."),
    "slots_busy": ("local_llm_model_slots_busy", "Slots processing a request."),
    "context": ("local_llm_model_context_tokens", "Context size per slot."),
    "size_bytes": ("local_llm_model_size_bytes", "Size of the model's weights."),
    "vram_bytes": ("local_llm_model_vram_bytes", "Bytes of the model in GPU memory (where the service reports it)."),
}


def render(report: StatusReport) -> str:
    lines = family(
        "local_llm_up",
        "gauge",
        "The service answers its health check (1) or not (0).",
        (
            sample("local_llm_up", {"service": s.name, "kind": s.kind}, 0 if s.state == DOWN else 1)
            for s in report.services
            if s.enabled
        ),
    )
    lines += family(
        "local_llm_model_loaded",
        "gauge",
        "1 for a loaded model, 0 for one its service lists but has not loaded.",
        _loaded(report),
    )
    for key, (name, help_text) in MODEL_GAUGES.items():
        lines += family(
            name,
            "gauge",
            help_text,
            (
                sample(name, {"service": service.name, "model": model.get("name")}, model[key])
                for service, model in _models(report)
                if isinstance(model.get(key), int | float)
            ),
        )
    lines += family(
        "local_llm_model_gpu_use",
        "gauge",
        "1 for the model's GPU verdict (state gpu, partial, cpu, unknown) where the plan puts models on a GPU.",
        _gpu_use(report),
    )
    lines += _swapped_llamacpp(report)
    lines += family(
        "local_llm_sweep_duration_seconds",
        "gauge",
        "How long the status sweep behind this scrape took.",
        [sample("local_llm_sweep_duration_seconds", {}, round(report.elapsed_ms / 1000, 4))],
    )
    return "\n".join(lines) + "\n"


def _models(report: StatusReport):
    for service in report.services:
        for model in service.models:
            if model.get("name"):
                yield service, model


def _loaded(report: StatusReport):
    for service in report.services:
        loaded = {
            str(model["name"]) for model in service.models if model.get("name") and model.get("state") in LOADED_STATES
        }
        for name in sorted(loaded):
            yield sample("local_llm_model_loaded", {"service": service.name, "model": name}, 1)
        for name in sorted(set(service.details.get("listed_models") or ()) - loaded):
            yield sample("local_llm_model_loaded", {"service": service.name, "model": name}, 0)


def _gpu_use(report: StatusReport):
    """status.gpu_use's verdicts (keyed by model for Ollama, by the service for a dedicated
    llama-server, whose one model names it here)."""
    for service in report.services:
        names = [str(model["name"]) for model in service.models if model.get("name")]
        for key, verdict in sorted((service.details.get("gpu_use") or {}).items()):
            model = key if key in names or len(names) != 1 else names[0]
            labels = {"service": service.name, "model": model, "state": verdict.get("state")}
            yield sample("local_llm_model_gpu_use", labels, 1)


def _swapped_llamacpp(report: StatusReport) -> list[str]:
    """llama-swap's llama-servers' own samples, one untyped family per metric."""
    by_metric: dict[str, list[str]] = {}
    for service, model in _models(report):
        if service.kind != "llama-swap":
            continue
        for counter, value in sorted((model.get("llamacpp") or {}).items()):
            name = LLAMACPP_PREFIX + counter
            labels = {"service": service.name, "model": model["name"]}
            by_metric.setdefault(name, []).append(sample(name, labels, value))
    return [line for name, samples in sorted(by_metric.items()) for line in samples]
