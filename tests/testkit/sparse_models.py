"""Sparse GGUF files with the shapes of real models, for memory figures at real scale.

The header, metadata and tensor infos are written with gguf's GGUFWriter; the
tensor data is never written: the file is extended with truncate, so the data
section is a hole that reads as zeros. Zero bytes are valid weights for every
type used here (F32/F16 zeros; Q4_0/Q8_0/K/IQ blocks with a zero scale), the
files take no disk, and llama-server loads them like real models. llama.cpp
maps the file with MAP_POPULATE (src/llama-mmap.cpp, llama_mmap::impl), so a
load fills the page cache with the file's apparent size: the weight types are
chosen to keep every file well under 9 GiB, and `drop_page_cache` gives the
pages back after each run.

Shapes follow the published configs of the models they are named after and
the tensors llama.cpp creates for the architecture (llama.cpp b11434,
src/models/<arch>.cpp load_arch_tensors).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod
from pathlib import Path

from testkit.tiny_models import spm_vocab

GIB = 1 << 30


@dataclass
class SparseModel:
    """One model file to write: metadata keys and tensor infos, no data."""

    key: str
    arch: str
    vocab: int
    hparams: dict[str, object]  # `{arch}.` keys without the prefix
    tensors: list[tuple[str, tuple[int, ...], str]] = field(default_factory=list)  # name, ggml ne, type

    @property
    def name(self) -> str:
        return f"sparse-{self.key}"

    def add(self, name: str, ne: tuple[int, ...], kind: str = "F32") -> None:
        self.tensors.append((name, ne, kind))

    @property
    def data_bytes(self) -> int:
        return sum(tensor_bytes(ne, kind) for _, ne, kind in self.tensors)


def tensor_bytes(ne: tuple[int, ...], kind: str) -> int:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    block, size = GGML_QUANT_SIZES[GGMLQuantizationType[kind]]
    assert ne[0] % block == 0, f"ne0={ne[0]} is not a multiple of the {kind} block ({block})"
    return prod(ne) // block * size


def write_sparse(model: SparseModel, path: Path) -> Path:
    """Write `model` as a sparse GGUF file at `path` (atomically: a temporary name, then rename)."""
    import gguf
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    writer = gguf.GGUFWriter(partial, model.arch)
    writer.add_name(model.name)
    for suffix, value in model.hparams.items():
        _add_key(writer, f"{model.arch}.{suffix}", value)
    spm_vocab(writer, model.vocab)
    for name, ne, kind in model.tensors:
        # gguf takes numpy order (ne reversed); with a raw dtype the element shape is used as given.
        writer.add_tensor_info(
            name, tuple(reversed(ne)), np.dtype(np.float32), tensor_bytes(ne, kind), gguf.GGMLQuantizationType[kind]
        )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    header_end = writer.fout[0].tell()
    writer.close()
    align = writer.data_alignment
    data = sum(gguf.GGUFWriter.ggml_pad(tensor_bytes(ne, kind), align) for _, ne, kind in model.tensors)
    os.truncate(partial, gguf.GGUFWriter.ggml_pad(header_end, align) + data)
    partial.rename(path)
    return path


def _add_key(writer, key: str, value: object) -> None:
    if isinstance(value, bool):
        writer.add_bool(key, value)
    elif isinstance(value, int):
        writer.add_uint32(key, value)
    elif isinstance(value, float):
        writer.add_float32(key, value)
    elif isinstance(value, str):
        writer.add_string(key, value)
    else:
        writer.add_array(key, list(value))


def drop_page_cache(path: Path) -> None:
    """Give the file's cached pages back (llama-server faulted them all in)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# --- building blocks -------------------------------------------------------------


def _hparams(ctx: int, n_embd: int, n_layer: int, n_ff: int, n_head: int, n_head_kv, more: dict) -> dict[str, object]:
    """The `{arch}.` keys every shape has, then its own."""
    keys = {
        "context_length": ctx,
        "embedding_length": n_embd,
        "block_count": n_layer,
        "feed_forward_length": n_ff,
        "attention.head_count": n_head,
        "attention.head_count_kv": n_head_kv,
    }
    return {**keys, **more}


