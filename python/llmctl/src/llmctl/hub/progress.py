"""What a download reports (`Progress`) and how `llmctl download` shows it: bars on a
terminal, plain lines otherwise, nothing with --json (`for_terminal`)."""

from __future__ import annotations

import sys
import time

import click

from llmctl.output import decimal_size


class Progress:
    """What the transfer reports; the command decides how to show it. `begin` comes
    once, with the bytes of every selected file, before the first `start_file`."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc) -> None: ...

    def begin(self, total: int) -> None: ...
    def start_file(self, name: str, total: int, done: int) -> None: ...
    def advance(self, n: int) -> None: ...
    def restart_file(self) -> None: ...
    def finish_file(self, name: str) -> None: ...
    def note(self, message: str) -> None: ...


def for_terminal(quiet: bool) -> Progress:
    """Nothing when `quiet` (--json), bars on a terminal, plain lines otherwise."""
    if quiet:
        return QuietProgress()
    if sys.stderr.isatty():
        return RichProgress()
    return PlainProgress()


class QuietProgress(Progress):
    """--json: stdout carries only the final JSON and stderr stays quiet."""


class PlainProgress(Progress):
    """One line per file start, every quarter and end, on stderr (logs, pipes, systemd)."""

    def __init__(self):
        self.name = ""
        self.size = 0
        self.done = 0
        self.started = 0.0
        self.received = 0
        self.next_mark = 0

    def start_file(self, name: str, total: int, done: int) -> None:
        self.name, self.size, self.done = name, total, done
        self.started, self.received = time.monotonic(), 0
        self.next_mark = (done * 4 // max(total, 1) + 1) * max(total, 1) // 4
        resumed = f", resuming at {done * 100 // max(total, 1)}%" if done else ""
        click.echo(f"downloading {name} ({decimal_size(total)}{resumed})", err=True)

    def advance(self, n: int) -> None:
        self.done += n
        self.received += n
        if self.done >= self.next_mark and self.done < self.size:
            click.echo(f"  {self.name}: {self.done * 100 // self.size}% at {self._speed()}", err=True)
            self.next_mark += max(self.size, 1) // 4

    def restart_file(self) -> None:
        self.done, self.next_mark = 0, max(self.size, 1) // 4

    def finish_file(self, name: str) -> None:
        click.echo(f"  {name}: done, verified ({self._speed()})", err=True)

    def note(self, message: str) -> None:
        click.echo(message, err=True)

    def _speed(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{decimal_size(self.received / elapsed)}/s"


class RichProgress(Progress):
    """Per-file and total bars with speed and ETA."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.total_task = self.bars.add_task("total", total=None)
        self.file_task = None
        self.file_done = 0

    def __enter__(self) -> RichProgress:
        self.bars.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.bars.stop()

    def begin(self, total: int) -> None:
        self.bars.update(self.total_task, total=total)

    def start_file(self, name: str, total: int, done: int) -> None:
        if self.file_task is not None:
            self.bars.remove_task(self.file_task)
        self.file_task = self.bars.add_task(name, total=total, completed=done)
        self.file_done = done
        self.bars.advance(self.total_task, done)

    def advance(self, n: int) -> None:
        self.file_done += n
        self.bars.advance(self.file_task, n)
        self.bars.advance(self.total_task, n)

    def restart_file(self) -> None:
        self.bars.advance(self.total_task, -self.file_done)
        self.bars.update(self.file_task, completed=0)
        self.file_done = 0

    def finish_file(self, name: str) -> None:
        self.bars.console.print(f"{name}: done, verified")

    def note(self, message: str) -> None:
        self.bars.console.print(message)
