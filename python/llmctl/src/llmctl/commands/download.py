"""`llmctl download`: GGUF models from the Hugging Face Hub, resumable and verified."""

from __future__ import annotations

from pathlib import Path

import click

from llmctl.app import run_context, stack_option
from llmctl.errors import LlmctlError, UsageError
from llmctl.output import decimal_size, emit_json, info, json_option, table


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
@click.option(
    "--models-dir", type=click.Path(file_okay=False), help="Models folder (default: modelsDir of the stack spec)."
)
@click.option(
    "--dry-run", is_flag=True, help="Only show the files, their sizes, the total and the free space left afterwards."
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="Read the Hub token from FILE (default: $HF_TOKEN, then $HF_HOME/token).",
)
@click.option("--no-mmproj", is_flag=True, help="Do not add the vision projector (mmproj) of a vision model.")
@json_option
@stack_option
def download(repo, quants, everything, include, revision, models_dir, dry_run, token_file, no_mmproj, json_) -> None:
    """Download GGUF models from the Hugging Face Hub into the models folder.

    REPO is ORG/NAME, optionally with :QUANT (also hf:ORG/NAME:QUANT as in the stack
    spec). Quants match case-insensitively and exactly (Q4_K never selects Q4_K_M); all
    parts of a split model and the projector of a vision model come along. Files go to
    MODELS_DIR/ORG/NAME/ (subfolders kept); bytes are staged in MODELS_DIR/.partial/,
    verified against the Hub's sha256, then renamed into place. An interrupted
    download resumes where it stopped. Without a quant the available ones are listed.

    \b
    Examples:
      llmctl download bartowski/Meta-Llama-3.1-8B-Instruct-GGUF Q4_K_M
      llmctl download bartowski/Meta-Llama-3.1-8B-Instruct-GGUF:Q4_K_M --dry-run
      llmctl download bartowski/Meta-Llama-3.1-8B-Instruct-GGUF --all
      llmctl download unsloth/gemma-3-4b-it-GGUF UD-Q4_K_XL --no-mmproj
      HF_TOKEN=hf_... llmctl download meta-llama/Llama-3.2-1B-GGUF Q8_0 --json
    """
    from llmctl.core import hub, repo_files, transfer
    from llmctl.core.atomic import announce_change

    repo, quants = _parse_repo(repo, list(quants))
    folder = Path(models_dir) if models_dir else run_context().stack(required=False).models_dir
    client = hub.HubClient(token=hub.find_token(token_file))
    ref = client.resolve_revision(repo, revision)
    units = repo_files.group_units(client.list_files(ref))
    if not repo_files.model_units(units) and not include:
        raise LlmctlError(f"{repo}@{revision} has no GGUF model files", hint="check the repository name")
    if not quants and not everything and not include:
        _show_quants(units, json_)
        raise UsageError(
            f"{repo}: name the quant(s) to download",
            hint=f"e.g. `llmctl download {repo} {_example_quant(units)}`, or --all for every quant",
        )
    selection = repo_files.select(
        units, quants, everything=everything, include=list(include), projectors=not no_mmproj
    )
    if selection.unmatched:
        listed = ", ".join(sorted({q for q, _, _ in repo_files.available_quants(units)}, key=str.lower))
        raise UsageError(
            f"{repo}: no file for quant {', '.join(selection.unmatched)}; available: {listed}",
            hint="quants match case-insensitively and exactly; --all downloads every quant",
        )
    if not selection.units:
        raise UsageError(f"{repo}: --include {' '.join(include)} matches no GGUF file")
    for unit in selection.units:
        missing = repo_files.missing_parts(unit)
        if missing:
            raise LlmctlError(f"{repo}: {unit.path} is incomplete on the Hub, missing {', '.join(missing)}")

    repo_dir = transfer.repo_folder(folder, ref.repo)
    staging = transfer.partial_root(folder, ref.repo)
    to_write = [transfer.bytes_needed(u, repo_dir, staging) for u in selection.units]
    needed = sum(to_write)
    free = transfer.free_bytes(folder)
    if dry_run:
        _show_plan(ref, list(zip(selection.units, to_write, strict=True)), repo_dir, needed, free, json_)
        return
    if needed > free:
        raise LlmctlError(
            f"not enough free space in {folder}: {decimal_size(needed)} to write, {decimal_size(free)} available",
            hint="free some space, or pass --models-dir on a larger filesystem",
        )
    progress = _progress(json_, sum(u.size for u in selection.units))
    results = []
    try:
        _writable(staging, folder)
        with progress:
            for unit in selection.units:
                status = transfer.download_unit(client, ref, unit, repo_dir, staging, progress)
                results.append((unit, status))
    finally:
        transfer.cleanup_staging(staging)
    if any(status == "downloaded" for _, status in results):
        announce_change(folder)
    _summary(ref, results, repo_dir, json_)


