"""The output folder and the system folders: what differs (`changes`), writing only what
changed, atomically (`write`), and `--install`: copying units into /etc/systemd/system
(and sysusers.d, tmpfiles.d) without ever replacing a file llmctl did not write. What it
wrote is recorded in a manifest in each system folder, by the hashes of the contents it
wrote: a file there is replaced only when it is absent or holds what llmctl wrote."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from llmctl.errors import RenderError, from_os_error
from llmctl.fsutil import write_atomic, write_if_changed

MANIFEST = ".llmctl-render-manifest.json"


@dataclass(frozen=True)
class Change:
    path: Path  # relative to the folder
    status: str  # "new", "changed" or "same"
    diff: str = ""


def changes(folder: Path, texts: dict[Path, str]) -> list[Change]:
    """Every file against what `folder` holds, with a unified diff where it differs."""
    found = []
    for relative, text in sorted(texts.items()):
        target = folder / relative
        try:
            old = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            found.append(Change(relative, "new", _diff("/dev/null", str(relative), "", text)))
            continue
        except (OSError, UnicodeDecodeError):
            old = None
        if old == text:
            found.append(Change(relative, "same"))
        else:
            found.append(Change(relative, "changed", _diff(f"a/{relative}", f"b/{relative}", old or "", text)))
    return found


def _diff(before: str, after: str, old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), before, after))


def write(folder: Path, texts: dict[Path, str]) -> list[Path]:
    """Write what changed (atomically); returns the paths written."""
    written = []
    for relative, text in sorted(texts.items()):
        target = folder / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if write_if_changed(target, text):
                written.append(relative)
        except OSError as error:
            raise from_os_error(error, f"writing {target}") from error
    return written


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# Hashes kept per file: the last few contents llmctl wrote there.
KEPT = 4


def _manifest(folder: Path) -> dict[str, list[str]]:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise RenderError(f"cannot read {folder / MANIFEST}: {error}", hint="remove it to start afresh") from error


@dataclass(frozen=True)
class Installation:
    target: Path
    status: str  # "new", "changed", "same" or "foreign" (exists, not written by llmctl)


def installations(root: Path, texts: dict[Path, str], targets: dict[Path, Path]) -> list[Installation]:
    """Where each installable file goes under `root` and what is there now."""
    found = []
    for relative, into in sorted(targets.items()):
        folder = root / into.relative_to("/")
        target = folder / relative.name
        recorded = _manifest(folder).get(relative.name, [])
        try:
            current = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            found.append(Installation(target, "new"))
            continue
        except (OSError, UnicodeDecodeError):
            current = None
        if current == texts[relative]:
            found.append(Installation(target, "same"))
        elif current is not None and _hash(current) in recorded:
            found.append(Installation(target, "changed"))
        else:
            found.append(Installation(target, "foreign"))
    return found


def install(root: Path, texts: dict[Path, str], targets: dict[Path, Path]) -> list[Path]:
    """Copy the installable files under `root`; refuses (before writing anything) when a
    target exists that llmctl did not write. Returns the paths written."""
    planned = installations(root, texts, targets)
    foreign = [item.target for item in planned if item.status == "foreign"]
    if foreign:
        raise RenderError(
            f"not replacing {', '.join(map(str, foreign))}: llmctl render did not write "
            f"{'it' if len(foreign) == 1 else 'them'}",
            hint="move the file away (or compare it with the rendered one) and install again",
        )
    written = []
    by_name = {targets[relative] / relative.name: relative for relative in targets}
    for item in planned:
        if item.status == "same":
            continue
        relative = by_name[Path("/") / item.target.relative_to(root)]
        text = texts[relative]
        folder = item.target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            manifest = _manifest(folder)
            # The manifest first, keeping the old hash: after a crash in between, the file
            # holds the old content or the new, and the manifest vouches for both.
            manifest[relative.name] = [*manifest.get(relative.name, []), _hash(text)][-KEPT:]
            write_atomic(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            write_atomic(item.target, text)
        except OSError as error:
            raise from_os_error(error, f"installing {item.target}") from error
        written.append(item.target)
    return written
