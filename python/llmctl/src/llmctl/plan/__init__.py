"""Capacity planning: the model's shape from its GGUF headers (`shape`), the KV cache
(`kv_cache`), the compute buffers (`compute`), the layer placement (`placement`), the
plan and its verdict (`planner`), GPU profiles and budgets (`budgets`), sizing many
models at once for discovery's autoSize (`fleet`), where a model's headers come from
(`sources`) and what `llmctl plan` computes (`estimate`)."""
