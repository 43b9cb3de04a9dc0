"""The model ID a GGUF file gets: one rule shared by discovery, download and rm."""

from __future__ import annotations

import re
from pathlib import PurePath

# `-00001-of-00003` before `.gguf`: every shard of a split set is one model.
SPLIT_SUFFIX = re.compile(r"-(\d{5})-of-(\d{5})$", re.IGNORECASE)


def model_id_for(path: str | PurePath) -> str:
    """Lower-cased file name without `.gguf` and without a split suffix; the quant stays.

    `Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf` -> `meta-llama-3.1-8b-instruct-q4_k_m`,
    `Q8_0/Model-Q8_0-00001-of-00002.gguf` -> `model-q8_0`.
    """
    name = PurePath(path).name
    if name.lower().endswith(".gguf"):
        name = name[: -len(".gguf")]
    return SPLIT_SUFFIX.sub("", name).lower()
