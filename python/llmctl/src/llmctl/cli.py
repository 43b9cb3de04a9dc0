"""The `llmctl` entry point: it only assembles the command groups."""

from __future__ import annotations

import click

from llmctl.app import LazyGroup, RunContext
from llmctl.options import STACK_HELP

COMMANDS = {
    "stack": "llmctl.commands.stack:stack",
    "plan": "llmctl.commands.plan:plan",
    "status": "llmctl.commands.status:status",
    "exporter": "llmctl.commands.exporter:exporter",
    "verify": "llmctl.commands.verify:verify",
    "download": "llmctl.commands.download:download",
    "rm": "llmctl.commands.rm:rm",
    "models": "llmctl.commands.models:models",
    "discover": "llmctl.commands.discover:discover",
    "render": "llmctl.commands.render:render",
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--version",
    "-V",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _print_version(ctx) if value else None,
    help="Show the version and exit.",
)
@click.option("--debug", is_flag=True, envvar="LLMCTL_DEBUG", help="Show the full traceback on errors.")
@click.option(
    "--stack",
    "stack_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help=STACK_HELP,
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, stack_path: str | None) -> None:
    """Run-time control for a local-llm host.

    Reads the stack spec written by the NixOS module (or by hand off NixOS)
    and manages what changes at run time: models, downloads, discovery,
    status, capacity planning and verification.

    \b
    Examples:
      llmctl stack show
      llmctl --stack ./stack.json stack show --json
    """
    ctx.obj = RunContext(debug=debug, stack_path=stack_path)


def _print_version(ctx: click.Context) -> None:
    import llmctl

    click.echo(f"llmctl, version {llmctl.__version__}")
    ctx.exit()


def main() -> None:
    cli(prog_name="llmctl")
