"""Fixtures of the llmctl unit tests (the shared ones are in the repository's conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLE_STACK = {
    "version": 1,
    "host": "strix-halo",
    "modelsDir": "/srv/models",
    "endpoints": {
        "gateway": {"url": "http://127.0.0.1:4001"},
        "chat": {"url": "http://127.0.0.1:8000", "model": "devstral"},
        "embedding": {"url": "http://127.0.0.1:8001"},
        "rerank": {"url": "http://127.0.0.1:8002", "enable": False},
    },
    "gpu": {"backend": "rocm", "profile": "strix-halo", "memoryGiB": 120, "unifiedMemory": True},
    "models": {
        "devstral": {"source": "hf:unsloth/Devstral-2-123B-GGUF:Q4_K_M", "role": "chat", "serve": "dedicated"},
    },
}


@pytest.fixture
def stack_document() -> dict:
    return json.loads(json.dumps(EXAMPLE_STACK))


@pytest.fixture
def stack_file(tmp_path, stack_document):
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(stack_document))
    return path


@pytest.fixture
def models(tmp_path) -> Path:
    """An empty models folder (the download tests' --models-dir)."""
    folder = tmp_path / "models"
    folder.mkdir()
    return folder
