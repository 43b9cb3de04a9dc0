"""One output convention for every command.

Data goes to stdout: JSON only with `--json`, a human view otherwise. Messages,
warnings and hints go to stderr, so they never pollute what a script parses.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click


def emit_json(data: Any) -> None:
    """Write `data` as the only thing on stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def binary_size(n: float | None, digits: int = 1) -> str:
    """Bytes in GiB/MiB/KiB, as memory and disk use are reported ("-" when unknown)."""
    if n is None:
        return "-"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= scale:
            return f"{n / scale:.{digits}f} {unit}"
    return f"{n:.0f} B"


def decimal_size(n: float) -> str:
    """Bytes in decimal units (kB, MB, GB), as the Hugging Face Hub shows file sizes."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def info(message: str) -> None:
    """A progress or status message for the person at the terminal."""
    click.echo(message, err=True)


def warn(message: str) -> None:
    click.echo(click.style("Warning: ", fg="yellow") + message, err=True)


def hint(message: str) -> None:
    click.echo(click.style("Hint: ", fg="cyan") + message, err=True)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    """Print a table to stdout; plain aligned text when stdout is not a terminal."""
    from rich.console import Console
    from rich.table import Table

    # Off a terminal nothing is cut to 80 columns: a script or a pipe gets whole values.
    width = None if sys.stdout.isatty() else 1000
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True, width=width)
    grid = Table(title=title, show_edge=False, header_style="bold", box=None, pad_edge=False)
    for header in headers:
        grid.add_column(header)
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(grid)
