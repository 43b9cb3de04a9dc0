"""The inventory of a models folder: grouping, pairing, roles, partial downloads and bad input."""

from __future__ import annotations

import errno
import json
import os
import shutil
import struct
import tracemalloc
from pathlib import Path

import gguf
import numpy as np
import pytest

from llmctl.gguf.summary import SummaryCache
from llmctl.library.inventory import scan
from testkit.tools import missing


def place(folder: Path, source: Path, name: str | None = None) -> Path:
    target = folder / (name or source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def write_projector(path: Path) -> Path:
    """A header-only vision projector (clip architecture)."""
    writer = gguf.GGUFWriter(path, "clip")
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_tensor("v.patch_embd.weight", np.zeros((4, 32), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def by_id(inventory):
    return {model.id: model for model in inventory.models}


def reasons(inventory):
    return {item.path.name: item.reason for item in inventory.invalid}


@pytest.fixture
def mixed(tmp_path, tiny_models):
    root = tmp_path / "models"
    place(root, tiny_models.chat, "Tiny-Llama-Q4_K_M.gguf")
    place(root / "enc", tiny_models.embedding)
    place(root / "enc", tiny_models.reranker)
    for shard in tiny_models.split:
        place(root / "big", shard)
    place(root / "gemma", tiny_models.gemma3)
    write_projector(root / "gemma" / "mmproj-tiny-gemma3-F16.gguf")
    return root


def test_every_kind_is_found_with_its_role_and_facts(mixed, tiny_models):
    inventory = scan(mixed)
    models = by_id(inventory)
    assert {m: models[m].role for m in models} == {
        "tiny-llama-q4_k_m": "chat",
        "tiny-embed-f16": "embedding",
        "tiny-rerank-f16": "rerank",
        "tiny-split-f16": "chat",
        "tiny-gemma3-f16": "chat",
    }
    assert inventory.invalid == []
    chat = models["tiny-llama-q4_k_m"]
    assert (chat.summary.architecture, chat.summary.quantization) == ("llama", "F16")
    assert chat.summary.context_length == tiny_models.chat_shape.n_ctx_train
    assert chat.size_bytes == tiny_models.chat.stat().st_size
    split = models["tiny-split-f16"]
    assert split.usable and split.split == {"count": 2, "present": [1, 2], "missing": []}
    assert split.paths == [mixed / "big" / shard.name for shard in tiny_models.split]
    assert split.size_bytes == sum(shard.stat().st_size for shard in tiny_models.split)
    assert split.summary.parameter_count == chat.summary.parameter_count  # same shape, split in two
    # The projector is paired with the chat model beside it and is not a model itself.
    assert models["tiny-gemma3-f16"].mmproj == mixed / "gemma" / "mmproj-tiny-gemma3-F16.gguf"
    assert [p.path.name for p in inventory.projectors] == ["mmproj-tiny-gemma3-F16.gguf"]
    assert models["tiny-llama-q4_k_m"].mmproj is None


def test_scan_is_stable_and_json_ready(mixed):
    first, second = scan(mixed).to_json(), scan(mixed).to_json()
    assert first == second
    assert [m["id"] for m in first["models"]] == sorted(m["id"] for m in first["models"])


def test_incomplete_split_is_listed_but_not_usable(tmp_path, tiny_models):
    place(tmp_path, tiny_models.split[0])
    (model,) = scan(tmp_path).models
    assert not model.usable
    assert model.split["missing"] == [2]
    assert "incomplete split" in model.notes[0]
    assert scan(tmp_path).usable() == []


def test_partial_downloads_and_other_files_are_ignored(tmp_path, tiny_models):
    place(tmp_path / ".partial", tiny_models.chat, "staged.gguf")
    place(tmp_path, tiny_models.chat, "x.gguf.part")
    place(tmp_path, tiny_models.chat, "y.gguf.incomplete")
    place(tmp_path, tiny_models.chat, ".hidden.gguf")
    (tmp_path / "README.md").write_text("hi")
    inventory = scan(tmp_path)
    assert inventory.models == [] and inventory.invalid == [] and inventory.projectors == []


def test_same_name_in_two_folders_gets_folder_prefixed_ids(tmp_path, tiny_models):
    place(tmp_path / "a", tiny_models.chat, "M.gguf")
    place(tmp_path / "b" / "c", tiny_models.chat, "m.gguf")
    place(tmp_path, tiny_models.embedding, "unique.gguf")
    assert sorted(by_id(scan(tmp_path))) == ["a/m", "b/c/m", "unique"]


def test_bad_input_is_listed_with_reasons_in_bounded_memory(tmp_path, tiny_models, monkeypatch):
    place(tmp_path, tiny_models.truncated, "truncated.gguf")
    place(tmp_path, tiny_models.wrong_magic, "wrong-magic.gguf")
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"a"
    (tmp_path / "huge-array.gguf").write_bytes(header + struct.pack("<IIQ", 9, 8, 2**60))
    (tmp_path / "empty.gguf").write_bytes(b"")
    (tmp_path / "x.gguf").mkdir()
    (tmp_path / "dangling.gguf").symlink_to(tmp_path / "nowhere.gguf")
    locked = place(tmp_path, tiny_models.chat, "locked.gguf")
    real_open = os.open

    def deny(path, *args, **kwargs):
        if os.fspath(path) == str(locked):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    tracemalloc.start()
    try:
        inventory = scan(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    found = reasons(inventory)
    assert found["truncated.gguf"].startswith("truncated: tensor data needs")
    assert found["wrong-magic.gguf"].startswith("not a GGUF file: magic is b'GGXF'")
    assert "claims 1152921504606846976 strings" in found["huge-array.gguf"]
    assert found["empty.gguf"] == "empty file"
    assert found["x.gguf"] == "is a directory, not a file"
    assert found["dangling.gguf"].startswith("cannot be read")
    assert found["locked.gguf"] == "cannot be read: Permission denied"
    assert inventory.models == []
    assert peak < 16 << 20, f"scan peaked at {peak} bytes"


def test_unreadable_folder_as_an_unprivileged_user(tiny_models):
    """A real permission error from the kernel: a forked child drops to nobody and
    scans a folder with a root-only sub-folder (modules are imported before the fork)."""
    import json
    import tempfile

    if os.geteuid() != 0:
        missing("needs root to drop privileges (./dev test in CI runs as root)")
    # pytest's tmp_path is private to root; nobody must reach this folder.
    base = Path(tempfile.mkdtemp(prefix="llmctl-unreadable-"))
    try:
        base.chmod(0o755)
        root = base / "models"
        root.mkdir(mode=0o755)
        shutil.copyfile(tiny_models.chat, root / "ok.gguf")
        (root / "ok.gguf").chmod(0o644)
        (root / "private").mkdir(mode=0o700)
        shutil.copyfile(tiny_models.chat, root / "private" / "secret.gguf")
        scan(root)  # warm the lazy imports (gguf) while still root
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                os.close(read_end)
                os.setgroups([])
                os.setresgid(65534, 65534, 65534)
                os.setresuid(65534, 65534, 65534)
                inventory = scan(root)
                result = {
                    "models": [m.id for m in inventory.models],
                    "invalid": [i.to_json() for i in inventory.invalid],
                }
                os.write(write_end, json.dumps(result).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            output = pipe.read()
        _, status = os.waitpid(child, 0)
    finally:
        shutil.rmtree(base)
    assert os.waitstatus_to_exitcode(status) == 0
    result = json.loads(output)
    assert result["models"] == ["ok"]
    assert result["invalid"] == [
        {"path": str(root / "private"), "reason": "folder cannot be listed: Permission denied", "offset": None}
    ]


def test_file_names_with_control_characters_are_refused(tmp_path, tiny_models):
    place(tmp_path, tiny_models.chat, "new\nline.gguf")
    place(tmp_path, tiny_models.chat, "line\u2028separator.gguf")
    place(tmp_path, tiny_models.chat, "spaces and $(stuff).gguf")
    inventory = scan(tmp_path)
    assert [m.id for m in inventory.models] == ["spaces-and-stuff"]
    assert "control character" in reasons(inventory)["new\nline.gguf"]
    assert "control character" in reasons(inventory)["line\u2028separator.gguf"]


def test_symlinks_files_followed_folders_not(tmp_path, tiny_models):
    root = tmp_path / "models"
    root.mkdir()
    outside = place(tmp_path / "elsewhere", tiny_models.chat, "far.gguf")
    (root / "far.gguf").symlink_to(outside)
    inside = place(root / "store", tiny_models.embedding, "near.gguf")
    (root / "near-link.gguf").symlink_to(inside)
    (root / "linked-folder").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    inventory = scan(root)
    models = by_id(inventory)
    assert models["far"].target == outside.resolve()
    assert any("outside the models folder" in note for note in models["far"].notes)
    assert models["far"].path == root / "far.gguf"  # served through the link
    assert models["near-link"].target is None and models["near"].target is None
    assert [(item.path.name, item.reason) for item in inventory.skipped] == [
        ("linked-folder", "symlinked folder: not followed (link the model files instead)")
    ]


def test_cache_answers_unchanged_files_and_notices_changes(tmp_path, tiny_models):
    root = tmp_path / "models"
    place(root, tiny_models.chat, "a.gguf")
    place(root, tiny_models.embedding, "b.gguf")
    cold = SummaryCache(tmp_path / "cache")
    first = scan(root, cold)
    assert (cold.hits, cold.misses) == (0, 2)
    warm = SummaryCache(tmp_path / "cache")
    assert scan(root, warm).to_json() == first.to_json()
    assert (warm.hits, warm.misses) == (1 + 1, 0)
    shutil.copyfile(tiny_models.reranker, root / "b.gguf")  # new size and mtime
    again = SummaryCache(tmp_path / "cache")
    assert by_id(scan(root, again))["b"].role == "rerank"
    assert (again.hits, again.misses) == (1, 1)


def test_cache_keeps_entries_per_file_so_two_folders_do_not_evict_each_other(tmp_path, tiny_models):
    first, second = tmp_path / "first", tmp_path / "second"
    place(first, tiny_models.chat, "a.gguf")
    place(second, tiny_models.embedding, "b.gguf")
    for folder in (first, second):
        scan(folder, SummaryCache(tmp_path / "cache"))
    for folder in (first, second, first):
        warm = SummaryCache(tmp_path / "cache")
        scan(folder, warm)
        assert (warm.hits, warm.misses) == (1, 0), f"{folder.name} was evicted by the other folder's scan"
    (first / "a.gguf").unlink()  # gone: its entry leaves with the next scan of its folder
    scan(first, SummaryCache(tmp_path / "cache"))
    entries = json.loads((tmp_path / "cache" / "gguf-summaries.json").read_text())["entries"]
    assert [entry["path"] for entry in entries.values()] == [str(second / "b.gguf")]


@pytest.mark.parametrize("entry", ["not json", "entries not a map", 1, {"bogus": 1}])
def test_a_damaged_cache_only_costs_a_rescan(tmp_path, tiny_models, entry):
    import json

    root = tmp_path / "models"
    model = place(root, tiny_models.chat, "a.gguf")
    (tmp_path / "cache").mkdir()
    if entry == "not json":
        content = "{not json"
    elif entry == "entries not a map":
        content = json.dumps({"version": 2, "entries": []})
    else:  # an entry under the file's own key, of the wrong shape
        content = json.dumps({"version": 2, "entries": {SummaryCache.key(model.stat()): entry}})
    (tmp_path / "cache" / "gguf-summaries.json").write_text(content)
    cache = SummaryCache(tmp_path / "cache")
    assert [m.id for m in scan(root, cache).models] == ["a"]
    assert (cache.hits, cache.misses) == (0, 1)


def test_missing_models_folder_is_a_clear_error(tmp_path):
    from llmctl.errors import LlmctlError

    with pytest.raises(LlmctlError, match="cannot be read"):
        scan(tmp_path / "absent")
