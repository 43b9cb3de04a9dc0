"""KV cache and recurrent state bytes, exactly as llama.cpp allocates them.

Sources (llama.cpp @0c1e57098 and the build we ship):
- `src/llama-context.cpp`: n_ctx = pad(n_ctx, 256); unified: one stream of n_ctx
  cells; otherwise n_seq_max streams of pad(n_ctx / n_seq_max, 256) cells.
- `src/llama-kv-cache.cpp`: per layer K = rowsize(type_k, head_k * n_head_kv[il])
  per cell and stream, V likewise (no V for MLA: "V-less cache", PR #19067).
- `src/llama-kv-cache-iswa.cpp`: sliding-window layers get
  pad(min(n_ctx_seq, n_swa * (unified ? n_seq_max : 1) + n_ubatch), 256) cells.
- `src/llama-memory-recurrent.cpp`: F32 R and S rows per recurrent layer,
  max(1, n_seq_max) of each, independent of the context length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: `llmctl --help` reads KV_TYPES without the GGUF reader
    from llmctl.plan.shape import ModelShape

KV_PAD = 256
# -ctk / -ctv values llama-server accepts (common/arg.cpp kv_cache_types).
KV_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")
DEFAULT_KV_TYPE = "f16"
DEFAULT_UBATCH = 512
AUTO_PARALLEL = 4  # llama-server -np auto: 4 slots sharing one unified cache


def pad(value: int, to: int = KV_PAD) -> int:
    return -(-value // to) * to


def kv_type_size(kv_type: str) -> tuple[int, int]:
    """(block elements, block bytes) of a cache type, from gguf's GGML_QUANT_SIZES."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    if kv_type not in KV_TYPES:
        raise ValueError(f"unknown KV cache type '{kv_type}' (known: {', '.join(KV_TYPES)})")
    return GGML_QUANT_SIZES[GGMLQuantizationType[kv_type.upper()]]


def row_bytes(kv_type: str, n_elements: int) -> int:
    block, block_bytes = kv_type_size(kv_type)
    return n_elements // block * block_bytes


@dataclass(frozen=True)
class ContextLayout:
    """How llama.cpp lays out the cells for -c / -np / -kvu."""

    n_ctx: int  # total cells over all streams (what llama_context logs as n_ctx)
    n_ctx_seq: int  # cells per stream
    n_stream: int
    n_seq_max: int
    unified: bool


def context_layout(n_ctx: int, parallel: int | None, unified: bool | None = None) -> ContextLayout:
    """`parallel=None` is llama-server's `-np` auto: 4 slots, unified cache."""
    n_seq_max = AUTO_PARALLEL if parallel is None else parallel
    if unified is None:
        unified = parallel is None
    n_ctx = pad(n_ctx)
    if unified:
        return ContextLayout(n_ctx, n_ctx, 1, n_seq_max, True)
    n_ctx_seq = pad(n_ctx // n_seq_max)
    return ContextLayout(n_ctx_seq * n_seq_max, n_ctx_seq, n_seq_max, n_seq_max, False)


def swa_cells(layout: ContextLayout, n_swa: int, n_ubatch: int, swa_full: bool = False) -> int:
    if swa_full:
        return layout.n_ctx_seq
    per_stream_window = n_swa * (layout.n_seq_max if layout.unified else 1)
    return pad(min(layout.n_ctx_seq, per_stream_window + n_ubatch))


@dataclass(frozen=True)
class LayerCache:
    """Bytes one layer's cache holds: KV (attention) or RS (recurrent state)."""

    kv_bytes: int = 0
    rs_bytes: int = 0
    cells: int = 0


def layer_caches(
    shape: ModelShape,
    layout: ContextLayout,
    *,
    type_k: str = "f16",
    type_v: str = "f16",
    n_ubatch: int = DEFAULT_UBATCH,
    swa_full: bool = False,
) -> list[LayerCache]:
    """Per layer, what llama.cpp allocates for it (index = layer number)."""
    swa_size = swa_cells(layout, shape.n_swa, n_ubatch, swa_full) if any(shape.is_swa) else 0
    rs_rows = max(1, layout.n_seq_max)
    caches = []
    for il in range(shape.n_layer):
        if shape.is_recurrent[il]:
            caches.append(LayerCache(rs_bytes=4 * (shape.n_embd_r + shape.n_embd_s) * rs_rows))
            continue
        if not shape.has_kv(il):
            caches.append(LayerCache())
            continue
        cells = swa_size if shape.is_swa[il] else layout.n_ctx_seq
        per_cell = row_bytes(type_k, shape.head_k[il] * shape.n_head_kv[il])
        if not shape.is_mla:
            per_cell += row_bytes(type_v, shape.head_v[il] * shape.n_head_kv[il])
        caches.append(LayerCache(kv_bytes=per_cell * cells * layout.n_stream, cells=cells))
    return caches


def cache_buffers(shape: ModelShape, caches: list[LayerCache]) -> list[int]:
    """KV bytes per llama.cpp cache (the base cache, then the SWA cache of an iSWA
    model): each is one `KV buffer size` line in the log, rounded on its own."""
    base = sum(c.kv_bytes for il, c in enumerate(caches) if not shape.is_swa[il])
    swa = sum(c.kv_bytes for il, c in enumerate(caches) if shape.is_swa[il])
    return [b for b in (base, swa) if b] if any(shape.is_swa) else [base]


def cache_cells(shape: ModelShape, caches: list[LayerCache]) -> list[int]:
    """Cells per stream of the base cache, then of the SWA cache (the order llama.cpp
    logs them in); 0 for a cache the model does not have."""
    return [
        next((c.cells for il, c in enumerate(caches) if c.cells and shape.is_swa[il] == swa), 0)
        for swa in (False, True)
    ]
