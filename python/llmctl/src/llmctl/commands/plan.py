"""`llmctl plan`: will this model and context fit, and how to run it."""

from __future__ import annotations

import click

from llmctl.app import run_context
from llmctl.options import json_option, models_dir_option, stack_option
from llmctl.output import binary_size, emit_json, info, table, warn
from llmctl.plan.budgets import PROFILES
from llmctl.plan.kv_cache import KV_TYPES


def _bytes(n: int | None) -> str:
    return binary_size(n, digits=2)


@click.command()
@click.argument("model")
@click.option("-c", "--ctx", type=click.IntRange(min=1), help="Context size (-c); default: the training context.")
@click.option(
    "--kv-type",
    type=click.Choice(KV_TYPES),
    default="f16",
    show_default=True,
    help="KV cache type for K and V (-ctk/-ctv).",
)
@click.option(
    "-np",
    "--parallel",
    type=click.IntRange(min=1),
    help="Slots (-np). Unset: llama-server's auto, 4 slots sharing one unified cache.",
)
@click.option("--kv-unified", is_flag=True, help="One cache shared by the slots even with --parallel (-kvu).")
@click.option("--ngl", type=click.IntRange(min=0), help="Layers on the GPU (-ngl); default: the most that fit.")
@click.option(
    "--n-cpu-moe",
    "cpu_moe_layers",
    type=click.IntRange(min=0),
    help="MoE: keep the routed experts of the first N blocks in host memory (--n-cpu-moe); "
    "default: none if the model fits, else the fewest that make it fit.",
)
@click.option("--gpu", "gpu_profile", type=click.Choice(tuple(PROFILES)), help="GPU profile to plan against.")
@click.option(
    "--gpu-mem",
    type=click.FloatRange(min=0.0, min_open=True),
    metavar="GIB",
    help="GPU memory in GiB (overrides the profile's; on APUs the GTT limit).",
)
@click.option("--ubatch", type=click.IntRange(min=1), default=512, show_default=True, help="Physical batch (-ub).")
@click.option("--no-flash-attn", is_flag=True, help="Plan for -fa off (attention scores in the compute buffer).")
@click.option("--ctx-table", is_flag=True, help="Also show the largest context per KV type (f16, q8_0, q4_0).")
@models_dir_option
@stack_option
@json_option
def plan(
    model,
    ctx,
    kv_type,
    parallel,
    kv_unified,
    ngl,
    cpu_moe_layers,
    gpu_profile,
    gpu_mem,
    ubatch,
    no_flash_attn,
    ctx_table,
    models_dir,
    json_,
):
    """Plan memory for MODEL: weights, KV cache, compute; fits, experts on host, hybrid or not.

    MODEL is a GGUF file (a split set from any shard), a model ID as `llmctl
    models` lists it, or ORG/REPO[:QUANT] on the Hugging Face Hub, where only the
    GGUF headers are read with HTTP Range requests (QUANT is matched as `llmctl
    download` matches it). A repository without a quant gets one row per quant.
    See docs/plan.md for the formulas.

    \b
    Examples:
      llmctl plan ./Qwen3-8B-Q4_K_M.gguf --ctx 32768 --gpu rx-7900xtx
      llmctl plan qwen3-8b-q4_k_m --kv-type q8_0 --parallel 2 --gpu-mem 16
      llmctl plan unsloth/Qwen3-8B-GGUF --gpu strix-halo
      llmctl plan ./model.gguf --ctx-table --json
    """
    from llmctl.plan.budgets import budget_for
    from llmctl.plan.estimate import estimate
    from llmctl.plan.planner import PlanRequest

    stack = run_context().stack(required=False)
    budget = budget_for(gpu_profile, gpu_mem, stack.gpu if stack.path else None)
    request = PlanRequest(
        ctx=ctx,
        type_k=kv_type,
        type_v=kv_type,
        parallel=parallel,
        kv_unified=True if kv_unified else None,
        gpu_layers=ngl,
        cpu_moe_layers=cpu_moe_layers,
        n_ubatch=ubatch,
        flash_attn=not no_flash_attn,
    )
    found = estimate(
        model, request, budget, models_dir or (stack.models_dir if stack.path else None), ctx_table=ctx_table
    )
    if found.quants is not None:
        _quant_rows(model, found.quants, request, budget, json_)
    else:
        _single(found, budget, json_)


