"""The JSON files llmctl shares with nix/lib: one copy each, in the package's data/
folder, which nix/lib reads through nix/lib/data.nix (the llama-server flag table,
the GPU profile figures, the endpoints' health paths, default ports and paths)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

# The package's own folder, not importlib.resources: llmctl is always installed as
# files (pip, Nix), and importlib.resources costs `llmctl status` its zipfile import.
DATA_DIR = Path(__file__).with_name("data")


@cache
def read_json(name: str) -> Any:
    """`data/NAME` decoded, read once per process."""
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