def _common(model: SparseModel, n_embd: int, tied: bool, embd_type: str, out_type: str) -> None:
    model.add("token_embd.weight", (n_embd, model.vocab), embd_type)
    model.add("output_norm.weight", (n_embd,))
    if not tied:
        model.add("output.weight", (n_embd, model.vocab), out_type)


def _attention(model: SparseModel, il: int, n_embd: int, n_q: int, n_kv: int, kind: str, qk_norm: int = 0) -> None:
    """attn_q/k/v/output of llama_model_base::create_tensor_qkv (n_q, n_kv: values per token)."""
    model.add(f"blk.{il}.attn_q.weight", (n_embd, n_q), kind)
    model.add(f"blk.{il}.attn_k.weight", (n_embd, n_kv), kind)
    model.add(f"blk.{il}.attn_v.weight", (n_embd, n_kv), kind)
    model.add(f"blk.{il}.attn_output.weight", (n_q, n_embd), kind)
    if qk_norm:
        model.add(f"blk.{il}.attn_q_norm.weight", (qk_norm,))
        model.add(f"blk.{il}.attn_k_norm.weight", (qk_norm,))


def _dense_ffn(model: SparseModel, il: int, n_embd: int, n_ff: int, kind: str) -> None:
    model.add(f"blk.{il}.ffn_gate.weight", (n_embd, n_ff), kind)
    model.add(f"blk.{il}.ffn_up.weight", (n_embd, n_ff), kind)
    model.add(f"blk.{il}.ffn_down.weight", (n_ff, n_embd), kind)


def _experts(model: SparseModel, il: int, n_embd: int, n_ff_exp: int, n_expert: int, kind: str) -> None:
    """The router (F32, as converters keep it) and the stacked expert matrices."""
    model.add(f"blk.{il}.ffn_gate_inp.weight", (n_embd, n_expert))
    model.add(f"blk.{il}.ffn_gate_exps.weight", (n_embd, n_ff_exp, n_expert), kind)
    model.add(f"blk.{il}.ffn_up_exps.weight", (n_embd, n_ff_exp, n_expert), kind)
    model.add(f"blk.{il}.ffn_down_exps.weight", (n_ff_exp, n_embd, n_expert), kind)


# --- the shapes ------------------------------------------------------------------


def llama3_8b() -> SparseModel:
    """Dense with GQA (Llama-3.1-8B: 32 layers, 32/8 heads of 128, FFN 14336), an IQ2_XXS body."""
    n_layer, n_embd, n_ff, n_head, n_head_kv, head = 32, 4096, 14336, 32, 8, 128
    model = SparseModel(
        "llama3-8b",
        "llama",
        128256,
        _hparams(
            131072,
            n_embd,
            n_layer,
            n_ff,
            n_head,
            n_head_kv,
            {
                "rope.dimension_count": head,
                "rope.freq_base": 500000.0,
                "attention.layer_norm_rms_epsilon": 1e-5,
            },
        ),
    )
    _common(model, n_embd, tied=False, embd_type="Q4_K", out_type="Q6_K")
    for il in range(n_layer):
        model.add(f"blk.{il}.attn_norm.weight", (n_embd,))
        _attention(model, il, n_embd, n_head * head, n_head_kv * head, "IQ2_XXS")
        model.add(f"blk.{il}.ffn_norm.weight", (n_embd,))
        _dense_ffn(model, il, n_embd, n_ff, "IQ2_XXS")
    return model


