"""llmctl: run-time control for a local-llm host."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("llmctl")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
