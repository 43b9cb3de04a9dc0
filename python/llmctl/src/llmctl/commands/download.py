"""`llmctl download`: GGUF models from the Hugging Face Hub, resumable and verified."""

from __future__ import annotations

import click

from llmctl.hub import DEFAULT_CONNECTIONS
from llmctl.options import json_option, models_dir_option, resolve_models_dir, stack_option
from llmctl.output import decimal_size, emit_json, info, table


@click.command()
@click.argument("repo")
@click.argument("quants", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Download every quant of the repository.")
@click.option(
    "--include",
    "include",
    multiple=True,
    metavar="GLOB",
    help="Also download files matching GLOB (case-sensitive, `*` crosses `/`); repeatable.",
)
@click.option("--revision", default="main", show_default=True, help="Branch, tag or commit to download from.")
@models_dir_option
@click.option(
    "--dry-run", is_flag=True, help="Only show the files, their sizes, the total and the free space left afterwards."
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="Read the Hub token from FILE (default: $HF_TOKEN, then $HF_HOME/token).",
)
@click.option("--no-mmproj", is_flag=True, help="Do not add the vision projector (mmproj) of a vision model.")
@click.option(
    "--connections",
    type=click.IntRange(1, 64),
    metavar="N",
    help=(
        "Range requests in flight at once, shared by all files (1: one stream); fewer when the server caps them. "
        f"Default: 2, then up to {DEFAULT_CONNECTIONS} unless the CPU is already busy."
    ),
)
@json_option
@stack_option
def download(
    repo, quants, everything, include, revision, models_dir, dry_run, token_file, no_mmproj, connections, json_
) -> None:
    """Download GGUF models from the Hugging Face Hub into the models folder.

    REPO is ORG/NAME, optionally with :QUANT (also hf:ORG/NAME:QUANT as in the stack
    spec). Quants match case-insensitively and exactly (Q4_K never selects Q4_K_M); all
    parts of a split model and the projector of a vision model come along. Files go to
    MODELS_DIR/ORG/NAME/ (subfolders kept); bytes arrive over --connections range
    requests at once, are staged in MODELS_DIR/.partial/ with a record of the chunks
    written, verified against the Hub's sha256, then renamed into place. An
    interrupted download (even killed) resumes every finished chunk. Without a quant
    the available ones are listed.

    \b
    Examples:
      llmctl download bartowski/Meta-Llama-3.1-8B-Instruct-GGUF Q4_K_M
      llmctl download bartowski/Meta-Llama-3.1-8B-Instruct-GGUF:Q4_K_M --dry-run
      llmctl download bartowski/Meta-Llama-3.1-8B-Instruct-GGUF --all
      llmctl download unsloth/gemma-3-4b-it-GGUF UD-Q4_K_XL --no-mmproj
      HF_TOKEN=hf_... llmctl download meta-llama/Llama-3.2-1B-GGUF Q8_0 --json
    """
    from llmctl.errors import QuantRequired
    from llmctl.hub.download import DownloadRequest
    from llmctl.hub.download import download as fetch
    from llmctl.hub.progress import for_terminal

    request = DownloadRequest(
        repo,
        quants,
        everything=everything,
        include=include,
        revision=revision,
        projectors=not no_mmproj,
        token_file=token_file,
        connections=connections,
    )
    try:
        result = fetch(request, resolve_models_dir(models_dir), for_terminal(quiet=json_), dry_run=dry_run)
    except QuantRequired as error:
        _show_quants(error.available, json_)
        raise
    if dry_run:
        _show_plan(result, json_)
    else:
        _summary(result, json_)


def _show_quants(rows, json_: bool) -> None:
    if json_:
        emit_json({"quants": [{"quant": q, "size": size, "path": path} for q, size, path in rows]})
        return
    table(["quant", "size", "file"], [(q, decimal_size(size), path) for q, size, path in rows])


def _show_plan(result, json_: bool) -> None:
    """The files, their sizes and what is still to write."""
    files = [
        {
            "path": f.unit.path,
            "size": f.unit.size,
            "parts": [p.path for p in f.unit.parts],
            "present": f.to_write == 0,
            "model_id": None if f.unit.projector else f.unit.model_id,
        }
        for f in result.files
    ]
    ref, total, needed, free = result.ref, result.total_bytes, result.to_write, result.free_bytes
    if json_:
        emit_json(
            {
                "repo": ref.repo,
                "commit": ref.commit,
                "target": str(result.target),
                "files": files,
                "total": total,
                "to_write": needed,
                "free_after": free - needed,
            }
        )
        return
    table(
        ["file", "size", "state"],
        [(f["path"], decimal_size(f["size"]), "present" if f["present"] else "to download") for f in files],
        title=f"{ref.repo} @ {ref.commit[:12]} -> {result.target}",
    )
    click.echo(
        f"total {decimal_size(total)}, to write {decimal_size(needed)}, free afterwards {decimal_size(free - needed)}"
    )


def _summary(result, json_: bool) -> None:
    if json_:
        emit_json(
            {
                "repo": result.ref.repo,
                "commit": result.ref.commit,
                "target": str(result.target),
                "files": [
                    {"path": str(result.target / f.unit.path), "size": f.unit.size, "status": f.status}
                    for f in result.files
                ],
                "model_ids": result.model_ids,
            }
        )
        return
    downloaded = [f.unit for f in result.files if f.status == "downloaded"]
    info(
        f"{len(downloaded)} downloaded ({decimal_size(sum(u.size for u in downloaded))}), "
        f"{len(result.files) - len(downloaded)} already present, in {result.target}"
    )
    click.echo("model IDs: " + ", ".join(result.model_ids))
