"""`download()`: the files of a Hub repository a request names, brought into the
models folder. Resolves the revision, chooses the files (`hub.files`), checks the free
space and that the folder takes writes, transfers each model unit (`hub.transfer`),
tidies the staging area and tells discovery; returns what it found and did.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from llmctl.errors import NO_SPACE_HINT, HubError, LlmctlError, QuantRequired, UsageError
from llmctl.fsutil import announce_change, free_bytes
from llmctl.hub import files, transfer
from llmctl.hub.client import HubClient, RepoRef, find_token
from llmctl.hub.parallel import RangePool
from llmctl.hub.progress import Progress
from llmctl.output import decimal_size

PRESENT, TO_DOWNLOAD, DOWNLOADED = "present", "to download", "downloaded"


@dataclass(frozen=True)
class DownloadRequest:
    repo: str  # ORG/NAME, optionally hf: in front and :QUANT behind
    quants: tuple[str, ...] = ()
    everything: bool = False
    include: tuple[str, ...] = ()
    revision: str = "main"
    projectors: bool = True
    token_file: str | os.PathLike[str] | None = None
    # The budget every file of the download shares; None: up to DEFAULT_CONNECTIONS,
    # 2 until the CPU is seen to have room (hub.connection_probe).
    connections: int | None = None


@dataclass
class FileOutcome:
    unit: files.ModelUnit
    to_write: int  # bytes still to write before the download (0: present)
    status: str  # present, to download (dry run) or downloaded


@dataclass
class DownloadResult:
    ref: RepoRef
    target: Path  # MODELS_DIR/ORG/NAME
    files: list[FileOutcome] = field(default_factory=list)
    free_bytes: int = 0  # before the download
    dry_run: bool = False

    @property
    def total_bytes(self) -> int:
        return sum(f.unit.size for f in self.files)

    @property
    def to_write(self) -> int:
        return sum(f.to_write for f in self.files)

    @property
    def model_ids(self) -> list[str]:
        return sorted({f.unit.model_id for f in self.files if not f.unit.projector})


def parse_repo(repo: str, quants: tuple[str, ...] = ()) -> tuple[str, tuple[str, ...]]:
    """`hf:ORG/NAME:QUANT` as the stack spec writes it -> (ORG/NAME, quants)."""
    repo = repo.removeprefix("hf:").strip("/")
    if ":" in repo:
        repo, quant = repo.split(":", 1)
        quants = (quant, *quants)
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise UsageError(
            f"{repo!r} is not a Hub repository", hint="write ORG/NAME, e.g. bartowski/Meta-Llama-3.1-8B-Instruct-GGUF"
        )
    return repo, quants


def download(
    request: DownloadRequest, models_dir: Path, progress: Progress, *, dry_run: bool = False
) -> DownloadResult:
    """Bring the files `request` names into `models_dir` (with `dry_run`, only find out
    what that takes). Raises QuantRequired when the request names no quant."""
    repo, quants = parse_repo(request.repo, request.quants)
    client = HubClient(token=find_token(request.token_file))
    ref = client.resolve_revision(repo, request.revision)
    units = _select(repo, request, quants, files.group_units(client.list_files(ref)))
    result = DownloadResult(ref, transfer.repo_folder(models_dir, ref.repo), dry_run=dry_run)
    staging = transfer.partial_root(models_dir, ref.repo)
    for unit in units:
        to_write = transfer.bytes_needed(ref, unit, result.target, staging)
        result.files.append(FileOutcome(unit, to_write, TO_DOWNLOAD if to_write else PRESENT))
    result.free_bytes = free_bytes(models_dir)
    if dry_run:
        return result
    if result.to_write > result.free_bytes:
        raise HubError(
            f"not enough free space in {models_dir}: {decimal_size(result.to_write)} to write, "
            f"{decimal_size(result.free_bytes)} available",
            hint=NO_SPACE_HINT,
        )
    progress.begin(sum(f.unit.size for f in result.files if f.status == TO_DOWNLOAD))
    pool = RangePool(client, request.connections, progress)
    try:
        _writable(staging, models_dir)
        with progress:
            for outcome in result.files:
                outcome.status = transfer.download_unit(pool, ref, outcome.unit, result.target, staging, progress)
    finally:
        transfer.cleanup_staging(staging)
    if any(outcome.status == DOWNLOADED for outcome in result.files):
        announce_change(models_dir)
    return result


def _select(repo: str, request: DownloadRequest, quants: tuple[str, ...], units: list[files.ModelUnit]):
    """The units the request asks for; every refusal says what there is instead."""
    where = f"{repo}@{request.revision}"
    if not files.model_units(units) and not request.include:
        raise HubError(f"{where} has no GGUF model files", hint="check the repository name")
    if not quants and not request.everything and not request.include:
        available = files.available_quants(units)
        raise QuantRequired(
            f"{repo}: name the quant(s) to download",
            hint=f"e.g. `llmctl download {repo} {_example_quant(available)}`, or --all for every quant",
            available=available,
        )
    selection = files.select(
        units,
        list(quants),
        everything=request.everything,
        include=list(request.include),
        projectors=request.projectors,
    )
    if selection.unmatched:
        listed = ", ".join(sorted({q for q, _, _ in files.available_quants(units)}, key=str.lower))
        raise UsageError(
            f"{repo}: no file for quant {', '.join(selection.unmatched)}; available: {listed}",
            hint="quants match case-insensitively and exactly; --all downloads every quant",
        )
    if not selection.units:
        raise UsageError(f"{repo}: --include {' '.join(request.include)} matches no GGUF file")
    for unit in selection.units:
        missing = files.missing_parts(unit)
        if missing:
            raise HubError(f"{repo}: {unit.path} is incomplete on the Hub, missing {', '.join(missing)}")
    return selection.units


def _example_quant(available: list[tuple[str, int, str]]) -> str:
    quants = [quant for quant, _, _ in available]
    return next((q for q in quants if q.upper() == "Q4_K_M"), quants[0] if quants else "Q4_K_M")


def _writable(staging: Path, folder: Path) -> None:
    """Fail before the first byte when the models folder refuses writes (read-only, another owner)."""
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LlmctlError(
            f"cannot write to the models folder {folder}: {error.strerror}",
            hint="run as a user who may write there, or pass --models-dir",
        ) from None
