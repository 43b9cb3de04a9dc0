"""Shared cores the command groups build on."""
