"""`llmctl verify`: check a deployed host against its stack spec."""

from __future__ import annotations

import click

from llmctl.app import run_context
from llmctl.options import json_option, stack_option

SYMBOLS = {"pass": "pass", "fail": "FAIL", "error": "ERROR", "skip": "skip"}


@click.command()
@click.option(
    "--host",
    "target",
    metavar="ssh://USER@HOST",
    default="local://",
    show_default=True,
    help="Host to check: local:// or ssh://USER@HOST (testinfra host spec).",
)
@stack_option
@json_option
def verify(target: str, json_: bool) -> None:
    """Check a host against its stack spec: services, ports, firewall, models folder,
    endpoints, gateway requests and secrets in generated configs.

    Runs the project's pytest-testinfra host checks (llmctl.verify.checks). With
    --stack FILE the host is compared with that file; without it, a remote host
    is compared with its own /etc/local-llm/stack.json. Exit code 1 when a check fails.

    \b
    Examples:
      llmctl verify
      llmctl verify --host ssh://root@strix-halo
      llmctl verify --stack ./stack.json --json
    """
    from llmctl.errors import LlmctlError, UsageError
    from llmctl.verify.runner import run_host_checks

    if not target.startswith(("local://", "ssh://", "paramiko://", "docker://")):
        raise UsageError(f"--host {target!r} is not a host spec", hint="use local:// or ssh://USER@HOST")
    context = run_context()
    spec_path = None
    if context.stack_path or target == "local://":
        spec_path = context.stack().path  # validated here, so a broken spec is one clear error
    results = run_host_checks(target, spec_path)
    failed = [r for r in results if r["result"] in ("fail", "error")]
    if json_:
        from llmctl.output import emit_json

        emit_json(
            {
                "version": 1,
                "host": target,
                "stack": str(spec_path) if spec_path else None,
                "ok": not failed,
                "checks": results,
            }
        )
    else:
        click.echo(render(results))
    if failed:
        raise LlmctlError(
            f"{len(failed)} of {len(results)} host check{'s' if len(results) > 1 else ''} failed",
            hint="the reasons are in the table above",
        )


def render(results: list[dict]) -> str:
    width = max([len(r["check"]) for r in results] + [5])
    lines = [f"{'CHECK'.ljust(width)}  RESULT  REASON"]
    lines += [f"{r['check'].ljust(width)}  {SYMBOLS[r['result']].ljust(6)}  {r['reason']}".rstrip() for r in results]
    counts = {name: sum(1 for r in results if r["result"] == name) for name in SYMBOLS}
    lines += ["", ", ".join(f"{count} {name}" for name, count in counts.items() if count) or "no checks ran"]
    return "\n".join(lines)