def _single(found, budget, json_) -> None:
    result, source, table_rows = found.plan, found.source, found.ctx_table
    if json_:
        data = result.to_json()
        if source.remote:
            data["bytes_fetched"] = source.bytes_fetched
        if table_rows is not None:
            data["ctx_table"] = table_rows
        emit_json(data)
    else:
        _print_plan(result, source)
        if table_rows is not None:
            click.echo()
            table(
                ["KV type", "KV at this context", "largest context that fits", "KV at that context"],
                [
                    (
                        r["kv_type"],
                        _bytes(r["kv_cache_bytes"]),
                        r["largest_ctx"] or "none",
                        _bytes(r["largest_ctx_kv_bytes"]),
                    )
                    for r in table_rows
                ],
                title="Largest context per KV type" + (" (all layers on the GPU)" if budget.gpu_bytes else ""),
            )
    for message in result.warnings:
        warn(message)
    for message in found.shape.missing:
        warn(f"not modelled: {message}")


def _print_plan(result, source) -> None:
    shape, budget = result.shape, result.budget
    click.echo(
        f"model:    {shape.name or source.label} ({shape.architecture}, {shape.n_layer} layers, "
        f"trained for {shape.n_ctx_train or '?'} tokens), {len(shape.files)} file(s), "
        f"{_bytes(shape.file_bytes)}"
    )
    streams = f"{result.n_stream} streams of {result.n_ctx_seq}" if result.n_stream > 1 else "one unified cache"
    click.echo(
        f"context:  {result.n_ctx} cells, {result.n_seq_max} slots, {streams}, "
        f"KV {result.request.type_k}/{result.request.type_v}"
    )
    if budget.gpu_bytes is None:
        click.echo(f"budget:   cpu, host RAM {_bytes(budget.host_bytes)} (1 GiB kept free)")
    else:
        apu = ", unified memory (GTT limit)" if budget.unified_memory else ""
        click.echo(
            f"budget:   {budget.profile}, GPU {_bytes(budget.gpu_bytes)}{apu}; "
            f"{_bytes(budget.overhead_bytes)} runtime overhead and 1 GiB kept free"
        )
    click.echo()
    gpu, host = result.gpu, result.host
    cache_label = "KV cache" + (" + recurrent state" if result.recurrent_bytes else "")
    rows = [
        ("weights", gpu.weights, host.weights),
        (cache_label, gpu.kv_cache, host.kv_cache),
        ("compute buffers", gpu.compute, host.compute),
        ("output buffer", gpu.output, host.output),
        ("runtime overhead", gpu.overhead, host.overhead),
        ("total", gpu.total, host.total),
    ]
    table(["", "GPU", "host", "total"], [(n, _bytes(g), _bytes(h), _bytes(g + h)) for n, g, h in rows])
    click.echo()
    click.echo(_verdict_line(result))
    if result.fits and budget.gpu_bytes is not None:
        click.echo(f"where:    {result.placement_text()}")
    if result.fits:
        click.echo(f"run:      llama-server -m {shape.files[0]} {' '.join(result.server_args())}")


def _verdict_line(result) -> str:
    from llmctl.plan.placement import max_gpu_layers
    from llmctl.plan.planner import EXPERTS_ON_HOST, FITS, HYBRID

    n_all = max_gpu_layers(result.shape)
    budget = result.budget
    if budget.gpu_bytes is None:
        state = "fits in host RAM" if result.verdict == FITS else "does NOT fit in host RAM"
        return f"verdict:  {state} ({_bytes(result.host.total)} of {_bytes(budget.host_bytes)})"
    used = f"{_bytes(result.gpu.total)} of {_bytes(budget.gpu_bytes)} on the GPU"
    if result.verdict == FITS:
        return f"verdict:  fits: all {n_all} layers on the GPU (-ngl {n_all}), {used}"
    if result.verdict == EXPERTS_ON_HOST:
        return (
            f"verdict:  fits with experts in host memory: all {n_all} layers on the GPU, the routed experts of "
            f"{result.cpu_moe_layers} of {result.shape.n_layer} blocks in host memory (--n-cpu-moe "
            f"{result.cpu_moe_layers}), {used}"
        )
    if result.verdict == HYBRID:
        return f"verdict:  hybrid: -ngl {result.gpu_layers} of {n_all} layers on the GPU, {used}, rest on the CPU"
    return f"verdict:  does NOT fit with -ngl {result.gpu_layers} ({used}); run on the CPU or shrink the context"


def _quant_rows(model, rows, request, budget, json_) -> None:
    if json_:
        emit_json({"model": model, "quants": rows})
        return
    info(f"{model}: {len(rows)} quants, headers only ({_bytes(sum(r['bytes_fetched'] for r in rows))} read)")
    table(
        ["quant", "size", "verdict", "-ngl", "largest context that fits"],
        [
            (
                r["quant"],
                _bytes(r["file_bytes"]),
                r["verdict"],
                f"{r['gpu_layers']}/{r['max_gpu_layers']}",
                r["largest_ctx"] or "none",
            )
            for r in rows
        ],
        title=f"context {rows[0]['plan']['settings']['ctx']}, KV {request.type_k}, budget {budget.profile}",
    )
