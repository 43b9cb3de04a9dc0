"""One module per command group; `llmctl.cli` assembles them."""
