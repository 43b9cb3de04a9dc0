"""GGUF files: a bounded header reader (`reader`) and the per-file summaries discovery
needs, with their cache (`summary`). Imports only the base (errors, fsutil)."""
