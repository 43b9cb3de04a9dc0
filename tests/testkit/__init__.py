"""Test support shared by every test tier: tiny GGUF models and real programs
(llama-server, Envoy) started on loopback."""
