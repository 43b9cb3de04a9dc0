"""Tiny random-weight GGUF models that the real llama-server loads.

Each writer produces a few MB at most. Shapes follow what llama.cpp's loader
requires for the architecture (see shared reference memory-estimation.md §4.2):
a llama chat model (GQA), a gemma3 chat model with sliding-window layers, a
bert embedding model (mean pooling) and a bert reranker (rank pooling with a
classifier head), a two-shard split model, and broken files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEED = 20261122


@dataclass(frozen=True)
class LlamaShape:
    """Dimensions of a llama-family test model."""

    n_layer: int = 4
    n_embd: int = 256
    n_head: int = 8
    n_head_kv: int = 2
    n_ff: int = 512
    n_vocab: int = 512
    n_ctx_train: int = 4096

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([SEED, *name.encode()])


def _weights(rng: np.random.Generator, *shape: int, dtype=np.float16, scale: float = 0.02) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _norm(n: int) -> np.ndarray:
    return np.ones((n,), dtype=np.float32)


def spm_vocab(writer, n_vocab: int) -> None:
    """A SentencePiece-style vocabulary with byte fallback, as llama-server needs it."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"\u2581t{i}" for i in range(n_vocab - len(tokens))]
    scores = [0.0] * 259 + [-float(i) for i in range(n_vocab - 259)]
    types = [2, 3, 3] + [6] * 256 + [1] * (n_vocab - 259)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)


def _start(path: Path, arch: str, name: str, *, n_ctx: int, n_embd: int, n_layer: int, n_ff: int, n_head: int, **kw):
    """A GGUFWriter with the hyperparameters every architecture here shares."""
    import gguf

    writer = gguf.GGUFWriter(path, arch, **kw)
    writer.add_name(name)
    writer.add_context_length(n_ctx)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    return writer


def _finish(writer) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _quantized(array: np.ndarray, kind):
    """Quantize a float array to `kind` (a GGMLQuantizationType) for add_tensor."""
    import gguf

    if kind in (None, gguf.GGMLQuantizationType.F16):
        return array.astype(np.float16), None
    if kind == gguf.GGMLQuantizationType.F32:
        return array.astype(np.float32), None
    return gguf.quants.quantize(array.astype(np.float32), kind), kind


def write_llama(
    path: Path,
    shape: LlamaShape = LlamaShape(),
    *,
    name: str = "tiny-random-llama",
    split_max_tensors: int = 0,
    weight_type=None,
) -> list[Path]:
    """A llama chat model; with `split_max_tensors` it is written as shards.

    Returns the written files (one, or every shard in order).
    """
    import gguf

    rng = _rng(name)
    writer = _start(
        path,
        "llama",
        name,
        n_ctx=shape.n_ctx_train,
        n_embd=shape.n_embd,
        n_layer=shape.n_layer,
        n_ff=shape.n_ff,
        n_head=shape.n_head,
        split_max_tensors=split_max_tensors,
    )
    writer.add_head_count_kv(shape.n_head_kv)
    writer.add_rope_dimension_count(shape.head_dim)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    file_type = {None: 1, gguf.GGMLQuantizationType.Q8_0: 7, gguf.GGMLQuantizationType.Q4_0: 2}[weight_type]
    writer.add_file_type(file_type)
    spm_vocab(writer, shape.n_vocab)

    def matrix(tensor: str, *dims: int) -> None:
        data, raw = _quantized(_weights(rng, *dims, dtype=np.float32), weight_type)
        writer.add_tensor(tensor, data, raw_dtype=raw)

    kv = shape.n_head_kv * shape.head_dim
    matrix("token_embd.weight", shape.n_vocab, shape.n_embd)
    writer.add_tensor("output_norm.weight", _norm(shape.n_embd))
    matrix("output.weight", shape.n_vocab, shape.n_embd)
    for i in range(shape.n_layer):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", _norm(shape.n_embd))
        matrix(f"blk.{i}.attn_q.weight", shape.n_embd, shape.n_embd)
        matrix(f"blk.{i}.attn_k.weight", kv, shape.n_embd)
        matrix(f"blk.{i}.attn_v.weight", kv, shape.n_embd)
        matrix(f"blk.{i}.attn_output.weight", shape.n_embd, shape.n_embd)
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", _norm(shape.n_embd))
        matrix(f"blk.{i}.ffn_gate.weight", shape.n_ff, shape.n_embd)
        matrix(f"blk.{i}.ffn_up.weight", shape.n_ff, shape.n_embd)
        matrix(f"blk.{i}.ffn_down.weight", shape.n_embd, shape.n_ff)
    _finish(writer)
    if split_max_tensors:
        return sorted(path.parent.glob(f"{path.stem}-*-of-*.gguf"))
    return [path]


