"""`llmctl status`: what is running, what is loaded, what memory is left."""

from __future__ import annotations

import click

from llmctl.app import run_context
from llmctl.options import json_option, stack_option, sweep_timeout_option
from llmctl.output import binary_size

DEFAULT_TIMEOUT_S = 2.0
DEFAULT_INTERVAL_S = 2.0
GIB = 1024**3


@click.command()
@stack_option
@json_option
@click.option(
    "--watch",
    is_flag=True,
    help="Sweep again every --interval seconds until Ctrl-C: a live table on a terminal, "
    "one JSON document per line otherwise (or with --json), with tokens/s per model.",
)
@click.option(
    "--interval",
    "interval",
    metavar="SECONDS",
    type=click.FloatRange(min=0.5),
    default=DEFAULT_INTERVAL_S,
    show_default=True,
    help="Seconds between two sweeps of --watch.",
)
@sweep_timeout_option(
    DEFAULT_TIMEOUT_S,
    "Seconds the whole sweep may take; a service that has not answered by then is reported down.",
)
def status(json_: bool, watch: bool, interval: float, timeout: float) -> None:
    """Show every service of the stack, its loaded models, GPU memory and the models folder.

    All endpoints of the stack spec are asked at once; a hung service costs at most
    --timeout. Exit code 1 when an enabled service is down or degraded.

    \b
    Examples:
      llmctl status
      llmctl status --json | jq '.services[] | {name, state}'
      llmctl status --watch --interval 5
      llmctl status --watch | jq -c '[.services[].models[] | {name, tokens_per_second}]'
      llmctl --stack ./stack.json status --timeout 1
    """
    if not watch:
        from llmctl.status.collect import collect_checked

        report = collect_checked(run_context().stack_path, timeout)
        _emit(report, json_)
        _fail_if_unhealthy(report)
        return
    import sys

    from llmctl.status.watch import sweeps

    reports = sweeps(run_context().stack(), timeout, interval)
    try:
        if json_ or not sys.stdout.isatty():
            _json_lines(reports)
        else:
            _live(reports, interval)
    except KeyboardInterrupt:
        return  # Ctrl-C is how a watch ends: exit 0, no traceback


def _emit(report, json_: bool) -> None:
    if json_:
        from llmctl.output import emit_json

        emit_json(report.to_json())
        return
    click.echo(render(report))


def _json_lines(reports) -> None:
    """One compact JSON document per sweep, flushed at once (a pipe sees each sweep)."""
    import json
    import sys

    for report in reports:
        try:
            sys.stdout.write(json.dumps(report.to_json(), separators=(",", ":")) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # the reader went away (`| head`): nothing left to do
            return


def _live(reports, interval: float) -> None:
    from rich.console import Console
    from rich.live import Live

    console = Console()
    with Live(console=console, auto_refresh=False, screen=False) as live:
        for report in reports:
            live.update(live_view(report, interval), refresh=True)


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


def live_view(report, interval: float):
    """The --watch table: per service its state and loaded models with slots in use and
    tokens per second since the previous sweep, then GPU memory."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    where = f"{report.host} ({report.stack})" if report.host else str(report.stack)
    title = f"{where}: every {interval:g} s, swept in {report.elapsed_ms:.0f} ms; Ctrl-C ends"
    table = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    for header, justify in (
        ("SERVICE", "left"),
        ("STATE", "left"),
        ("MODEL", "left"),
        ("SLOTS BUSY", "right"),
        ("TOKENS/S", "right"),
        ("PROMPT/S", "right"),
        ("CONTEXT", "right"),
    ):
        table.add_column(header, justify=justify)
    for service in report.services:
        state = Text(service.state, style=STATE_STYLES.get(service.state, ""))
        if not service.models:
            table.add_row(service.name, state, _service_summary(service), "", "", "", "")
        for index, model in enumerate(service.models):
            table.add_row(
                service.name if index == 0 else "",
                state if index == 0 else "",
                str(model.get("name") or "?"),
                _slots(model),
                _per_second(model.get("tokens_per_second")),
                _per_second(model.get("prompt_tokens_per_second")),
                str(model.get("context") or ""),
            )
    problems = [f"{service.name}: {problem}" for service in report.services for problem in service.problems]
    parts = [table, Text("")]
    parts += [Text(line, style="yellow") for line in problems]
    parts += [Text(line) for line in _gpu_lines(report.gpu)]
    return Group(*parts)


STATE_STYLES = {"up": "green", "starting": "cyan", "degraded": "yellow", "down": "bold red", "disabled": "dim"}


def _slots(model: dict) -> str:
    if not model.get("slots"):
        return ""
    return f"{model.get('slots_busy') or 0}/{model['slots']}"


def _per_second(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
