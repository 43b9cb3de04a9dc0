"""`llmctl render`: the stack as plain files for a host off NixOS."""

from __future__ import annotations

import click

from llmctl.options import json_option


@click.command()
@click.argument("source", metavar="INPUT", required=False)
@click.option(
    "--output",
    "-o",
    metavar="DIR",
    default="/etc/local-llm",
    show_default=True,
    help="Folder to write the files into (the units read their configs from --etc-dir).",
)
@click.option("--etc-dir", metavar="DIR", help="Where the units look for the configs (default: /etc/local-llm).")
@click.option(
    "--binary",
    "binaries",
    multiple=True,
    metavar="NAME=PATH",
    help="Where a program is: llama-server, llama-swap, ollama, open-webui, envoy, litellm or llmctl "
    "(default /usr/local/bin/NAME).",
)
@click.option(
    "--flake", metavar="DIR", type=click.Path(file_okay=False), help="Flake whose host INPUT names (default: .)."
)
@click.option("--dry-run", is_flag=True, help="Only list the files and their differences from the folder.")
@click.option(
    "--install", "do_install", is_flag=True, help="Also copy the units into /etc/systemd/system (asks first)."
)
@click.option("--yes", "-y", is_flag=True, help="Install without asking.")
@click.option("--root", metavar="DIR", default="/", show_default=True, help="Install below this folder instead of /.")
@click.option(
    "--configuration-from",
    metavar="FACTS.json",
    type=click.Path(dir_okay=False, exists=True),
    help="Write only CONFIGURATION.md from nix/lib's configurationFacts (what the NixOS module builds).",
)
@json_option
def render(
    source, output, etc_dir, binaries, flake, dry_run, do_install, yes, root, configuration_from, json_
) -> None:
    """Write a host's files from its stack input: units, env files, configs, CONFIGURATION.md.

    INPUT is the stack input (config.services.local-llm.stackInput of a host) as FILE.json
    or FILE.nix, or a host of the flake in --flake. nix/lib is evaluated with
    nix-instantiate (no nixpkgs needed). Files are replaced atomically and only when
    their content changes; --install never replaces a unit llmctl did not write.

    \b
    Examples:
      llmctl render ./strix-halo.json --dry-run
      llmctl render ./host.json -o /etc/local-llm --install
      llmctl render strix-halo --flake . -o ./out --binary llama-server=/opt/llama.cpp/llama-server
    """
    from pathlib import Path

    from llmctl.errors import UsageError
    from llmctl.output import emit_json, info
    from llmctl.render import files as folder
    from llmctl.render.evaluate import evaluate
    from llmctl.render.outputs import install_targets, texts
    from llmctl.render.source import load_input

    if configuration_from is not None:
        from llmctl.render.document import configuration_from_file

        folder.write(Path(output), {Path("CONFIGURATION.md"): configuration_from_file(Path(configuration_from))})
        return
    if source is None:
        raise UsageError("no INPUT given", hint="llmctl render FILE.json (the host's stack input), or --help")
    chosen = {}
    for item in binaries:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UsageError(
                f"--binary {item}: expected NAME=PATH", hint="e.g. --binary llama-server=/opt/bin/llama-server"
            )
        chosen[name] = path
    table = evaluate(load_input(source, flake=Path(flake) if flake else None), binaries=chosen, etc_dir=etc_dir)
    rendered = texts(table)
    out = Path(output)
    found = folder.changes(out, rendered)
    targets = install_targets(table)
    if dry_run:
        planned = folder.installations(Path(root), rendered, targets) if do_install else []
        if json_:
            emit_json(
                {
                    "output": str(out),
                    "files": [{"path": str(c.path), "status": c.status, "diff": c.diff} for c in found],
                    "install": [{"path": str(i.target), "status": i.status} for i in planned],
                }
            )
            return
        for change in found:
            click.echo(f"{change.status:8} {out / change.path}")
            if change.diff:
                click.echo(change.diff, nl=not change.diff.endswith("\n"))
        for item in planned:
            click.echo(f"{item.status:8} {item.target} (install)")
        return
    written = folder.write(out, rendered)
    installed = []
    if do_install:
        if not yes and not click.confirm(
            f"Install {len(targets)} files under {root} (units into etc/systemd/system)?", err=True
        ):
            raise UsageError("not installed", hint="run again with --yes to install without asking")
        installed = folder.install(Path(root), rendered, targets)
    if json_:
        emit_json(
            {
                "output": str(out),
                "written": [str(p) for p in written],
                "unchanged": [str(c.path) for c in found if c.status == "same"],
                "installed": [str(p) for p in installed],
            }
        )
        return
    info(f"{len(written)} of {len(rendered)} files written to {out} ({len(rendered) - len(written)} unchanged)")
    if do_install:
        info(f"{len(installed)} files installed under {root}; then: systemctl daemon-reload")
