"""The JSON files llmctl shares with nix/lib: one copy each, in the package's data/
folder, which nix/lib reads through nix/lib/data.nix (the llama-server flag table,
the GPU profile figures, the endpoints' health paths)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def read_json(name: str) -> Any:
    """`data/NAME` decoded, read once per process."""
    return json.loads(resources.files("llmctl").joinpath("data", name).read_text(encoding="utf-8"))
