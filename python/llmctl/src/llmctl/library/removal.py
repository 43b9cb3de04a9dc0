"""What `llmctl rm` removes: a model of the inventory and the projectors it leaves unused."""

from __future__ import annotations

from pathlib import Path

from llmctl.core.inventory import Inventory


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
