"""The GGUF files of a models folder as `llmctl rm` sees them (dot-folders and partial files skipped)."""

from __future__ import annotations

import os
from pathlib import Path

from llmctl.core.model_ids import model_id_for
from llmctl.core.repo_files import is_projector


def gguf_files(models_dir: Path, under: Path | None = None) -> list[Path]:
    """Every `.gguf` below `under` (default: the models folder), skipping dot-folders."""
    found = []
    for folder, subfolders, names in os.walk(under or models_dir):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        found += [Path(folder) / n for n in sorted(names) if n.lower().endswith(".gguf") and not n.startswith(".")]
    return found


def model_files(models_dir: Path, model_id: str) -> list[Path]:
    """The files of model `model_id`: the file, or every shard of a split set."""
    wanted = model_id.lower()
    return [p for p in gguf_files(models_dir) if not is_projector(p.name) and model_id_for(p) == wanted]


def model_ids(models_dir: Path) -> list[str]:
    return sorted({model_id_for(p) for p in gguf_files(models_dir) if not is_projector(p.name)})


def orphaned_projectors(models_dir: Path, removed: list[Path]) -> list[Path]:
    """Projectors next to (or above) the removed files that no remaining model uses.

    A projector serves the models in its folder and below, as the Hub's repositories
    lay them out (bartowski keeps split quants in subfolders, the mmproj at the root).
    """
    gone = set(removed)
    folders = {p.parent for p in removed}
    candidates = set()
    for folder in folders:
        for ancestor in (folder, *folder.parents):
            if ancestor == models_dir.parent or not ancestor.is_relative_to(models_dir):
                break
            candidates |= {p for p in ancestor.glob("*.gguf") if is_projector(p.name)}
    orphaned = []
    for projector in sorted(candidates):
        users = [p for p in gguf_files(models_dir, projector.parent) if not is_projector(p.name) and p not in gone]
        if not users:
            orphaned.append(projector)
    return orphaned
