"""A tiny LLaVA-style vision projector (`mmproj`) that llama-server loads.

A one-block ViT over 28x28 images in 14x14 patches and the two-layer MLP
projector (`clip.projector_type = mlp`, tensors `mm.0`, `mm.2`) whose output
width matches the tiny chat model's embedding (256), so `--mmproj` accepts it.
Tensor names and keys follow llama.cpp tools/mtmd (clip-impl.h, clip.cpp).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_mmproj(path: Path, text_embd: int = 256, n_embd: int = 32, n_ff: int = 64, n_head: int = 2) -> Path:
    import gguf

    rng = np.random.default_rng(7)

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    def zeros(n: int) -> np.ndarray:
        return np.zeros((n,), dtype=np.float32)

    image, patch = 28, 14
    n_pos = (image // patch) ** 2
    writer = gguf.GGUFWriter(path, "clip")
    writer.add_name("tiny-random-mmproj")
    writer.add_string("clip.projector_type", "mlp")
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_bool("clip.use_gelu", True)
    writer.add_uint32("clip.vision.embedding_length", n_embd)
    writer.add_uint32("clip.vision.feed_forward_length", n_ff)
    writer.add_uint32("clip.vision.block_count", 1)
    writer.add_uint32("clip.vision.attention.head_count", n_head)
    writer.add_uint32("clip.vision.projection_dim", text_embd)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    writer.add_uint32("clip.vision.image_size", image)
    writer.add_uint32("clip.vision.patch_size", patch)
    writer.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    writer.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
    writer.add_file_type(0)
    writer.add_tensor("v.patch_embd.weight", w(n_embd, 3, patch, patch).astype(np.float16))
    writer.add_tensor("v.position_embd.weight", w(n_pos, n_embd))
    for part in ("attn_q", "attn_k", "attn_v", "attn_out"):
        writer.add_tensor(f"v.blk.0.{part}.weight", w(n_embd, n_embd))
        writer.add_tensor(f"v.blk.0.{part}.bias", zeros(n_embd))
    for norm in ("ln1", "ln2"):
        writer.add_tensor(f"v.blk.0.{norm}.weight", np.ones((n_embd,), dtype=np.float32))
        writer.add_tensor(f"v.blk.0.{norm}.bias", zeros(n_embd))
    writer.add_tensor("v.blk.0.ffn_up.weight", w(n_ff, n_embd))
    writer.add_tensor("v.blk.0.ffn_up.bias", zeros(n_ff))
    writer.add_tensor("v.blk.0.ffn_down.weight", w(n_embd, n_ff))
    writer.add_tensor("v.blk.0.ffn_down.bias", zeros(n_embd))
    writer.add_tensor("mm.0.weight", w(text_embd, n_embd))
    writer.add_tensor("mm.0.bias", zeros(text_embd))
    writer.add_tensor("mm.2.weight", w(text_embd, text_embd))
    writer.add_tensor("mm.2.bias", zeros(text_embd))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