def gemma3_12b() -> SparseModel:
    """Sliding window (gemma-3-12B: 48 layers, 5 of 6 with a 1024-token window,
    16/8 heads of 256, tied embeddings, a 262k vocabulary), an IQ2_XXS body."""
    n_layer, n_embd, n_ff, n_head, n_head_kv, head = 48, 3840, 15360, 16, 8, 256
    model = SparseModel(
        "gemma3-12b",
        "gemma3",
        262144,
        _hparams(
            131072,
            n_embd,
            n_layer,
            n_ff,
            n_head,
            n_head_kv,
            {
                "attention.key_length": head,
                "attention.value_length": head,
                "attention.sliding_window": 1024,
                "rope.freq_base": 1000000.0,
                "attention.layer_norm_rms_epsilon": 1e-6,
            },
        ),
    )
    _common(model, n_embd, tied=True, embd_type="Q4_K", out_type="Q4_K")
    for il in range(n_layer):
        model.add(f"blk.{il}.attn_norm.weight", (n_embd,))
        _attention(model, il, n_embd, n_head * head, n_head_kv * head, "IQ2_XXS", qk_norm=head)
        model.add(f"blk.{il}.post_attention_norm.weight", (n_embd,))
        model.add(f"blk.{il}.ffn_norm.weight", (n_embd,))
        _dense_ffn(model, il, n_embd, n_ff, "IQ2_XXS")
        model.add(f"blk.{il}.post_ffw_norm.weight", (n_embd,))
    return model


def qwen3_moe_30b(expert_type: str = "IQ1_S") -> SparseModel:
    """MoE with `expert_feed_forward_length` (Qwen3-30B-A3B: 48 layers, 128 experts
    of 768, 8 used, 32/4 heads of 128), IQ1_S experts (Q8_0: a 30 GiB file for plans
    that read headers only)."""
    n_layer, n_embd, n_head, n_head_kv, head = 48, 2048, 32, 4, 128
    n_expert, n_used, n_ff_exp = 128, 8, 768
    model = SparseModel(
        "qwen3moe-30b-a3b" + ("" if expert_type == "IQ1_S" else f"-{expert_type.lower()}"),
        "qwen3moe",
        151936,
        _hparams(
            40960,
            n_embd,
            n_layer,
            6144,
            n_head,
            n_head_kv,
            {
                "expert_feed_forward_length": n_ff_exp,
                "expert_count": n_expert,
                "expert_used_count": n_used,
                "attention.key_length": head,
                "attention.value_length": head,
                "rope.dimension_count": head,
                "rope.freq_base": 1000000.0,
                "attention.layer_norm_rms_epsilon": 1e-6,
            },
        ),
    )
    _common(model, n_embd, tied=False, embd_type="Q4_0", out_type="Q6_K")
    for il in range(n_layer):
        model.add(f"blk.{il}.attn_norm.weight", (n_embd,))
        _attention(model, il, n_embd, n_head * head, n_head_kv * head, "Q4_0", qk_norm=head)
        model.add(f"blk.{il}.ffn_norm.weight", (n_embd,))
        _experts(model, il, n_embd, n_ff_exp, n_expert, expert_type)
    return model


def mixtral_8x7b() -> SparseModel:
    """MoE in the llama architecture, which has no `expert_feed_forward_length`:
    the experts are `feed_forward_length` wide (Mixtral-8x7B: 32 layers, 8 experts
    of 14336, 2 used, 32/8 heads of 128), IQ1_S experts."""
    n_layer, n_embd, n_ff, n_head, n_head_kv, head = 32, 4096, 14336, 32, 8, 128
    model = SparseModel(
        "mixtral-8x7b",
        "llama",
        32000,
        _hparams(
            32768,
            n_embd,
            n_layer,
            n_ff,
            n_head,
            n_head_kv,
            {
                "expert_count": 8,
                "expert_used_count": 2,
                "rope.dimension_count": head,
                "rope.freq_base": 1000000.0,
                "attention.layer_norm_rms_epsilon": 1e-5,
            },
        ),
    )
    _common(model, n_embd, tied=False, embd_type="Q4_0", out_type="Q6_K")
    for il in range(n_layer):
        model.add(f"blk.{il}.attn_norm.weight", (n_embd,))
        _attention(model, il, n_embd, n_head * head, n_head_kv * head, "IQ2_XXS")
        model.add(f"blk.{il}.ffn_norm.weight", (n_embd,))
        _experts(model, il, n_embd, n_ff, 8, "IQ1_S")
    return model


