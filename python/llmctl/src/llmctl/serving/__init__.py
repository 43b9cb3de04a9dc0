"""What llama-swap runs: the `cmd` of a model entry and its quoting (`swap_cmd`), the
config document (`swap_config`) and discovery, which writes it (`discovery`). The
llama-server flags themselves come from the shared table in llmctl.flags."""
