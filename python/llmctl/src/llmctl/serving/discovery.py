"""`llmctl discover` without the printing: the models folder and the stack spec turned
into the llama-swap config text, and the config written only when it changes (llama-swap
unloads every model when its config changes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmctl.errors import LlmctlError
from llmctl.flags import ProbedCapabilities, probe
from llmctl.fsutil import write_if_changed
from llmctl.library.inventory import Inventory, load
from llmctl.serving.swap_config import SwapConfig, build_swap_config
from llmctl.stack import StackSpec


@dataclass
class Discovery:
    inventory: Inventory
    config: SwapConfig
    probed: ProbedCapabilities  # the llama-server build the commands are spelled for
    text: str  # the config file's content

    @property
    def model_count(self) -> int:
        return len(self.config.document["models"])


def discover(
    folder: Path, spec: StackSpec, llama_swap_version: int | None = None, *, use_cache: bool = True
) -> Discovery:
    """The llama-swap config for every usable model in `folder`, merged with `spec`."""
    return discover_inventory(load(folder, use_cache=use_cache), spec, llama_swap_version)


def discover_inventory(inventory: Inventory, spec: StackSpec, llama_swap_version: int | None = None) -> Discovery:
    """The llama-swap config for the models of `inventory` (commands spelled for the
    stack's llama-server as `--help` describes it), merged with `spec`."""
    probed = probe(spec.llama_server.binary)
    config = build_swap_config(inventory, spec, probed.capabilities, llama_swap_version)
    return Discovery(inventory, config, probed, config.to_yaml(str(inventory.root)))


def write_config(target: Path, text: str) -> bool:
    """Replace `target` atomically with `text` unless it holds it already; True when written."""
    if not target.parent.is_dir():
        raise LlmctlError(
            f"cannot write {target}: folder {target.parent} does not exist", hint="create it or pass --output"
        )
    try:
        return write_if_changed(target, text)
    except OSError as error:
        raise LlmctlError(
            f"cannot write {target}: {error.strerror or error}", hint="check permissions or pass --output"
        ) from error
