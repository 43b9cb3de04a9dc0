"""The shape of a model as the capacity planner needs it, read from GGUF headers.

Everything comes from metadata keys and tensor infos (llama.cpp
`src/llama-model.cpp` load_hparams, `src/llama-hparams.cpp`, `src/models/*.cpp`):
per-layer KV head counts, head sizes, which layers use a sliding window, which
are recurrent (and their state sizes), whether the cache is MLA, and the weight
bytes of every layer. What the planner cannot know for an architecture is
listed in `missing`, never silently guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from llmctl.gguf.architectures import FULL_ATTENTION_ENCODERS
from llmctl.gguf.reader import ArrayInfo, GGUFHeader

# Sliding-window defaults: arch -> (default n_swa or None when the key is required,
# pattern period, dense_first). Source: src/models/<arch>.cpp load_hparams.
SWA_ARCHS: dict[str, tuple[int | None, int, bool]] = {
    "gemma2": (4096, 2, False),
    "gemma3": (None, 6, False),
    "gemma3n": (None, 5, False),
    "gpt-oss": (None, 2, False),
    "cohere2": (None, 4, False),
    "cohere2moe": (None, 4, True),
    "olmo2": (None, 4, False),
    "exaone4": (4096, 4, False),
    "smallthinker": (None, 4, False),
    "afmoe": (None, 4, False),
    "llama4": (8192, 4, False),
}
# gemma3/olmo2/llama4: no sliding window at all unless the key is present and > 0.
SWA_ONLY_WITH_KEY = {"gemma3", "olmo2", "gemma3n"}

# Full attention on every layer, nothing else to model.
STANDARD_ARCHS = (
    frozenset(
        [
            "llama",
            "qwen2",
            "qwen2moe",
            "qwen2vl",
            "qwen3",
            "qwen3moe",
            "qwen3vl",
            "qwen3vlmoe",
            "mistral3",
            "phi2",
            "phi3",
            "phimoe",
            "gemma",
            "granite",
            "granitemoe",
            "command-r",
            "starcoder",
            "starcoder2",
            "stablelm",
            "internlm2",
            "minicpm",
            "minicpm3",
            "glm4",
            "glm4moe",
            "chatglm",
            "deepseek",
            "deepseek2",
            "falcon",
            "mpt",
            "gptneox",
            "gpt2",
            "baichuan",
            "olmo",
            "olmoe",
            "ernie4_5",
            "ernie4_5-moe",
            "hunyuan-moe",
            "hunyuan-dense",
            "seed_oss",
            "apertus",
            "arcee",
            "bailingmoe",
            "bailingmoe2",
            "dots1",
            "smollm3",
            "exaone",
            "grovemoe",
        ]
    )
    | FULL_ATTENTION_ENCODERS
)
# Recurrent layers decided by head_count_kv[il] == 0 (src/models/granite-hybrid.cpp, jamba.cpp, lfm2.cpp).
RECURRENT_BY_ZERO_KV = frozenset({"granitehybrid", "jamba", "lfm2", "lfm2moe", "plamo2"})
# Layer il is recurrent iff (il + 1) % full_attention_interval != 0 (qwen3next, qwen3.5).
RECURRENT_BY_INTERVAL = frozenset({"qwen3next", "qwen35", "qwen35moe"})
PURE_RECURRENT = frozenset({"mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"})
_BLOCK = re.compile(r"^blk\.(\d+)\.")
_OUTPUT_TENSORS = ("output.", "output_norm.")
# The routed-expert tensors --cpu-moe / --n-cpu-moe keep in host memory: llama.cpp's
# LLM_FFN_EXPS_REGEX (common/common.h:1224 at b11434), shared experts (`_shexp`) excluded.
EXPERT_TENSOR = re.compile(r"\.ffn_(up|down|gate|gate_up)_(ch|)exps")


@dataclass(frozen=True)
class SsmShape:
    """Mamba-2 mixer sizes (`{arch}.ssm.*`), for the compute buffer of its layers."""

    d_conv: int
    d_inner: int
    d_state: int
    n_group: int
    n_head: int  # ssm.time_step_rank

    @property
    def conv_dim(self) -> int:
        return self.d_inner + 2 * self.n_group * self.d_state

    @property
    def in_proj(self) -> int:
        return 2 * self.d_inner + 2 * self.n_group * self.d_state + self.n_head


@dataclass
class ModelShape:
    """What llama.cpp derives from the header, per layer where it varies."""

    architecture: str
    name: str | None
    n_layer: int
    n_layer_kv: int  # layers before the NextN/MTP ones (the main cache skips those)
    n_ctx_train: int | None
    n_embd: int
    n_ff: int
    n_ff_expert: int  # MoE: width of one expert (0 for dense models)
    n_expert_used: int
    n_expert: int
    n_vocab: int
    n_head: list[int]
    n_head_kv: list[int]
    head_k: list[int]
    head_v: list[int]
    is_swa: list[bool]
    n_swa: int
    is_recurrent: list[bool]
    n_embd_r: int  # f32 values per sequence per recurrent layer (conv / token shift state)
    n_embd_s: int  # f32 values per sequence per recurrent layer (ssm / wkv state)
    is_mla: bool
    layer_bytes: list[int]
    expert_bytes: list[int]  # per layer, the routed-expert tensors within layer_bytes
    output_bytes: int  # output.weight + output_norm (the "output layer" -ngl offloads first)
    input_bytes: int  # token_embd and other non-block tensors, always on the CPU
    tied_output_bytes: int  # token_embd duplicated as output when output.weight is absent
    ssm: SsmShape | None = None
    files: list[str] = field(default_factory=list)
    file_bytes: int = 0
    missing: list[str] = field(default_factory=list)

    @property
    def is_moe(self) -> bool:
        return self.n_expert_used > 0 and self.n_ff_expert > 0

    @property
    def n_q(self) -> int:
        """Query values per token (the widest layer)."""
        return max((h * k for h, k in zip(self.n_head, self.head_k, strict=False)), default=0)

    @property
    def n_v(self) -> int:
        """V values per token of the widest layer (n_embd_v_gqa_max)."""
        return max((h * v for h, v in zip(self.n_head_kv, self.head_v, strict=False)), default=0)

    def has_kv(self, il: int) -> bool:
        return il < self.n_layer_kv and not self.is_recurrent[il] and self.n_head_kv[il] > 0


def _per_layer(value: Any, n_layer: int, default: int, key: str, missing: list[str]) -> list[int]:
    if value is None:
        return [default] * n_layer
    if isinstance(value, list):
        if len(value) < n_layer:
            missing.append(f"{key} has {len(value)} entries for {n_layer} layers; the rest taken as {value[-1]}")
            value = value + [value[-1]] * (n_layer - len(value))
        return [int(v) for v in value[:n_layer]]
    if isinstance(value, ArrayInfo):
        missing.append(f"{key} is a {value.count}-item array too long to read; used {default}")
        return [default] * n_layer
    return [int(value)] * n_layer


def _scalar_max(value: Any, default: int = 0) -> int:
    if isinstance(value, list):
        return max((int(v) for v in value), default=default)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    return default


def _vocab_size(header: GGUFHeader) -> int:
    tokens = header.get("tokenizer.ggml.tokens")
    if tokens is not None:
        return len(tokens)
    size = header.arch_get("vocab_size")
    if isinstance(size, int):
        return size
    for tensor in header.tensors or ():
        if tensor.name == "token_embd.weight" and len(tensor.dims) > 1:
            return tensor.dims[1]
    return 0


def model_shape(headers: list[GGUFHeader]) -> ModelShape:
    """The shape of a model from the header of every shard (shard 1 first)."""
    first = headers[0]
    meta = first.metadata
    arch = first.architecture or "unknown"
    missing: list[str] = []

    def key(suffix: str, default: Any = None) -> Any:
        return meta.get(f"{arch}.{suffix}", default)

    n_layer = _scalar_max(key("block_count"))
    n_embd = _scalar_max(key("embedding_length"))
    if n_layer <= 0 or n_embd <= 0:
        missing.append(f"{arch}.block_count / {arch}.embedding_length are absent: no KV cache or compute estimate")
    n_nextn = _scalar_max(key("nextn_predict_layers"))
    n_head = _per_layer(key("attention.head_count"), n_layer, 0, f"{arch}.attention.head_count", missing)
    n_head_kv = _per_layer(key("attention.head_count_kv"), n_layer, -1, f"{arch}.attention.head_count_kv", missing)
    n_head_kv = [n_head[il] if kv < 0 else kv for il, kv in enumerate(n_head_kv)]  # default = head_count
    head0 = next((h for h in n_head if h), 0)
    default_head = n_embd // head0 if head0 else 0
    key_length = _scalar_max(key("attention.key_length"), default_head)
    value_length = _scalar_max(key("attention.value_length"), default_head)

    is_swa, n_swa = _sliding_window(arch, meta, n_layer, missing)
    key_swa = _scalar_max(key("attention.key_length_swa"), key_length)
    value_swa = _scalar_max(key("attention.value_length_swa"), value_length)
    head_k = [key_swa if is_swa[il] else key_length for il in range(n_layer)]
    head_v = [value_swa if is_swa[il] else value_length for il in range(n_layer)]

    is_recurrent = _recurrent_layers(arch, meta, n_layer, n_head_kv, missing)
    n_embd_r, n_embd_s = _recurrent_state(arch, meta, n_embd) if any(is_recurrent) else (0, 0)
    is_mla = f"{arch}.attention.key_length_mla" in meta

    n_layer_kv = n_layer - n_nextn
    shared_kv = _scalar_max(key("attention.shared_kv_layers"))
    if shared_kv:
        n_layer_kv = min(n_layer_kv, n_layer - shared_kv)
    if arch == "gemma3n":
        n_layer_kv = min(n_layer_kv, 20)

    known = arch in STANDARD_ARCHS or arch in SWA_ARCHS or arch in RECURRENT_BY_ZERO_KV
    known = known or arch in RECURRENT_BY_INTERVAL or arch in PURE_RECURRENT or arch in {"nemotron_h", "falcon-h1"}
    if not known:
        missing.append(
            f"architecture '{arch}' is not known to the planner: the KV cache assumes full attention on every "
            "layer (sliding-window layers, recurrent state and shared KV layers are not modelled)"
        )

    weights = _weights(headers, n_layer)
    n_ff = _scalar_max(key("feed_forward_length"))
    n_expert_used = _scalar_max(key("expert_used_count"))
    n_ff_expert = weights.expert_width or _expert_width_from_keys(arch, meta, n_ff, n_expert_used)
    shape = ModelShape(
        architecture=arch,
        name=meta.get("general.name") if isinstance(meta.get("general.name"), str) else None,
        n_layer=n_layer,
        n_layer_kv=n_layer_kv,
        n_ctx_train=_scalar_max(key("context_length")) or None,
        n_embd=n_embd,
        n_ff=n_ff,
        n_ff_expert=n_ff_expert if n_expert_used else 0,
        n_expert_used=n_expert_used,
        n_expert=_scalar_max(key("expert_count")),
        n_vocab=_vocab_size(first),
        n_head=n_head,
        n_head_kv=n_head_kv,
        head_k=head_k,
        head_v=head_v,
        is_swa=is_swa,
        n_swa=n_swa,
        is_recurrent=is_recurrent,
        n_embd_r=n_embd_r,
        n_embd_s=n_embd_s,
        is_mla=is_mla,
        layer_bytes=weights.layer_bytes,
        expert_bytes=weights.expert_bytes,
        output_bytes=weights.output_bytes,
        input_bytes=weights.input_bytes,
        tied_output_bytes=0 if weights.has_output else weights.token_embd_bytes,
        ssm=_ssm_shape(arch, meta) if any(is_recurrent) else None,
        files=[h.path for h in headers],
        file_bytes=sum(h.file_size for h in headers),
        missing=missing,
    )
    if first.tensors is None:
        shape.missing.append("tensor infos were not read: no weight figures")
    return shape


def _sliding_window(arch: str, meta: dict, n_layer: int, missing: list[str]) -> tuple[list[bool], int]:
    """`is_swa` per layer and n_swa, as `load_swa_pattern` sets them."""
    window = meta.get(f"{arch}.attention.sliding_window")
    pattern = meta.get(f"{arch}.attention.sliding_window_pattern")
    if arch not in SWA_ARCHS:
        if isinstance(window, int) and window > 0 and arch not in STANDARD_ARCHS and arch != "phi3":
            missing.append(f"'{arch}' has a sliding window of {window} but its layer pattern is unknown: not modelled")
        return [False] * n_layer, 0
    default_window, period, dense_first = SWA_ARCHS[arch]
    if window == 0:
        return [False] * n_layer, 0
    if not isinstance(window, int) or window < 0:
        if arch in SWA_ONLY_WITH_KEY or default_window is None:
            return [False] * n_layer, 0
        window = default_window
    if isinstance(pattern, list):
        flags = [bool(v) for v in pattern[:n_layer]]
        return flags + [False] * (n_layer - len(flags)), window
    if isinstance(pattern, int):
        period = pattern
    if dense_first:
        flags = [period == 0 or il % period != 0 for il in range(n_layer)]
    else:
        flags = [period == 0 or il % period < period - 1 for il in range(n_layer)]
    return flags, window


def _recurrent_layers(arch: str, meta: dict, n_layer: int, n_head_kv: list[int], missing: list[str]) -> list[bool]:
    explicit = meta.get(f"{arch}.attention.recurrent_layers")
    if isinstance(explicit, list):
        flags = [bool(v) for v in explicit[:n_layer]]
        return flags + [False] * (n_layer - len(flags))
    if arch in PURE_RECURRENT:
        return [True] * n_layer
    if arch in RECURRENT_BY_INTERVAL:
        interval = _scalar_max(meta.get(f"{arch}.full_attention_interval"), 4) or 4
        return [(il + 1) % interval != 0 for il in range(n_layer)]
    if arch in RECURRENT_BY_ZERO_KV:
        return [kv == 0 for kv in n_head_kv]
    if arch == "nemotron_h":
        n_ff = _per_layer(meta.get(f"{arch}.feed_forward_length"), n_layer, 0, "feed_forward_length", missing)
        return [n_head_kv[il] == 0 and n_ff[il] == 0 for il in range(n_layer)]
    if arch == "falcon-h1":
        missing.append("falcon-h1 layers carry both KV and recurrent state: only the KV cache is modelled")
    return [False] * n_layer


def _recurrent_state(arch: str, meta: dict, n_embd: int) -> tuple[int, int]:
    """(n_embd_r, n_embd_s): llama_hparams::n_embd_r() / n_embd_s()."""

    def key(suffix: str) -> int:
        return _scalar_max(meta.get(f"{arch}.{suffix}"))

    wkv = key("wkv.head_size")
    if wkv:
        return key("token_shift_count") * n_embd or 2 * n_embd, n_embd * wkv
    l_cache = key("shortconv.l_cache")
    if l_cache:
        return n_embd * (l_cache - 1), 0
    d_conv, d_inner, d_state, n_group = (
        key("ssm.conv_kernel"),
        key("ssm.inner_size"),
        key("ssm.state_size"),
        key("ssm.group_count"),
    )
    return max(d_conv - 1, 0) * (d_inner + 2 * n_group * d_state), d_state * d_inner


def _expert_width_from_keys(arch: str, meta: dict, n_ff: int, n_expert_used: int) -> int:
    """Without tensor infos: `expert_feed_forward_length`, else what the architecture
    defaults to (qwen3moe: n_ff / n_expert_used, src/models/qwen3moe.cpp; llama,
    granite and most others: experts as wide as feed_forward_length)."""
    width = _scalar_max(meta.get(f"{arch}.expert_feed_forward_length"))
    if width:
        return width
    if arch in ("qwen3moe", "qwen3vlmoe") and n_expert_used:
        return n_ff // n_expert_used
    return n_ff


def _ssm_shape(arch: str, meta: dict) -> SsmShape | None:
    def key(suffix: str) -> int:
        return _scalar_max(meta.get(f"{arch}.ssm.{suffix}"))

    if not key("inner_size") or not key("state_size"):
        return None
    return SsmShape(
        key("conv_kernel"), key("inner_size"), key("state_size"), key("group_count") or 1, key("time_step_rank")
    )


@dataclass
class _Weights:
    layer_bytes: list[int]
    expert_bytes: list[int]
    output_bytes: int = 0
    input_bytes: int = 0
    token_embd_bytes: int = 0
    has_output: bool = False
    expert_width: int = 0  # ne1 of the expert matrices (ffn_up_exps: [n_embd, n_ff_exp, n_expert])


def _weights(headers: list[GGUFHeader], n_layer: int) -> _Weights:
    """Bytes per block (and of its routed experts), of the output layer and of the input (CPU) tensors."""
    weights = _Weights([0] * max(n_layer, 0), [0] * max(n_layer, 0))
    for header in headers:
        for tensor in header.tensors or ():
            block = _BLOCK.match(tensor.name)
            if block and int(block[1]) < n_layer:
                il = int(block[1])
                weights.layer_bytes[il] += tensor.n_bytes
                expert = EXPERT_TENSOR.search(tensor.name)
                if expert:
                    weights.expert_bytes[il] += tensor.n_bytes
                    if expert[1] != "down" and len(tensor.dims) == 3:
                        width = tensor.dims[1] // (2 if expert[1] == "gate_up" else 1)
                        weights.expert_width = max(weights.expert_width, width)
            elif tensor.name.startswith(_OUTPUT_TENSORS):
                weights.output_bytes += tensor.n_bytes
                weights.has_output = weights.has_output or tensor.name == "output.weight"
            else:
                weights.input_bytes += tensor.n_bytes
                if tensor.name == "token_embd.weight":
                    weights.token_embd_bytes = tensor.n_bytes
    return weights
