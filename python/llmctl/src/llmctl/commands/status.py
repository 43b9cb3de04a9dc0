"""`llmctl status`: what is running, what is loaded, what memory is left."""

from __future__ import annotations

import click

from llmctl.app import run_context
from llmctl.options import json_option, stack_option
from llmctl.output import binary_size

DEFAULT_TIMEOUT_S = 2.0
GIB = 1024**3


@click.command()
@stack_option
@json_option
@click.option(
    "--watch",
    "watch",
    metavar="SECONDS",
    type=click.FloatRange(min=0.5),
    help="Sweep again every SECONDS until Ctrl-C (with --json: one JSON document per line).",
)
@click.option(
    "--timeout",
    "timeout",
    metavar="S",
    type=click.FloatRange(min=0.05),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds the whole sweep may take; a service that has not answered by then is reported down.",
)
def status(json_: bool, watch: float | None, timeout: float) -> None:
    """Show every service of the stack, its loaded models, GPU memory and the models folder.

    All endpoints of the stack spec are asked at once; a hung service costs at most
    --timeout. Exit code 1 when an enabled service is down or degraded.

    \b
    Examples:
      llmctl status
      llmctl status --json | jq '.services[] | {name, state}'
      llmctl status --watch 5
      llmctl --stack ./stack.json status --timeout 1
    """
    if watch is None:
        from llmctl.status.collect import collect_checked

        report = collect_checked(run_context().stack_path, timeout)
        _emit(report, json_)
        _fail_if_unhealthy(report)
        return
    import time

    from llmctl.status.collect import collect_status

    spec = run_context().stack()
    try:
        while True:
            report = collect_status(spec, timeout)
            if not json_:
                click.clear()
            _emit(report, json_, compact=True)
            time.sleep(watch)
    except KeyboardInterrupt:
        return


def _emit(report, json_: bool, compact: bool = False) -> None:
    if json_:
        if compact:
            import json

            click.echo(json.dumps(report.to_json(), separators=(",", ":")))
        else:
            from llmctl.output import emit_json

            emit_json(report.to_json())
        return
    click.echo(render(report))


def _fail_if_unhealthy(report) -> None:
    from llmctl.errors import LlmctlError

    failed = report.failed
    if failed:
        names = ", ".join(f"{service.name} ({service.state})" for service in failed)
        raise LlmctlError(
            f"{len(failed)} service{'s' if len(failed) > 1 else ''} not healthy: {names}",
            hint="the problems are listed above; `llmctl status --json` has every probe",
        )


def render(report) -> str:
    """The one-screen view: services with their models, problems, GPU, models folder."""
    where = f"{report.stack} (host {report.host})" if report.host else str(report.stack)
    lines = [f"stack {where}: swept in {report.elapsed_ms:.0f} ms (timeout {report.timeout_s:g} s)", ""]
    rows = [("SERVICE", "STATE", "ADDRESS", "VERSION", "LOADED")]
    for service in report.services:
        loaded = [_model_line(model) for model in service.models] or [_service_summary(service)]
        rows.append((service.name, service.state, service.url, service.version or "", loaded[0]))
        rows.extend(("", "", "", "", more) for more in loaded[1:])
    lines += _aligned(rows)
    problems = [f"  {service.name}: {problem}" for service in report.services for problem in service.problems]
    if problems:
        lines += ["", "Problems:", *problems]
    lines += ["", *_gpu_lines(report.gpu), _folder_line(report.models_dir)]
    return "\n".join(lines)


def _aligned(rows) -> list[str]:
    widths = [max(len(str(row[column])) for row in rows) for column in range(len(rows[0]) - 1)]
    return [
        (
            "  ".join(str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        ).rstrip()
        for row in rows
    ]


def _model_line(model: dict) -> str:
    parts = [str(model.get("name") or "?")]
    if model.get("state") not in (None, "ready", "loaded"):
        parts.append(str(model["state"]))
    upstream = model.get("upstream")
    if upstream:
        parts.append(":" + upstream.rsplit(":", 1)[-1])
    if model.get("context"):
        parts.append(f"ctx {model['context']}")
    if model.get("slots"):
        parts.append(f"{model.get('slots_busy') or 0}/{model['slots']} busy")
    size, vram = model.get("size_bytes"), model.get("vram_bytes")
    if size and vram is not None:
        parts.append(f"{binary_size(vram)} of {binary_size(size)} on GPU")
    elif size:
        parts.append(binary_size(size))
    return " ".join(parts)


def _service_summary(service) -> str:
    if service.kind == "envoy" and service.details.get("clusters"):
        clusters = service.details["clusters"]
        healthy = sum(1 for cluster in clusters if cluster["healthy"])
        return f"{healthy}/{len(clusters)} upstream clusters healthy"
    if service.kind in ("llama-swap", "ollama") and service.state == "up":
        listed = service.details.get("listed", service.details.get("available"))
        return f"nothing loaded ({listed} available)" if listed is not None else "nothing loaded"
    return ""


def _gpu_lines(gpu) -> list[str]:
    if not gpu.found:
        return ["GPU:    no GPU found", *(f"        {problem}" for problem in gpu.problems)]
    lines = []
    for index, device in enumerate(gpu.devices):
        text = f"{device.card} {device.name}  VRAM {_used_of(device.vram_used_bytes, device.vram_total_bytes)}"
        if device.gtt_total_bytes:
            text += f"  GTT {_used_of(device.gtt_used_bytes, device.gtt_total_bytes)}"
        lines.append(("GPU:    " if index == 0 else "        ") + text)
    if gpu.ttm_limit_bytes:
        lines.append(f"        TTM limit {_gib(gpu.ttm_limit_bytes)} GiB")
    return lines + [f"        {problem}" for problem in gpu.problems]


def _folder_line(space) -> str:
    if not space.exists or space.total_bytes is None:
        return f"Models: {space.path} ({space.error or 'missing'})"
    return (
        f"Models: {space.path}  used {_gib(space.used_bytes)} GiB, free {_gib(space.free_bytes)} GiB"
        f" of {_gib(space.total_bytes)} GiB"
    )


def _used_of(used: int | None, total: int | None) -> str:
    return f"{_gib(used) if used is not None else '?'}/{_gib(total) if total is not None else '?'} GiB"


def _gib(value: int | float) -> str:
    return f"{value / GIB:.1f}"
