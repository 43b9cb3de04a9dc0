"""`llmctl status`: concurrent HTTP probes under one deadline (`probe`), the sweep of
every endpoint of the stack spec and its report (`collect`), what the answers mean
(`interpret`) and GPU memory from sysfs and nvidia-smi (`gpu`)."""