def _writable(staging: Path, folder: Path) -> None:
    """Fail before the first byte when the models folder refuses writes (read-only, another owner)."""
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LlmctlError(
            f"cannot write to the models folder {folder}: {error.strerror}",
            hint="run as a user who may write there, or pass --models-dir",
        ) from None


def _parse_repo(repo: str, quants: list[str]) -> tuple[str, list[str]]:
    repo = repo.removeprefix("hf:").strip("/")
    if ":" in repo:
        repo, quant = repo.split(":", 1)
        quants = [quant, *quants]
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise UsageError(
            f"{repo!r} is not a Hub repository", hint="write ORG/NAME, e.g. bartowski/Meta-Llama-3.1-8B-Instruct-GGUF"
        )
    return repo, quants


def _example_quant(units) -> str:
    from llmctl.core.repo_files import available_quants

    quants = [q for q, _, _ in available_quants(units)]
    return next((q for q in quants if q.upper() == "Q4_K_M"), quants[0] if quants else "Q4_K_M")


def _show_quants(units, json_: bool) -> None:
    from llmctl.core.repo_files import available_quants

    rows = available_quants(units)
    if json_:
        emit_json({"quants": [{"quant": q, "size": size, "path": path} for q, size, path in rows]})
        return
    table(["quant", "size", "file"], [(q, decimal_size(size), path) for q, size, path in rows])


def _show_plan(ref, plan, repo_dir, needed, free, json_: bool) -> None:
    """`plan`: (unit, bytes it still has to write) for every selected unit."""
    files = [
        {
            "path": unit.path,
            "size": unit.size,
            "parts": [p.path for p in unit.parts],
            "present": to_write == 0,
            "model_id": None if unit.projector else unit.model_id,
        }
        for unit, to_write in plan
    ]
    total = sum(unit.size for unit, _ in plan)
    if json_:
        emit_json(
            {
                "repo": ref.repo,
                "commit": ref.commit,
                "target": str(repo_dir),
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
        title=f"{ref.repo} @ {ref.commit[:12]} -> {repo_dir}",
    )
    click.echo(
        f"total {decimal_size(total)}, to write {decimal_size(needed)}, free afterwards {decimal_size(free - needed)}"
    )


def _summary(ref, results, repo_dir: Path, json_: bool) -> None:
    model_ids = sorted({unit.model_id for unit, _ in results if not unit.projector})
    if json_:
        emit_json(
            {
                "repo": ref.repo,
                "commit": ref.commit,
                "target": str(repo_dir),
                "files": [
                    {"path": str(repo_dir / unit.path), "size": unit.size, "status": status}
                    for unit, status in results
                ],
                "model_ids": model_ids,
            }
        )
        return
    downloaded = [unit for unit, status in results if status == "downloaded"]
    info(
        f"{len(downloaded)} downloaded ({decimal_size(sum(u.size for u in downloaded))}), "
        f"{len(results) - len(downloaded)} already present, in {repo_dir}"
    )
    click.echo("model IDs: " + ", ".join(model_ids))


def _progress(json_: bool, total: int):
    import sys

    from llmctl.core.download_progress import PlainProgress, QuietProgress, RichProgress

    if json_:
        return QuietProgress()
    if sys.stderr.isatty():
        return RichProgress(total)
    return PlainProgress()
