"""The capacity planner's accuracy matrix: tiny models x llama-server settings.

Shared by python/llmctl/tests/test_plan_accuracy.py (asserts) and
bench/plan_accuracy.py (prints the table with llama-fit-params beside it).
llama-server runs with verbose allocation logs, `-fit off` (it must do exactly
what was planned) and `--no-repack` (on CPUs with AMX/repacking the weights
would be logged twice: a repacked copy plus the mmap span).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from testkit.tiny_models import LlamaShape, write_gemma3, write_llama

MIB = 1024 * 1024
LOG_ARGS = ("--log-verbosity", "4", "--no-log-prefix", "--no-log-timestamps", "-fit", "off", "--no-repack")


@dataclass(frozen=True)
class Case:
    model: str  # key of the models dict
    args: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.model} {' '.join(self.args)}"


CASES = (
    Case("llama", ("-c", "4096")),
    Case("llama", ("-c", "5000", "-np", "3")),
    Case("llama", ("-c", "2048", "-np", "1", "-ctk", "q8_0", "-ctv", "q8_0")),
    Case("llama", ("-c", "8192", "-ctk", "q4_0", "-ctv", "q4_0")),
    Case("llama", ("-c", "4096", "-ctk", "q8_0")),
    Case("llama-q8", ("-c", "4096", "-np", "2")),
    Case(
        "gemma3",
        (
            "-c",
            "8192",
        ),
    ),
    Case("gemma3", ("-c", "8192", "-np", "2", "-ctk", "q8_0", "-ctv", "q8_0")),
    Case("gemma3", ("-c", "1024", "-ub", "128")),
    Case("split", ("-c", "4096", "-np", "4")),
    Case("wide", ("-c", "3072", "-ctk", "q4_0", "-ctv", "q4_0")),
)


def write_models(root: Path, existing: dict[str, Path] | None = None) -> dict[str, Path]:
    """The matrix's models; `existing` reuses files already written (the tiny_models fixture)."""
    import gguf

    models = dict(existing or {})
    root.mkdir(parents=True, exist_ok=True)
    if "llama" not in models:
        models["llama"] = write_llama(root / "acc-llama-F16.gguf", LlamaShape())[0]
    if "gemma3" not in models:
        models["gemma3"] = write_gemma3(root / "acc-gemma3-F16.gguf")
    if "split" not in models:
        models["split"] = write_llama(root / "acc-split-F16.gguf", LlamaShape(), split_max_tensors=20)[0]
    models["llama-q8"] = write_llama(root / "acc-llama-Q8_0.gguf", weight_type=gguf.GGMLQuantizationType.Q8_0)[0]
    # Wider, deeper, MHA-ish and a larger vocabulary: weights dominate the total.
    wide = LlamaShape(n_layer=6, n_embd=512, n_head=8, n_head_kv=4, n_ff=1536, n_vocab=8192, n_ctx_train=8192)
    models["wide"] = write_llama(root / "acc-wide-F16.gguf", wide, name="tiny-random-wide")[0]
    return models


def request_for(args: tuple[str, ...]):
    """The PlanRequest that means the same as these llama-server flags."""
    from llmctl.plan.planner import PlanRequest

    values = dict(zip(args[::2], args[1::2], strict=False))
    type_k = values.get("-ctk", "f16")
    return PlanRequest(
        ctx=int(values["-c"]),
        type_k=type_k,
        type_v=values.get("-ctv", "f16"),
        parallel=int(values["-np"]) if "-np" in values else None,
        n_ubatch=int(values.get("-ub", 512)),
    )


@dataclass
class Comparison:
    case: Case
    kv_estimate: float  # MiB, rounded per cache like the log
    kv_actual: float
    weights_estimate: float
    weights_actual: float
    total_estimate: float
    total_actual: float
    cells_estimate: list[int]
    cells_actual: list[int]

    @staticmethod
    def ratio(estimate: float, actual: float) -> float:
        return estimate / actual - 1 if actual else float("inf")


def compare(case: Case, model: Path, log: str) -> Comparison:
    """Plan `model` for `case` on the CPU and set it beside what llama-server logged."""
    from llmctl.plan.budgets import Budget
    from llmctl.plan.kv_cache import cache_buffers, cache_cells, context_layout, layer_caches
    from llmctl.plan.planner import plan
    from llmctl.plan.shape import model_shape
    from llmctl.plan.sources import local_model
    from llmctl.status.server_log import parse_runs

    shape = model_shape(local_model(model).headers)
    request = request_for(case.args)
    result = plan(shape, request, Budget("cpu", None, 1 << 40, overhead_bytes=0))
    layout = context_layout(request.ctx, request.parallel)
    caches = layer_caches(shape, layout, type_k=request.type_k, type_v=request.type_v, n_ubatch=request.n_ubatch)
    kv_lines = [round(b / MIB, 2) for b in cache_buffers(shape, caches)]
    actual = parse_runs(log)[0]
    cells = cache_cells(shape, caches)
    return Comparison(
        case=case,
        kv_estimate=round(sum(kv_lines), 2),
        kv_actual=actual.mib("KV"),
        weights_estimate=result.weights_bytes / MIB,
        weights_actual=actual.mib("model"),
        total_estimate=result.total_bytes / MIB,
        total_actual=actual.total_mib,
        cells_estimate=[n for n in cells if n],
        cells_actual=[c["cells"] for c in actual.kv_caches],
    )