def write_gemma3(
    path: Path,
    *,
    n_layer: int = 12,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    head_dim: int = 32,
    n_ff: int = 512,
    n_vocab: int = 512,
    sliding_window: int = 512,
    n_ctx_train: int = 8192,
    name: str = "tiny-random-gemma3",
) -> Path:
    """A gemma3 chat model: every sixth layer full attention, the rest sliding-window."""

    rng = _rng(name)
    writer = _start(path, "gemma3", name, n_ctx=n_ctx_train, n_embd=n_embd, n_layer=n_layer, n_ff=n_ff, n_head=n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_sliding_window(sliding_window)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(1)
    spm_vocab(writer, n_vocab)

    writer.add_tensor("token_embd.weight", _weights(rng, n_vocab, n_embd))
    writer.add_tensor("output_norm.weight", _norm(n_embd))
    for i in range(n_layer):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", _norm(n_embd))
        writer.add_tensor(f"blk.{i}.attn_q.weight", _weights(rng, n_head * head_dim, n_embd))
        writer.add_tensor(f"blk.{i}.attn_k.weight", _weights(rng, n_head_kv * head_dim, n_embd))
        writer.add_tensor(f"blk.{i}.attn_v.weight", _weights(rng, n_head_kv * head_dim, n_embd))
        writer.add_tensor(f"blk.{i}.attn_output.weight", _weights(rng, n_embd, n_head * head_dim))
        writer.add_tensor(f"blk.{i}.attn_q_norm.weight", _norm(head_dim))
        writer.add_tensor(f"blk.{i}.attn_k_norm.weight", _norm(head_dim))
        writer.add_tensor(f"blk.{i}.post_attention_norm.weight", _norm(n_embd))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", _norm(n_embd))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", _weights(rng, n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", _weights(rng, n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", _weights(rng, n_embd, n_ff))
        writer.add_tensor(f"blk.{i}.post_ffw_norm.weight", _norm(n_embd))
    _finish(writer)
    return path


# WordPiece vocabulary: llama.cpp's "bert" tokenizer defaults put [PAD] at 0,
# [UNK] at 100, [CLS] at 101, [SEP] at 102 and [MASK] at 103.
_BERT_SPECIALS = {0: "[PAD]", 100: "[UNK]", 101: "[CLS]", 102: "[SEP]", 103: "[MASK]"}
_BERT_WORDS = "the a of to and in is it that for on with as was at by an be this are from or have not".split()  # noqa: SIM905


def _wpm_vocab(writer, n_vocab: int) -> None:
    """WordPiece as llama.cpp stores it: a word start carries the "▁" phantom
    space, a continuation piece is stored without its "##"."""
    tokens = [_BERT_SPECIALS.get(i, f"[unused{i}]") for i in range(104)]
    tokens += [f"\u2581{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789.,!?;:'\"-()"]
    tokens += list("abcdefghijklmnopqrstuvwxyz0123456789")
    tokens += [f"\u2581{w}" for w in _BERT_WORDS if len(w) > 1]
    tokens += [f"\u2581w{i}" for i in range(n_vocab - len(tokens))]
    assert len(set(tokens)) == len(tokens), "llama.cpp rejects duplicate tokens"
    types = [3 if t.startswith("[") else 1 for t in tokens]
    writer.add_tokenizer_model("bert")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_type_count(2)


def write_bert(
    path: Path,
    *,
    reranker: bool = False,
    n_layer: int = 2,
    n_embd: int = 128,
    n_head: int = 4,
    n_ff: int = 256,
    n_vocab: int = 512,
    n_ctx_train: int = 512,
    name: str | None = None,
) -> Path:
    """A bert encoder: mean pooling for embeddings, or rank pooling with a
    classifier head (`cls.*`, `cls.output.*`) for reranking."""
    import gguf

    name = name or ("tiny-random-reranker" if reranker else "tiny-random-embedding")
    rng = _rng(name)
    writer = _start(path, "bert", name, n_ctx=n_ctx_train, n_embd=n_embd, n_layer=n_layer, n_ff=n_ff, n_head=n_head)
    writer.add_layer_norm_eps(1e-12)
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.RANK if reranker else gguf.PoolingType.MEAN)
    writer.add_file_type(1)
    _wpm_vocab(writer, n_vocab)

    def w(*shape: int, dtype=np.float16) -> np.ndarray:
        # Larger than the chat models' weights: with 0.02 every input pools to
        # (nearly) the same vector and rerank scores cannot be told apart.
        return _weights(rng, *shape, dtype=dtype, scale=0.5)

    def bias(n: int) -> np.ndarray:
        return np.zeros((n,), dtype=np.float32)

    writer.add_tensor("token_embd.weight", w(n_vocab, n_embd))
    # llama.cpp reads these two in F32 only.
    writer.add_tensor("token_types.weight", w(2, n_embd, dtype=np.float32))
    writer.add_tensor("position_embd.weight", w(n_ctx_train, n_embd, dtype=np.float32))
    writer.add_tensor("token_embd_norm.weight", _norm(n_embd))
    writer.add_tensor("token_embd_norm.bias", bias(n_embd))
    for i in range(n_layer):
        for part in ("q", "k", "v"):
            writer.add_tensor(f"blk.{i}.attn_{part}.weight", w(n_embd, n_embd))
            writer.add_tensor(f"blk.{i}.attn_{part}.bias", bias(n_embd))
        writer.add_tensor(f"blk.{i}.attn_output.weight", w(n_embd, n_embd))
        writer.add_tensor(f"blk.{i}.attn_output.bias", bias(n_embd))
        writer.add_tensor(f"blk.{i}.attn_output_norm.weight", _norm(n_embd))
        writer.add_tensor(f"blk.{i}.attn_output_norm.bias", bias(n_embd))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", w(n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_up.bias", bias(n_ff))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", w(n_embd, n_ff))
        writer.add_tensor(f"blk.{i}.ffn_down.bias", bias(n_embd))
        writer.add_tensor(f"blk.{i}.layer_output_norm.weight", _norm(n_embd))
        writer.add_tensor(f"blk.{i}.layer_output_norm.bias", bias(n_embd))
    if reranker:
        writer.add_tensor("cls.weight", w(n_embd, n_embd))
        writer.add_tensor("cls.bias", bias(n_embd))
        writer.add_tensor("cls.output.weight", w(1, n_embd))
        writer.add_tensor("cls.output.bias", bias(1))
    _finish(writer)
    return path


