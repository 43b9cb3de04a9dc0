"""`llmctl verify`: the host checks (pytest-testinfra, `checks`; the NixOS VM test runs
them through `llmctl verify`) and the runner that runs them in-process and collects one
result per check (`runner`)."""
