"""The GGUF headers of a Hub repository's models, read with HTTP Range requests.

`llmctl plan ORG/REPO[:QUANT]` plans a 40 GiB model from a few hundred KiB: the
files are chosen as `llmctl download` chooses them (`hub.files`), and only the
bytes the GGUF reader asks for are fetched through `HubClient.open_range`.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmctl.errors import GGUFError, HubError
from llmctl.gguf.reader import GGUFHeader, read_gguf_source
from llmctl.hub.client import HubClient, RepoRef, find_token
from llmctl.hub.files import ModelUnit, RemoteFile, group_units, model_units, select, unit_label


@dataclass(frozen=True)
class RemoteModel:
    """One model of a repository: its quant (or stem), the header of every shard, and
    the bytes it took to read them."""

    label: str
    headers: list[GGUFHeader]
    bytes_fetched: int


class HubRangeSource:
    """A ByteSource over one Hub file, or over byte-split pieces read as one file;
    counts the bytes it fetched."""

    def __init__(self, client: HubClient, ref: RepoRef, path: str, parts: list[RemoteFile]):
        self.name = f"{ref.repo}/{path}"
        self._client = client
        self._parts = [(client.file_url(ref, part.path), part.size) for part in parts]
        self.bytes_fetched = 0

    def size(self) -> int:
        return sum(size for _, size in self._parts)

    def read_at(self, offset: int, length: int) -> bytes:
        chunks, start = [], 0
        for url, size in self._parts:
            first, stop = max(offset, start), min(offset + length, start + size)
            if first < stop:
                chunks.append(self._client.open_range(url, first - start, stop - first))
            start += size
        data = b"".join(chunks)
        self.bytes_fetched += len(data)
        return data


def read_unit_headers(client: HubClient, ref: RepoRef, unit: ModelUnit) -> tuple[list[GGUFHeader], int]:
    """The header of every shard of `unit` (one for a single or byte-split file) and the bytes fetched."""
    pieces = [(unit.path, unit.parts)] if unit.joined else [(part.path, [part]) for part in unit.parts]
    headers, fetched = [], 0
    for path, parts in pieces:
        source = HubRangeSource(client, ref, path, parts)
        try:
            headers.append(read_gguf_source(source, tensors=True))
        except GGUFError as error:
            raise HubError(str(error)) from error  # a remote file: the local-file hint does not apply
        finally:
            fetched += source.bytes_fetched
    return headers, fetched


def remote_models(repo: str, quant: str | None) -> list[RemoteModel]:
    """One RemoteModel per model `quant` selects; without a quant, one per quant of the
    repository (its first model unit). Projectors are not models."""
    client = HubClient(token=find_token())
    ref = client.resolve_revision(repo)
    units = group_units(client.list_files(ref))
    if not model_units(units):
        raise HubError(f"{repo} has no GGUF model files", hint="check the repository name")
    if quant:
        selection = select(units, [quant], projectors=False)
        if selection.unmatched:
            hint = f"run `llmctl plan {repo}` to list its quants"
            raise HubError(f"{repo} has no GGUF file for quant {quant}", hint=hint)
        chosen = selection.units
    else:
        first_per_quant: dict[str, ModelUnit] = {}
        for unit in model_units(units):
            first_per_quant.setdefault(unit_label(unit).lower(), unit)
        chosen = list(first_per_quant.values())
    found = []
    for unit in chosen:
        headers, fetched = read_unit_headers(client, ref, unit)
        found.append(RemoteModel(unit_label(unit), headers, fetched))
    return found
