"""What `llmctl rm` removes, and the removal itself: a model of the inventory (every
split part) and the projectors it leaves unused; folders it leaves empty go too."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from llmctl.errors import LlmctlError, ModelsFolderError
from llmctl.fsutil import announce_change
from llmctl.library.ids import model_id_for
from llmctl.library.inventory import Inventory, load


@dataclass(frozen=True)
class Removal:
    model: str  # as the user named it
    folder: Path  # the models folder
    files: list[Path]  # the model's files, then the projectors only it used
    size_bytes: int


def plan_removal(folder: Path, model: str) -> Removal:
    """The files removing `model` (its model ID) from `folder` deletes."""
    inventory = load(folder)
    found = inventory.find(model)
    if found is None:
        _not_found(inventory, model)
    files = list(found.paths)
    doomed = files + orphaned_projectors(inventory, files)
    return Removal(model, inventory.root, doomed, sum(path.stat().st_size for path in doomed))


def remove(removal: Removal) -> None:
    """Delete the files, prune the folders they leave empty and tell discovery."""
    folder, doomed = removal.folder, removal.files
    for done, path in enumerate(doomed):
        try:
            path.unlink(missing_ok=True)  # gone already: another rm got there first
        except OSError as error:
            if done:
                announce_change(folder)
            raise LlmctlError(
                f"cannot remove {path}: {error.strerror}; {done} of {len(doomed)} file(s) removed",
                hint="check that the models folder is writable for this user, then run the command again",
            ) from None
    for parent in sorted({p.parent for p in doomed}, key=lambda p: len(p.parts), reverse=True):
        _prune_empty(parent, folder)
    announce_change(folder)


def orphaned_projectors(inventory: Inventory, removed: list[Path]) -> list[Path]:
    """Projectors next to (or above) the removed files that no remaining model uses.

    A projector serves the models in its folder and below, as the Hub's repositories
    lay them out (bartowski keeps split quants in subfolders, the mmproj at the root).
    """
    gone = set(removed)
    folders = {path.parent for path in removed}
    # An unreadable model file still counts as a user: keep its projector rather than guess.
    users = [path for model in inventory.models for path in model.paths] + [item.path for item in inventory.invalid]
    remaining = [path for path in users if path not in gone]
    orphaned = []
    for projector in inventory.projectors:
        folder = projector.path.parent
        serves_removed = any(f == folder or f.is_relative_to(folder) for f in folders)
        if serves_removed and not any(path.is_relative_to(folder) for path in remaining):
            orphaned.append(projector.path)
    return sorted(orphaned)


def _not_found(inventory: Inventory, model: str) -> NoReturn:
    unreadable = [item.path for item in inventory.invalid if model_id_for(item.path) == model.lower()]
    if unreadable:
        raise ModelsFolderError(
            f"{model!r} is not a readable model: {unreadable[0]} is listed as invalid by `llmctl models`",
            hint="delete the file by hand if you do not want it",
        )
    close = difflib.get_close_matches(model.lower(), [m.id for m in inventory.models], n=3, cutoff=0.5)
    raise ModelsFolderError(
        f"no model {model!r} in {inventory.root}",
        hint=f"did you mean {', '.join(close)}?" if close else "`llmctl models` lists the model IDs",
    )


def _prune_empty(folder: Path, models_dir: Path) -> None:
    """Remove folders the model leaves empty, up to (not including) the models folder."""
    while folder != models_dir and folder.is_relative_to(models_dir):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
