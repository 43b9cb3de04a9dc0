"""Facts about llama.cpp's architectures (`general.architecture`) that more than one
concern reads: the inventory gives these files a role, the planner a KV cache."""

from __future__ import annotations

# Encoders (the BERT family, EmbeddingGemma): full attention on every layer and no
# causal mask; embedding and rerank models.
FULL_ATTENTION_ENCODERS = frozenset(
    {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3", "modern-bert", "gemma-embedding"}
)
