"""The `llmctl` entry point: it only assembles the command groups."""

from __future__ import annotations

import click

from llmctl import __version__
from llmctl.app import LazyGroup, RunContext

COMMANDS = {
    "stack": "llmctl.commands.stack:stack",
    "models": "llmctl.commands.models:models",
    "discover": "llmctl.commands.discover:discover",
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", "-V", prog_name="llmctl")
@click.option("--debug", is_flag=True, envvar="LLMCTL_DEBUG", help="Show the full traceback on errors.")
@click.option(
    "--stack",
    "stack_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Stack spec to read (default: $LOCAL_LLM_STACK or /etc/local-llm/stack.json).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, stack_path: str | None) -> None:
    """Run-time control for a local-llm host.

    Reads the stack spec written by the NixOS module (or by hand off NixOS)
    and manages what changes at run time: models, downloads, status,
    capacity planning, benchmarks and verification.

    \b
    Examples:
      llmctl stack show
      llmctl --stack ./stack.json stack show --json
    """
    ctx.obj = RunContext(debug=debug, stack_path=stack_path)


def main() -> None:
    cli(prog_name="llmctl")
