"""What a download reports (`Progress`) and how `llmctl download` shows it: bars on a
terminal, plain lines otherwise, nothing with --json (`for_terminal`)."""

from __future__ import annotations

import sys
import time

import click

from llmctl.output import decimal_size


class Progress:
    """What the transfer reports, from one thread; the command decides how to show it.
    `begin` comes once, with the bytes of every selected file, before the first
    `start_file`; `advance` counts bytes of all files and connections together (a
    negative count takes back the bytes of a file that restarts)."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc) -> None: ...

    def begin(self, total: int) -> None: ...
    def start_file(self, name: str, total: int, done: int) -> None: ...
    def advance(self, n: int) -> None: ...
    def verifying(self, name: str, left: int) -> None: ...
    def finish_file(self, name: str) -> None: ...
    def note(self, message: str) -> None: ...


def for_terminal(quiet: bool) -> Progress:
    """Nothing when `quiet` (--json), a bar on a terminal, plain lines otherwise."""
    if quiet:
        return QuietProgress()
    if sys.stderr.isatty():
        return RichProgress()
    return PlainProgress()


class QuietProgress(Progress):
    """--json: stdout carries only the final JSON and stderr stays quiet."""


class PlainProgress(Progress):
    """A line per file start and end, and at every quarter of the total with the speed
    of all connections and the time left, on stderr (logs, pipes, systemd)."""

    def __init__(self):
        self.total = 0
        self.done = 0
        self.started = time.monotonic()
        self.received = 0
        self.next_mark = 0

    def begin(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()

    def start_file(self, name: str, total: int, done: int) -> None:
        self.done += done
        self.next_mark = self._mark_after(self.done)
        resumed = f", resuming at {done * 100 // max(total, 1)}%" if done else ""
        click.echo(f"downloading {name} ({decimal_size(total)}{resumed})", err=True)

    def advance(self, n: int) -> None:
        self.done += n
        self.received += max(n, 0)
        if n < 0:
            self.next_mark = self._mark_after(self.done)
        elif self.done >= self.next_mark and self.done < self.total:
            left = f", {_duration((self.total - self.done) / self._rate())} left" if self._rate() else ""
            click.echo(
                f"  {self.done * 100 // self.total}% of {decimal_size(self.total)} "
                f"at {decimal_size(self._rate())}/s{left}",
                err=True,
            )
            self.next_mark = self._mark_after(self.done)

    def verifying(self, name: str, left: int) -> None:
        click.echo(f"  {name}: all bytes in, verifying (sha256 of {decimal_size(left)} left)", err=True)

    def finish_file(self, name: str) -> None:
        speed = f" ({decimal_size(self._rate())}/s)" if self.received else ""
        click.echo(f"  {name}: done, verified{speed}", err=True)

    def note(self, message: str) -> None:
        click.echo(message, err=True)

    def _mark_after(self, done: int) -> int:
        quarter = max(self.total, 1) / 4
        return int((done // quarter + 1) * quarter)

    def _rate(self) -> float:
        return self.received / max(time.monotonic() - self.started, 1e-6)


class RichProgress(Progress):
    """One bar for the whole download: bytes of every file and connection, speed, ETA."""

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
        self.task = self.bars.add_task("download", total=None)

    def __enter__(self) -> RichProgress:
        self.bars.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.bars.stop()

    def begin(self, total: int) -> None:
        self.bars.update(self.task, total=total)

    def start_file(self, name: str, total: int, done: int) -> None:
        self.bars.update(self.task, description=name, advance=done)

    def advance(self, n: int) -> None:
        self.bars.advance(self.task, n)

    def verifying(self, name: str, left: int) -> None:
        self.bars.update(self.task, description=f"{name} (verifying)")

    def finish_file(self, name: str) -> None:
        self.bars.console.print(f"{name}: done, verified")

    def note(self, message: str) -> None:
        self.bars.console.print(message)


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
