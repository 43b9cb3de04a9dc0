"""The project's host checks (pytest-testinfra), shared by `llmctl verify`, the local
integration tests and the NixOS VM tests.

Run them by hand with
`pytest -p llmctl.verify.checks.plugin --hosts=ssh://root@HOST --pyargs llmctl.verify.checks.test_host`
(add `--stack-spec FILE` to check a host against a spec file read here instead of its
own /etc/local-llm/stack.json).
"""