GRANITE_ATTENTION_LAYERS = (5, 15, 25, 35)


def granite4_hybrid_tiny() -> SparseModel:
    """Hybrid Mamba-2 + attention + MoE (granite-4.0-h-tiny: 40 layers, 4 with
    attention, 64 experts of 512 with 6 used plus a 1024 shared expert; the
    experts are `feed_forward_length` wide), IQ2_XXS experts."""
    n_layer, n_embd, n_ff, n_head, n_head_kv, head = 40, 1536, 512, 12, 4, 128
    d_conv, d_inner, d_state, n_group, n_ssm_head = 4, 3072, 128, 1, 48
    kv_heads = [n_head_kv if il in GRANITE_ATTENTION_LAYERS else 0 for il in range(n_layer)]
    model = SparseModel(
        "granite4-h-tiny",
        "granitehybrid",
        100352,
        _hparams(
            131072,
            n_embd,
            n_layer,
            n_ff,
            n_head,
            kv_heads,
            {
                "expert_count": 64,
                "expert_used_count": 6,
                "expert_shared_feed_forward_length": 1024,
                "ssm.conv_kernel": d_conv,
                "ssm.inner_size": d_inner,
                "ssm.state_size": d_state,
                "ssm.time_step_rank": n_ssm_head,
                "ssm.group_count": n_group,
                "attention.layer_norm_rms_epsilon": 1e-5,
            },
        ),
    )
    _common(model, n_embd, tied=True, embd_type="Q4_0", out_type="Q4_0")
    d_in_proj = 2 * d_inner + 2 * n_group * d_state + n_ssm_head
    for il in range(n_layer):
        model.add(f"blk.{il}.attn_norm.weight", (n_embd,))
        if kv_heads[il]:
            _attention(model, il, n_embd, n_head * head, n_head_kv * head, "Q4_0")
        else:  # src/models/granite-hybrid.cpp: the Mamba-2 mixer
            model.add(f"blk.{il}.ssm_in.weight", (n_embd, d_in_proj), "F16")
            model.add(f"blk.{il}.ssm_conv1d.weight", (d_conv, d_inner + 2 * n_group * d_state))
            model.add(f"blk.{il}.ssm_conv1d.bias", (d_inner + 2 * n_group * d_state,))
            model.add(f"blk.{il}.ssm_dt.bias", (n_ssm_head,))
            model.add(f"blk.{il}.ssm_a", (1, n_ssm_head))
            model.add(f"blk.{il}.ssm_d", (1, n_ssm_head))
            model.add(f"blk.{il}.ssm_norm.weight", (d_inner // n_group, n_group))
            model.add(f"blk.{il}.ssm_out.weight", (d_inner, n_embd), "Q4_0")
        model.add(f"blk.{il}.ffn_norm.weight", (n_embd,))
        _experts(model, il, n_embd, n_ff, 64, "IQ2_XXS")
        model.add(f"blk.{il}.ffn_gate_shexp.weight", (n_embd, 1024), "Q4_0")
        model.add(f"blk.{il}.ffn_up_shexp.weight", (n_embd, 1024), "Q4_0")
        model.add(f"blk.{il}.ffn_down_shexp.weight", (1024, n_embd), "Q4_0")
    return model


SHAPES: dict[str, Callable[[], SparseModel]] = {
    "llama3-8b": llama3_8b,
    "gemma3-12b": gemma3_12b,
    "qwen3moe-30b-a3b": qwen3_moe_30b,
    "mixtral-8x7b": mixtral_8x7b,
    "granite4-h-tiny": granite4_hybrid_tiny,
}


def write_shape(key: str, root: Path) -> Path:
    """The sparse file of shape `key` under `root`, written once (kept between runs)."""
    model = SHAPES[key]()
    path = root / f"{model.key}.gguf"
    if not path.exists():
        write_sparse(model, path)
    return path
