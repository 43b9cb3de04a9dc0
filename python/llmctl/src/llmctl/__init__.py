"""llmctl: run-time control for a local-llm host."""


def __getattr__(name: str) -> str:
    # The version comes from the installed metadata; importlib.metadata scans every
    # distribution on sys.path (tens of ms), so it is read only when asked for.
    if name != "__version__":
        raise AttributeError(f"module 'llmctl' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("llmctl")
    except PackageNotFoundError:  # running from a source tree without installation
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
