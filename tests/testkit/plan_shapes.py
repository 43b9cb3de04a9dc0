"""Synthetic GGUF headers for planner tests: the metadata of real models without the files."""

from __future__ import annotations

from llmctl.gguf.reader import GGUFHeader, TensorInfo
from llmctl.plan.shape import ModelShape, model_shape

MIB = 1024 * 1024


def header(arch: str, keys: dict, *, n_layer: int, layer_bytes: int = MIB, tied: bool = False) -> GGUFHeader:
    """A header with `{arch}.*` keys and one F16 tensor per block, token_embd and the output layer."""
    metadata = {"general.architecture": arch, f"{arch}.block_count": n_layer}
    metadata.update({f"{arch}.{key}": value for key, value in keys.items()})
    tensors = [TensorInfo("token_embd.weight", (layer_bytes // 2,), 1, 0, layer_bytes // 2, layer_bytes)]
    tensors.append(TensorInfo("output_norm.weight", (1024,), 0, 0, 1024, 4096))
    if not tied:
        tensors.append(TensorInfo("output.weight", (layer_bytes,), 1, 0, layer_bytes, 2 * layer_bytes))
    tensors += [
        TensorInfo(f"blk.{i}.ffn_up.weight", (layer_bytes // 2,), 1, 0, layer_bytes // 2, layer_bytes)
        for i in range(n_layer)
    ]
    return GGUFHeader("synthetic.gguf", 3, "little", len(tensors), metadata, {}, tensors, 0, 1 << 30)


def shape(arch: str, keys: dict, *, n_layer: int, **kwargs) -> ModelShape:
    return model_shape([header(arch, keys, n_layer=n_layer, **kwargs)])


def dense(n_layer: int = 32, **kwargs) -> ModelShape:
    """An 8B-llama-like shape: GQA 32/8 heads of 128."""
    keys = {
        "embedding_length": 4096,
        "attention.head_count": 32,
        "attention.head_count_kv": 8,
        "context_length": 131072,
        "feed_forward_length": 14336,
    }
    return shape("llama", keys, n_layer=n_layer, **kwargs)