def write_truncated(source: Path, path: Path, keep_bytes: int | None = None) -> Path:
    """A copy of `source` cut short: by default in the middle of the tensor data."""
    data = source.read_bytes()
    keep = keep_bytes if keep_bytes is not None else len(data) // 2
    path.write_bytes(data[:keep])
    return path


def write_wrong_magic(source: Path, path: Path) -> Path:
    data = bytearray(source.read_bytes())
    data[:4] = b"GGXF"
    path.write_bytes(bytes(data))
    return path


@dataclass(frozen=True)
class TinyModels:
    """Paths of the session's tiny models (see the `tiny_models` fixture)."""

    root: Path
    chat: Path
    gemma3: Path
    embedding: Path
    reranker: Path
    split: tuple[Path, ...]
    truncated: Path
    wrong_magic: Path
    chat_shape: LlamaShape
    embedding_dim: int


def build_all(root: Path) -> TinyModels:
    """Write every tiny model into `root` (one sub-folder per kind, so a test can
    point a models folder at exactly the files it needs)."""
    for sub in ("chat", "gemma3", "embedding", "reranker", "split", "broken"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    shape = LlamaShape()
    chat = write_llama(root / "chat" / "tiny-llama-F16.gguf", shape)[0]
    split = write_llama(root / "split" / "tiny-split-F16.gguf", shape, name="tiny-random-split", split_max_tensors=20)
    return TinyModels(
        root=root,
        chat=chat,
        gemma3=write_gemma3(root / "gemma3" / "tiny-gemma3-F16.gguf"),
        embedding=write_bert(root / "embedding" / "tiny-embed-F16.gguf"),
        reranker=write_bert(root / "reranker" / "tiny-rerank-F16.gguf", reranker=True),
        split=tuple(split),
        truncated=write_truncated(chat, root / "broken" / "truncated.gguf"),
        wrong_magic=write_wrong_magic(chat, root / "broken" / "wrong-magic.gguf"),
        chat_shape=shape,
        embedding_dim=128,
    )
